"""The key each organization signs its certificates with, loaded once per process.

Where the key comes from (settings, from the environment in production):

* ``CALTRACE_SIGNING_PKCS12`` (a path; ``{org}`` is replaced by the organization's code)
  with ``CALTRACE_SIGNING_PASSWORD``;
* else ``CALTRACE_SIGNING_PKCS11_LIBRARY``, ``..._TOKEN``, ``..._KEY`` (``{org}`` allowed)
  and ``..._PIN``: a key on a token or HSM;
* else, only where ``CALTRACE_ALLOW_DEMO_PKI`` is true (the demo and the tests, never
  production), the embedded DEMO PKI of :func:`certificates.pki.ensure_demo_pki` in
  ``CALTRACE_DEMO_PKI_DIR/<org code>/``, generated on first use.

With a PKCS#12 file or a token, ``CALTRACE_SIGNING_TRUST_ROOTS`` names the CA
certificate file(s) (PEM) a signature is validated against, and
``CALTRACE_SIGNING_CRLS`` the CRL file(s) to embed and check; ``CALTRACE_TSA_URL`` an
RFC 3161 time-stamping service (PAdES B-T). A production deployment without a key
refuses to issue, saying which settings to give (:class:`SigningUnavailable`).

Loading a key (a PKCS#12 file, a token login) is slow next to signing, so the loaded
signer is kept per process and organization; signing through one signer is serialised
(a token session is not shared between threads).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from labserver.accounts.models import Organization
from labserver.core.errors import DomainError

__all__ = ["LoadedSigner", "SigningUnavailable", "forget_signers", "pem_certificates", "signer_for"]


class SigningUnavailable(DomainError):
    """The organization's signing key cannot sign: not configured, revoked, refused (503)."""

    status = 503
    code = "signing_unavailable"


_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"


def pem_certificates(data: bytes) -> list[bytes]:
    """Each certificate of a PEM bundle, as its own PEM block (bytes)."""
    out = []
    rest = data
    while _BEGIN in rest:
        start = rest.index(_BEGIN)
        end = rest.index(_END, start) + len(_END)
        out.append(rest[start:end] + b"\n")
        rest = rest[end:]
    return out


@dataclass
class LoadedSigner:
    """A ready :class:`certificates.signing.Signer` with what validates its signatures."""

    signer: Any
    source: str
    trust_roots: tuple[bytes, ...]
    crls: tuple[bytes, ...] = ()
    #: SHA-256 of the signer certificate, known once it has signed (checked before signing).
    fingerprint: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sign(self, pdf: bytes, *, reason: str, location: str, name: str) -> bytes:
        """Sign ``pdf`` (PAdES); one signature at a time through this key."""
        with self.lock:
            signed: bytes = self.signer.sign(pdf, reason=reason, location=location, name=name)
        return signed

    def sign_detached(self, data: bytes) -> bytes:
        """A detached CMS signature (DER) over ``data`` with this key, time-stamped where
        the signer has a TSA; refused like a PDF signature when the key is expired or
        revoked. One signature at a time through this key."""
        # Imported here: pyHanko is heavy and only the processes that sign need it.
        from certificates.detached import sign_detached

        with self.lock:
            self.signer.check_key()
            return sign_detached(self.signer.key, data, timestamp_url=self.signer.timestamp_url)


_SIGNERS: dict[tuple[Any, ...], LoadedSigner] = {}
_LOADING = threading.Lock()


def forget_signers() -> None:
    """Drop the loaded signers (after a key rotation, or between tests)."""
    with _LOADING:
        _SIGNERS.clear()


def _read_files(paths: Sequence[str | Path], setting: str) -> tuple[bytes, ...]:
    out = []
    for path in paths:
        try:
            out.append(Path(path).read_bytes())
        except OSError as exc:
            raise SigningUnavailable(f"{setting}: cannot read {path}: {exc}") from None
    return tuple(out)


