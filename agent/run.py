"""``caltrace-agent run``: one procedure on one bench, from the job to a queued, signed run.

1. What to run: ``--job NUMBER`` fetches the job, its procedure and the bench's standards
   from the LIMS (and caches them); ``--procedure ID --instrument SERIAL`` works with no
   network, from what the last sync cached (the job of that instrument and procedure, the
   standards' certificates).
2. The bench is opened (real instruments, or with ``--simulate`` the simulators of every
   role on their real transports and a simulated operator), the runner checks it before
   the first point (standards in calibration on the day, their ranges and certificates
   covering the points, the environment within limits) and refuses with every reason.
3. The run is started in the outbox, every reading committed before it is shown, each
   finished point kept; a fault or Ctrl-C leaves the run incomplete (pause: resumable with
   ``--resume RUN_ID``; abandon: kept, never sent). A completed run is assembled once and
   queued; with a LIMS reachable it is sent at once, otherwise by ``caltrace-agent sync``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from agent import __version__
from procedures.bench import Bench, Operator, StandardRecord
from procedures.definition import (
    ProcedureDefinition,
    definition_from_data,
    library,
    load_definition,
)
from procedures.runner import NotReady, RunInterrupted, Runner

__all__ = ["RunOutcome", "RunRequest", "resolve_definition", "run_procedure", "shipped_definition"]


@dataclass(frozen=True)
class RunRequest:
    """What the operator asked for."""

    job: str | None = None
    procedure: str | None = None
    instrument: str | None = None
    operator: str = ""
    simulate: bool = False
    resume: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class RunOutcome:
    """How the run ended: ``state`` is queued, incomplete, abandoned or refused."""

    run_id: str | None
    state: str
    reason: str = ""
    points: int = 0
    readings: int = 0


def resolve_definition(procedure: Mapping[str, Any]) -> ProcedureDefinition:
    """The definition a job names (the LIMS's stored JSON), checked as the bench checks it."""
    return definition_from_data(procedure["definition"], source=str(procedure.get("procedure_id")))


def shipped_definition(procedure_id: str) -> ProcedureDefinition:
    """A procedure shipped with caltrace, by id (for field work without the LIMS)."""
    shipped = library()
    if procedure_id not in shipped:
        raise LookupError(f"no procedure {procedure_id!r} (shipped: {', '.join(shipped)})")
    return load_definition(shipped[procedure_id])


def header(
    *,
    run_id: str,
    job: str,
    definition: ProcedureDefinition,
    operator: str,
    environment: Mapping[str, Any],
    standards: list[dict[str, Any]],
    supersedes: str | None = None,
) -> dict[str, Any]:
    """The run payload's fields known before the first point."""
    body: dict[str, Any] = {
        "run_id": run_id,
        "job": job,
        "procedure": definition.ref(),
        "operator": operator,
        "software_version": f"caltrace-agent {__version__}",
        "started_at": datetime.now(UTC).isoformat(),
        "environment": dict(environment),
        "standards": standards,
    }
    if supersedes:
        body["supersedes"] = supersedes
    return body


def run_procedure(
    *,
    outbox: Any,
    definition: ProcedureDefinition,
    bench: Bench,
    operator: Operator,
    standards: Mapping[str, StandardRecord],
    instrument: Mapping[str, Any],
    job: str,
    operator_name: str,
    context: Mapping[str, Any],
    resume: str | None = None,
    on: date | None = None,
) -> RunOutcome:
    """Carry out ``definition`` on ``bench`` into ``outbox``; never raises for a fault of
    the run (it is recorded and reported), only for a programming error."""
    runner = Runner(
        definition,
        bench=bench,
        operator=operator,
        recorder=_NoRecorder(),
        standards=standards,
        instrument=instrument,
        on=on or datetime.now(UTC).date(),
    )
    done: list[Mapping[str, Any]] = []
    if resume is None:
        try:
            usages = runner.preflight()
            environment = runner.read_environment()
        except NotReady as exc:
            return RunOutcome(None, "refused", "; ".join(exc.reasons))
        run_id = str(uuid.uuid4())
        outbox.start_run(
            {
                **header(
                    run_id=run_id,
                    job=job,
                    definition=definition,
                    operator=operator_name,
                    environment=environment,
                    standards=usages,
                ),
                "context": dict(context),
            }
        )
    else:
        run_id = resume
        state = outbox.resume(run_id)
        done = list(state.points)
        try:
            runner.preflight()
        except NotReady as exc:
            outbox.mark_incomplete(run_id, "; ".join(exc.reasons))
            return RunOutcome(run_id, "incomplete", "; ".join(exc.reasons))
    runner.recorder = outbox.recorder(run_id)
    try:
        points = runner.run(done=done)
    except RunInterrupted as exc:
        if not exc.pause and "abandoned" in str(exc):
            outbox.abandon(run_id, str(exc))
            return RunOutcome(run_id, "abandoned", str(exc))
        outbox.mark_incomplete(run_id, str(exc))
        return RunOutcome(run_id, "incomplete", str(exc))
    except KeyboardInterrupt:
        outbox.mark_incomplete(run_id, "paused by the operator (Ctrl-C)")
        return RunOutcome(run_id, "incomplete", "paused by the operator (Ctrl-C)")
    except BaseException as exc:
        outbox.mark_incomplete(run_id, f"the agent stopped: {type(exc).__name__}: {exc}")
        raise
    outbox.complete(
        run_id, datetime.now(UTC).isoformat(), checks=runner.checks, curves=runner.curves
    )
    readings = sum(len(p["model"]["quantities"][p["readings_quantity"]]["samples"]) for p in points)
    return RunOutcome(run_id, "queued", "", len(points), readings)


class _NoRecorder:
    """Stands in until the run is started: nothing may be recorded before it."""

    def reading(self, *, point_index: int, quantity: str, reading: Mapping[str, Any]) -> int:
        raise RuntimeError("a reading was taken before the run was started")

    def point(self, point: Mapping[str, Any], reading_ids: list[int]) -> None:
        raise RuntimeError("a point was finished before the run was started")

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        return None
