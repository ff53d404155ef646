"""``caltrace-agent run``: one procedure on one bench, from the job to a queued, signed run.

1. What to run (:class:`Plan`): ``--job NUMBER`` fetches the job, its procedure and the
   bench's standards from the LIMS and caches them in the outbox (:func:`fetch_plan`);
   ``--procedure ID --instrument SERIAL`` works with no network, from what the last sync
   cached: the job of that instrument and procedure, its procedure's definition, the
   standards' certificates (:func:`cached_plan`). ``caltrace-agent sync`` refreshes that
   cache (:func:`refresh_cache`).
2. The bench is opened (real instruments, or the simulators of every role on their real
   transports), the runner checks it before the first point (standards in calibration on
   the day, their ranges and certificates covering the points, the environment within
   limits) and refuses with every reason.
3. The run is started in the outbox, every reading committed before it is shown, each
   finished point kept (:func:`run_procedure`); a fault, a pause or Ctrl-C leaves the run
   incomplete and resumable; an abandoned run is kept and never sent. A completed run is
   assembled once and queued for ``sync``.

A bench file with ``positions`` (meters in series against one reference) runs every
position at once: the job run (``--job``) is the job of one of the positions' instruments,
and each position measured has its own open job of the same procedure (each meter is
registered once, with its job), from which its specification comes
(:func:`bench_positions`). The positions are checked against the procedure and the job
before the bench is opened (:func:`check_positions`); the outbox keeps the shared readings,
each position's readings, points and state, so that a run killed mid-sequence resumes
where it stopped with every position as it was.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from agent import __version__
from procedures.bench import POSITION_ROLE, Bench, BenchPosition, Operator, StandardRecord
from procedures.definition import (
    DefinitionError,
    ProcedureDefinition,
    definition_from_data,
)
from procedures.errors import ProcedureError
from procedures.record import (
    MeterIdentity,
    Point,
    Position,
    PositionInstrument,
    ProcedureRef,
    Reading,
    RunHeader,
    SharedPoint,
    StandardUsed,
)
from procedures.runner import NotReady, RunInterrupted, Runner
from uncertainty.display import datetime_text

from .config import BenchConfig
from .errors import PlanError
from .outbox import Outbox, ResumeState
from .sync import LimsClient

__all__ = [
    "Plan",
    "PlanError",
    "RunOutcome",
    "bench_positions",
    "cached_plan",
    "check_positions",
    "fetch_plan",
    "plan_from_context",
    "refresh_cache",
    "run_procedure",
]

# The key under which a cached job keeps its procedure's definition (the LIMS's JSON).
CACHED_DEFINITION = "procedure_definition"

# The states in which the LIMS takes a run of a job (labserver.jobs.services.ACCEPTS_RUNS):
# in progress is a job whose run was rejected and is to be measured again.
OPEN_STATES = ("accepted", "scheduled", "in_progress")
# Why a job in another state takes no run, for the operator.
_CLOSED_BECAUSE = {
    "requested": "not accepted yet by the laboratory",
    "measured": "measured already: a run of it was received",
    "reviewed": "measured and reviewed already",
    "approved": "measured and approved already",
    "issued": "closed: its certificate is issued",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class Plan:
    """Everything a run needs before the bench is opened."""

    job: dict[str, Any]
    """The LIMS's JSON of the job (``number``, ``instrument_serial``,
    ``instrument_specification``, ``procedure_ref``, ``assignee``, ``bench``...)."""
    definition: ProcedureDefinition
    definition_data: dict[str, Any]
    standards: dict[str, StandardRecord]
    """The bench's reference standards by asset id."""
    source: str
    """Where the data came from, for the operator: the LIMS, or the cache and its age."""
    notes: list[str] = field(default_factory=list)
    cached_at: datetime | None = None
    """When the job was fetched from the LIMS, for offline work from the cache (None:
    fetched now, or the context kept with a run that is resumed)."""
    position_jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    """On a bench with positions: the open job of each position's instrument found for
    this procedure, by position number (the run's own job among them)."""

    @property
    def number(self) -> str:
        return str(self.job["number"])

    @property
    def instrument(self) -> dict[str, Any]:
        """The instrument's specification: the numbers the procedure takes from it."""
        spec = self.job.get("instrument_specification") or {}
        return dict(spec) if isinstance(spec, Mapping) else {}

    @property
    def context(self) -> dict[str, Any]:
        """What the outbox keeps beside the run, so that it can be resumed offline."""
        context: dict[str, Any] = {"job": {**self.job, CACHED_DEFINITION: self.definition_data}}
        if self.position_jobs:
            context["positions"] = {str(n): job for n, job in self.position_jobs.items()}
        return context


