"""The search page, ``/search/?q=…``: what the staff of a center find among the
certificates, instruments, customers and jobs of their own organizations, grouped by kind,
each group paged on its own (``certificates_page=2``), each record linked to the first of
its pages the person may open (:mod:`labserver.search.links`). A customer is refused (403):
the portal shows it its own records. Read-only: nothing here changes a record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from labserver.accounts.models import Organization
from labserver.instruments import customers as customer_services
from labserver.instruments.models import Instrument, InstrumentType
from labserver.issuance.models import Certificate, CertificateStatus
from labserver.issuance.services import certificate_state
from labserver.jobs.models import Job, JobState
from labserver.web.access import page_for

from . import links, queries
from .forms import SearchForm

PER_PAGE = 10


@dataclass(frozen=True)
class Row:
    """One record found: its name (linked when the person may open its page) and the
    cells after it."""

    name: str
    link: str | None
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    columns: tuple[str, ...]
    page: Page[Any]
    rows: list[Row]
    previous: str | None
    next: str | None


def _type_name(kind: InstrumentType) -> str:
    vietnamese = (get_language() or "").startswith("vi")
    return (kind.name_vi if vietnamese else "") or kind.name


def _instrument_text(instrument: Instrument) -> str:
    return _("%(manufacturer)s %(model)s, serial %(serial)s") % {
        "manufacturer": instrument.manufacturer,
        "model": instrument.model,
        "serial": instrument.serial,
    }


def _active(active: bool) -> str:
    return _("Active") if active else _("Deactivated")


def _certificate_row(c: Certificate, held: links.Held) -> Row:
    instrument = c.run.job.instrument
    status = CertificateStatus(certificate_state(c).status).label
    issued = timezone.localdate(c.issued_at).isoformat()
    cells = (str(status), instrument.owner.name, _instrument_text(instrument), issued)
    return Row(c.number, links.certificate_link(c, held), cells)


def _instrument_row(i: Instrument, held: links.Held) -> Row:
    cells = (_type_name(i.instrument_type), f"{i.manufacturer} {i.model}", i.owner.name)
    return Row(i.serial, links.instrument_link(i, held), (*cells, _active(i.active)))


def _customer_row(o: Organization, held: links.Held) -> Row:
    active = _active(customer_services.is_active(o))
    return Row(o.code, links.customer_link(o, held), (o.name, active))


def _job_row(j: Job, held: links.Held) -> Row:
    due = j.due_on.isoformat() if j.due_on else "—"
    state = str(JobState(j.state).label)
    cells = (_instrument_text(j.instrument), j.instrument.owner.name, state, due)
    return Row(j.number, links.job_link(j, held), cells)


def _with(request: HttpRequest, name: str, value: int) -> str:
    params = request.GET.copy()
    params[name] = str(value)
    return f"{request.path}?{params.urlencode()}"


def _group(
    request: HttpRequest,
    key: str,
    title: str,
    columns: tuple[str, ...],
    queryset: QuerySet[Any],
    row: Callable[[Any, links.Held], Row],
    held: links.Held,
) -> Group:
    param = f"{key}_page"
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get(param))
    return Group(
        key=key,
        title=title,
        columns=columns,
        page=page,
        rows=[row(record, held) for record in page.object_list],
        previous=_with(request, param, page.previous_page_number())
        if page.has_previous()
        else None,
        next=_with(request, param, page.next_page_number()) if page.has_next() else None,
    )


def _groups(request: HttpRequest, text: str, status: str) -> list[Group]:
    scope = queries.Scope(queries.staff_organization_ids(request.user))
    held = links.roles_by_organization(request.user)
    instrument, customer = _("Instrument"), _("Customer")
    return [
        _group(
            request,
            "certificates",
            _("Certificates"),
            (_("Number"), _("Status"), customer, instrument, _("Issued")),
            queries.certificates(scope, text, status),
            _certificate_row,
            held,
        ),
        _group(
            request,
            "instruments",
            _("Instruments"),
            (_("Serial"), _("Type"), _("Manufacturer and model"), _("Owner"), _("Status")),
            queries.instruments(scope, text),
            _instrument_row,
            held,
        ),
        _group(
            request,
            "customers",
            _("Customers"),
            (_("Code"), _("Name"), _("Status")),
            queries.customers(scope, text),
            _customer_row,
            held,
        ),
        _group(
            request,
            "jobs",
            _("Jobs"),
            (_("Number"), instrument, customer, _("State"), _("Due")),
            queries.jobs(scope, text),
            _job_row,
            held,
        ),
    ]


@require_GET
@page_for(*queries.STAFF_ROLES)
def search(request: HttpRequest) -> HttpResponse:
    """The form alone at first; a query refused (empty, too short, too long) is answered
    400 with the reason beside the field; else the groups of records found."""
    if "q" not in request.GET:
        return render(request, "search/results.html", {"form": SearchForm()})
    form = SearchForm(request.GET)
    if not form.is_valid():
        return render(request, "search/results.html", {"form": form}, status=400)
    text, status = form.cleaned_data["q"], form.cleaned_data["status"]
    groups = _groups(request, text, status)
    total = sum(group.page.paginator.count for group in groups)
    return render(
        request,
        "search/results.html",
        {"form": form, "groups": groups, "total": total, "query": text},
    )
