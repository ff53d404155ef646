"""Writing the registry's facts, inside the transaction of the change they describe.

The callers (issuing, amending and revoking a certificate) hand plain values; a fact is
written with the change or not at all, since these functions run in the caller's
transaction and never commit on their own. Keys are global: the issuer's code, then the
fact's own identity (:func:`certificate_key`, :func:`reliance_key`).

A fact that would contradict an earlier one of the same issuer is refused with
:class:`RegistryConflict`, naming the issuer and the number: a number issued twice, a
certificate superseded or revoked that the registry never saw issued, a certificate
revoked twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction

from .models import CertificateFact, RelianceFact

__all__ = [
    "IssuedCertificate",
    "RegistryConflict",
    "Reliance",
    "certificate_key",
    "record_issued",
    "record_revoked",
    "reliance_key",
]

Event = CertificateFact.Event


class RegistryConflict(ValueError):
    """A fact contradicting an earlier fact of the same issuer."""


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """The public facts of an issued certificate (no customer, no person, no free text)."""

    issuer: str
    region: str
    number: str
    at: datetime
    kind: str
    verdict: str
    instrument_type: str
    pattern: str
    manufacturer: str
    model: str
    serial: str
    issued_on: date
    valid_until: date | None
    mark: str
    supersedes: str
    pdf_sha256: str
    signer_fingerprint: str


@dataclass(frozen=True, slots=True)
class Reliance:
    """A reference standard a certificate relied on, under one of its certificates."""

    standard_owner: str
    standard: str
    standard_certificate: str
    standard_certificate_issuer: str
    used_on: date


def certificate_key(issuer: str, number: str, event: str) -> str:
    """The global key of a certificate's fact: ``<issuer>/<number>/<event>``."""
    return f"{issuer}/{number}/{event}"


def reliance_key(issuer: str, number: str, reliance: Reliance) -> str:
    """The global key of a reliance fact: the certificate's, then the standard's and the
    standard's certificate's."""
    return (
        f"{issuer}/{number}/{reliance.standard_owner}/{reliance.standard}/"
        f"{reliance.standard_certificate}"
    )


def _create(fact: CertificateFact) -> CertificateFact:
    """Insert ``fact``; the same event of the same number twice is a conflict."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            fact.save(force_insert=True)
    except IntegrityError:
        raise RegistryConflict(
            f"issuer {fact.issuer}: certificate {fact.number} is already registered as {fact.event}"
        ) from None
    return fact


def _issued_fact(issuer: str, number: str, doing: str) -> CertificateFact:
    fact = CertificateFact.objects.filter(issuer=issuer, number=number, event=Event.ISSUED).first()
    if fact is None:
        raise RegistryConflict(
            f"issuer {issuer}: certificate {number} cannot be {doing}: the registry has no "
            "record of its issue"
        )
    return fact


def _follow_up(issued: CertificateFact, event: str, at: datetime, **fields: str) -> CertificateFact:
    """A later fact of an issued certificate: its public facts repeated (so that each row
    states the certificate whole), the event and when it took effect."""
    values = {
        name: getattr(issued, name)
        for name in (
            "issuer",
            "region",
            "number",
            "kind",
            "verdict",
            "instrument_type",
            "pattern",
            "manufacturer",
            "model",
            "serial",
            "issued_on",
            "valid_until",
            "mark",
            "supersedes",
            "pdf_sha256",
            "signer_fingerprint",
        )
    }
    return CertificateFact(
        key=certificate_key(issued.issuer, issued.number, event),
        event=event,
        at=at,
        **{**values, **fields},
    )


def record_issued(certificate: IssuedCertificate, relied_on: Iterable[Reliance] = ()) -> None:
    """Register an issued certificate, the standards it relied on, and, for an amendment,
    the certificate it supersedes."""
    if certificate.supersedes:
        previous = _issued_fact(certificate.issuer, certificate.supersedes, "superseded")
        _create(
            _follow_up(previous, Event.SUPERSEDED, certificate.at, superseded_by=certificate.number)
        )
    _create(
        CertificateFact(
            key=certificate_key(certificate.issuer, certificate.number, Event.ISSUED),
            event=Event.ISSUED,
            **asdict(certificate),
        )
    )
    facts = {
        reliance_key(certificate.issuer, certificate.number, r): RelianceFact(
            key=reliance_key(certificate.issuer, certificate.number, r),
            issuer=certificate.issuer,
            number=certificate.number,
            **asdict(r),
        )
        for r in relied_on
    }
    RelianceFact.objects.bulk_create(facts.values())


def record_revoked(issuer: str, number: str, at: datetime) -> None:
    """Register the revocation of ``number`` (the reason stays at home: it is free text)."""
    _create(_follow_up(_issued_fact(issuer, number, "revoked"), Event.REVOKED, at))
