"""A local RFC 3161 time-stamping authority over HTTP, for tests and the demo.

:func:`serve_tsa` answers time-stamp requests (``application/timestamp-query``,
RFC 3161 3.4) on 127.0.0.1 with signed time-stamp tokens, from a thread of the
calling process, for as long as its ``with`` block lasts. The tokens are made by
pyHanko's test time-stamper with the key and certificate it is given (the demo
PKI issues one: :meth:`certificates.pki.DemoPki.tsa_credentials`). It is no
qualified trust service: a laboratory in production uses its accredited TSA.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certificates.errors import SigningError

__all__ = ["serve_tsa"]

#: The largest request body accepted, in bytes (a request is ~100 bytes).
_MAX_REQUEST = 64 * 1024


def _asn1_cert(cert: x509.Certificate) -> object:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@contextlib.contextmanager
def serve_tsa(
    tsa_key: rsa.RSAPrivateKey,
    tsa_cert: x509.Certificate,
    ca_certs: Sequence[x509.Certificate] = (),
) -> Iterator[str]:
    """Serve an RFC 3161 TSA on a free port of 127.0.0.1; yields its URL.

    ``tsa_key`` must be RSA (the token is signed RSA PKCS#1 v1.5 with the request's
    digest algorithm); ``tsa_cert`` must carry the critical extended key usage
    timeStamping (RFC 3161 2.3); ``ca_certs`` are embedded in each token beside it.
    The server stops when the ``with`` block ends.
    """
    if not isinstance(tsa_key, rsa.RSAPrivateKey):
        raise SigningError("the local time-stamping authority signs with RSA", field="tsa_key")
    try:
        eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        eku = None
    if (
        eku is None
        or not eku.critical
        or list(eku.value) != [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
    ):
        raise SigningError(
            "must have the sole, critical extended key usage timeStamping (RFC 3161 2.3)",
            field="tsa_cert",
        )
    stamper = DummyTimeStamper(
        tsa_cert=_asn1_cert(tsa_cert),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1_cert(c) for c in ca_certs]
        ),
    )
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self._reply(415, "text/plain", b"expected application/timestamp-query\n")
                return
            if not 0 < length <= _MAX_REQUEST:
                self._reply(400, "text/plain", b"bad request length\n")
                return
            body = self.rfile.read(length)
            try:
                request = tsp.TimeStampReq.load(body)
                _ = request.native  # parse it all now: a malformed request is refused here
                with lock:
                    response = stamper.request_tsa_response(request)
            except (ValueError, TypeError):
                self._reply(400, "text/plain", b"malformed time-stamp request\n")
                return
            self._reply(200, "application/timestamp-reply", response.dump())

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # Quiet: a test or the demo prints nothing per time-stamp.
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="caltrace-tsa", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
