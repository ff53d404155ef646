"""The customer's requests (role customer): asking for a calibration or a verification,
following it, cancelling it while it is not yet scheduled, and downloading its certificates.

Every lookup starts from the requests of the person's own customer organizations: another
customer's request is not found (404). Changes go through
:mod:`labserver.customer_requests.services`, which checks the role and the state again.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.customer_requests import services, status
from labserver.customer_requests.access import requests_of_customer
from labserver.customer_requests.models import CustomerRequest
from labserver.web.access import page_for

from . import customers
from .forms import CancelForm, RequestForm

PER_PAGE = 25


def signed_in_person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # page_for let in only signed-in people
    return user


def show_refusal(form: forms.BaseForm, refusal: DomainError) -> None:
    """A service's refusal beside the field it names, or above the form; nothing was saved."""
    field = (refusal.field or "").split(".")[0]
    form.add_error(field if field in form.fields else None, refusal.detail)


def _row(request: CustomerRequest) -> dict[str, object]:
    return {"request": request, "now": status.current(request)}


@require_GET
@page_for(Role.CUSTOMER)
def request_list(request: HttpRequest) -> HttpResponse:
    """The customer's requests, newest first, each with where it stands and since when."""
    page = Paginator(requests_of_customer(request.user), PER_PAGE).get_page(request.GET.get("page"))
    rows = [_row(r) for r in page.object_list]
    return render(request, "portal/requests/list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@page_for(Role.CUSTOMER)
def request_new(request: HttpRequest) -> HttpResponse:
    """Ask for a calibration or a verification of some of the organization's instruments."""
    instruments = customers.owned_instruments(request.user).filter(active=True)
    form = RequestForm(request.POST or None, instruments=instruments)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = services.submit_request(
                actor=signed_in_person(request),
                instruments=list(data["instruments"]),
                kind=data["kind"],
                place=data["place"],
                site_address=data["site_address"],
                wished_on=data["wished_on"],
                note=data["note"],
            )
        except DomainError as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, _("Request %(number)s sent.") % {"number": made.number})
            return redirect("portal:request", pk=made.pk)
    return render(request, "portal/requests/new.html", {"form": form})


@require_GET
@page_for(Role.CUSTOMER)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: what was asked, its history, its jobs and its certificates."""
    found = get_object_or_404(requests_of_customer(request.user), pk=pk)
    return _detail(request, found, CancelForm())


def _detail(request: HttpRequest, found: CustomerRequest, form: CancelForm) -> HttpResponse:
    steps = status.history(found)
    context = {
        "req": found,
        "steps": steps,
        "now": steps[-1],
        "instruments": found.instruments.select_related("instrument_type").order_by("serial"),
        "jobs": status.request_jobs(found),
        "certificates": customers.certificate_rows(status.certificates(found)),
        "cancellable": steps[-1].state in status.OPEN,
        "form": form,
    }
    return render(request, "portal/requests/detail.html", context)


@require_POST
@page_for(Role.CUSTOMER)
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a request the center has not scheduled yet."""
    found = get_object_or_404(requests_of_customer(request.user), pk=pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_request(
                actor=signed_in_person(request),
                request=found,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, _("Request %(number)s cancelled.") % {"number": found.number})
            return redirect("portal:request", pk=found.pk)
    return _detail(request, found, form)
