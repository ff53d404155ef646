"""PAdES signatures on certificate PDFs (ETSI EN 319 142-1), made with pyHanko.

The organization's key is loaded once into a :class:`SigningKey`: from a PKCS#12
file (:func:`load_pkcs12`), a PKCS#11 token (:func:`load_pkcs11`), or the demo PKI
(:func:`certificates.pki.ensure_demo_pki`). A :class:`Signer` keeps that key and
its settings, and signs PDF after PDF:

* baseline B-B always: a CAdES-detached CMS signature (``/ETSI.CAdES.detached``)
  with the signing certificate referenced in the signed attributes;
* B-T with ``timestamp_url``: an RFC 3161 signature time-stamp from that
  time-stamping authority, fetched over HTTP;
* B-LT with ``timestamp_url`` and ``embed_validation_info``: the certificates and
  CRLs that validate the signer, in the document security store (DSS), so that
  the signature can be checked after the CA is gone.

A signer whose certificate is not yet valid, expired, or revoked in the CRLs the
:class:`Signer` is given refuses to sign (:class:`~certificates.errors.SigningError`).

Speed: the key is parsed and checked once, not per signature, and the space for
the signature in the PDF is sized once per :class:`Signer` (pyHanko's
``bytes_reserved``) instead of by a trial signature each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from asn1crypto.algos import SignedDigestAlgorithm  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import PKCS11Error
from pyhanko.pdf_utils.incremental_writer import (
    IncrementalPdfFileWriter,
)
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields as pdf_fields
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import (
    HTTPTimeStamper,
    TimestampRequestError,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certificates.errors import SigningError

__all__ = [
    "SIGNATURE_FIELD",
    "Signer",
    "SigningKey",
    "load_certificates",
    "load_crls",
    "load_pkcs11",
    "load_pkcs12",
    "signing_key_from",
]

#: The name of the signature field caltrace creates in a certificate PDF.
SIGNATURE_FIELD = "caltrace-signature"

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
#: Slack (in bytes of DER) added to the measured size of the signature container:
#: an ECDSA signature varies by a few bytes, a time-stamp token by its serial and nonce.
_RESERVE_SLACK = 512


def _asn1(cert: x509.Certificate) -> Any:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _from_asn1(cert: Any) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _key_algorithm(cert: x509.Certificate) -> str:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return f"rsa-{public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1":
        return "ec-p256"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"ec-{public.curve.name}"
    return type(public).__name__


class _LoadedKeySigner(signers.Signer):
    """pyHanko's CMS signer over a key that is already parsed and checked.

    pyHanko's ``SimpleSigner`` re-parses (and, for RSA, re-validates) its key for
    every raw signature; this one keeps the parsed key.
    """

    def __init__(
        self,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate],
    ) -> None:
        mechanism = "sha256_rsa" if isinstance(key, rsa.RSAPrivateKey) else "sha256_ecdsa"
        super().__init__(
            signing_cert=_asn1(cert),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [_asn1(c) for c in chain]
            ),
            signature_mechanism=SignedDigestAlgorithm({"algorithm": mechanism}),
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        try:
            digest = _HASHES[digest_algorithm.lower()]()
        except KeyError:
            raise SigningError(
                f"unsupported digest algorithm {digest_algorithm}", field="digest_algorithm"
            ) from None
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), digest)
        return self._key.sign(data, ec.ECDSA(digest))


@dataclass(frozen=True, eq=False)
class SigningKey:
    """A signing key ready to use: the key (in memory or on a token), its certificate
    and the chain of CA certificates up to the root.

    ``source`` says where the key came from (a file, a token), for error messages.
    """

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    source: str
    _cms_signer: Any = field(repr=False)
    _private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = field(
        default=None, repr=False
    )
    _close: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def subject(self) -> str:
        """The signer's distinguished name, RFC 4514 (e.g. ``CN=...,O=...,C=VN``)."""
        return self.certificate.subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER signing certificate, lowercase hex."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    @property
    def key_algorithm(self) -> str:
        """``"rsa-3072"``, ``"ec-p256"`` (or another size or curve the key has)."""
        return _key_algorithm(self.certificate)

    def to_pkcs12(self, password: bytes | None) -> bytes:
        """The key, certificate and chain as a PKCS#12 file's bytes (AES-256 when a
        password is given). Refused for a key that lives on a token."""
        if self._private_key is None:
            raise SigningError("a key on a PKCS#11 token cannot be exported", field=self.source)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            b"caltrace signer", self._private_key, self.certificate, list(self.chain), encryption
        )

    def close(self) -> None:
        """Release the key's resources (the PKCS#11 session); a no-op for a key in memory."""
        if self._close is not None:
            self._close()


