"""The jobs of a multi-position run's instruments: each position's instrument has its own.

Data is entered once: the front office registers the meters and books a job for each; the
bench states each position's serial (and type). When the run is received, each position is
matched to the open job (:data:`labserver.jobs.services.ACCEPTS_RUNS`) of the run's
procedure, in the agent's organization, whose instrument has that serial. The run's own
job (the one the agent was started with) is one of them.

The jobs then move with the run: a measured position's job as the run's job moves
(measured, reviewed, approved, back to in progress when the run is rejected, issued with
its own certificate); a removed position's job is in progress, to be measured again; a
skipped position's is left as it was. Each move is audited by
:func:`labserver.jobs.services.move_job`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q

from labserver.accounts.models import Agent
from labserver.core.errors import InvalidEvidence
from labserver.jobs.models import Job, JobState
from labserver.jobs.services import ACCEPTS_RUNS, locked_job, move_job
from procedures.record import Position

from .models import PositionState, Run

__all__ = ["match_position_jobs", "move_position_jobs", "start_position_jobs"]


def _open_jobs(agent: Agent, job: Job, position: Position) -> list[Job]:
    """The open jobs of ``job``'s procedure for an instrument with the position's serial
    (and type, when the bench states one) that this agent may run, locked."""
    instrument = position.instrument
    found = (
        Job.objects.select_for_update(of=("self",))
        .select_related("instrument__instrument_type", "instrument__owner")
        .filter(
            organization_id=agent.organization_id,
            procedure_id=job.procedure_id,
            state__in=ACCEPTS_RUNS,
            instrument__serial=instrument.serial,
        )
        .filter(Q(bench__isnull=True) | Q(bench=agent))
        .order_by("pk")
    )
    if instrument.type:
        found = found.filter(instrument__instrument_type__code=instrument.type)
    return list(found)


def match_position_jobs(agent: Agent, job: Job, positions: Sequence[Position]) -> list[Job | None]:
    """The job of each position, in order: the run's own ``job`` for the position whose
    instrument is its instrument, else the one open job found for its serial; None for a
    skipped position with none.

    Raises:
        InvalidEvidence: a measured or removed position with no open job, or with several;
            two positions with the same job; the run's job on no measured position.
            The field names the position (``positions[i].instrument.serial``), the message
            its number and its serial too.
    """
    # Every candidate job locked at once, in primary-key order, before any is read by
    # position: two submissions that share jobs wait for each other instead of locking
    # them in two bench orders (a deadlock).
    serials = sorted({p.instrument.serial for p in positions})
    list(
        Job.objects.select_for_update(of=("self",))
        .filter(
            organization_id=agent.organization_id,
            procedure_id=job.procedure_id,
            state__in=ACCEPTS_RUNS,
            instrument__serial__in=serials,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    matched: list[Job | None] = []
    taken: dict[int, int] = {}
    for i, position in enumerate(positions):
        where = f"positions[{i}].instrument.serial"
        serial = position.instrument.serial
        candidates = _open_jobs(agent, job, position)
        own = [c for c in candidates if c.pk == job.pk]
        if own:
            candidates = own
        if len(candidates) > 1:
            raise InvalidEvidence(
                f"{where}: position {position.position}: {len(candidates)} open jobs for "
                f"serial {serial!r} ({', '.join(c.number for c in candidates)}): cancel the "
                "extra ones so that the instrument has one",
                field=where,
            )
        found = candidates[0] if candidates else None
        if found is None and position.state != PositionState.SKIPPED:
            raise InvalidEvidence(
                f"{where}: position {position.position}: no open job of procedure "
                f"{job.procedure.procedure_id} for an instrument with serial {serial!r} in "
                "this organization: register the instrument and book its job first",
                field=where,
            )
        if found is not None:
            if found.pk in taken:
                raise InvalidEvidence(
                    f"{where}: position {position.position}: serial {serial!r} is job "
                    f"{found.number}, which position {taken[found.pk]} is already",
                    field=where,
                )
            taken[found.pk] = position.position
        matched.append(found)
    measured = {
        j.pk
        for j, p in zip(matched, positions, strict=True)
        if j is not None and p.state == PositionState.MEASURED
    }
    if job.pk not in measured:
        raise InvalidEvidence(
            f"job: the run's job {job.number} (serial {job.instrument.serial!r}) is the job of "
            "no measured position of the run",
            field="job",
        )
    return matched


def start_position_jobs(
    run_job: Job, jobs: Sequence[Job | None], positions: Sequence[Position], *, actor: Any
) -> None:
    """At submission, the other positions' jobs: a measured one's → measured (as the run's
    job), a removed one's → in progress, a skipped one's untouched."""
    for job, position in zip(jobs, positions, strict=True):
        if job is None or job.pk == run_job.pk or position.state == PositionState.SKIPPED:
            continue
        if job.state != JobState.IN_PROGRESS:
            job = move_job(job, JobState.IN_PROGRESS, actor=actor, reason=position.reason or "")
        if position.state == PositionState.MEASURED:
            move_job(job, JobState.MEASURED, actor=actor)


def move_position_jobs(run: Run, target: str, *, actor: Any, reason: str = "") -> None:
    """The jobs of ``run``'s measured positions, but the run's own job (its caller moves
    it), moved to ``target`` as the run's job is: reviewed, approved, back in progress."""
    jobs = (
        run.positions.filter(state=PositionState.MEASURED, job__isnull=False)
        .exclude(job_id=run.job_id)
        .order_by("number")
        .values_list("job_id", flat=True)
    )
    for pk in jobs:
        move_job(locked_job(pk), target, actor=actor, reason=reason)
