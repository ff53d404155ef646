"""The reports page of quality managers and auditors, and each report's CSV file.

``/quality/reports/`` shows, for one organization the person may read
(``?organization=CODE``, default the first by code) over a period (``?from=&to=``,
default the last twelve months, in the organization's time zone), the four reports:
each a chart, the table of the same figures, and a link to its CSV file. The page only
reads; a CSV downloaded leaves an entry in the organization's audit trail
(:func:`labserver.reports.services.record_download`).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from labserver.accounts.models import Organization
from labserver.web.access import page_for

from . import services
from .access import READERS, report_organizations
from .figures import Period, default_period
from .forms import PeriodForm
from .tables import REPORTS, Report, chart_of

# Excel opens a CSV file as UTF-8 only when it starts with the byte order mark.
BOM = "\ufeff"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


class Chosen:
    """What the request asks for: the organization, the period form, the period."""

    def __init__(self, request: HttpRequest) -> None:
        self.organizations = report_organizations(request.user)
        code = request.GET.get("organization", "").strip()
        found = next((o for o in self.organizations if o.code == code), None)
        if code and found is None:
            raise Http404("organization: not found")
        if found is None and not self.organizations:
            raise Http404("organization: none whose reports you may read")
        self.organization: Organization = found or self.organizations[0]
        zone = self.organization.zone
        default = default_period(timezone.localdate(timezone.now(), zone), zone)
        self.form = PeriodForm(request.GET, default_start=default.start, default_end=default.end)
        self.period: Period | None = None
        if self.form.is_valid():
            cleaned = self.form.cleaned_data
            self.period = Period(cleaned["from"], cleaned["to"], zone)

    def query(self) -> str:
        assert self.period is not None
        return urlencode(
            {
                "organization": self.organization.code,
                "from": self.period.start.isoformat(),
                "to": self.period.end.isoformat(),
            }
        )


@page_for(*READERS)
def index(request: HttpRequest) -> HttpResponse:
    """The four reports of one organization over one period."""
    chosen = Chosen(request)
    context: dict[str, Any] = {
        "organizations": chosen.organizations,
        "organization": chosen.organization,
        "form": chosen.form,
        "period": chosen.period,
    }
    if chosen.period is None:
        return render(request, "reports/index.html", context, status=400)
    sections = []
    for report in REPORTS.values():
        rows = report.compute(chosen.organization, chosen.period)
        sections.append(
            {
                "report": report,
                "headings": report.headings(),
                "numeric": [column.number for column in report.columns],
                "rows": report.texts(rows),
                "chart": chart_of(report, rows),
                "csv_url": reverse("reports:csv", args=[report.slug]) + "?" + chosen.query(),
            }
        )
    context["sections"] = sections
    return render(request, "reports/index.html", context)


def _cell(text: str, number: bool) -> str:
    """A text cell that a spreadsheet would take for a formula (a name beginning with
    ``=``, ``+``, ``-`` or ``@``) is written with a leading apostrophe, read as text."""
    return "'" + text if not number and text[:1] in FORMULA else text


def _csv_text(report: Report, texts: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(report.headings())
    numbers = [column.number for column in report.columns]
    writer.writerows([_cell(t, n) for t, n in zip(row, numbers, strict=True)] for row in texts)
    return BOM + buffer.getvalue()


@page_for(*READERS)
def download(request: HttpRequest, slug: str) -> HttpResponse:
    """One report as a CSV file (UTF-8 with a byte order mark, a header row), audited."""
    report = REPORTS.get(slug)
    if report is None:
        raise Http404("report: not found")
    chosen = Chosen(request)
    if chosen.period is None:
        errors = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in chosen.form.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    texts = report.texts(report.compute(chosen.organization, chosen.period))
    services.record_download(
        actor=request.user,
        organization=chosen.organization,
        report=report.slug,
        period=chosen.period,
        rows=len(texts),
    )
    response = HttpResponse(_csv_text(report, texts), content_type="text/csv; charset=utf-8")
    name = f"{report.slug}-{chosen.organization.code}-{chosen.period.start}-{chosen.period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
