"""The front office's job pages: booking a customer's instruments in, the week's calendar
per bench or per metrologist with the overdue jobs and those to schedule, and planning or
reassigning one job.

For the reception desk and the quality manager (:data:`DESK`), narrowed to the centers
where the person holds that role: another center's job or customer is not found (404).
Every change goes through :mod:`labserver.jobs.services`, which checks the role and the
state again and writes the audit entry (a reassignment with its reason).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from labserver.accounts.models import Agent
from labserver.instruments.customers import customers_of
from labserver.instruments.models import Instrument
from labserver.jobs import services as job_services
from labserver.jobs.models import Job, JobState, overdue_q
from labserver.office.words import DESK, desk_ids, person, submit, type_name
from labserver.web.access import page_for

from .forms import BookForm, PlanForm, metrologists

VIEWS = {"bench": "bench", "metrologist": "assignee"}
# Each list under the calendar shows its first jobs (the most urgent: by due date).
LISTED = 100


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def job_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Book jobs for several of a customer's instruments at once: one job each."""
    customer = get_object_or_404(customers_of(desk_ids(request)), pk=customer_id)
    instruments = (
        Instrument.objects.filter(owner=customer, active=True)
        .select_related("instrument_type")
        .order_by("instrument_type__code", "serial")
    )
    form = BookForm(request.POST or None, instruments=instruments)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        booked = submit(
            form,
            lambda: job_services.book_jobs(
                actor=person(request),
                instruments=list(data["instruments"]),
                procedure=data["procedure"],
                due_on=data["due_on"],
                notes=data["notes"],
            ),
        )
        if booked is not None:
            numbers = ", ".join(job.number for job in booked)
            messages.success(request, _("Jobs created: %(numbers)s.") % {"numbers": numbers})
            return redirect("office:calendar")
    return render(request, "office/jobs/new.html", {"form": form, "customer": customer})


def _monday(request: HttpRequest, today: date) -> date:
    asked = parse_date(request.GET.get("week", "") or "") if request.GET.get("week") else None
    day = asked or today
    return day - timedelta(days=day.weekday())


def _job_row(job: Job, today: date) -> dict[str, Any]:
    return {
        "job": job,
        "type": type_name(job.instrument.instrument_type),
        "state": job.get_state_display(),
        "late": job.is_overdue(today),
    }


def _lanes(by: str, org_ids: set[int]) -> list[tuple[Any, str]]:
    """The calendar's rows: each bench, or each metrologist, of the person's centers."""
    if by == "bench":
        benches = Agent.objects.filter(organization_id__in=org_ids, revoked_at__isnull=True)
        return [(b.pk, b.name) for b in benches.order_by("name")]
    people = {u.pk: str(u.full_name or u.username) for oid in org_ids for u in metrologists(oid)}
    return sorted(people.items(), key=lambda item: item[1])


@require_GET
@page_for(*DESK)
def calendar(request: HttpRequest) -> HttpResponse:
    """One week, a row per bench or per metrologist, a column per day; then the overdue
    jobs and the accepted jobs not yet on the calendar."""
    org_ids = desk_ids(request)
    today = timezone.localdate()
    monday = _monday(request, today)
    by = request.GET.get("by", "bench")
    by = by if by in VIEWS else "bench"
    days = [monday + timedelta(days=i) for i in range(7)]
    jobs = Job.objects.filter(organization_id__in=org_ids).select_related(
        "instrument__instrument_type", "instrument__owner", "bench", "assignee", "procedure"
    )
    cells: dict[tuple[Any, date], list[dict[str, Any]]] = defaultdict(list)
    for job in jobs.filter(scheduled_on__range=(days[0], days[-1])).order_by("number"):
        key = getattr(job, f"{VIEWS[by]}_id")
        cells[(key, job.scheduled_on)].append(_job_row(job, today))  # type: ignore[index]
    lanes = [*_lanes(by, org_ids), (None, _("Not assigned"))]
    rows = [
        {"label": label, "cells": [cells.get((key, day), []) for day in days]}
        for key, label in lanes
    ]
    if not any(rows[-1]["cells"]):
        rows.pop()  # no "not assigned" row when every job of the week has its lane
    week = f"?by={by}&week="
    return render(
        request,
        "office/jobs/calendar.html",
        {
            "by": by,
            "days": days,
            "today": today,
            "today_index": (today - monday).days,
            "rows": rows,
            "monday": monday,
            "previous": week + (monday - timedelta(days=7)).isoformat(),
            "next": week + (monday + timedelta(days=7)).isoformat(),
            "this_week": f"?by={by}",
            "other_view": reverse("office:calendar")
            + f"?by={'metrologist' if by == 'bench' else 'bench'}&week={monday.isoformat()}",
            "overdue": [
                _job_row(j, today)
                for j in jobs.filter(overdue_q(today)).order_by("due_on", "number")
            ],
            "to_schedule": [
                _job_row(j, today)
                for j in jobs.filter(state=JobState.ACCEPTED).order_by("due_on", "number")
            ],
        },
    )


@require_http_methods(["GET", "POST"])
@page_for(*DESK)
def job_plan(request: HttpRequest, job_id: int) -> HttpResponse:
    """Put a job on the calendar, or move or reassign it (with a reason)."""
    job = get_object_or_404(
        Job.objects.filter(organization_id__in=desk_ids(request)).select_related(
            "instrument__instrument_type", "instrument__owner", "procedure", "bench", "assignee"
        ),
        pk=job_id,
    )
    initial = {"scheduled_on": job.scheduled_on, "bench": job.bench, "assignee": job.assignee}
    form = PlanForm(request.POST or None, initial=initial, organization_id=job.organization_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        planned = submit(
            form,
            lambda: job_services.plan_job(
                actor=person(request),
                job=job,
                scheduled_on=data["scheduled_on"],
                bench=data["bench"],
                assignee=data["assignee"],
                reason=data["reason"],
            ),
        )
        if planned is not None:
            messages.success(request, _("Job %(number)s planned.") % {"number": job.number})
            url = reverse("office:calendar") + f"?week={data['scheduled_on'].isoformat()}"
            return redirect(url)
    return render(
        request,
        "office/jobs/plan.html",
        {
            "form": form,
            "job": job,
            "type": type_name(job.instrument.instrument_type),
            "state": job.get_state_display(),
            "rescheduling": job.state == JobState.SCHEDULED,
        },
    )