@dataclass(frozen=True)
class RunOutcome:
    """How the run ended: ``state`` is queued, incomplete, abandoned or refused."""

    run_id: str | None
    state: str
    reason: str = ""
    points: int = 0
    readings: int = 0
    positions: tuple[Position, ...] = ()
    """A completed multi-position run's positions (state, reason, points, verdict)."""


# -- planning ---------------------------------------------------------------------------------


def _definition(data: Any, ref: Mapping[str, Any], source: str) -> ProcedureDefinition:
    if not isinstance(data, Mapping):
        raise PlanError(f"{source}: the procedure's definition is missing")
    try:
        definition = definition_from_data(dict(data), source=source)
    except DefinitionError as err:
        raise PlanError(f"the procedure cannot be used: {err}") from None
    if ref.get("hash") and definition.content_hash != ref["hash"]:
        raise PlanError(
            f"{source}: the definition's content hash {definition.content_hash[:12]}… is not "
            f"the one the job names ({str(ref['hash'])[:12]}…)"
        )
    return definition


def _check_job(job: Mapping[str, Any], config: BenchConfig) -> None:
    bench = job.get("bench")
    if bench and bench != config.bench:
        raise PlanError(
            f"job {job['number']} is scheduled on bench {bench!r}, not on this bench "
            f"({config.bench!r})"
        )
    state = job.get("state")
    if state not in (None, *OPEN_STATES):
        why = _CLOSED_BECAUSE.get(str(state), f"in state {state}")
        raise PlanError(
            f"job {job['number']} is {why} in the LIMS: it takes no new run; nothing was measured"
        )


def _standard_ids(config: BenchConfig) -> list[str]:
    return [role.asset_id for role in config.roles.values() if role.asset_id]


def check_positions(
    config: BenchConfig, definition: ProcedureDefinition, job: Mapping[str, Any]
) -> None:
    """A bench with positions runs ``definition`` for ``job`` only if the procedure
    measures an instrument under test at each position (its ``uut`` role), fits no curve
    (a curve is one instrument's), and the job's instrument is mounted at one of the
    positions; PlanError naming the bench file's line otherwise."""
    if not config.positions:
        return
    where = config.where("positions")
    name = f"procedure {definition.id} {definition.version}"
    if POSITION_ROLE not in definition.roles:
        raise PlanError(
            f"{where}: {name} measures no instrument under test (role {POSITION_ROLE}) at "
            "each position: it is not run on a bench with positions"
        )
    curved = [t.id for t in definition.tests if t.curve is not None]
    if curved:
        raise PlanError(
            f"{where}: {name} fits a curve (test {curved[0]}), one instrument's: it is not "
            "run on a bench with positions"
        )
    serial = str(job.get("instrument_serial", ""))
    held = {str(r.serial): n for n, r in config.positions.items()}
    if serial not in held:
        listing = ", ".join(f"{n}: {r.serial}" for n, r in sorted(config.positions.items()))
        raise PlanError(
            f"{where}: job {job['number']} is for instrument {serial}, which no position "
            f"holds ({listing}); nothing was measured"
        )


def _position_jobs(
    config: BenchConfig,
    definition: ProcedureDefinition,
    job: Mapping[str, Any],
    jobs_of: Callable[[str], list[dict[str, Any]]],
) -> dict[int, dict[str, Any]]:
    """The open job of this procedure of each position's instrument (``jobs_of(serial)``:
    the jobs to look in), by position; the run's ``job`` for its own instrument. A
    position without one is absent (:func:`bench_positions` says why it cannot be
    measured); one with several is refused."""
    ref = definition.ref()
    found: dict[int, dict[str, Any]] = {}
    for number, role in sorted(config.positions.items()):
        serial = str(role.serial)
        if serial == job.get("instrument_serial"):
            found[number] = dict(job)
            continue
        matches = [
            {k: v for k, v in j.items() if k != CACHED_DEFINITION}
            for j in jobs_of(serial)
            if j.get("instrument_serial") == serial
            and (j.get("procedure_ref") or {}).get("id") == ref["id"]
            and (j.get("procedure_ref") or {}).get("version") == ref["version"]
            and j.get("state") in (None, *OPEN_STATES)
            and j.get("bench") in (None, config.bench)
        ]
        if len(matches) > 1:
            numbers = ", ".join(str(j["number"]) for j in matches)
            raise PlanError(
                f"{config.where(f'positions.each.{number}')}: {serial} has several open jobs "
                f"of {ref['id']} {ref['version']} ({numbers}): one run measures it once"
            )
        if matches:
            found[number] = matches[0]
    return found


