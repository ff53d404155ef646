"""The customer's instruments (signed in, role customer) and the public open data (anyone)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from labserver.accounts.models import Role
from labserver.core.fields import MeasurementField
from labserver.core.throttles import OpenDataThrottle
from labserver.issuance.files import certificate_file
from labserver.standards.models import ReferenceStandard, Status
from labserver.web.access import page_for
from labserver.web.throttling import throttled

from . import customers, opendata

INSTRUMENTS_PER_PAGE = 25
ROWS_PER_PAGE = 50

#: The class each standard status is shown with (colour plus the word, never colour alone).
STANDARD_STATUS_CLASS = {
    Status.IN_SERVICE: "pass",
    Status.DUE: "warn",
    Status.OVERDUE: "fail",
    Status.OUT_OF_TOLERANCE: "fail",
    Status.RETIRED: "muted",
}


def _page(request: HttpRequest, items: Any, per_page: int) -> Any:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


# --------------------------------------------------------------------------- customers


@require_GET
@page_for(Role.CUSTOMER)
def instruments(request: HttpRequest) -> HttpResponse:
    """The instruments the person's customer organizations own, with their certificates."""
    page = _page(request, customers.owned_instruments(request.user), INSTRUMENTS_PER_PAGE)
    rows = customers.with_certificates(page.object_list)
    return render(request, "portal/instruments.html", {"page": page, "rows": rows})


@require_GET
@page_for(Role.CUSTOMER)
def instrument(request: HttpRequest, pk: int) -> HttpResponse:
    """One instrument of the customer: its certificates and its jobs, newest first."""
    found = get_object_or_404(customers.owned_instruments(request.user), pk=pk)
    [row] = customers.with_certificates([found])
    jobs = found.jobs.select_related("procedure").order_by("-created_at", "-pk")
    return render(request, "portal/instrument.html", {"row": row, "jobs": jobs})


@require_GET
@page_for(Role.CUSTOMER)
def certificate_pdf(request: HttpRequest, number: str) -> HttpResponse:
    """The signed PDF of a certificate of the customer's instrument, exactly as issued."""
    certificate = get_object_or_404(customers.owned_certificates(request.user), number=number)
    return certificate_file(request, certificate, "pdf")


# --------------------------------------------------------------------------- open data