def signing_key_from(
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    source: str,
) -> SigningKey:
    """A :class:`SigningKey` from a key in memory, its certificate and its CA chain."""
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if private_key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise SigningError("the private key does not belong to the certificate", field=source)
    return SigningKey(
        certificate=certificate,
        chain=tuple(chain),
        source=source,
        _cms_signer=_LoadedKeySigner(private_key, certificate, chain),
        _private_key=private_key,
    )


def load_pkcs12(path: Path, password: bytes | None) -> SigningKey:
    """Load a signing key, its certificate and chain from a PKCS#12 file.

    Refuses (:class:`SigningError` naming the file) a missing file, a wrong or
    missing password, a file without a key or certificate, and a key other than
    RSA or EC.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SigningError(f"cannot be read ({e.strerror})", field=str(path)) from e
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, password)
    except ValueError as e:
        raise SigningError(
            "cannot be opened: wrong password, or not a PKCS#12 file", field=str(path)
        ) from e
    if key is None or cert is None:
        raise SigningError("holds no private key with its certificate", field=str(path))
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(
            f"holds a {type(key).__name__}; caltrace signs with RSA or EC keys",
            field=str(path),
        )
    return signing_key_from(key, cert, list(others), source=str(path))


def load_pkcs11(library: Path, token_label: str, key_label: str, pin: str) -> SigningKey:
    """Open a session on the PKCS#11 token labelled ``token_label`` (through the module
    ``library``, e.g. SoftHSM2's ``libsofthsm2.so``), log in with ``pin``, and use
    the private key and certificate labelled ``key_label``; the other certificates
    on the token are the chain. The session stays open until :meth:`SigningKey.close`.
    """
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import (
        PKCS11Signer,
        open_pkcs11_session,
    )

    where = f"PKCS#11 token {token_label!r}, key {key_label!r}"
    if not library.exists():
        raise SigningError("the PKCS#11 module does not exist", field=str(library))
    try:
        session = open_pkcs11_session(
            str(library), token_criteria=TokenCriteria(label=token_label), user_pin=pin
        )
    except (PKCS11Error, PyHankoSigningError, PdfError) as e:
        raise SigningError(
            f"cannot open a session: {type(e).__name__} {e}".strip(), field=where
        ) from e
    try:
        # First every certificate on the token, to find the chain among them ...
        probe = PKCS11Signer(
            session, cert_label=key_label, key_label=key_label, other_certs_to_pull=None
        )
        cert = _from_asn1(probe.signing_cert)
        chain = _chain_of(cert, [_from_asn1(c) for c in probe.cert_registry])
        # ... then a signer that embeds only the signer and its chain, not the
        # token's other certificates.
        cms_signer = PKCS11Signer(
            session,
            key_label=key_label,
            signing_cert=probe.signing_cert,
            ca_chain=[_asn1(c) for c in chain],
            other_certs_to_pull=(),
            # Tokens such as SoftHSM2 offer raw ECDSA only (CKM_ECDSA): pyHanko hashes.
            use_raw_mechanism=isinstance(cert.public_key(), ec.EllipticCurvePublicKey),
        )
        cms_signer.signing_cert  # noqa: B018 (loads the key handle now: a missing key fails here)
    except (PKCS11Error, PyHankoSigningError, PdfError) as e:
        session.close()
        raise SigningError(f"cannot be used: {type(e).__name__} {e}".strip(), field=where) from e
    return SigningKey(
        certificate=cert,
        chain=chain,
        source=where,
        _cms_signer=cms_signer,
        _close=session.close,
    )


def _chain_of(
    cert: x509.Certificate, pool: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The CA certificates of ``pool`` from ``cert``'s issuer up to a self-issued root."""
    chain: list[x509.Certificate] = []
    current = cert
    while current.issuer != current.subject and len(chain) < 8:
        issuer = next(
            (c for c in pool if c.subject == current.issuer and c not in chain and c != current),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return tuple(chain)


def load_certificates(data: Sequence[bytes]) -> list[x509.Certificate]:
    """Certificates from PEM (one or more per item) or DER bytes."""
    out: list[x509.Certificate] = []
    for item in data:
        if b"-----BEGIN" in item:
            out.extend(x509.load_pem_x509_certificates(item))
        else:
            out.append(x509.load_der_x509_certificate(item))
    return out


def load_crls(data: Sequence[bytes]) -> list[x509.CertificateRevocationList]:
    """Certificate revocation lists from PEM or DER bytes."""
    out: list[x509.CertificateRevocationList] = []
    for item in data:
        if b"-----BEGIN" in item:
            out.append(x509.load_pem_x509_crl(item))
        else:
            out.append(x509.load_der_x509_crl(item))
    return out


@contextlib.contextmanager
def signing_errors(key: SigningKey, *, field: str) -> Iterator[None]:
    """Turn what pyHanko and the token raise while signing into a
    :class:`~certificates.errors.SigningError` naming what is at fault: the time-stamping
    authority, the key's token, or the signed ``field``."""
    try:
        yield
    except TimestampRequestError as e:
        raise SigningError(
            f"the time-stamping authority did not answer: {e}", field="timestamp_url"
        ) from e
    except PKCS11Error as e:
        raise SigningError(
            f"the token refused to sign: {type(e).__name__} {e}".strip(), field=key.source
        ) from e
    except PyHankoSigningError as e:
        raise SigningError(str(e), field=field) from e


def revocation_date(
    cert: x509.Certificate,
    crls: Sequence[x509.CertificateRevocationList],
    issuers: Sequence[x509.Certificate],
) -> datetime | None:
    """The earliest revocation date of ``cert`` in the CRLs whose signature verifies
    with one of ``issuers`` (a CRL that does not is ignored); ``None`` when none
    revokes it."""
    found: datetime | None = None
    candidates = [c for c in issuers if c.subject == cert.issuer]
    for crl in crls:
        if crl.issuer != cert.issuer:
            continue
        if not any(
            crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            for issuer in candidates
        ):
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and (found is None or entry.revocation_date_utc < found):
            found = entry.revocation_date_utc
    return found


class Signer:
    """Signs certificate PDFs with one key, PAdES B-B, B-T or B-LT.

    ``timestamp_url``: an RFC 3161 time-stamping authority over HTTP (B-T).
    ``embed_validation_info``: also embed the chain and CRLs (B-LT); needs the TSA,
    and ``trust_roots`` (PEM or DER) to validate the signer against.
    ``crls`` (PEM or DER): revocation lists the signer is checked against before
    every signature, and that B-LT embeds.
    """

    def __init__(
        self,
        key: SigningKey,
        *,
        timestamp_url: str | None = None,
        embed_validation_info: bool = False,
        trust_roots: Sequence[bytes] = (),
        crls: Sequence[bytes] = (),
    ) -> None:
        self.key = key
        self.timestamp_url = timestamp_url
        self.embed_validation_info = embed_validation_info
        try:
            self._roots = load_certificates(trust_roots)
        except ValueError as e:
            raise SigningError("is not a PEM or DER certificate", field="trust_roots") from e
        try:
            self._crls = load_crls(crls)
        except ValueError as e:
            raise SigningError("is not a PEM or DER CRL", field="crls") from e
        if embed_validation_info and not timestamp_url:
            raise SigningError(
                "PAdES B-LT needs a signature time-stamp: give timestamp_url",
                field="embed_validation_info",
            )
        if embed_validation_info and not self._roots:
            raise SigningError(
                "embedding validation information needs the trust roots to validate against",
                field="trust_roots",
            )
        self._timestamper = HTTPTimeStamper(timestamp_url) if timestamp_url else None
        self._bytes_reserved: int | None = None
        self.check_key()

    @property
    def level(self) -> str:
        """The PAdES baseline level this signer produces: ``"B-B"``, ``"B-T"`` or ``"B-LT"``."""
        if self.embed_validation_info:
            return "B-LT"
        return "B-T" if self._timestamper else "B-B"

    def check_key(self, at: datetime | None = None) -> None:
        """Refuse (:class:`SigningError`) a signing certificate that is not valid at ``at``
        (default: now), or that a CRL given to this signer revokes."""
        cert = self.key.certificate
        when = at or datetime.now(UTC)
        if when < cert.not_valid_before_utc:
            raise SigningError(
                f"the signing certificate is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC",
                field=self.key.source,
            )
        if when > cert.not_valid_after_utc:
            raise SigningError(
                "the signing certificate expired on "
                f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC",
                field=self.key.source,
            )
        issuers = [c for c in (*self.key.chain, *self._roots) if c.subject == cert.issuer]
        for crl in self._crls:
            if crl.issuer != cert.issuer:
                continue
            if not any(
                crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
                for issuer in issuers
            ):
                raise SigningError(
                    f"a CRL of {crl.issuer.rfc4514_string()} cannot be checked: its signature "
                    "does not verify with any issuer certificate in the chain or trust roots",
                    field="crls",
                )
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None and entry.revocation_date_utc <= when:
                raise SigningError(
                    f"the signing certificate was revoked on "
                    f"{entry.revocation_date_utc:%Y-%m-%d %H:%M:%S} UTC",
                    field=self.key.source,
                )

    def sign(self, pdf: bytes, *, reason: str, location: str, name: str) -> bytes:
        """Sign ``pdf`` (PAdES at :attr:`level`) and return the signed file's bytes.

        ``reason``, ``location`` and ``name`` (the signer as a person or office)
        are written into the signature dictionary and shown by PDF readers.
        """
        for label, value in (("reason", reason), ("location", location), ("name", name)):
            if not value.strip():
                raise SigningError("must not be empty", field=label)
        if not pdf.startswith(b"%PDF-"):
            raise SigningError("is not a PDF (no %PDF- header)", field="pdf")
        self.check_key()
        try:
            with signing_errors(self.key, field="pdf"):
                writer = IncrementalPdfFileWriter(BytesIO(pdf))
                meta = signers.PdfSignatureMetadata(
                    field_name=SIGNATURE_FIELD,
                    md_algorithm="sha256",
                    subfilter=pdf_fields.SigSeedSubFilter.PADES,
                    reason=reason,
                    location=location,
                    name=name,
                    embed_validation_info=self.embed_validation_info,
                    validation_context=self._validation_context()
                    if self.embed_validation_info
                    else None,
                )
                pdf_signer = signers.PdfSigner(
                    meta, self.key._cms_signer, timestamper=self._timestamper
                )
                out = pdf_signer.sign_pdf(writer, bytes_reserved=self._reserve())
        except PdfError as e:
            raise SigningError(str(e), field="pdf") from e
        signed: bytes = out.getvalue()
        return signed

    # -- internals ------------------------------------------------------------------

    def _validation_context(self) -> ValidationContext:
        # B-LT embeds current revocation data: besides the CRLs given, pyHanko may
        # fetch those the certificates point to (CRL distribution points, OCSP).
        # The demo PKI's certificates point to none, so the demo fetches nothing.
        return ValidationContext(
            trust_roots=[_asn1(c) for c in self._roots],
            other_certs=[_asn1(c) for c in self.key.chain],
            crls=[crl.public_bytes(serialization.Encoding.DER) for crl in self._crls],
            allow_fetching=True,
            revocation_mode="soft-fail",
        )

    def _reserve(self) -> int:
        """Bytes reserved for the signature container in the PDF (hexadecimal, so twice
        its DER size), measured once on a trial container and kept."""
        if self._bytes_reserved is None:
            trial = asyncio.run(
                self.key._cms_signer.async_sign(
                    bytes(32),
                    "sha256",
                    dry_run=True,
                    use_pades=True,
                    timestamper=self._timestamper,
                    signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)),
                )
            )
            self._bytes_reserved = 2 * (len(trial.dump()) + _RESERVE_SLACK)
        return self._bytes_reserved
