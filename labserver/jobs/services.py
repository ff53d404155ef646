"""Jobs: creation with a gap-free number, and the state machine; each change audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from labserver.accounts.access import require_role
from labserver.accounts.models import Agent, Role, User
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError, InvalidTransition
from labserver.core.numbering import next_value
from labserver.instruments.models import CustomerAccount, Instrument, InstrumentType
from procedures.definition import DefinitionError, ProcedureDefinition, definition_from_data

from .models import Job, JobState, Procedure

# state -> states it may move to by an explicit action (runs and review move the rest).
TRANSITIONS: dict[str, set[str]] = {
    JobState.REQUESTED: {JobState.ACCEPTED, JobState.CANCELLED},
    JobState.ACCEPTED: {JobState.SCHEDULED, JobState.IN_PROGRESS, JobState.CANCELLED},
    JobState.SCHEDULED: {JobState.IN_PROGRESS, JobState.CANCELLED},
    JobState.IN_PROGRESS: {JobState.MEASURED, JobState.CANCELLED},
    JobState.MEASURED: {JobState.REVIEWED, JobState.IN_PROGRESS, JobState.CANCELLED},
    JobState.REVIEWED: {JobState.APPROVED, JobState.IN_PROGRESS},
    JobState.APPROVED: {JobState.ISSUED},
    JobState.ISSUED: set(),
    JobState.CANCELLED: set(),
}

# States in which a bench may submit a run for the job.
ACCEPTS_RUNS = {JobState.ACCEPTED, JobState.SCHEDULED, JobState.IN_PROGRESS}

PLANNERS = (Role.METROLOGIST, Role.QUALITY_MANAGER)
# Who books jobs in: the planners, and the front office's reception desk.
BOOKERS = (*PLANNERS, Role.RECEPTION)
# Who keeps the calendar: the reception desk and the quality manager.
SCHEDULERS = (Role.RECEPTION, Role.QUALITY_MANAGER)


def parse_procedure(definition: Any) -> ProcedureDefinition:
    """Check a procedure definition (the format of :mod:`procedures.definition`); a
    malformed one is a 422 naming the key at fault."""
    if not isinstance(definition, dict):
        raise DomainError("definition: expected a mapping", field="definition")
    try:
        return definition_from_data(definition, source="definition")
    except DefinitionError as exc:
        field = f"definition.{exc.key}" if exc.key else "definition"
        raise DomainError(f"{field}: {exc.reason}", field=field) from None


@transaction.atomic
def register_procedure(*, actor: Any, definition: dict[str, Any]) -> Procedure:
    """Add a procedure version to the catalog; the same content again returns the stored one."""
    parsed = parse_procedure(definition)
    digest = parsed.content_hash
    existing = Procedure.objects.filter(procedure_id=parsed.id, version=parsed.version).first()
    if existing is not None:
        if existing.content_hash != digest:
            raise Conflict(
                f"procedure {parsed.id} version {parsed.version} is registered "
                "with other content: a changed procedure needs a new version",
                field="version",
            )
        return existing
    instrument_type = InstrumentType.objects.filter(code=parsed.instrument_type).first()
    if instrument_type is None:
        raise DomainError(
            f"definition.instrument_type: unknown type {parsed.instrument_type!r}",
            field="definition.instrument_type",
        )
    procedure = Procedure.objects.create(
        procedure_id=parsed.id,
        version=parsed.version,
        content_hash=digest,
        title=parsed.title["en"],
        title_vi=parsed.title["vi"],
        kind=parsed.kind,
        field=parsed.field,
        instrument_type=instrument_type,
        definition=definition,
    )
    audit.record(
        actor=actor,
        action="procedure.register",
        object_type="procedure",
        object_id=procedure.pk,
        organization_id=None,
        after={"id": procedure.procedure_id, "version": procedure.version, "hash": digest},
    )
    return procedure


def _snapshot(job: Job) -> dict[str, Any]:
    return {
        "state": job.state,
        "assignee": job.assignee.username if job.assignee else None,
        "bench": job.bench.name if job.bench else None,
        "due_on": job.due_on,
        "scheduled_on": job.scheduled_on,
    }


@transaction.atomic
def create_job(
    *,
    actor: Any,
    instrument: Instrument,
    procedure: Procedure,
    due_on: date | None = None,
    assignee: User | None = None,
    bench: Agent | None = None,
    notes: str = "",
) -> Job:
    org_id = instrument.organization_id
    require_role(actor, org_id, *BOOKERS, action="creating a job")
    if not instrument.active:
        raise DomainError(
            f"instrument: {instrument} is deactivated: no new job", field="instrument"
        )
    if procedure.field != instrument.instrument_type.field:
        raise DomainError(
            f"procedure: {procedure} is for the field '{procedure.field}', the instrument is "
            f"'{instrument.instrument_type.field}'",
            field="procedure",
        )
    _check_assignment(org_id, assignee, bench)
    year = timezone.localdate(timezone.now(), instrument.organization.zone).year
    number = f"J-{year}-{next_value(f'job:{org_id}:{year}'):05d}"
    job = Job.objects.create(
        organization_id=org_id,
        number=number,
        instrument=instrument,
        procedure=procedure,
        due_on=due_on,
        assignee=assignee,
        bench=bench,
        notes=notes,
        created_by=actor,
    )
    audit.record(
        actor=actor,
        action="job.create",
        object_type="job",
        object_id=job.pk,
        organization_id=org_id,
        after={
            "number": number,
            "instrument": instrument.pk,
            "procedure": str(procedure),
            **_snapshot(job),
        },
    )
    return job


def _check_assignment(org_id: int, assignee: User | None, bench: Agent | None) -> None:
    if (
        assignee is not None
        and not assignee.memberships.filter(
            organization_id=org_id, role=Role.METROLOGIST, active=True
        ).exists()
    ):
        raise DomainError(
            f"assignee: {assignee.username} is not a metrologist of this organization",
            field="assignee",
        )
    if bench is not None and (bench.organization_id != org_id or bench.revoked_at is not None):
        raise DomainError(
            "bench: not an active agent of this organization", field="bench", code="invalid"
        )


def move_job(
    job: Job,
    target: str,
    *,
    actor: Any,
    reason: str = "",
    before: dict[str, Any] | None = None,
) -> Job:
    """Move ``job`` to ``target`` if the state machine allows it; audited. Call inside atomic.
    ``before``: the job as it was, when the caller changed more than its state (the plan)."""
    if target not in TRANSITIONS[job.state]:
        raise InvalidTransition(
            f"job {job.number} is {job.state}: it cannot become {target}", field="state"
        )
    before = before if before is not None else _snapshot(job)
    job.state = target
    job.save(update_fields=["state", "updated_at"])
    audit.record(
        actor=actor,
        action=f"job.{target}",
        object_type="job",
        object_id=job.pk,
        organization_id=job.organization_id,
        before=before,
        after=_snapshot(job),
        reason=reason,
    )
    return job


def locked_job(pk: int) -> Job:
    """The job row, locked until the end of the transaction."""
    return (
        Job.objects.select_for_update(of=("self",)).select_related("assignee", "bench").get(pk=pk)
    )


def _locked(job: Job) -> Job:
    return locked_job(job.pk)


@transaction.atomic
def accept_job(*, actor: Any, job: Job) -> Job:
    require_role(actor, job.organization_id, *BOOKERS, action="accepting a job")
    return move_job(_locked(job), JobState.ACCEPTED, actor=actor)


@transaction.atomic
def schedule_job(
    *,
    actor: Any,
    job: Job,
    assignee: User | None = None,
    bench: Agent | None = None,
    due_on: date | None = None,
    scheduled_on: date | None = None,
) -> Job:
    require_role(actor, job.organization_id, *BOOKERS, action="scheduling a job")
    job = _locked(job)
    _check_assignment(job.organization_id, assignee, bench)
    if job.state != JobState.ACCEPTED:
        raise InvalidTransition(
            f"job {job.number} is {job.state}: only an accepted job can be scheduled",
            field="state",
        )
    before = _snapshot(job)
    job.assignee = assignee or job.assignee
    job.bench = bench or job.bench
    job.due_on = due_on or job.due_on
    job.scheduled_on = scheduled_on or job.scheduled_on
    job.save(update_fields=["assignee", "bench", "due_on", "scheduled_on", "updated_at"])
    return move_job(job, JobState.SCHEDULED, actor=actor, before=before)


@transaction.atomic
def start_job(*, actor: Any, job: Job) -> Job:
    require_role(actor, job.organization_id, *PLANNERS, action="starting a job")
    return move_job(_locked(job), JobState.IN_PROGRESS, actor=actor)


@transaction.atomic
def cancel_job(*, actor: Any, job: Job, reason: str) -> Job:
    require_role(actor, job.organization_id, Role.QUALITY_MANAGER, action="cancelling a job")
    if not reason.strip():
        raise DomainError("reason: a cancelled job needs a reason", field="reason")
    return move_job(_locked(job), JobState.CANCELLED, actor=actor, reason=reason)


@transaction.atomic
def book_jobs(
    *,
    actor: Any,
    instruments: list[Instrument],
    procedure: Procedure,
    due_on: date | None = None,
    notes: str = "",
) -> list[Job]:
    """One job per instrument, all with ``procedure``, each accepted (the front office
    books in what the center has agreed to do); all of them or none."""
    if not instruments:
        raise DomainError("instruments: choose at least one instrument", field="instruments")
    owners = {i.owner_id for i in instruments}
    if CustomerAccount.objects.filter(customer_id__in=owners, active=False).exists():
        raise DomainError("instruments: the customer is deactivated", field="instruments")
    return [
        accept_job(
            actor=actor,
            job=create_job(
                actor=actor, instrument=instrument, procedure=procedure, due_on=due_on, notes=notes
            ),
        )
        for instrument in instruments
    ]


# States in which the calendar may still move a job: planned, not yet at the bench.
PLANNABLE = {JobState.ACCEPTED, JobState.SCHEDULED}


@transaction.atomic
def plan_job(
    *,
    actor: Any,
    job: Job,
    scheduled_on: date,
    bench: Agent | None,
    assignee: User | None,
    reason: str = "",
) -> Job:
    """Put an accepted job on the calendar (a day, a bench, a metrologist), or move a
    scheduled one: a reassignment is audited with its reason, which it must have."""
    require_role(actor, job.organization_id, *SCHEDULERS, action="scheduling a job")
    job = _locked(job)
    if job.state not in PLANNABLE:
        raise InvalidTransition(
            f"job {job.number} is {job.state}: only an accepted or scheduled job is planned",
            field="state",
        )
    _check_assignment(job.organization_id, assignee, bench)
    scheduling = job.state == JobState.ACCEPTED
    if not scheduling and not reason.strip():
        raise DomainError("reason: a reassignment needs a reason", field="reason")
    before = _snapshot(job)
    job.assignee, job.bench, job.scheduled_on = assignee, bench, scheduled_on
    job.save(update_fields=["assignee", "bench", "scheduled_on", "updated_at"])
    if scheduling:
        return move_job(job, JobState.SCHEDULED, actor=actor, before=before)
    audit.record(
        actor=actor,
        action="job.reassign",
        object_type="job",
        object_id=job.pk,
        organization_id=job.organization_id,
        before=before,
        after=_snapshot(job),
        reason=reason,
    )
    return job
