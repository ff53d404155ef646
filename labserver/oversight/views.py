"""The pages of auditors and quality managers (read-only: nothing here changes a record).

Every record a page shows is narrowed to the person's organizations
(:func:`labserver.accounts.access.readable_organization_ids`), so another organization's
certificate or standard is a 404, as in the API. The chain and the reverse trace come
from :mod:`labserver.traceability.queries`, the same answers the API gives.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from labserver.accounts.access import (
    granted_organization_ids,
    organization_ids_with_role,
    readable_organization_ids,
)
from labserver.accounts.models import Organization, Role
from labserver.core.api import Pagination
from labserver.core.audit import chain_key, verify_audit
from labserver.core.models import AuditEntry
from labserver.instruments.models import Instrument
from labserver.issuance.api.views import visible_certificates
from labserver.issuance.models import certified_instrument
from labserver.issuance.services import certificate_state
from labserver.nonconformities.models import Nonconformity
from labserver.standards.due import WINDOWS, DueStandard, due_list
from labserver.standards.models import ReferenceStandard
from labserver.traceability import queries
from labserver.web.access import page_for

from . import graph

READERS = (Role.AUDITOR, Role.QUALITY_MANAGER)
SEARCH_LIMIT = 50
AUDIT_PAGE_SIZE = 50


class BadParameter(ValueError):
    """A query parameter the page cannot use; the message names it."""


def _date(request: HttpRequest, name: str, default: date | None = None) -> date | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(
            _("%(name)s: not a date (YYYY-MM-DD): %(value)s") % {"name": name, "value": raw}
        ) from None


def _int(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadParameter(
            _("%(name)s: not a number: %(value)s") % {"name": name, "value": raw}
        ) from None


def _with(request: HttpRequest, **changes: Any) -> str:
    """This page's address with some query parameters changed."""
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = str(value)
    return f"{request.path}?{params.urlencode()}"


def _standard(request: HttpRequest, pk: int) -> ReferenceStandard:
    found = (
        ReferenceStandard.objects.filter(organization__in=readable_organization_ids(request.user))
        .select_related("organization")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404("standard: not found")
    return found


# -------------------------------------------------------------------------------- search


@page_for(*READERS)
def search(request: HttpRequest) -> HttpResponse:
    """Certificates (number, verification mark), instruments (serial) and reference
    standards (asset id, name) of the person's organizations."""
    q = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"q": q, "limit": SEARCH_LIMIT, "searched": len(q) >= 2}
    if context["searched"]:
        orgs = readable_organization_ids(request.user)
        certificates = list(
            visible_certificates(request.user)
            .filter(Q(number__icontains=q) | Q(mark_number__icontains=q))
            .prefetch_related("events")
            .order_by("number")[:SEARCH_LIMIT]
        )
        instruments = list(
            Instrument.objects.filter(organization__in=orgs, serial__icontains=q)
            .select_related("organization", "owner", "instrument_type")
            .order_by("serial", "pk")[:SEARCH_LIMIT]
        )
        theirs: dict[int, list[Any]] = {}
        for certificate in (
            visible_certificates(request.user)
            .filter(certified_instrument("__in", [i.pk for i in instruments]))
            .order_by("-issued_at")
        ):
            theirs.setdefault(certificate.job.instrument_id, []).append(certificate)
        context.update(
            certificates=[(c, certificate_state(c)) for c in certificates],
            instruments=[(i, theirs.get(i.pk, [])) for i in instruments],
            standards=list(
                ReferenceStandard.objects.filter(organization__in=orgs)
                .filter(Q(asset_id__icontains=q) | Q(name__icontains=q))
                .select_related("organization")
                .order_by("asset_id", "pk")[:SEARCH_LIMIT]
            ),
        )
    return render(request, "oversight/search.html", context)


# ---------------------------------------------------------------------------- chain view


def _node_links(request: HttpRequest, chain: dict[str, Any]) -> dict[str, str]:
    """Pages of the chain's standards the person may read (their chain on the date of use)."""
    codes = set(
        Organization.objects.filter(pk__in=readable_organization_ids(request.user)).values_list(
            "code", flat=True
        )
    )
    nodes = {n["id"]: n for n in chain["nodes"]}
    links: dict[str, str] = {}
    for edge in chain["edges"]:
        if edge["kind"] != "used":
            continue
        standard = nodes[edge["standard"]]
        if standard.get("organization") in codes:
            pk = int(edge["standard"].split(":")[1])
            url = reverse("oversight:standard-chain", args=[pk])
            links.setdefault(edge["to"], f"{url}?{urlencode({'on': edge['used_on']})}")
    return links


