"""The demo PKI: a certificate authority, a document signer and a time-stamping authority,
each clearly labelled DEMO, so that a fresh caltrace installation signs its certificates
and anyone can check them against the published demo CA certificate.

A laboratory that issues legal certificates uses its own key (a PKCS#12 file or a
PKCS#11 token, :mod:`certificates.signing`), certified by a CA the public trusts.
The demo PKI exists for the demo, for tests and for trying caltrace out: every
certificate it issues says "DEMO — not for legal use" in its organization name and
"caltrace DEMO" in its common name.

:func:`ensure_demo_pki` creates, on first use, in the directory it is given
(``var/demo-pki`` in the LIMS):

========== ===== =================================================================
file       mode  what
========== ===== =================================================================
ca.pem     0644  the demo CA's certificate: publish it, validators trust it
ca-key.pem 0600  the demo CA's private key (signs signer and TSA certificates, CRLs)
signer.p12 0600  the current signer's key, certificate and chain (PKCS#12, no password)
tsa.p12    0600  the demo time-stamping authority's key and certificate (created on
                 first request, :meth:`DemoPki.tsa_credentials`)
crl.pem    0644  the demo CA's certificate revocation list, beside ca.pem
========== ===== =================================================================

and on later use loads them unchanged. Rotation (:meth:`DemoPki.rotate_signer`)
issues a new signer certificate from the same CA: documents signed with the former
key still verify. Revocation (:meth:`DemoPki.revoke`) adds a certificate to the CRL.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certificates.errors import SigningError

if TYPE_CHECKING:
    from certificates.signing import SigningKey

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "DemoPki",
    "KeyAlgorithm",
    "ensure_demo_pki",
    "generate_private_key",
]

#: The key algorithms caltrace signs with: RSA 3072 bits, or ECDSA on NIST P-256.
KeyAlgorithm = Literal["rsa-3072", "ec-p256"]

#: id-kp-documentSigning (RFC 9336).
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_DEMO = "DEMO — not for legal use"
_CA_YEARS = 10
_SIGNER_YEARS = 2
_TSA_YEARS = 5
#: How long a CRL is current (its nextUpdate); the CRL is re-issued when less than
#: a third of this is left, each time the PKI is loaded.
_CRL_LIFETIME = timedelta(days=30)


def generate_private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    """A new private key: ``"rsa-3072"`` (RSA, 3072-bit modulus, e = 65537) or
    ``"ec-p256"`` (ECDSA on NIST P-256)."""
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if algorithm == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise SigningError(
        f"unknown key algorithm {algorithm!r} (expected 'rsa-3072' or 'ec-p256')",
        field="key_algorithm",
    )


def _known_algorithm(name: str) -> KeyAlgorithm:
    if name == "rsa-3072":
        return "rsa-3072"
    if name == "ec-p256":
        return "ec-p256"
    raise SigningError(
        f"the current signer's key is {name}; give key_algorithm for the new one",
        field="key_algorithm",
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_public(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by everyone (0644)."""
    _write_private(path, data)
    os.chmod(path, 0o644)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the directory's lock, so that two processes never create two PKIs."""
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _demo_organization(organization: str) -> str:
    return f"{organization} ({_DEMO})"


