"""What a customer sees of the instruments its organization owns.

Every lookup starts from :func:`owned_instruments`, narrowed to the customer
organizations the person belongs to as a customer: another customer's instrument or
certificate is simply not found (404), as in the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from labserver.accounts.access import customer_organization_ids
from labserver.instruments.models import Instrument
from labserver.issuance.documents import add_months
from labserver.issuance.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    certified_instrument,
)
from labserver.issuance.services import CertificateState, certificate_state


class DueBasis:
    """Where a next due date comes from (shown beside the date)."""

    VERIFICATION = "verification"  # the verification's validity (its mark's "valid until")
    RECOMMENDED = "recommended"  # calibration date + the instrument type's stated interval


@dataclass(frozen=True)
class CertificateRow:
    certificate: Certificate
    state: CertificateState
    performed_on: date
    issued_on: date
    due_on: date | None
    due_basis: str

    @property
    def valid(self) -> bool:
        return self.state.status == CertificateStatus.VALID


@dataclass(frozen=True)
class InstrumentRow:
    instrument: Instrument
    certificates: list[CertificateRow]

    @property
    def current(self) -> CertificateRow | None:
        """The newest certificate still valid (neither superseded nor revoked)."""
        return next((row for row in self.certificates if row.valid), None)

    @property
    def next_due(self) -> date | None:
        current = self.current
        return current.due_on if current is not None else None

    @property
    def overdue(self) -> bool:
        due = self.next_due
        return due is not None and due < timezone.localdate()


def owned_instruments(user: Any) -> QuerySet[Instrument]:
    """The instruments owned by the customer organizations ``user`` belongs to."""
    return (
        Instrument.objects.filter(owner__in=customer_organization_ids(user))
        .select_related("owner", "organization", "instrument_type", "pattern")
        .order_by("owner__code", "instrument_type__code", "serial", "pk")
    )


def owned_certificates(user: Any) -> QuerySet[Certificate]:
    """Certificates of the instruments ``user``'s customer organizations own."""
    return Certificate.objects.filter(
        certified_instrument("__owner__in", customer_organization_ids(user))
    )


def due_date(certificate: Certificate) -> tuple[date | None, str]:
    """The next due date a certificate gives its instrument, and where it comes from.

    A verification: its validity (``valid_until``). A calibration: the day it was
    performed plus the interval the instrument type states; none stated, no date (the
    interval of a calibration is never guessed).
    """
    if certificate.kind == CertificateKind.VERIFICATION:
        if certificate.valid_until is None:
            return None, ""
        return certificate.valid_until, DueBasis.VERIFICATION
    months = certificate.job.instrument.instrument_type.verification_interval_months
    if not months:
        return None, ""
    performed = timezone.localdate(certificate.run.finished_at, certificate.organization.zone)
    return add_months(performed, months), DueBasis.RECOMMENDED


def certificate_rows(certificates: Iterable[Certificate]) -> list[CertificateRow]:
    """Each certificate with its state, its dates and the next due date it gives."""
    rows = []
    for certificate in certificates:
        due, basis = due_date(certificate)
        rows.append(
            CertificateRow(
                certificate=certificate,
                state=certificate_state(certificate),
                performed_on=timezone.localdate(
                    certificate.run.finished_at, certificate.organization.zone
                ),
                issued_on=timezone.localdate(certificate.issued_at, certificate.organization.zone),
                due_on=due,
                due_basis=basis,
            )
        )
    return rows


def with_certificates(instruments: Iterable[Instrument]) -> list[InstrumentRow]:
    """Each instrument with its certificates, newest first, in one query for them all."""
    instruments = list(instruments)
    certificates = (
        Certificate.objects.filter(certified_instrument("__in", [i.pk for i in instruments]))
        .select_related(
            "organization",
            "run__job__instrument__instrument_type",
            "position__job__instrument__instrument_type",
        )
        .prefetch_related("events__replacement")
        .order_by("-issued_at", "-pk")
    )
    by_instrument: dict[int, list[Certificate]] = {i.pk: [] for i in instruments}
    for certificate in certificates:
        by_instrument[certificate.job.instrument_id].append(certificate)
    return [InstrumentRow(i, certificate_rows(by_instrument[i.pk])) for i in instruments]