def _chain_page(
    request: HttpRequest, chain: dict[str, Any], context: dict[str, Any], status: int = 200
) -> HttpResponse:
    links = _node_links(request, chain)
    root = next(n for n in chain["nodes"] if n["id"] == chain["root"])
    if root["kind"] == "issued_certificate":
        links[root["id"]] = reverse("verify-page", args=[root["number"]])
    context.update(
        chain=chain,
        drawing=graph.draw(chain, links),
        rows=[{**row, "link": links.get(row["to"])} for row in graph.table_rows(chain)],
        node_breaks=[
            (next(n for n in chain["nodes"] if n["id"] == b["node"]), b["reasons"])
            for b in chain["breaks"]
            if "node" in b
        ],
        break_count=len(chain["breaks"]),
        hashes=graph.hashes(chain),
    )
    return render(request, "oversight/chain.html", context, status=status)


@page_for(*READERS)
def certificate_chain(request: HttpRequest, pk: int) -> HttpResponse:
    """The chain of an issued certificate up to the SI."""
    certificate = (
        visible_certificates(request.user).prefetch_related("events").filter(pk=pk).first()
    )
    if certificate is None:
        raise Http404("certificate: not found")
    chain = queries.chain_of_certificate(certificate)
    return _chain_page(request, chain, {"certificate": certificate})


@page_for(*READERS)
def standard_chain(request: HttpRequest, pk: int) -> HttpResponse:
    """The chain of a reference standard as it stood on a date (``?on=``, default today)."""
    standard = _standard(request, pk)
    today = timezone.localdate()
    try:
        on = _date(request, "on", today) or today
    except BadParameter as error:
        return render(
            request,
            "oversight/chain.html",
            {"standard": standard, "on": today, "error": str(error)},
            status=400,
        )
    chain = queries.chain_of_standard(standard, on)
    return _chain_page(request, chain, {"standard": standard, "on": on})


# ------------------------------------------------------------------------- reverse trace


def _range(request: HttpRequest) -> tuple[date | None, date | None]:
    start, end = _date(request, "from"), _date(request, "to")
    if (start is None) != (end is None):
        raise BadParameter(_("Give both dates, from and to."))
    if start is not None and end is not None and end < start:
        raise BadParameter(_("to: before from"))
    return start, end