@dataclass(frozen=True, eq=False)
class DemoPki:
    """The demo PKI of one organization, kept in ``directory`` (see the module's table)."""

    directory: Path
    organization: str
    ca_certificate: x509.Certificate
    _ca_key: PrivateKey

    @property
    def ca_pem(self) -> bytes:
        """The demo CA's certificate, PEM: what validators are given as their trust root."""
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_path(self) -> Path:
        """Where the demo CA's certificate is published (``<directory>/ca.pem``)."""
        return self.directory / "ca.pem"

    @property
    def signer_path(self) -> Path:
        """The current signer's PKCS#12 file (no password, mode 0600)."""
        return self.directory / "signer.p12"

    @property
    def crl_path(self) -> Path:
        """The demo CA's revocation list, PEM, beside ``ca.pem``."""
        return self.directory / "crl.pem"

    @property
    def crl_der(self) -> bytes:
        """The demo CA's current certificate revocation list (DER), as last written."""
        crl = x509.load_pem_x509_crl(self.crl_path.read_bytes())
        return crl.public_bytes(serialization.Encoding.DER)

    def signing_key(self) -> SigningKey:
        """The current demo signer, loaded from ``signer.p12``."""
        from certificates.signing import load_pkcs12

        return load_pkcs12(self.signer_path, None)

    def issue_signer(
        self,
        *,
        key_algorithm: KeyAlgorithm = "ec-p256",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> SigningKey:
        """A new demo signer certificate from this CA, kept in memory only (not written).

        Validity from ``not_before`` (default: now) to ``not_after`` (default: two
        years later), both timezone-aware. :meth:`rotate_signer` makes one current.
        """
        from certificates.signing import signing_key_from

        key = generate_private_key(key_algorithm)
        start = not_before or _now()
        end = not_after or start + timedelta(days=365 * _SIGNER_YEARS)
        if end <= start:
            raise SigningError("must be later than not_before", field="not_after")
        serial = x509.random_serial_number()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(
                    NameOID.ORGANIZATION_NAME, _demo_organization(self.organization)
                ),
                x509.NameAttribute(
                    NameOID.COMMON_NAME,
                    f"caltrace DEMO signer {start:%Y-%m-%d} {serial:x}"[:64],
                ),
            ]
        )
        cert = (
            self._builder(name, key, start, end, serial, signer=True)
            # poppler's pdfsig (NSS) refuses a signer whose only extended key usage is
            # documentSigning; emailProtection beside it is what NSS accepts.
            .add_extension(
                x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                critical=False,
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        return signing_key_from(
            key,
            cert,
            (self.ca_certificate,),
            source=f"demo signer of {self.directory / 'signer.p12'}",
        )

    def rotate_signer(self, *, key_algorithm: KeyAlgorithm | None = None) -> SigningKey:
        """Issue a new signer (same CA) and make it current: ``signer.p12`` is replaced.

        The former signer's certificate is not revoked: documents it signed keep
        verifying. ``key_algorithm`` defaults to the current signer's.
        """
        with _locked(self.directory):
            algorithm = key_algorithm or _known_algorithm(self.signing_key().key_algorithm)
            fresh = self.issue_signer(key_algorithm=algorithm)
            _write_private(self.signer_path, fresh.to_pkcs12(None))
        return self.signing_key()

    def revoke(
        self,
        certificate: x509.Certificate,
        *,
        revoked_at: datetime | None = None,
        reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    ) -> bytes:
        """Add ``certificate`` (issued by this CA) to the CRL, rewrite ``crl.pem``, and
        return the new CRL (DER). ``revoked_at`` defaults to now (UTC, whole seconds)."""
        if certificate.issuer != self.ca_certificate.subject:
            raise SigningError(
                f"{certificate.subject.rfc4514_string()} was not issued by this demo CA",
                field="certificate",
            )
        when = (revoked_at or _now()).astimezone(UTC)
        with _locked(self.directory):
            current = x509.load_pem_x509_crl(self.crl_path.read_bytes())
            entries = list(current)
            if current.get_revoked_certificate_by_serial_number(certificate.serial_number):
                return current.public_bytes(serialization.Encoding.DER)
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(certificate.serial_number)
                .revocation_date(when)
                .add_extension(x509.CRLReason(reason), critical=False)
                .build()
            )
            return self._issue_crl([*entries, entry])

    def tsa_credentials(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The demo time-stamping authority's key (RSA 2048) and certificate
        (extended key usage timeStamping, critical, RFC 3161 2.3), issued on first
        request and kept in ``tsa.p12``."""
        path = self.directory / "tsa.p12"
        with _locked(self.directory):
            if not path.exists():
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                start = _now()
                name = x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                        x509.NameAttribute(
                            NameOID.ORGANIZATION_NAME, _demo_organization(self.organization)
                        ),
                        x509.NameAttribute(
                            NameOID.COMMON_NAME, "caltrace DEMO time-stamping authority"
                        ),
                    ]
                )
                cert = (
                    self._builder(
                        name,
                        key,
                        start,
                        start + timedelta(days=365 * _TSA_YEARS),
                        x509.random_serial_number(),
                        signer=True,
                    )
                    .add_extension(
                        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                        critical=True,
                    )
                    .sign(self._ca_key, hashes.SHA256())
                )
                _write_private(
                    path,
                    pkcs12.serialize_key_and_certificates(
                        b"caltrace DEMO TSA",
                        key,
                        cert,
                        [self.ca_certificate],
                        serialization.NoEncryption(),
                    ),
                )
        tsa_key, tsa_cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), None)
        if not isinstance(tsa_key, rsa.RSAPrivateKey) or tsa_cert is None:
            raise SigningError("does not hold an RSA key and its certificate", field=str(path))
        return tsa_key, tsa_cert

    # -- internals ------------------------------------------------------------------

    def _builder(
        self,
        subject: x509.Name,
        key: PrivateKey,
        not_before: datetime,
        not_after: datetime,
        serial: int,
        *,
        signer: bool = False,
    ) -> x509.CertificateBuilder:
        """A certificate from the demo CA; ``signer``: an end entity that signs (documents or
        time stamps): not a CA, digital signature and non-repudiation only."""
        ca_ski = self.ca_certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
            )
        )
        if not signer:
            return builder
        return builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )

    def _issue_crl(self, entries: list[x509.RevokedCertificate]) -> bytes:
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca_certificate.subject)
            .last_update(now)
            .next_update(now + _CRL_LIFETIME)
        )
        number = 1
        if self.crl_path.exists():
            previous = x509.load_pem_x509_crl(self.crl_path.read_bytes())
            with contextlib.suppress(x509.ExtensionNotFound):
                number = (
                    previous.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
                )
        builder = builder.add_extension(x509.CRLNumber(number), critical=False)
        ca_ski = self.ca_certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        for entry in entries:
            builder = builder.add_revoked_certificate(entry)
        crl = builder.sign(self._ca_key, hashes.SHA256())
        _write_public(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
        return crl.public_bytes(serialization.Encoding.DER)


def _new_ca(organization: str, key: PrivateKey) -> x509.Certificate:
    start = _now()
    serial = x509.random_serial_number()
    # The serial in the name tells two demo CAs of the same organization apart
    # (a re-created var/demo-pki): validators find issuers by name.
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _demo_organization(organization)),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"caltrace DEMO certificate authority {serial:x}"[:64]
            ),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def ensure_demo_pki(
    directory: Path, organization: str, *, key_algorithm: KeyAlgorithm = "rsa-3072"
) -> DemoPki:
    """The demo PKI of ``organization`` in ``directory``: created on first use (CA,
    signer with a ``key_algorithm`` key, empty CRL), loaded unchanged afterwards.

    Refuses (:class:`~certificates.errors.SigningError`, field ``organization``) a
    directory that holds another organization's demo PKI, and one with a CA
    certificate but no CA key (half a PKI is never completed by guessing).
    """
    if not organization.strip():
        raise SigningError("must not be empty", field="organization")
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path = directory / "ca.pem", directory / "ca-key.pem"
    with _locked(directory):
        if not ca_path.exists() and not ca_key_path.exists():
            ca_key = generate_private_key(key_algorithm)
            ca_cert = _new_ca(organization, ca_key)
            _write_private(
                ca_key_path,
                ca_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            _write_public(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
        elif not (ca_path.exists() and ca_key_path.exists()):
            raise SigningError(
                "holds only one of ca.pem and ca-key.pem: restore the other or remove both",
                field=str(directory),
            )
        ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        loaded_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        if not isinstance(loaded_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SigningError("is neither an RSA nor an EC key", field=str(ca_key_path))
        orgs = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if not orgs or orgs[0].value != _demo_organization(organization):
            found = orgs[0].value if orgs else "no organization"
            raise SigningError(
                f"{directory} holds the demo PKI of {found!r}, not of {organization!r}",
                field="organization",
            )
        pki = DemoPki(directory, organization, ca_cert, loaded_key)
        if not pki.crl_path.exists():
            pki._issue_crl([])
        else:
            crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
            next_update = crl.next_update_utc
            if next_update is None or next_update - _now() < _CRL_LIFETIME / 3:
                pki._issue_crl(list(crl))
        if not pki.signer_path.exists():
            signer = pki.issue_signer(key_algorithm=key_algorithm)
            _write_private(pki.signer_path, signer.to_pkcs12(None))
    return pki
