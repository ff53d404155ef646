"""The figures of the quality manager's reports, counted by the database.

Each report is a handful of grouped aggregations over one organization's rows in a
period (:class:`Period`: from/to dates, both included, in the organization's time zone),
never a loop over its records: the database returns one row per month, instrument type or
person, whatever the number of certificates behind it.

Definitions (the reports page and ``docs/centers/reports.md`` say the same):

* a certificate *issued* is a run's original certificate (``supersedes`` empty), counted
  in the month of its ``issued_at`` in the organization's zone; an amendment re-issues
  work already counted and is not counted again;
* a job is *received* when it is created (``Job.created_at``: the moment the instrument
  is booked in, or a customer's request becomes a job); its
  turnaround is ``issued_at − created_at`` of each original certificate of its runs;
* a verification *passed* when its run's statement (the server's) is ``pass``, *failed*
  when it is ``fail``; the pass rate is passed / verified;
* a person's workload: the runs they performed (measured), checked (reviewed) and
  authorized (approved), by the date of their electronic signature on the run, and the
  original certificates they issued.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth

from labserver.accounts.models import Organization, User
from labserver.issuance.models import Certificate, CertificateKind
from labserver.measurements.models import RunSignature

# The two percentiles of the turnaround (fractions of the sorted durations).
MEDIAN, P90 = 0.5, 0.9
DAY = 86400.0


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end`` (both included), dates in ``zone``."""

    start: date
    end: date
    zone: ZoneInfo

    def bounds(self) -> tuple[datetime, datetime]:
        """The first instant of ``start`` and the first instant after ``end``."""
        first = datetime.combine(self.start, time.min, tzinfo=self.zone)
        after = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)
        return first, after

    def months(self) -> list[date]:
        """The first day of each month the period touches, in order."""
        index = self.start.year * 12 + self.start.month - 1
        last = self.end.year * 12 + self.end.month - 1
        return [date(i // 12, i % 12 + 1, 1) for i in range(index, last + 1)]


def default_period(today: date, zone: ZoneInfo) -> Period:
    """The last twelve months: from the first day of the month eleven months before
    ``today``'s to ``today``."""
    index = today.year * 12 + today.month - 1 - 11
    return Period(date(index // 12, index % 12 + 1, 1), today, zone)


def _issued(organization: Organization, period: Period) -> QuerySet[Certificate]:
    """The organization's original certificates issued in the period."""
    first, after = period.bounds()
    return Certificate.objects.filter(
        organization=organization,
        supersedes__isnull=True,
        issued_at__gte=first,
        issued_at__lt=after,
    )


def _month(field: str, period: Period) -> TruncMonth:
    return TruncMonth(field, tzinfo=period.zone, output_field=DateField())


# ------------------------------------------------------------------------- throughput


def throughput(organization: Organization, period: Period) -> list[dict[str, Any]]:
    """Original certificates issued per month, by kind (every month of the period, zeros
    included)."""
    counted = {
        row["month"]: row
        for row in _issued(organization, period)
        .values(month=_month("issued_at", period))
        .annotate(
            calibration=Count("pk", filter=Q(kind=CertificateKind.CALIBRATION)),
            verification=Count("pk", filter=Q(kind=CertificateKind.VERIFICATION)),
        )
        .order_by("month")
    }
    rows = []
    for month in period.months():
        found = counted.get(month, {})
        calibration, verification = found.get("calibration", 0), found.get("verification", 0)
        rows.append(
            {
                "month": month,
                "calibration": calibration,
                "verification": verification,
                "total": calibration + verification,
            }
        )
    return rows


# ------------------------------------------------------------------------- turnaround


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont``: linear interpolation between the two closest
    ranks (the value at rank ``fraction × (n − 1)`` of the sorted values, counted from 0)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile(values: list[float], fraction: float) -> float:
    """What :class:`Percentile` computes, for the databases without it (SQLite)."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def _days(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / DAY


def turnaround(organization: Organization, period: Period) -> list[dict[str, Any]]:
    """Per month of issue: how many certificates, and the median and 90th percentile of
    their turnaround (received → issued) in days (``None`` in a month without any)."""
    duration = ExpressionWrapper(
        F("issued_at") - F("run__job__created_at"), output_field=DurationField()
    )
    issued = _issued(organization, period).annotate(month=_month("issued_at", period))
    counted: dict[date, dict[str, Any]] = {}
    if connection.vendor == "postgresql":
        for row in (
            issued.values("month")
            .annotate(
                count=Count("pk"),
                median=Percentile(duration, MEDIAN, output_field=DurationField()),
                p90=Percentile(duration, P90, output_field=DurationField()),
            )
            .order_by("month")
        ):
            counted[row["month"]] = {
                "count": row["count"],
                "median_days": _days(row["median"]),
                "p90_days": _days(row["p90"]),
            }
    else:
        # SQLite has no percentile: the two dates of each certificate come back and are
        # ranked here, with the same interpolation as percentile_cont.
        by_month: dict[date, list[float]] = {}
        for month, issued_at, received in issued.values_list(
            "month", "issued_at", "run__job__created_at"
        ):
            by_month.setdefault(month, []).append((issued_at - received).total_seconds() / DAY)
        for month, days in by_month.items():
            counted[month] = {
                "count": len(days),
                "median_days": percentile(days, MEDIAN),
                "p90_days": percentile(days, P90),
            }
    return [
        {"month": month, **counted.get(month, {"count": 0, "median_days": None, "p90_days": None})}
        for month in period.months()
    ]


# ---------------------------------------------------------------------------- pass rate


def pass_rate(organization: Organization, period: Period) -> list[dict[str, Any]]:
    """Per instrument type: verifications issued (verified), passed, failed, and the pass
    rate in % (``None`` without any verification)."""
    kind = "run__job__instrument__instrument_type__"
    rows = []
    for row in (
        _issued(organization, period)
        .filter(kind=CertificateKind.VERIFICATION)
        .values(code=F(kind + "code"), name=F(kind + "name"), name_vi=F(kind + "name_vi"))
        .annotate(
            verified=Count("pk"),
            passed=Count("pk", filter=Q(run__server_conformity="pass")),
            failed=Count("pk", filter=Q(run__server_conformity="fail")),
        )
        .order_by("code")
    ):
        verified = row["verified"]
        rows.append({**row, "rate": 100.0 * row["passed"] / verified if verified else None})
    return rows


# ----------------------------------------------------------------------------- workload

WORK = ("measured", "reviewed", "approved", "issued")


def workload(organization: Organization, period: Period) -> list[dict[str, Any]]:
    """Per person: runs measured, reviewed and approved (by their signatures' dates) and
    original certificates issued in the period, by name."""
    first, after = period.bounds()
    meaning = RunSignature.Meaning
    by_user: dict[int, dict[str, int]] = {}
    for row in (
        RunSignature.objects.filter(
            run__organization=organization, signed_at__gte=first, signed_at__lt=after
        )
        .values("user")
        .annotate(
            measured=Count("pk", filter=Q(meaning=meaning.PERFORMED)),
            reviewed=Count("pk", filter=Q(meaning=meaning.CHECKED)),
            approved=Count("pk", filter=Q(meaning=meaning.AUTHORIZED)),
        )
        .order_by()
    ):
        by_user[row.pop("user")] = row
    for row in _issued(organization, period).values("issued_by").annotate(issued=Count("pk")):
        by_user.setdefault(row["issued_by"], {})["issued"] = row["issued"]
    people = User.objects.filter(pk__in=by_user).values("pk", "username", "full_name")
    rows = [
        {
            "username": person["username"],
            "name": person["full_name"] or person["username"],
            **{work: by_user[person["pk"]].get(work, 0) for work in WORK},
        }
        for person in people
    ]
    rows = [row for row in rows if any(row[work] for work in WORK)]
    return sorted(rows, key=lambda row: (row["name"].casefold(), row["username"]))
