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

from .models import (
    CalibrationLinkFact,
    CertificateFact,
    OrganizationFact,
    RelianceFact,
    SigningKeyFact,
    StandardFact,
)

__all__ = [
    "IssuedCertificate",
    "IssuerDescribed",
    "RegistryConflict",
    "Reliance",
    "SigningKeyInUse",
    "certificate_key",
    "record_issued",
    "record_issuer",
    "record_key_revoked",
    "record_revoked",
    "record_signing_key",
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


# ------------------------------------------------------------------ reference standards


@dataclass(frozen=True, slots=True)
class StandardRegistered:
    """A reference standard as the registry states it."""

    owner: str
    standard: str
    name: str
    field: str
    level: str
    manufacturer: str
    model: str
    serial: str


@dataclass(frozen=True, slots=True)
class Upstream:
    """A standard that served a calibration, under its certificate in force then (empty
    when it had none: a break in the chain, registered as such)."""

    owner: str
    standard: str
    certificate: str


@dataclass(frozen=True, slots=True)
class StandardCalibration:
    """A calibration certificate of a standard."""

    certificate: str
    certificate_issuer: str
    accreditation: str
    calibrated_on: date
    due_on: date
    certificate_sha256: str


def standard_key(owner: str, standard: str, event: str, detail: str = "") -> str:
    """The global key of a standard's fact: ``<owner>/<asset id>/<event>[/<detail>]``."""
    return "/".join(part for part in (owner, standard, event, detail) if part)


def _standard_fact(owner: str, standard: str, doing: str) -> StandardFact:
    fact = StandardFact.objects.filter(
        owner=owner, standard=standard, event=StandardFact.Event.REGISTERED
    ).first()
    if fact is None:
        raise RegistryConflict(
            f"owner {owner}: standard {standard} cannot be {doing}: the registry has no "
            "record of its registration"
        )
    return fact


def _insert_once(fact: StandardFact) -> None:
    """Insert ``fact``; the same fact recorded again (the same standard marked out of
    tolerance since the same day twice) is the same fact, kept once."""
    StandardFact.objects.bulk_create([fact], ignore_conflicts=True)


def record_standard(standard: StandardRegistered, at: datetime) -> None:
    """Register a reference standard."""
    _insert_once(
        StandardFact(
            key=standard_key(standard.owner, standard.standard, StandardFact.Event.REGISTERED),
            event=StandardFact.Event.REGISTERED,
            at=at,
            **asdict(standard),
        )
    )


def _described(registered: StandardFact) -> dict[str, str]:
    return {
        name: getattr(registered, name)
        for name in (
            "owner",
            "standard",
            "name",
            "field",
            "level",
            "manufacturer",
            "model",
            "serial",
        )
    }


def record_standard_calibrated(
    owner: str,
    standard: str,
    calibration: StandardCalibration,
    at: datetime,
    upstream: Iterable[Upstream] = (),
) -> None:
    """Register a calibration certificate of a standard and the standards that served it."""
    registered = _standard_fact(owner, standard, "calibrated")
    _insert_once(
        StandardFact(
            key=standard_key(
                owner, standard, StandardFact.Event.CALIBRATED, calibration.certificate
            ),
            event=StandardFact.Event.CALIBRATED,
            at=at,
            **_described(registered),
            **asdict(calibration),
        )
    )
    links = {
        f"{owner}/{standard}/{calibration.certificate}/{u.owner}/{u.standard}": (
            CalibrationLinkFact(
                key=f"{owner}/{standard}/{calibration.certificate}/{u.owner}/{u.standard}",
                owner=owner,
                standard=standard,
                certificate=calibration.certificate,
                upstream_owner=u.owner,
                upstream_standard=u.standard,
                upstream_certificate=u.certificate,
                used_on=calibration.calibrated_on,
            )
        )
        for u in upstream
    }
    CalibrationLinkFact.objects.bulk_create(links.values(), ignore_conflicts=True)


def record_out_of_tolerance(owner: str, standard: str, since: date, at: datetime) -> None:
    """Register that a standard has been out of tolerance since ``since`` (the reason is
    free text: it stays at home)."""
    registered = _standard_fact(owner, standard, "marked out of tolerance")
    _insert_once(
        StandardFact(
            key=standard_key(
                owner, standard, StandardFact.Event.OUT_OF_TOLERANCE, since.isoformat()
            ),
            event=StandardFact.Event.OUT_OF_TOLERANCE,
            at=at,
            since=since,
            **_described(registered),
        )
    )


# ------------------------------------------------------------------ issuers and their keys


@dataclass(frozen=True, slots=True)
class IssuerDescribed:
    """An issuing organization as the registry describes it."""

    code: str
    name: str
    kind: str
    region: str
    accreditation: str
    parent: str
    time_zone: str


def record_issuer(issuer: IssuerDescribed, at: datetime) -> None:
    """Describe an issuing organization (its latest description is the one in force)."""
    OrganizationFact.objects.create(
        key=f"{issuer.code}/described/{at.isoformat()}", at=at, **asdict(issuer)
    )


@dataclass(frozen=True, slots=True)
class SigningKeyInUse:
    """A signing key at its first use: what verifies the signatures it makes."""

    issuer: str
    fingerprint: str
    certificate_pem: str
    trust_roots_pem: str
    valid_from: datetime | None
    valid_until: datetime | None


def record_signing_key(key: SigningKeyInUse, at: datetime) -> None:
    """Register a signing key at its first use."""
    SigningKeyFact.objects.create(
        key=f"{key.issuer}/key/{key.fingerprint}/{SigningKeyFact.Event.IN_USE}",
        event=SigningKeyFact.Event.IN_USE,
        at=at,
        **asdict(key),
    )


def record_key_revoked(issuer: str, fingerprint: str, at: datetime) -> None:
    """Register the revocation of a signing key (the reason stays at home)."""
    in_use = SigningKeyFact.objects.filter(
        issuer=issuer, fingerprint=fingerprint, event=SigningKeyFact.Event.IN_USE
    ).first()
    if in_use is None:
        raise RegistryConflict(
            f"issuer {issuer}: signing key {fingerprint[:16]}… cannot be revoked: the registry "
            "has no record of its use"
        )
    try:
        with transaction.atomic():
            SigningKeyFact.objects.create(
                key=f"{issuer}/key/{fingerprint}/{SigningKeyFact.Event.REVOKED}",
                issuer=issuer,
                fingerprint=fingerprint,
                event=SigningKeyFact.Event.REVOKED,
                at=at,
            )
    except IntegrityError:
        raise RegistryConflict(
            f"issuer {issuer}: signing key {fingerprint[:16]}… is already registered as revoked"
        ) from None