@page_for(*READERS)
def standard_impact(request: HttpRequest, pk: int) -> HttpResponse:
    """Reverse trace: a form for the dates, one page of rows, the CSV and PDF exports."""
    standard = _standard(request, pk)
    context: dict[str, Any] = {"standard": standard}
    try:
        start, end = _range(request)
        size = min(max(_int(request, "page_size", Pagination.page_size), 1), 500)
        page = max(_int(request, "page", 1), 1)
    except BadParameter as error:
        context.update(error=str(error), start=request.GET.get("from"), end=request.GET.get("to"))
        return render(request, "oversight/impact.html", context, status=400)
    context.update(start=start, end=end)
    if start is not None and end is not None:
        found = queries.impact(
            standard,
            start,
            end,
            organization_ids=readable_organization_ids(request.user),
            limit=size,
            offset=(page - 1) * size,
        )
        pages = max((found.count + size - 1) // size, 1)
        dates = {"from": start.isoformat(), "to": end.isoformat()}
        context.update(
            found=found,
            page=page,
            pages=pages,
            first_row=(page - 1) * size + 1,
            previous=_with(request, page=page - 1) if page > 1 else None,
            next=_with(request, page=page + 1) if page * size < found.count else None,
            rows=[
                {
                    **row,
                    "range": graph.describe_range(row),
                    "link": reverse("oversight:certificate-chain", args=[row["id"]])
                    if row["kind"] == "certificate"
                    else None,
                }
                for row in found.rows
            ],
            csv_url=reverse("standard-impact", args=[standard.pk])
            + "?"
            + urlencode({**dates, "format": "csv"}),
            pdf_url=reverse("oversight:standard-impact-pdf", args=[standard.pk])
            + "?"
            + urlencode(dates),
        )
    return render(request, "oversight/impact.html", context)


@page_for(*READERS)
def standard_impact_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The reverse trace over ``from``–``to`` as a PDF report, all rows."""
    from .report import impact_pdf

    standard = _standard(request, pk)
    try:
        start, end = _range(request)
    except BadParameter as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    if start is None or end is None:
        return HttpResponse(
            _("Give both dates, from and to."), status=400, content_type="text/plain; charset=utf-8"
        )
    rows = queries.impact_rows(
        standard, start, end, organization_ids=readable_organization_ids(request.user)
    )
    user = request.user
    pdf = impact_pdf(
        asset_id=standard.asset_id,
        name=standard.name,
        organization=standard.organization.code,
        start=start,
        end=end,
        made_on=timezone.localdate(),
        made_by=getattr(user, "full_name", "") or user.get_username(),
        rows=rows,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"impact-{standard.asset_id}-{start}-{end}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --------------------------------------------------------------------- quality manager


@page_for(Role.QUALITY_MANAGER)
def quality(request: HttpRequest) -> HttpResponse:
    """Standards due for calibration within 30, 60, 90 days, overdue, out of tolerance,
    as on a date (``?on=``, default today), in the organizations where the person is
    quality manager: one query, each standard with its certificate in force."""
    today = timezone.localdate()
    try:
        on = _date(request, "on", today) or today
    except BadParameter as error:
        return render(
            request, "oversight/quality.html", {"on": today, "error": str(error)}, status=400
        )
    found = due_list(organization_ids_with_role(request.user, Role.QUALITY_MANAGER), on)

    def row(entry: DueStandard) -> dict[str, Any]:
        return {
            "standard": entry.standard,
            "number": entry.number,
            "due_on": entry.due_on,
            "days": entry.days,
        }

    overdue = [row(entry) for entry in found.overdue]
    due = {days: [row(entry) for entry in found.windows[days]] for days in WINDOWS}
    out_of_tolerance = [row(entry) for entry in found.out_of_tolerance]
    for item in out_of_tolerance:
        since = item["standard"].out_of_tolerance_since
        dates = urlencode({"from": since.isoformat(), "to": on.isoformat()})
        item["trace_url"] = reverse("oversight:standard-impact", args=[item["standard"].pk])
        item["trace_url"] += "?" + dates
    cases: dict[int, Nonconformity] = {}
    for case in Nonconformity.objects.filter(
        standard__in=[item["standard"].pk for item in out_of_tolerance]
    ).order_by("opened_at", "pk"):
        cases[case.standard_id] = case  # the latest one of each standard
    for item in out_of_tolerance:
        item["nonconformity"] = cases.get(item["standard"].pk)
    buckets = []
    previous = 0
    for days in WINDOWS:
        buckets.append(
            {"days": days, "after": previous, "items": due[days], "table_id": f"due-{days}"}
        )
        previous = days + 1
    context = {
        "on": on,
        "overdue": overdue,
        "buckets": buckets,
        "out_of_tolerance": out_of_tolerance,
    }
    return render(request, "oversight/quality.html", context)


@page_for(*READERS)
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit trail of the organizations where the person is quality manager or auditor
    (or holds an audit grant), filtered, newest first, with each chain's verification."""
    user = request.user
    org_ids = organization_ids_with_role(user, Role.QUALITY_MANAGER, Role.AUDITOR)
    org_ids |= granted_organization_ids(user)
    organizations = list(Organization.objects.filter(pk__in=org_ids).order_by("code"))
    chains = []
    for org in organizations:
        report = verify_audit([chain_key(org.pk)])
        chains.append(
            {"organization": org, "report": report, "first": next(iter(report.problems), None)}
        )
    mine = AuditEntry.objects.filter(organization_id__in=org_ids)
    entries = mine.select_related("organization").order_by("-at", "-id")
    names = ("organization", "action", "object_type", "object_id", "actor")
    filters = {name: request.GET.get(name, "").strip() for name in names}
    error = None
    try:
        start, end = _date(request, "from"), _date(request, "to")
    except BadParameter as bad:
        error, start, end = str(bad), None, None
    if filters["organization"]:
        entries = entries.filter(organization__code=filters["organization"])
    for name in ("action", "object_type", "object_id"):
        if filters[name]:
            entries = entries.filter(**{name: filters[name]})
    if filters["actor"]:
        entries = entries.filter(actor__icontains=filters["actor"])
    zone = timezone.get_current_timezone()
    if start is not None:
        entries = entries.filter(at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end is not None:
        entries = entries.filter(at__lt=datetime.combine(end + timedelta(days=1), time.min, zone))
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = [
        {
            "entry": e,
            "before": None if e.before is None else json.dumps(e.before, indent=1, sort_keys=True),
            "after": None if e.after is None else json.dumps(e.after, indent=1, sort_keys=True),
        }
        for e in page.object_list
    ]
    context = {
        "chains": chains,
        "organizations": organizations,
        "actions": list(mine.values_list("action", flat=True).distinct().order_by("action")),
        "object_types": list(
            mine.values_list("object_type", flat=True).distinct().order_by("object_type")
        ),
        "filters": filters,
        "start": start,
        "end": end,
        "error": error,
        "page": page,
        "entries": shown,
        "previous": _with(request, page=page.previous_page_number())
        if page.has_previous()
        else None,
        "next": _with(request, page=page.next_page_number()) if page.has_next() else None,
    }
    return render(request, "oversight/audit_log.html", context, status=400 if error else 200)