def bench_positions(
    config: BenchConfig, plan: Plan, skip: Mapping[int, str] | None = None
) -> list[BenchPosition]:
    """The runner's positions: each position's instrument with its serial, the
    procedure's instrument type and the parameters of its own job's specification; those
    in ``skip`` (position → why it is not measured: not mounted, broken) skipped.
    PlanError, naming the position's line in the bench file, for a position measured
    whose instrument has no open job of this procedure or whose specification lacks a
    parameter the procedure reads."""
    definition = plan.definition
    out = []
    for number, role in sorted(config.positions.items()):
        where = config.where(f"positions.each.{number}")
        serial = str(role.serial)
        job = plan.position_jobs.get(number)
        reason = (skip or {}).get(number)
        if job is None and reason is None:
            raise PlanError(
                f"{where}: position {number} holds {serial}, which has no open job of "
                f"{definition.id} {definition.version} for this bench: register the "
                f"instrument and give it its job, or leave the position out of the run "
                f"(--skip {number}:REASON); nothing was measured"
            )
        spec = (job or {}).get("instrument_specification") or {}
        missing = [p for p in definition.instrument_parameters if p not in spec]
        if missing and reason is None:
            raise PlanError(
                f"{where}: the specification of {serial} (job {job and job['number']}) lacks "
                f"{', '.join(missing)} (the procedure reads them); nothing was measured"
            )
        parameters = {p: spec[p] for p in definition.instrument_parameters if p in spec}
        out.append(
            BenchPosition(
                number=number,
                role=role.role,
                instrument=PositionInstrument(serial, definition.instrument_type, parameters),
                skipped=reason,
            )
        )
    return out


def fetch_plan(config: BenchConfig, outbox: Outbox, client: LimsClient, number: str) -> Plan:
    """The job ``number`` with its procedure and the bench's standards, from the LIMS; all
    of it is cached in the outbox for offline work. Raises the client's errors when the
    LIMS cannot be reached or refuses. On a bench with positions, the jobs of the other
    positions' instruments too."""
    job = client.job(number)
    _check_job(job, config)
    ref = job.get("procedure_ref") or {}
    procedure = client.procedure(str(ref.get("id")), str(ref.get("version")))
    definition = _definition(procedure.get("definition"), ref, f"procedure {ref.get('id')}")
    check_positions(config, definition, job)
    position_jobs = _position_jobs(config, definition, job, client.jobs_of_instrument)
    standards = {asset_id: client.standard(asset_id) for asset_id in _standard_ids(config)}
    outbox.cache_job({**job, CACHED_DEFINITION: procedure["definition"]})
    for other in position_jobs.values():
        outbox.cache_job({**other, CACHED_DEFINITION: procedure["definition"]})
    outbox.cache_standards(standards.values())
    return Plan(
        job,
        definition,
        dict(procedure["definition"]),
        standards,
        f"LIMS {client.base_url}",
        position_jobs=position_jobs,
    )


def cached_plan(
    config: BenchConfig,
    outbox: Outbox,
    *,
    number: str | None = None,
    procedure: str | None = None,
    serial: str | None = None,
) -> Plan:
    """A plan from the outbox's cache (offline work, chosen by the operator): the job by number,
    or the job of instrument ``serial`` for ``procedure``."""
    if number is not None:
        job = outbox.cached_job(number)
        if job is None:
            raise PlanError(
                f"job {number} is not cached on this bench: run with the LIMS reachable, or "
                "`caltrace-agent sync` first"
            )
    else:
        matches = [
            j
            for j in outbox.cached_jobs()
            if (j.get("procedure_ref") or {}).get("id") == procedure
            and j.get("instrument_serial") == serial
            and j.get("state") in (None, *OPEN_STATES)
        ]
        if not matches:
            raise PlanError(
                f"no cached job for procedure {procedure} and instrument {serial}: the job must "
                "exist in the LIMS for this bench and be fetched by `caltrace-agent sync` "
                "before going offline"
            )
        if len(matches) > 1:
            numbers = ", ".join(str(j["number"]) for j in matches)
            raise PlanError(f"several cached jobs match ({numbers}): choose one with --job")
        job = matches[0]
    plan = plan_from_context(config, outbox, {"job": job})
    # offline work: the operator is told how old the job list is
    return replace(plan, cached_at=outbox.jobs_fetched_at(plan.number))


