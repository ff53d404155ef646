"""Registry facts written as replication writes them on the national node: a standard's
calibration, a link between standards, a registered certificate with the standard it relied
on. Shared by the reverse trace's tests and the recall notices'."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from labserver.registry.models import (
    CalibrationLinkFact,
    CertificateFact,
    RelianceFact,
    StandardFact,
)


def at(day: date) -> datetime:
    """Nine in the morning of ``day``, UTC: when a fact of that day was written."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def _standard_fact(
    owner: str, standard: str, event: str, detail: str, day: date, **fields: Any
) -> StandardFact:
    """A fact of an electrical reference ``standard`` (its name its asset id)."""
    return StandardFact(
        key=f"{owner}/{standard}/{event}/{detail}",
        owner=owner,
        standard=standard,
        event=event,
        at=at(day),
        name=standard,
        field="electrical",
        level="reference",
        **fields,
    )


def calibrated(owner: str, standard: str, certificate: str, day: date) -> StandardFact:
    """``standard`` calibrated on ``day`` under ``certificate`` (by its owner), for a year."""
    return _standard_fact(
        owner,
        standard,
        "calibrated",
        certificate,
        day,
        certificate=certificate,
        certificate_issuer=owner,
        calibrated_on=day,
        due_on=date(day.year + 1, day.month, day.day),
    )


def link(
    owner: str, standard: str, certificate: str, upstream: tuple[str, str, str], day: date
) -> CalibrationLinkFact:
    up_owner, up_standard, up_certificate = upstream
    return CalibrationLinkFact(
        key=f"{owner}/{standard}/{certificate}/{up_owner}/{up_standard}",
        owner=owner,
        standard=standard,
        certificate=certificate,
        upstream_owner=up_owner,
        upstream_standard=up_standard,
        upstream_certificate=up_certificate,
        used_on=day,
    )


def certificate(
    issuer: str, number: str, day: date, relied: tuple[str, str], event: str = "issued"
) -> None:
    """The ``event`` fact of certificate ``number``; issued, with its reliance on
    ``relied`` (owner, asset id) that day."""
    CertificateFact.objects.create(
        key=f"{issuer}/{number}/{event}",
        issuer=issuer,
        number=number,
        event=event,
        at=at(day),
        kind="calibration",
        instrument_type="dmm",
        serial=f"S-{number}",
        issued_on=day,
        pdf_sha256="0" * 64,
        signer_fingerprint="1" * 64,
    )
    if event == "issued":
        owner, standard = relied
        RelianceFact.objects.create(
            key=f"{issuer}/{number}/{owner}/{standard}/C",
            issuer=issuer,
            number=number,
            standard_owner=owner,
            standard=standard,
            standard_certificate="C",
            standard_certificate_issuer=owner,
            used_on=day,
        )


def out_of_tolerance(owner: str, standard: str, since: date, found_on: date) -> StandardFact:
    """The fact, saved, that ``standard`` is out of tolerance since ``since``, found on
    ``found_on``."""
    fact = _standard_fact(
        owner, standard, "out_of_tolerance", since.isoformat(), found_on, since=since
    )
    StandardFact.objects.bulk_create([fact])
    return fact
