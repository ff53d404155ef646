"""Each report as a table of texts: the one shape the page's table, its chart and its CSV
file are made from, so the three always show the same figures, rounded the same way.

Counts are whole numbers; days and rates are written to one decimal
(:func:`uncertainty.display.indication_text` with a step of 0.1, a tie away from zero);
a figure that does not exist (no certificate in a month) is an empty text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Organization
from uncertainty.display import indication_text

from . import figures
from .charts import Row, Series, bar_chart
from .figures import Period

TENTH = 0.1


def tenth(value: float | None) -> str:
    """A number of days or a rate in %, to one decimal; empty when there is none."""
    return "" if value is None else indication_text(value, TENTH)


def month_text(month: date) -> str:
    return f"{month:%Y-%m}"


def _type_name(row: dict[str, Any]) -> str:
    vietnamese = (get_language() or "").startswith("vi")
    return str(row["name_vi"] if vietnamese and row["name_vi"] else row["name"])


@dataclass(frozen=True)
class Column:
    heading: Any  # a lazily translated string
    text: Callable[[dict[str, Any]], str]
    number: bool = True  # aligned right on the page


@dataclass(frozen=True)
class Charted:
    """Which columns the chart draws (as series) and what its axis measures."""

    series: tuple[tuple[str, Any], ...]  # (key of the figure, label)
    axis: Any


@dataclass(frozen=True)
class Report:
    slug: str
    title: Any
    explanation: Any
    compute: Callable[[Organization, Period], list[dict[str, Any]]]
    columns: tuple[Column, ...]
    chart: Charted
    label: Callable[[dict[str, Any]], str]  # the row's label on the chart

    def texts(self, rows: list[dict[str, Any]]) -> list[list[str]]:
        return [[column.text(row) for column in self.columns] for row in rows]

    def headings(self) -> list[str]:
        return [str(column.heading) for column in self.columns]


def _count(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: str(row[key])


def _tenth(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: tenth(row[key])


def _month(row: dict[str, Any]) -> str:
    return month_text(row["month"])


THROUGHPUT = Report(
    slug="throughput",
    title=_("Throughput: certificates issued per month"),
    explanation=_(
        "Original certificates issued in each month (in the organization's time zone), by "
        "kind. An amendment re-issues a certificate already counted and is not counted again."
    ),
    compute=figures.throughput,
    columns=(
        Column(_("Month"), _month, number=False),
        Column(_("Calibration"), _count("calibration")),
        Column(_("Verification"), _count("verification")),
        Column(_("Total"), _count("total")),
    ),
    chart=Charted(
        (("calibration", _("Calibration")), ("verification", _("Verification"))),
        _("Certificates issued"),
    ),
    label=_month,
)

TURNAROUND = Report(
    slug="turnaround",
    title=_("Turnaround: from received to issued"),
    explanation=_(
        "For the certificates issued in each month: the days from the creation of the job "
        "(when the center received the instrument or the customer's request) to the "
        "certificate's issue; the median and the 90th percentile (linear interpolation "
        "between ranks)."
    ),
    compute=figures.turnaround,
    columns=(
        Column(_("Month"), _month, number=False),
        Column(_("Certificates"), _count("count")),
        Column(_("Median (days)"), _tenth("median_days")),
        Column(_("90th percentile (days)"), _tenth("p90_days")),
    ),
    chart=Charted(
        (("median_days", _("Median")), ("p90_days", _("90th percentile"))),
        _("Days from received to issued"),
    ),
    label=_month,
)

PASS_RATE = Report(
    slug="pass-rate",
    title=_("Pass rate by instrument type"),
    explanation=_(
        "Verification certificates issued in the period, by instrument type: how many "
        "instruments were verified, passed and failed, and the pass rate (passed / verified)."
    ),
    compute=figures.pass_rate,
    columns=(
        Column(_("Instrument type"), _type_name, number=False),
        Column(_("Verified"), _count("verified")),
        Column(_("Passed"), _count("passed")),
        Column(_("Failed"), _count("failed")),
        Column(_("Pass rate (%)"), _tenth("rate")),
    ),
    chart=Charted((("rate", _("Pass rate")),), _("Pass rate (%)")),
    label=_type_name,
)

WORKLOAD = Report(
    slug="workload",
    title=_("Workload by person"),
    explanation=_(
        "What each person signed in the period: runs measured (performed), reviewed "
        "(checked) and approved (authorized), by the date of their signature, and "
        "certificates issued."
    ),
    compute=figures.workload,
    columns=(
        Column(_("Person"), lambda row: f"{row['name']} ({row['username']})", number=False),
        Column(_("Runs measured"), _count("measured")),
        Column(_("Runs reviewed"), _count("reviewed")),
        Column(_("Runs approved"), _count("approved")),
        Column(_("Certificates issued"), _count("issued")),
    ),
    chart=Charted(
        (
            ("measured", _("Measured")),
            ("reviewed", _("Reviewed")),
            ("approved", _("Approved")),
            ("issued", _("Issued")),
        ),
        _("Runs and certificates"),
    ),
    label=lambda row: str(row["name"]),
)

REPORTS = {report.slug: report for report in (THROUGHPUT, TURNAROUND, PASS_RATE, WORKLOAD)}


def chart_of(report: Report, rows: list[dict[str, Any]]) -> Any:
    """The report's SVG chart (``None`` when there is nothing to draw)."""
    keys = [key for key, _label in report.chart.series]
    columns = {key: _tenth(key) if key.endswith(("_days", "rate")) else _count(key) for key in keys}
    return bar_chart(
        chart_id=f"chart-{report.slug}",
        title=str(report.title),
        desc=str(report.explanation),
        axis=str(report.chart.axis),
        series=[Series(key, str(label)) for key, label in report.chart.series],
        rows=[
            Row(
                label=report.label(row),
                values=tuple(row[key] for key in keys),
                texts=tuple(columns[key](row) for key in keys),
            )
            for row in rows
        ],
    )