def plan_from_context(config: BenchConfig, outbox: Outbox, context: Mapping[str, Any]) -> Plan:
    """The plan kept with a run (its job and definition), with the cached standards."""
    job = dict(context.get("job") or {})
    if "number" not in job:
        raise PlanError("the run's context names no job")
    _check_job(job, config)
    data = job.pop(CACHED_DEFINITION, None)
    ref = job.get("procedure_ref") or {}
    definition = _definition(data, ref, f"cached procedure {ref.get('id')}")
    wanted = _standard_ids(config)
    standards = outbox.cached_standards(wanted)
    missing = [a for a in wanted if a not in standards]
    if missing:
        raise PlanError(
            f"standard(s) {', '.join(missing)} not cached on this bench: "
            "`caltrace-agent sync` with the LIMS reachable first"
        )
    fetched = outbox.jobs_fetched_at(str(job["number"]))
    when = datetime_text(fetched) if fetched else "an earlier run"
    check_positions(config, definition, job)
    kept = context.get("positions")
    if isinstance(kept, Mapping):  # a resumed run: the jobs it started with
        position_jobs = {int(n): dict(j) for n, j in kept.items()}
    else:
        cached = outbox.cached_jobs()
        position_jobs = _position_jobs(
            config,
            definition,
            job,
            lambda serial: [j for j in cached if j.get("instrument_serial") == serial],
        )
    return Plan(
        job,
        definition,
        dict(data or {}),
        standards,
        f"cache of {when}",
        position_jobs=position_jobs,
    )


def refresh_cache(config: BenchConfig, outbox: Outbox, client: LimsClient) -> tuple[int, int]:
    """Fetch the jobs given to this bench, their procedures and the bench's standards into
    the outbox's cache; returns (jobs, standards) cached."""
    jobs = client.jobs(config.bench)
    procedures: dict[tuple[str, str], dict[str, Any]] = {}
    for job in jobs:
        ref = job.get("procedure_ref") or {}
        key = (str(ref.get("id")), str(ref.get("version")))
        if key not in procedures:
            procedures[key] = client.procedure(*key)
        outbox.cache_job({**job, CACHED_DEFINITION: procedures[key]["definition"]})
    standards = [client.standard(asset_id) for asset_id in _standard_ids(config)]
    outbox.cache_standards(standards)
    return len(jobs), len(standards)


# -- the run ----------------------------------------------------------------------------------


def header(
    *,
    run_id: str,
    job: str,
    definition: ProcedureDefinition,
    operator: str,
    environment: Mapping[str, Any],
    standards: list[StandardUsed],
    supersedes: str | None = None,
) -> dict[str, Any]:
    """The run payload's fields known before the first point (the JSON of its
    :class:`procedures.record.RunHeader`)."""
    return RunHeader(
        run_id=run_id,
        job=job,
        procedure=ProcedureRef(**definition.ref()),
        operator=operator,
        software_version=f"caltrace-agent {__version__}",
        started_at=datetime.now(UTC).isoformat(),
        environment=dict(environment),
        standards=tuple(standards),
        supersedes=supersedes or None,
    ).to_json()


