"""What an issued, amended or revoked certificate writes into the registry.

Called inside the issuing (or revoking) transaction, so the registry's fact and the change
commit together or not at all (:mod:`labserver.registry.records`). The facts are the
certificate's public ones: no customer, no person, no free text.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from labserver.registry.records import (
    IssuedCertificate,
    Reliance,
    SigningKeyInUse,
    record_issued,
    record_key_revoked,
    record_revoked,
    record_signing_key,
)

from .documents import FAILING
from .models import Certificate, CertificateKind, SigningKeyRecord

__all__ = ["register_issued", "register_key", "register_key_revoked", "register_revoked"]

NOTICE = "notice"
"""The registry's kind of a failed verification's notice (it is no certificate)."""


def _verdict(certificate: Certificate) -> str:
    """``pass`` or ``fail`` for a verification, nothing for a calibration."""
    if certificate.kind != CertificateKind.VERIFICATION:
        return ""
    position = certificate.position
    conformity = (position or certificate.run).server_conformity
    return "fail" if conformity in FAILING else "pass"


def register_issued(certificate: Certificate) -> None:
    """Register ``certificate``, the standards its run relied on and, for an amendment,
    the certificate it supersedes."""
    org = certificate.organization
    instrument = certificate.job.instrument
    verdict = _verdict(certificate)
    record_issued(
        IssuedCertificate(
            issuer=org.code,
            region=org.region,
            number=certificate.number,
            at=certificate.issued_at,
            kind=NOTICE if verdict == "fail" else str(certificate.kind),
            verdict=verdict,
            instrument_type=instrument.instrument_type.code,
            pattern=instrument.pattern.number if instrument.pattern is not None else "",
            manufacturer=instrument.manufacturer,
            model=instrument.model,
            serial=instrument.serial,
            issued_on=timezone.localdate(certificate.issued_at, org.zone),
            valid_until=certificate.valid_until,
            mark=certificate.mark_number,
            supersedes=certificate.supersedes.number if certificate.supersedes else "",
            pdf_sha256=certificate.pdf_sha256,
            signer_fingerprint=certificate.signer_fingerprint,
        ),
        [
            Reliance(
                standard_owner=usage.standard.organization.code,
                standard=usage.standard.asset_id,
                standard_certificate=usage.certificate.number,
                standard_certificate_issuer=usage.certificate.issuing_lab,
                used_on=usage.used_on,
            )
            for usage in certificate.run.standard_usages.select_related(
                "standard__organization", "certificate"
            ).order_by("pk")
        ],
    )


def register_revoked(certificate: Certificate, at: datetime) -> None:
    """Register the revocation of ``certificate`` at ``at``."""
    record_revoked(certificate.organization.code, certificate.number, at)


def register_key(key: SigningKeyRecord) -> None:
    """Register a signing key at its first use: its certificate and the roots it chains to
    verify the signatures it makes, at the national node as here."""
    record_signing_key(
        SigningKeyInUse(
            issuer=key.organization.code,
            fingerprint=key.fingerprint,
            certificate_pem=key.certificate_pem,
            trust_roots_pem=key.trust_roots_pem,
            valid_from=key.valid_from,
            valid_until=key.valid_until,
        ),
        key.first_used_at,
    )


def register_key_revoked(key: SigningKeyRecord) -> None:
    """Register the revocation of a signing key."""
    if key.revoked_at is None:
        raise ValueError(f"signing key {key.fingerprint[:16]}… is not revoked")
    record_key_revoked(key.organization.code, key.fingerprint, key.revoked_at)
