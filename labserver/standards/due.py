"""Which reference standards fall due for calibration, and which are overdue, on a date.

The due list of the front office and of the quality page: each standard of the given
organizations (not retired) with the certificate in force on the date, sorted into out of
tolerance (the nonconformities' business, apart), overdue and the windows of
:data:`WINDOWS` days. One query: the certificate in force is a subquery of each standard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import OuterRef, Q, Subquery

from .models import ReferenceStandard, StandardCertificate

#: The windows of the due list, in days from the date.
WINDOWS = (30, 60, 90)


@dataclass(frozen=True)
class DueStandard:
    """A standard with the number and due date of its certificate in force (None: none)."""

    standard: ReferenceStandard
    number: str | None
    due_on: date | None
    days: int | None  # days left (due) or days past (overdue); None: never calibrated


@dataclass
class DueList:
    on: date
    overdue: list[DueStandard] = field(default_factory=list)
    # out of tolerance on the date (before overdue: ReferenceStandard.status_on's order),
    # in the order of the organizations' codes and the standards' asset ids
    out_of_tolerance: list[DueStandard] = field(default_factory=list)
    windows: dict[int, list[DueStandard]] = field(
        default_factory=lambda: {days: [] for days in WINDOWS}
    )


def with_certificate_in_force(organization_ids: Iterable[int], on: date) -> list[ReferenceStandard]:
    """The standards of ``organization_ids`` in service on ``on``, each annotated with
    ``in_force_number`` and ``in_force_due`` (its certificate in force then)."""
    in_force = StandardCertificate.objects.filter(
        standard=OuterRef("pk"), calibrated_on__lte=on
    ).order_by("-calibrated_on", "-pk")
    return list(
        ReferenceStandard.objects.filter(organization__in=list(organization_ids))
        .filter(Q(retired_on__isnull=True) | Q(retired_on__gt=on))
        .select_related("organization")
        .annotate(
            in_force_number=Subquery(in_force.values("number")[:1]),
            in_force_due=Subquery(in_force.values("due_on")[:1]),
        )
        .order_by("organization__code", "asset_id")
    )


def due_list(organization_ids: Iterable[int], on: date) -> DueList:
    """Out-of-tolerance standards apart, then overdue ones (no certificate, or past its due
    date) and those due within each window, soonest first."""
    found = DueList(on=on)
    for standard in with_certificate_in_force(organization_ids, on):
        due_on: date | None = getattr(standard, "in_force_due", None)
        number: str | None = getattr(standard, "in_force_number", None)
        since = standard.out_of_tolerance_since
        if since is not None and since <= on:
            found.out_of_tolerance.append(DueStandard(standard, number, due_on, None))
            continue
        if due_on is None or on > due_on:
            days = (on - due_on).days if due_on else None
            found.overdue.append(DueStandard(standard, number, due_on, days))
            continue
        left = (due_on - on).days
        window = next((w for w in WINDOWS if left <= w), None)
        if window is not None:
            found.windows[window].append(DueStandard(standard, number, due_on, left))
    for items in (found.overdue, *found.windows.values()):
        items.sort(key=lambda item: (item.due_on or date.min, item.standard.asset_id))
    return found
