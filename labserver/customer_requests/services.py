"""The changes of a customer's request: asked by the customer, accepted, declined or
scheduled by the center, cancelled by the customer. Each is permission-checked, atomic,
audited, and appends an event (nothing is edited in place)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.accounts.access import acting_person, require_role
from labserver.accounts.models import Agent, Role, User
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError, InvalidTransition
from labserver.core.numbering import next_value
from labserver.instruments.models import Instrument
from labserver.jobs import services as job_services
from labserver.jobs.models import Job, Procedure

from .access import CENTER_DESK
from .models import CustomerRequest, Place, RequestEvent, RequestInstrument, RequestJob
from .models import RequestState as S
from .status import OPEN


def _snapshot(request: CustomerRequest) -> dict[str, Any]:
    return {
        "number": request.number,
        "customer": request.customer.code,
        "kind": request.kind,
        "place": request.place,
        "site_address": request.site_address,
        "wished_on": request.wished_on,
        "note": request.note,
        "instruments": sorted(request.items.values_list("instrument_id", flat=True)),
    }


def _last_event(request: CustomerRequest) -> RequestEvent:
    """The request's latest event: its recorded state, and the place of the next event."""
    return request.events.order_by("-seq").first() or RequestEvent(seq=0, state="")


def _append(
    request: CustomerRequest,
    state: str,
    *,
    actor: User,
    reason: str = "",
    last: RequestEvent | None = None,
    after: dict[str, Any] | None = None,
) -> CustomerRequest:
    """Append the event of ``state`` after ``last`` and its audit entry; when another answer
    was appended after ``last`` meanwhile, refused (409): the person reloads the request."""
    before = last.state if last is not None else None
    try:
        with transaction.atomic():
            RequestEvent.objects.create(
                request=request,
                seq=(last.seq if last is not None else 0) + 1,
                state=state,
                at=timezone.now(),
                actor=actor,
                reason=reason,
            )
    except IntegrityError:
        raise Conflict(
            _("request %(number)s was answered meanwhile: reload it") % {"number": request.number},
            field="state",
        ) from None
    audit.record(
        actor=actor,
        action=f"request.{state}",
        object_type="customer_request",
        object_id=request.pk,
        organization_id=request.organization_id,
        before={"state": before} if before else None,
        after={"state": state, **(after or {})},
        reason=reason,
    )
    return request


def _check_instruments(instruments: list[Instrument]) -> tuple[int, int]:
    """The one customer and the one center of ``instruments``; refused otherwise."""
    if not instruments:
        raise DomainError(_("instruments: choose at least one instrument"), field="instruments")
    owners = {i.owner_id for i in instruments}
    centers = {i.organization_id for i in instruments}
    if len(owners) > 1:
        raise DomainError(
            _("instruments: the instruments of one request belong to one customer"),
            field="instruments",
        )
    if len(centers) > 1:
        raise DomainError(
            _("instruments: ask each center for its own instruments in a request of its own"),
            field="instruments",
        )
    retired = [str(i) for i in instruments if not i.active]
    if retired:
        raise DomainError(
            _("instruments: %(names)s no longer served") % {"names": ", ".join(retired)},
            field="instruments",
        )
    return owners.pop(), centers.pop()


@transaction.atomic
def submit_request(
    *,
    actor: Any,
    instruments: list[Instrument],
    kind: str,
    place: str,
    wished_on: date,
    site_address: str = "",
    note: str = "",
) -> CustomerRequest:
    """The customer asks for a calibration or a verification of some of its instruments."""
    person = acting_person(actor, action="asking for a calibration or verification")
    customer_id, center_id = _check_instruments(instruments)
    require_role(person, customer_id, Role.CUSTOMER, action="asking for a calibration")
    if kind not in Procedure.Kind.values:
        raise DomainError(_("kind: choose calibration or verification"), field="kind")
    if place not in Place.values:
        raise DomainError(_("place: choose in the laboratory or on site"), field="place")
    if place == Place.ON_SITE and not site_address.strip():
        raise DomainError(_("site_address: give the address of the site"), field="site_address")
    if wished_on < timezone.localdate():
        raise DomainError(_("wished_on: the wished date is in the past"), field="wished_on")
    year = timezone.localdate().year
    code = instruments[0].organization.code
    request = CustomerRequest.objects.create(
        organization_id=center_id,
        customer_id=customer_id,
        # the center's code: a customer served by several centers tells their numbers apart
        number=f"R-{code}-{year}-{next_value(f'request:{center_id}:{year}'):05d}",
        kind=kind,
        place=place,
        site_address=site_address.strip() if place == Place.ON_SITE else "",
        wished_on=wished_on,
        note=note.strip(),
        created_by=person,
    )
    RequestInstrument.objects.bulk_create(
        RequestInstrument(request=request, instrument=i) for i in instruments
    )
    return _append(request, S.SUBMITTED, actor=person, after=_snapshot(request))


