"""The center's requests page: the requests for the instruments it serves, those to answer
first (overdue wishes marked), and on each request the answers: accept, decline with a
reason, schedule (jobs booked and planned through the front office's job services).

For the reception desk and the quality manager of the center; another center's request is
not found (404). Every answer goes through :mod:`labserver.customer_requests.services`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from labserver.customer_requests import services, status
from labserver.customer_requests.access import requests_of_center
from labserver.customer_requests.models import CustomerRequest, RequestState
from labserver.office.words import DESK, person, submit
from labserver.web.access import page_for

from .forms import DeclineForm, ScheduleForm

# The requests still waiting for the center come first, the newest first.
TO_ANSWER = Case(
    When(recorded_state=RequestState.SUBMITTED, then=Value(0)),
    When(recorded_state=RequestState.ACCEPTED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
# A wish still to be met once its date has passed is marked.
FINISHED = {RequestState.DECLINED, RequestState.CANCELLED, RequestState.CERTIFICATE_ISSUED}
LISTED = 200


def _overdue(request: CustomerRequest, state: str) -> bool:
    return request.wished_on < timezone.localdate() and state not in FINISHED


@require_GET
@page_for(*DESK)
def request_list(request: HttpRequest) -> HttpResponse:
    """The center's requests: to answer, to schedule, then the others; newest first."""
    found = requests_of_center(person(request)).order_by(TO_ANSWER, "-created_at", "-pk")
    rows = []
    for r in found[:LISTED]:
        now = status.current(r)
        rows.append({"request": r, "now": now, "overdue": _overdue(r, now.state)})
    return render(request, "office/requests/list.html", {"rows": rows, "listed": LISTED})


def _detail(request: HttpRequest, found: CustomerRequest, **forms_given: Any) -> HttpResponse:
    steps = status.history(found)
    state = steps[-1].state
    context = {
        "req": found,
        "steps": steps,
        "now": steps[-1],
        "overdue": _overdue(found, state),
        "instruments": found.instruments.select_related("instrument_type").order_by("serial"),
        "jobs": status.request_jobs(found),
        "can_accept": state == RequestState.SUBMITTED,
        "can_decline": state in status.OPEN,
        "can_schedule": state == RequestState.ACCEPTED,
        "decline_form": forms_given.get("decline_form") or DeclineForm(),
        "schedule_form": forms_given.get("schedule_form") or ScheduleForm(request=found),
        "accept_form": forms_given.get("accept_form") or forms.Form(),
    }
    return render(request, "office/requests/detail.html", context)


def _found(request: HttpRequest, pk: int) -> CustomerRequest:
    return get_object_or_404(requests_of_center(person(request)), pk=pk)


@require_GET
@page_for(*DESK)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _found(request, pk))


def _done(request: HttpRequest, found: CustomerRequest, text: str) -> HttpResponse:
    messages.success(request, text % {"number": found.number})
    return redirect("office:request", pk=found.pk)


@require_POST
@page_for(*DESK)
def request_accept(request: HttpRequest, pk: int) -> HttpResponse:
    found = _found(request, pk)
    form = forms.Form(request.POST)
    accepted = submit(form, lambda: services.accept_request(actor=person(request), request=found))
    if accepted is not None:
        return _done(request, found, _("Request %(number)s accepted."))
    return _detail(request, found, accept_form=form)


@require_POST
@page_for(*DESK)
def request_decline(request: HttpRequest, pk: int) -> HttpResponse:
    found = _found(request, pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        declined = submit(
            form,
            lambda: services.decline_request(actor=person(request), request=found, reason=reason),
        )
        if declined is not None:
            return _done(request, found, _("Request %(number)s declined."))
    return _detail(request, found, decline_form=form)


@require_POST
@page_for(*DESK)
def request_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    found = _found(request, pk)
    form = ScheduleForm(request.POST, request=found)
    if form.is_valid():
        data = form.cleaned_data
        jobs = submit(
            form,
            lambda: services.schedule_request(
                actor=person(request),
                request=found,
                procedure=data["procedure"],
                scheduled_on=data["scheduled_on"],
                due_on=data["due_on"],
                bench=data["bench"],
                assignee=data["assignee"],
            ),
        )
        if jobs:
            return _done(request, found, _("Request %(number)s scheduled."))
    return _detail(request, found, schedule_form=form)
