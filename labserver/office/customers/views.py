"""The front office's customer pages: the list with its search, a customer with its
instruments, and the forms that register, edit, deactivate and import them.

Every page is for the reception desk and the quality manager (:data:`DESK`) and shows only
the customers of the centers where the person holds that role: another center's customer
is not found (404). Every change goes through the services
(:mod:`labserver.instruments.customers`, :mod:`labserver.instruments.services`,
:mod:`labserver.instruments.imports`), which check the role again and write the audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labserver.accounts.models import Organization
from labserver.instruments import customers as customer_services
from labserver.instruments import services as instrument_services
from labserver.instruments.imports import COLUMNS, MAX_BYTES, MAX_ROWS, REQUIRED, ImportRefused
from labserver.instruments.imports import import_instruments as import_file
from labserver.instruments.models import Instrument
from labserver.office.words import DESK, desk_ids, person, submit, type_name
from labserver.web.access import page_for

from .forms import CustomerForm, ImportForm, InstrumentForm, ReasonForm

CUSTOMERS_SHOWN = 200


def _customer(request: HttpRequest, customer_id: int) -> Organization:
    """One of the person's centers' customers, else 404."""
    return get_object_or_404(customer_services.customers_of(desk_ids(request)), pk=customer_id)


def _instrument(request: HttpRequest, instrument_id: int) -> Instrument:
    customers = customer_services.customers_of(desk_ids(request))
    queryset = Instrument.objects.filter(owner__in=customers).select_related(
        "owner", "organization", "instrument_type", "pattern"
    )
    return get_object_or_404(queryset, pk=instrument_id)


def _center_of(instrument_owner: Organization) -> Organization:
    center_id = customer_services.center_id_of(instrument_owner)
    if center_id is None:  # customers_of lists only customers of a center
        raise Http404
    return Organization.objects.get(pk=center_id)


@require_GET
@page_for(*DESK)
def customers(request: HttpRequest) -> HttpResponse:
    """The customers of the person's centers, searched by name or code."""
    query = request.GET.get("q", "").strip()
    queryset = customer_services.customers_of(desk_ids(request)).select_related("customer_account")
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(code__icontains=query))
    rows = [
        {"customer": c, "active": customer_services.is_active(c)}
        for c in queryset.order_by("name")[:CUSTOMERS_SHOWN]
    ]
    return render(
        request,
        "office/customers/list.html",
        {"rows": rows, "query": query, "limited": len(rows) == CUSTOMERS_SHOWN},
    )


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def customer_new(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, centers=desk_ids(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = submit(
            form,
            lambda: customer_services.register_customer(
                actor=person(request),
                **data,
            ),
        )
        if account is not None:
            messages.success(request, _("Customer %(code)s registered.") % {"code": data["code"]})
            return redirect("office:customer", customer_id=account.customer_id)
    return render(
        request,
        "office/customers/form.html",
        {"form": form, "title": _("Register a customer"), "back": "office:customers"},
    )


@require_GET
@page_for(*DESK)
def customer_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    instruments = [
        {"instrument": i, "type": type_name(i.instrument_type)}
        for i in Instrument.objects.filter(owner=customer)
        .select_related("instrument_type", "pattern")
        .order_by("-active", "serial")
    ]
    return render(
        request,
        "office/customers/detail.html",
        {
            "customer": customer,
            "account": getattr(customer, "customer_account", None),
            "active": customer_services.is_active(customer),
            "instruments": instruments,
            "reason_form": ReasonForm(auto_id="deactivate-%s"),
        },
    )


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    account = getattr(customer, "customer_account", None)
    initial: dict[str, Any] = {"name": customer.name, "address": customer.address}
    if account is not None:
        initial.update({f: getattr(account, f) for f in customer_services.CONTACT_FIELDS})
    form = CustomerForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        done = submit(
            form,
            lambda: customer_services.edit_customer(
                actor=person(request), customer=customer, **form.cleaned_data
            ),
        )
        if done is not None:
            messages.success(request, _("Customer %(code)s saved.") % {"code": customer.code})
            return redirect("office:customer", customer_id=customer.pk)
    return render(
        request,
        "office/customers/form.html",
        {"form": form, "title": _("Edit %(name)s") % {"name": customer.name}, "customer": customer},
    )


def _deactivate(
    request: HttpRequest,
    *,
    form_id: str,
    change: Callable[[str], Any],
    done: str,
    title: str,
    customer: Organization,
) -> HttpResponse:
    """Deactivate a record with the reason typed (``change(reason)``, a service): back to
    the customer's page with ``done`` said, or the reason's form again with the refusal."""
    form = ReasonForm(request.POST, auto_id=f"{form_id}-%s")
    if form.is_valid() and submit(form, lambda: change(form.cleaned_data["reason"])) is not None:
        messages.success(request, done)
        return redirect("office:customer", customer_id=customer.pk)
    context = {"form": form, "title": title, "customer": customer}
    return render(request, "office/customers/reason.html", context, status=400)


@require_POST
@page_for(*DESK)
def customer_deactivate(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    return _deactivate(
        request,
        form_id="deactivate",
        change=lambda reason: customer_services.deactivate_customer(
            actor=person(request), customer=customer, reason=reason
        ),
        done=_("Customer %(code)s deactivated.") % {"code": customer.code},
        title=_("Deactivate %(name)s") % {"name": customer.name},
        customer=customer,
    )


# ------------------------------------------------------------------ instruments


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def instrument_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    form = InstrumentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = submit(
            form,
            lambda: instrument_services.register_instrument(
                actor=person(request),
                organization=_center_of(customer),
                owner=customer,
                **form.cleaned_data,
            ),
        )
        if done is not None:
            messages.success(
                request, _("Instrument %(serial)s registered.") % {"serial": done.serial}
            )
            return redirect("office:customer", customer_id=customer.pk)
    return render(
        request,
        "office/customers/form.html",
        {
            "form": form,
            "title": _("Register an instrument of %(name)s") % {"name": customer.name},
            "customer": customer,
        },
    )


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def instrument_edit(request: HttpRequest, instrument_id: int) -> HttpResponse:
    instrument = _instrument(request, instrument_id)
    initial = {
        "instrument_type": instrument.instrument_type,
        "manufacturer": instrument.manufacturer,
        "model": instrument.model,
        "serial": instrument.serial,
        "pattern": instrument.pattern.number if instrument.pattern else "",
        "location": instrument.location,
    }
    form = InstrumentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = submit(
            form,
            lambda: instrument_services.edit_instrument(
                actor=person(request), instrument=instrument, **form.cleaned_data
            ),
        )
        if done is not None:
            messages.success(request, _("Instrument %(serial)s saved.") % {"serial": done.serial})
            return redirect("office:customer", customer_id=instrument.owner_id)
    return render(
        request,
        "office/customers/form.html",
        {
            "form": form,
            "title": _("Edit the instrument %(serial)s") % {"serial": instrument.serial},
            "customer": instrument.owner,
        },
    )


@require_POST
@page_for(*DESK)
def instrument_deactivate(request: HttpRequest, instrument_id: int) -> HttpResponse:
    instrument = _instrument(request, instrument_id)
    return _deactivate(
        request,
        form_id="retire",
        change=lambda reason: instrument_services.deactivate_instrument(
            actor=person(request), instrument=instrument, reason=reason
        ),
        done=_("Instrument %(serial)s deactivated.") % {"serial": instrument.serial},
        title=_("Deactivate the instrument %(serial)s") % {"serial": instrument.serial},
        customer=instrument.owner,
    )


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def instrument_import(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Import a customer's instruments from a spreadsheet: all rows, or none and a report
    of every row's problems."""
    customer = _customer(request, customer_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[Any] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created = import_file(
                actor=person(request),
                organization=_center_of(customer),
                owner=customer,
                name=upload.name or "",
                data=upload.read(MAX_BYTES + 1),  # enough to know it is too large
            )
        except ImportRefused as exc:
            problems, status = exc.problems, 422
        else:
            messages.success(
                request, _("%(count)d instruments imported.") % {"count": len(created)}
            )
            return redirect("office:customer", customer_id=customer.pk)
    return render(
        request,
        "office/customers/import.html",
        {
            "form": form,
            "customer": customer,
            "problems": problems,
            "columns": COLUMNS,
            "required": REQUIRED,
            "max_rows": MAX_ROWS,
        },
        status=status,
    )


@require_GET
@page_for(*DESK)
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty CSV with the import's header row, and one example row."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="instruments-template.csv"'
    response.write(",".join(COLUMNS) + "\r\n")
    response.write("nawi,Example Scales,EX-30,SN-0001,,Warehouse 1\r\n")
    return response