def _move(
    request: CustomerRequest,
    target: str,
    *,
    actor: User,
    allowed: tuple[str, ...],
    reason: str = "",
) -> CustomerRequest:
    last = _last_event(request)
    state = last.state
    if state not in allowed:
        raise InvalidTransition(
            _("request %(number)s is %(state)s: it cannot become %(target)s")
            % {
                "number": request.number,
                "state": S(state).label.lower(),
                "target": S(target).label.lower(),
            },
            field="state",
        )
    return _append(request, target, actor=actor, reason=reason, last=last)


@transaction.atomic
def accept_request(*, actor: Any, request: CustomerRequest) -> CustomerRequest:
    """The center agrees to do what was asked (it schedules it next)."""
    person = acting_person(actor, action="accepting a request")
    require_role(person, request.organization_id, *CENTER_DESK, action="accepting a request")
    return _move(request, S.ACCEPTED, actor=person, allowed=(S.SUBMITTED,))


@transaction.atomic
def decline_request(*, actor: Any, request: CustomerRequest, reason: str) -> CustomerRequest:
    """The center declines, with the reason the customer is shown."""
    person = acting_person(actor, action="declining a request")
    require_role(person, request.organization_id, *CENTER_DESK, action="declining a request")
    if not reason.strip():
        raise DomainError(_("reason: say why the request is declined"), field="reason")
    return _move(request, S.DECLINED, actor=person, allowed=OPEN, reason=reason.strip())


@transaction.atomic
def cancel_request(*, actor: Any, request: CustomerRequest, reason: str = "") -> CustomerRequest:
    """The customer withdraws a request the center has not scheduled yet."""
    person = acting_person(actor, action="cancelling a request")
    require_role(person, request.customer_id, Role.CUSTOMER, action="cancelling a request")
    return _move(request, S.CANCELLED, actor=person, allowed=OPEN, reason=reason.strip())


@transaction.atomic
def schedule_request(
    *,
    actor: Any,
    request: CustomerRequest,
    procedure: Procedure,
    scheduled_on: date,
    due_on: date | None = None,
    bench: Agent | None = None,
    assignee: User | None = None,
) -> list[Job]:
    """Create a job per instrument through the front office's job services (booked in,
    accepted, then planned on the calendar) and mark the request scheduled; all or none."""
    person = acting_person(actor, action="scheduling a request")
    require_role(person, request.organization_id, *CENTER_DESK, action="scheduling a request")
    last = _last_event(request)
    state = last.state
    if state != S.ACCEPTED:
        raise InvalidTransition(
            _("request %(number)s is %(state)s: only an accepted request is scheduled")
            % {"number": request.number, "state": S(state).label.lower()},
            field="state",
        )
    if procedure.kind != request.kind:
        raise DomainError(
            _("procedure: the request asks for a %(kind)s") % {"kind": request.get_kind_display()},
            field="procedure",
        )
    instruments = [item.instrument for item in request.items.select_related("instrument")]
    jobs = job_services.book_jobs(
        actor=person,
        instruments=instruments,
        procedure=procedure,
        due_on=due_on,
        notes=_("Customer's request %(number)s") % {"number": request.number},
    )
    for job in jobs:
        job_services.plan_job(
            actor=person, job=job, scheduled_on=scheduled_on, bench=bench, assignee=assignee
        )
        RequestJob.objects.create(request=request, job=job)
    _append(
        request,
        S.SCHEDULED,
        actor=person,
        last=last,
        after={"jobs": [job.number for job in jobs], "scheduled_on": scheduled_on},
    )
    return jobs