def _configuration(organization: Organization) -> tuple[Any, ...]:
    code = organization.code
    pkcs12 = getattr(settings, "CALTRACE_SIGNING_PKCS12", "") or ""
    pkcs11 = getattr(settings, "CALTRACE_SIGNING_PKCS11_LIBRARY", "") or ""
    tsa = getattr(settings, "CALTRACE_TSA_URL", "") or None
    roots = tuple(getattr(settings, "CALTRACE_SIGNING_TRUST_ROOTS", ()) or ())
    crls = tuple(getattr(settings, "CALTRACE_SIGNING_CRLS", ()) or ())
    if pkcs12:
        return ("pkcs12", str(pkcs12).format(org=code), tsa, roots, crls)
    if pkcs11:
        key = str(getattr(settings, "CALTRACE_SIGNING_PKCS11_KEY", "")).format(org=code)
        token = str(getattr(settings, "CALTRACE_SIGNING_PKCS11_TOKEN", "")).format(org=code)
        return ("pkcs11", pkcs11, token, key, tsa, roots, crls)
    if not getattr(settings, "CALTRACE_ALLOW_DEMO_PKI", False):
        raise SigningUnavailable(
            "no signing key is configured: set CALTRACE_SIGNING_PKCS12 and "
            "CALTRACE_SIGNING_PASSWORD (or CALTRACE_SIGNING_PKCS11_LIBRARY, _TOKEN, _KEY and "
            "_PIN) and CALTRACE_SIGNING_TRUST_ROOTS; the DEMO PKI is refused here "
            "(CALTRACE_ALLOW_DEMO_PKI is off)",
            field="signing_key",
        )
    directory = Path(settings.CALTRACE_DEMO_PKI_DIR) / code
    return ("demo", str(directory), tsa, organization.name)


def _load(config: tuple[Any, ...]) -> LoadedSigner:
    from certificates.errors import CertificateError
    from certificates.signing import Signer

    source = config[0]
    try:
        if source == "demo":
            from certificates.pki import ensure_demo_pki

            _, directory, tsa, name = config
            Path(directory).mkdir(parents=True, exist_ok=True)
            pki = ensure_demo_pki(Path(directory), name)
            roots: tuple[bytes, ...] = (pki.ca_pem,)
            crls: tuple[bytes, ...] = ()
            key = pki.signing_key()
        elif source == "pkcs12":
            from certificates.signing import load_pkcs12

            _, path, tsa, root_files, crl_files = config
            roots = _read_files(root_files, "CALTRACE_SIGNING_TRUST_ROOTS")
            crls = _read_files(crl_files, "CALTRACE_SIGNING_CRLS")
            password = getattr(settings, "CALTRACE_SIGNING_PASSWORD", "") or ""
            key = load_pkcs12(Path(path), password.encode() if password else None)
        else:
            from certificates.signing import load_pkcs11

            _, library, token, key_label, tsa, root_files, crl_files = config
            roots = _read_files(root_files, "CALTRACE_SIGNING_TRUST_ROOTS")
            crls = _read_files(crl_files, "CALTRACE_SIGNING_CRLS")
            pin = str(getattr(settings, "CALTRACE_SIGNING_PKCS11_PIN", ""))
            key = load_pkcs11(Path(library), token, key_label, pin)
        if not roots:
            raise SigningUnavailable(
                "CALTRACE_SIGNING_TRUST_ROOTS must name the CA certificate(s) of the signing key",
                field="signing_key",
            )
        signer = Signer(
            key,
            timestamp_url=tsa,
            embed_validation_info=bool(crls),
            trust_roots=roots,
            crls=crls,
        )
    except CertificateError as exc:
        raise SigningUnavailable(
            f"the signing key cannot be loaded: {exc}", field="signing_key"
        ) from None
    bundle = tuple(cert for root in roots for cert in pem_certificates(root)) or roots
    return LoadedSigner(signer=signer, source=source, trust_roots=bundle, crls=crls)


def signer_for(organization: Organization) -> LoadedSigner:
    """The organization's signer, loaded on first use and kept for the process."""
    config = _configuration(organization)
    key = (organization.code, *config)
    with _LOADING:
        loaded = _SIGNERS.get(key)
        if loaded is None:
            loaded = _load(config)
            _SIGNERS[key] = loaded
    return loaded