def run_procedure(
    *,
    outbox: Outbox,
    plan: Plan,
    bench: Bench,
    operator: Operator,
    operator_name: str,
    resumed: ResumeState | None = None,
    positions: Sequence[BenchPosition] = (),
    identities: Mapping[int, MeterIdentity] | None = None,
    on: date | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RunOutcome:
    """Carry out ``plan`` on ``bench`` into ``outbox``; a fault of the run never raises (it
    is recorded and reported), only a programming error does (the run is then left
    incomplete, with the error as its reason). Ctrl-C (KeyboardInterrupt) leaves the run
    incomplete, paused; the caller asks whether to abandon it.

    ``resumed``: the outbox's :meth:`~agent.outbox.Outbox.resume` of an incomplete run
    (the finished points are kept, the others measured again); ``sleep`` and ``clock`` are
    the runner's (a simulated bench passes :class:`simulation.world.SimulatedTime`'s).

    ``positions``: a bench with positions' (:func:`bench_positions`; on resume, those the
    run was started with). Each position's readings and points are kept by position, a
    position skipped or removed is kept so with its reason before the run goes on, and the
    completed run holds the shared points and every position. ``identities``: the meter of
    positions read through its optical port before the run (kept with the position, as
    evidence that its serial number and registers were read, not typed)."""
    pending = _Pending()
    try:
        runner = Runner(
            plan.definition,
            bench=bench,
            operator=operator,
            recorder=pending,
            standards=plan.standards,
            instrument=plan.instrument,
            on=on or datetime.now(UTC).date(),
            sleep=sleep,
            clock=clock,
            positions=positions,
        )
        if resumed is not None and positions:
            runner.restore(resumed.shared, resumed.positions)
    except NotReady as exc:
        return _refused(outbox, resumed.run_id if resumed else None, exc)
    except ProcedureError as exc:  # positions the runner cannot take
        return _refused(outbox, resumed.run_id if resumed else None, NotReady([str(exc)]))
    done: list[Point] = []
    if resumed is None:
        try:
            usages = runner.preflight()
            environment = runner.read_environment()
        except NotReady as exc:
            return _refused(outbox, None, exc)
        run_id = outbox.start_run(
            {
                **header(
                    run_id=str(uuid.uuid4()),
                    job=plan.number,
                    definition=plan.definition,
                    operator=operator_name,
                    environment=environment,
                    standards=usages,
                ),
                "context": plan.context,
            },
            positions={p.number: p.instrument for p in positions},
            identities=identities,
        )
    else:
        run_id = resumed.run_id
        done = [
            Point.from_json(p, f"points[{i}]", readings=False) for i, p in enumerate(resumed.points)
        ]
        try:
            runner.preflight()
        except NotReady as exc:
            return _refused(outbox, run_id, exc)
    recorder = outbox.recorder(run_id)
    for number, state, reason in pending.left:  # found before the run was started
        recorder.position_state(number, state, reason)
    runner.recorder = recorder
    try:
        points = runner.run(done=done)
    except RunInterrupted as exc:
        if exc.abandon:
            outbox.abandon(run_id, str(exc))
            return RunOutcome(run_id, "abandoned", str(exc))
        outbox.mark_incomplete(run_id, str(exc))
        return RunOutcome(run_id, "incomplete", str(exc))
    except KeyboardInterrupt:
        reason = "paused by the operator (Ctrl-C)"
        outbox.mark_incomplete(run_id, reason)
        return RunOutcome(run_id, "incomplete", reason)
    except BaseException as exc:
        outbox.mark_incomplete(run_id, f"the agent stopped: {type(exc).__name__}: {exc}")
        raise
    if positions:
        return _complete_positions(outbox, run_id, runner)
    outbox.complete(
        run_id, datetime.now(UTC).isoformat(), checks=runner.checks, curves=runner.curves
    )
    readings = sum(p.samples for p in points)
    return RunOutcome(run_id, "queued", "", len(points), readings)


def _complete_positions(outbox: Outbox, run_id: str, runner: Runner) -> RunOutcome:
    """Queue a finished multi-position run with each position's checks; its outcome
    counts the shared points and every reading sent (shared and of the positions)."""
    _, positions = runner.positions_record()
    body = outbox.complete(
        run_id,
        datetime.now(UTC).isoformat(),
        position_checks={p.position: p.checks for p in positions},
    )
    sent = json.loads(body)
    readings = sum(len(s["readings"]) for s in sent["shared"]) + sum(
        len(p["readings"]) for position in sent["positions"] for p in position["points"]
    )
    kept = tuple(Position.from_json(p, "positions") for p in sent["positions"])
    return RunOutcome(run_id, "queued", "", len(sent["shared"]), readings, kept)


def _refused(outbox: Outbox, run_id: str | None, exc: NotReady) -> RunOutcome:
    reason = "; ".join(exc.reasons)
    if run_id is not None:  # a resumed run stays incomplete, to be resumed once ready
        outbox.mark_incomplete(run_id, f"not ready: {reason}")
    return RunOutcome(run_id, "refused", reason)


class _Pending:
    """Stands in until the run is started: no reading nor point may be recorded before
    it; a position found not fit to be measured before the first point (its instrument
    cannot be opened) is remembered, and kept once the run is started."""

    def __init__(self) -> None:
        self.left: list[tuple[int, str, str]] = []

    def reading(self, *, point_index: int, quantity: str, reading: Reading) -> int:
        raise RuntimeError("a reading was taken before the run was started")

    def point(self, point: Point, reading_ids: list[int]) -> None:
        raise RuntimeError("a point was finished before the run was started")

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        return None

    def position_reading(
        self, *, position: int, point_index: int, quantity: str, reading: Reading
    ) -> int:
        raise RuntimeError("a reading was taken before the run was started")

    def position_point(self, position: int, point: Point, reading_ids: list[int]) -> None:
        raise RuntimeError("a point was finished before the run was started")

    def position_state(self, position: int, state: str, reason: str) -> None:
        self.left.append((position, state, reason))

    def shared_point(self, point: SharedPoint, reading_ids: list[int]) -> None:
        raise RuntimeError("a point was finished before the run was started")