def _chart(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars of the monthly totals (passed, failed, other stacked), in SVG user units."""
    width, height, top, bottom, left = 640, 220, 10, 30, 36
    plot = height - top - bottom
    peak = max((m["issued"] for m in months), default=0) or 1
    step = (width - left) / max(len(months), 1)
    bars = []
    for i, m in enumerate(months):
        x = left + i * step + step * 0.15
        y = float(height - bottom)
        parts = []
        for kind, count in (
            ("passed", m["passed"]),
            ("failed", m["failed"]),
            ("other", m["issued"] - m["passed"] - m["failed"]),
        ):
            h = plot * count / peak
            y -= h
            if count:
                parts.append({"kind": kind, "y": round(y, 1), "h": round(h, 1), "count": count})
        bars.append(
            {
                "x": round(x, 1),
                "w": round(step * 0.7, 1),
                "label": f"{m['month']:%m/%y}",
                "label_x": round(x + step * 0.35, 1),
                "parts": parts,
                **m,
            }
        )
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "peak": peak,
        "axis_y": height - bottom,
        "label_y": height - bottom + 18,
        "left": left,
        "top": top,
    }


@require_GET
@throttled(OpenDataThrottle)
def open_data(request: HttpRequest) -> HttpResponse:
    """The datasets, their downloads, and the verification results as a table and chart."""
    page = _page(
        request,
        opendata.verification_results(),
        ROWS_PER_PAGE,
    )
    rows = [opendata.verification_row(row) for row in page.object_list]
    datasets = [
        {
            "dataset": dataset,
            "csv": reverse("portal:dataset-csv", args=[dataset.slug]),
            "json": reverse("portal:dataset-json", args=[dataset.slug]),
        }
        for dataset in opendata.DATASETS
    ]
    context = {
        "datasets": datasets,
        "page": page,
        "rows": rows,
        "chart": _chart(opendata.monthly_totals()),
        "license": opendata.license_info(),
    }
    return render(request, "portal/open_data.html", context)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _dataset(slug: str) -> opendata.Dataset:
    for dataset in opendata.DATASETS:
        if dataset.slug == slug:
            return dataset
    raise Http404("no such dataset")


class _Echo:
    """A file that hands back what is written to it: csv.writer formats, we stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(dataset: opendata.Dataset) -> Iterator[str]:
    names = [f.name for f in dataset.fields]
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(names)
    for row in opendata.rows_of(dataset.slug):
        yield writer.writerow(["" if row[n] is None else _iso(row[n]) for n in names])


@require_GET
@throttled(OpenDataThrottle)
def dataset_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    dataset = _dataset(slug)
    response = StreamingHttpResponse(
        _csv_lines(dataset), content_type="text/csv; charset=utf-8; header=present"
    )
    response["Content-Disposition"] = f'attachment; filename="{dataset.slug}.csv"'
    return response


def _json_chunks(dataset: opendata.Dataset, metadata_url: str) -> Iterator[str]:
    head = {
        "dataset": dataset.slug,
        "title": str(dataset.title),
        "license": opendata.license_info()["url"],
        "metadata": metadata_url,
        "fields": [f.name for f in dataset.fields],
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": ['
    first = True
    for row in opendata.rows_of(dataset.slug):
        text = json.dumps({k: _iso(v) for k, v in row.items()}, ensure_ascii=False)
        yield text if first else ",\n" + text
        first = False
    yield "]}\n"


@require_GET
@throttled(OpenDataThrottle)
def dataset_json(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    dataset = _dataset(slug)
    metadata = request.build_absolute_uri(reverse("portal:datasets"))
    return StreamingHttpResponse(
        _json_chunks(dataset, metadata), content_type="application/json; charset=utf-8"
    )


@require_GET
@throttled(OpenDataThrottle)
def datasets(request: HttpRequest) -> JsonResponse:
    """The catalogue of the open datasets, DCAT-like: what each holds, its fields with
    their units, its downloads, its licence and when it last changed."""
    licence = opendata.license_info()
    updated = {
        opendata.VERIFICATION_RESULTS.slug: opendata.verification_results_updated(),
        opendata.STANDARDS.slug: opendata.standards_updated(),
        opendata.AUDIT_ANCHORS.slug: opendata.anchors_updated(),
    }
    catalogue = {
        "@type": "dcat:Catalog",
        "title": _("caltrace open data"),
        "description": _(
            "Open data of the metrology laboratories and verification centers. No personal "
            "data: no people, no customers, no serial numbers of customers' instruments."
        ),
        "language": get_language(),
        "license": licence,
        "homepage": request.build_absolute_uri(reverse("portal:open-data")),
        "dataset": [
            {
                "@type": "dcat:Dataset",
                "identifier": dataset.slug,
                "title": str(dataset.title),
                "description": str(dataset.description),
                "license": licence["url"],
                "modified": _iso(updated[dataset.slug]),
                "fields": [
                    {
                        "name": f.name,
                        "type": f.type,
                        "unit": f.unit,
                        "description": str(f.description),
                    }
                    for f in dataset.fields
                ],
                "distribution": [
                    {
                        "@type": "dcat:Distribution",
                        "format": fmt.upper(),
                        "mediaType": media,
                        "downloadURL": request.build_absolute_uri(
                            reverse(f"portal:dataset-{fmt}", args=[dataset.slug])
                        ),
                    }
                    for fmt, media in (("csv", "text/csv"), ("json", "application/json"))
                ],
            }
            for dataset in opendata.DATASETS
        ],
    }
    return JsonResponse(catalogue, json_dumps_params={"ensure_ascii": False, "indent": 2})


@require_GET
@throttled(OpenDataThrottle)
def standards_register(request: HttpRequest) -> HttpResponse:
    """The public register of reference standards, a page at a time."""
    page = _page(request, opendata.standards_register(), ROWS_PER_PAGE)
    rows = []
    for raw in page.object_list:
        row = opendata.standard_row(raw)
        row["field_label"] = MeasurementField(row["field"]).label
        row["level_label"] = ReferenceStandard.Level(row["level"]).label
        row["status_label"] = Status(row["status"]).label
        row["status_class"] = STANDARD_STATUS_CLASS[row["status"]]
        rows.append(row)
    context = {
        "page": page,
        "rows": rows,
        "today": timezone.localdate(),
        "csv": reverse("portal:dataset-csv", args=[opendata.STANDARDS.slug]),
        "json": reverse("portal:dataset-json", args=[opendata.STANDARDS.slug]),
    }
    return render(request, "portal/standards_register.html", context)
