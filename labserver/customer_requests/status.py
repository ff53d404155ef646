"""Where a request stands, and how it got there.

The customer's and the center's decisions are the request's events. Once scheduled, the
request follows its jobs: *in work* from the first run at the bench, *certificate issued*
once every job not cancelled has its certificate (the date of the last one). These two are
read from the jobs, runs and certificates themselves, so the request can never disagree
with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min

from labserver.issuance.models import Certificate, certified_job
from labserver.jobs.models import Job, JobState
from labserver.measurements.models import Run

from .models import CustomerRequest, RequestEvent, RequestState

# The states in which the customer may still cancel, and the center decline.
OPEN = (RequestState.SUBMITTED, RequestState.ACCEPTED)
# Job states past the calendar: the work has begun.
AT_WORK = {
    JobState.IN_PROGRESS,
    JobState.MEASURED,
    JobState.REVIEWED,
    JobState.APPROVED,
    JobState.ISSUED,
}


@dataclass(frozen=True)
class Step:
    """One line of a request's history."""

    state: str
    at: datetime
    reason: str = ""

    @property
    def label(self) -> str:
        return str(RequestState(self.state).label)


def request_jobs(request: CustomerRequest) -> list[Job]:
    return list(
        Job.objects.filter(pk__in=request.jobs.values("job_id"))
        .select_related("instrument__instrument_type", "procedure")
        .order_by("number")
    )


def _from_jobs(jobs: list[Job]) -> list[Step]:
    """The steps the jobs have taken: in work, then certificate issued."""
    steps: list[Step] = []
    live = [job for job in jobs if job.state != JobState.CANCELLED]
    if not any(job.state in AT_WORK for job in live):
        return steps
    started = Run.objects.filter(job__in=live).aggregate(first=Min("started_at"))["first"]
    started = started or min(job.updated_at for job in live if job.state in AT_WORK)
    steps.append(Step(RequestState.IN_WORK, started))
    if all(job.state == JobState.ISSUED for job in live):
        issued = Certificate.objects.filter(certified_job("__in", live)).aggregate(
            last=Max("issued_at")
        )
        steps.append(Step(RequestState.CERTIFICATE_ISSUED, issued["last"] or started))
    return steps


def history(request: CustomerRequest) -> list[Step]:
    """Every state the request has been in, oldest first, each with its date."""
    events: list[RequestEvent] = list(request.events.order_by("seq"))
    steps = [Step(e.state, e.at, e.reason) for e in events]
    if steps and steps[-1].state == RequestState.SCHEDULED:
        steps += _from_jobs(request_jobs(request))
    return steps


def current(request: CustomerRequest) -> Step:
    """The request's state now (the last step of its history)."""
    return history(request)[-1]


def certificates(request: CustomerRequest) -> list[Certificate]:
    """The certificates issued for the request's jobs, newest first."""
    return list(
        Certificate.objects.filter(certified_job("__in", request.jobs.values("job_id")))
        .select_related(
            "organization",
            "run__job__instrument__instrument_type",
            "position__job__instrument__instrument_type",
        )
        .prefetch_related("events__replacement")
        .order_by("-issued_at", "-pk")
    )
