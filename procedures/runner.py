"""The procedure runner: a definition, a bench and an operator → points with their models.

For each point of each test the runner carries out the test's steps on the bench
(program a source, wait for a bath to be stable, ask the operator to place weights,
take readings), hands every reading to the :class:`~procedures.bench.Recorder` **before**
it is shown, builds the point's measurement model from the test's template (readings,
the reference standard's certificate in force, the instrument's resolution, the
instrument's specification), evaluates it by GUM, sets the acceptance limits from the
procedure's rule and states conformity with the procedure's decision rule.

Nothing is invented: an instrument fault, an unstable reading, an operator who stops, a
certificate with no value at a point — each ends the run with :class:`RunInterrupted`
naming the point and the cause. The readings taken until then are already in the
recorder.

A role read through named registers (a ``modbus-map`` device) serves the functions of a
definition through its bench options: ``BenchRole.options["registers"]`` maps a function
to a register name (``{"temperature": "t_display"}``), so one definition reads a
thermometer typed by hand (``manual``) or read over Modbus, by the role's driver.

A test with ``curve:`` gets its calibration curve fitted once its points are done; the
curves of a run are in :attr:`Runner.curves` (see :func:`curve_payload`).

A multi-position bench (``positions``: N meters in series against one reference) runs
the shared sequence once: at each point the readings of every other role are taken once,
those of the instrument under test (:data:`~procedures.bench.POSITION_ROLE`) at each
position in turn, and each position's point is evaluated on the shared readings and its
own. A position whose instrument faults, or whose point cannot be evaluated, is removed
with the reason and the run goes on with the others; a failing position is only a
position with a failing verdict. :meth:`Runner.positions_record` gives the run record's
``shared`` and ``positions``.

A meter test bench (electricity meters) is driven by the ``meter_test`` step: the bench in
its reference role carries out one test point for every instrument under test at once,
each a position of the bench (:mod:`drivers.metertest.positions`) armed with its own
meter's constant and pulse target, the source programmed on one phase or on three with
balanced loads (the step's ``phases``); each position's results are then read like any
instrument's. A position that cannot be armed, or whose count is a fault (no pulse, a lost
pulse), is removed with the reason; the source out of regulation ends the run at the point.
A position whose instrument's specification lacks a parameter the procedure names is
skipped: no other instrument's value stands in for it.

What the runner gives are the parts of the run record (:mod:`procedures.record`): a
:class:`~procedures.record.Point` per point with its readings, the standards used, the
:class:`~procedures.record.Check` and :class:`~procedures.record.Curve` results. Each point
is evaluated by :func:`procedures.evaluation.evaluate_point`, the function the LIMS
evaluates it with again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from drivers.capabilities import AUTO, Direction, measure
from drivers.errors import DriverError
from drivers.metertest.bench import MeterTestBench, PhaseSetting, TestKind
from drivers.metertest.positions import (
    MeterBenchPosition,
    MeterTestSetting,
    phase_angle,
    run_meter_test,
)
from drivers.reading import Reading as InstrumentReading
from procedures.acceptance import check_plan
from procedures.bench import (
    OPTICAL_ROLE,
    POSITION_ROLE,
    Bench,
    BenchPosition,
    Instruction,
    Operator,
    OperatorAbort,
    PositionRecorder,
    Recorder,
    StandardRecord,
    optical_role,
)
from procedures.definition import (
    SET_QUANTITIES,
    PointSpec,
    ProcedureDefinition,
    TestSpec,
    flat_steps,
)
from procedures.derived import checks_of_test, curve_payload, curve_xs
from procedures.errors import ProcedureError
from procedures.evaluate import number
from procedures.evaluation import LimitsRule, PointEvaluation, PointRules, evaluate_point
from procedures.mpe.nawi import rounding_method
from procedures.record import (
    STANDARD_ROLES,
    Acceptance,
    Check,
    Curve,
    Point,
    Position,
    Reading,
    SharedPoint,
    StandardUsed,
)
from procedures.register import (
    register_advance_problem,
    register_quantity,
    register_resolution,
    resolution_of_readings,
    resolution_share,
)
from procedures.scope import bound_quantity, certified_entry, point_scope, summarize_test
from uncertainty.errors import UncertaintyError

__all__ = [
    "NotReady",
    "RunInterrupted",
    "Runner",
    "certificate_in_force",
    "curve_payload",
    "point_scope",
    "standard_problem",
]

_SET_FUNCTION = {
    "voltage": "dcv",
    "current": "dci",
    "resistance": "res4w",
    "pressure": "pressure",
    "temperature": "temperature",
}
_AC_FUNCTION = {"voltage": "acv", "current": "aci"}


class NotReady(ProcedureError):
    """The bench may not start: every reason is listed (standards, ranges, environment)."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("the run cannot start:\n- " + "\n- ".join(reasons))


class RunInterrupted(ProcedureError):
    """The run stopped at ``point`` (run index) because of ``cause``; ``pause`` is True when
    the operator chose to pause (the run can be resumed) rather than a fault, and
    ``abandon`` when the operator gave the run up."""

    def __init__(
        self, message: str, *, point: int | None, pause: bool = False, abandon: bool = False
    ) -> None:
        self.point = point
        self.pause = pause
        self.abandon = abandon
        where = f"point {point}: " if point is not None else ""
        super().__init__(where + message)


def certificate_in_force(record: StandardRecord, on: date) -> Mapping[str, Any] | None:
    """The standard's certificate valid on ``on`` (the latest calibrated), or None."""
    valid = [
        c
        for c in record.certificates
        if date.fromisoformat(str(c["calibrated_on"])) <= on <= date.fromisoformat(str(c["due_on"]))
    ]
    return max(valid, key=lambda c: str(c["calibrated_on"])) if valid else None


def standard_problem(record: StandardRecord, on: date) -> str | None:
    """Why the standard cannot be used on ``on``, or None when it can."""
    std = record.standard
    since = std.get("out_of_tolerance_since")
    if since and date.fromisoformat(str(since)) <= on:
        return f"{record.asset_id} is out of tolerance since {since}"
    retired = std.get("retired_on")
    if retired and date.fromisoformat(str(retired)) <= on:
        return f"{record.asset_id} was retired on {retired}"
    if certificate_in_force(record, on) is None:
        dues = sorted(str(c["due_on"]) for c in record.certificates)
        last = f" (last certificate due {dues[-1]})" if dues else " (no certificate)"
        return f"{record.asset_id} has no calibration certificate in force on {on}{last}"
    return None


@dataclass
class _Usage:
    function: str
    unit: str
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.low = min(self.low, value)
        self.high = max(self.high, value)


@dataclass
class _PointState:
    spec: PointSpec
    scope: dict[str, Any]
    readings: dict[str, list[InstrumentReading]] = field(default_factory=dict)
    reading_ids: list[int] = field(default_factory=list)
    taken: list[Reading] = field(default_factory=list)
    repeats: list[tuple[int, int]] = field(default_factory=list)
    """The ``repeat`` steps the point is inside, outermost first: (times, this pass)."""
    positions: dict[int, _PointState] = field(default_factory=dict)
    """On a multi-position bench: each position's own readings at this point, by number."""


@dataclass
class _PositionRun:
    """A position as the run goes: its state, why it left the run, its finished points
    and its checks."""

    spec: BenchPosition
    state: str = "measured"
    reason: str | None = None
    points: list[Point] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state == "measured"

    def record(self) -> Position:
        return Position(
            position=self.spec.number,
            instrument=self.spec.instrument,
            state=self.state,
            reason=self.reason,
            points=tuple(self.points),
            checks=tuple(self.checks),
        )


class Runner:
    """Carries out one procedure on one bench for one instrument.

    ``standards`` are the LIMS records of the bench's reference standards, by asset id;
    ``instrument`` the instrument's specification (numbers the definition's
    ``instrument:`` list names); ``on`` the date of the run (standards are checked for
    that date). ``sleep`` and ``clock`` are injectable for tests. ``positions``: the
    positions of a multi-position bench (the recorder then keeps them, a
    :class:`~procedures.bench.PositionRecorder`); each position's instrument parameters
    override ``instrument``'s at its points.
    """

    def __init__(
        self,
        definition: ProcedureDefinition,
        *,
        bench: Bench,
        operator: Operator,
        recorder: Recorder,
        standards: Mapping[str, StandardRecord],
        instrument: Mapping[str, Any],
        on: date,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        positions: Sequence[BenchPosition] = (),
    ) -> None:
        self.definition = definition
        self.bench = bench
        self.operator = operator
        self.recorder = recorder
        self.standards = standards
        self.instrument = instrument
        self.on = on
        self._sleep = sleep
        self._clock = clock
        self._base_scope = self._scope()
        self._summaries: dict[str, Any] = {}
        self.checks: list[Check] = []
        """The test-level checks of the last :meth:`run` (``checks:`` of the tests), in run
        order."""
        self.curves: dict[str, Curve] = {}
        """The curves fitted over the tests with ``curve:``, by test id (after :meth:`run`)."""
        self.evaluations: dict[int, PointEvaluation] = {}
        """The evaluation of each point measured by the last :meth:`run`, by index: the
        result, verdict and budget that the LIMS computes again from the point."""
        self.plans: dict[str, dict[str, Any]] = {}
        """The tests' ``plan:`` summaries, by test id (after :meth:`preflight`)."""
        self.rounding_error: dict[str, Any] | None = None
        """How the indication's rounding error is eliminated in this run (the definition's
        ``rounding_error:`` checked against the instrument; after :meth:`preflight`), with
        the statement a certificate prints; None where the procedure declares none."""
        self._positions = _positions(definition, recorder, positions)
        self.shared: list[SharedPoint] = []
        """A multi-position run's shared readings, point by point (after :meth:`run`)."""
        self.position_evaluations: dict[tuple[int, int], PointEvaluation] = {}
        """Each position's evaluation of each point, by (position, point index)."""
        self._alias: dict[str, str] = {}
        self._restored: list[SharedPoint] = []

    # -------------------------------------------------------------- before the first point

    def _scope(self) -> dict[str, Any]:
        scope: dict[str, Any] = {}
        missing = []
        for name in self.definition.instrument_parameters:
            if name not in self.instrument:
                missing.append(name)
            else:
                scope[name] = self.instrument[name]
        if missing:
            raise NotReady(
                [
                    f"the instrument's specification lacks {', '.join(missing)} "
                    "(the procedure needs them)"
                ]
            )
        scope.update(self.definition.constants)
        return scope

    def standard(self, role: str) -> StandardRecord:
        bench_role = self.bench.roles.get(role)
        if bench_role is None or not bench_role.asset_id:
            raise ProcedureError(
                f"the bench names no reference standard in role {role!r}", argument=role
            )
        record = self.standards.get(bench_role.asset_id)
        if record is None:
            raise ProcedureError(
                f"no data for reference standard {bench_role.asset_id} (sync with the LIMS)",
                argument=role,
            )
        return record

    def preflight(self) -> list[StandardUsed]:
        """Check the bench before anything is switched on; return the run's ``standards``.

        Raises :class:`NotReady` with every reason found: a missing role, an instrument
        that does not offer what a role needs, a standard not in calibration on the run's
        date, a standard whose declared ranges or certificate do not cover the points.
        """
        reasons: list[str] = []
        definition = self.definition
        for name, spec in definition.roles.items():
            if self._positions and name in (POSITION_ROLE, OPTICAL_ROLE):
                self._position_problems(spec.needs, optical=name == OPTICAL_ROLE)
                continue
            bench_role = self.bench.roles.get(name)
            if bench_role is None:
                if not spec.optional:
                    reasons.append(self._missing_role(name))
                continue
            if spec.standard:
                if not bench_role.asset_id:
                    reasons.append(
                        f"role {name}: needs a reference standard (asset_id) on the bench"
                    )
                    continue
                record = self.standards.get(bench_role.asset_id)
                if record is None:
                    reasons.append(
                        f"role {name}: no data for {bench_role.asset_id} (sync with the LIMS first)"
                    )
                    continue
                problem = standard_problem(record, self.on)
                if problem:
                    reasons.append(f"role {name}: {problem}")
            if bench_role.driver != "none":
                instrument = self.bench.instrument(name)
                for function, direction in spec.needs:
                    if not _offers(instrument, self._function(name, function), direction):
                        reasons.append(
                            f"role {name}: {bench_role.driver} cannot {direction} {function}"
                        )
        reasons.extend(self._passive_role_problems())
        reasons.extend(self._shadowed_parameters())
        reasons.extend(self._plan_problems())
        reasons.extend(self._rounding_problems())
        reasons.extend(self._phase_problems())
        if reasons:
            raise NotReady(reasons)
        usages = self._usages(reasons)
        if reasons:
            raise NotReady(reasons)
        return usages

    def _missing_role(self, name: str) -> str:
        """Why a run cannot start without role ``name``; for the meter's optical port, the
        tests that read the meter's register through it."""
        reason = f"role {name}: the bench has no instrument in this role"
        if name != OPTICAL_ROLE:
            return reason
        tests = [
            test.id
            for test in self.definition.tests
            if any(
                isinstance(args, Mapping) and args.get("role") == name
                for step in flat_steps((*test.steps, *test.after))
                for args in step.values()
            )
        ]
        who = f"test {', '.join(tests)}" if tests else "the procedure"
        return f"{reason}: {who} needs the meter's optical port (its register is read through it)"

    def _position_problems(self, needs: Iterable[tuple[str, str]], *, optical: bool) -> None:
        """Each position to be measured has its instrument on the bench (``optical``: its
        meter's optical port), offering what the procedure needs of it: one that does not
        is skipped with the reason (the others are measured)."""
        parameters = self.definition.instrument_parameters
        for position in self._active():
            if optical and position.spec.skipped is not None:
                continue  # left out before the run, for its own reason (the run says it)
            role = optical_role(position.spec.role) if optical else position.spec.role
            bench_role = self.bench.roles.get(role)
            if optical and bench_role is None:
                self._leave(
                    position,
                    "skipped",
                    f"position {position.spec.number} has no optical port on the bench: "
                    "the procedure reads its meter's register through it",
                )
                continue
            lacking = [
                n for n in parameters if n not in (position.spec.instrument.parameters or {})
            ]
            if lacking:
                # never the job's value instead: each instrument is verified by its own
                self._leave(
                    position,
                    "skipped",
                    f"its instrument's specification lacks {', '.join(lacking)} "
                    "(the procedure needs them)",
                )
                continue
            if bench_role is None:
                self._leave(position, "skipped", f"the bench has no instrument in role {role}")
                continue
            try:
                instrument = self.bench.instrument(role)
            except (DriverError, ProcedureError, LookupError) as exc:
                what = "its meter's optical port" if optical else "its instrument"
                self._leave(position, "skipped", f"{what} cannot be opened: {exc}")
                continue
            for function, direction in needs:
                if not _offers(instrument, self._function(role, function), direction):
                    self._leave(
                        position, "skipped", f"{bench_role.driver} cannot {direction} {function}"
                    )
                    break

    def _phase_problems(self) -> list[str]:
        """The meters' ``phases`` at each ``meter_test`` step, before anything is switched
        on: 1 or 3, at most the bench's source's. A position whose meter cannot be tested
        is skipped naming its phases; a run of one such meter is not ready."""
        reasons: list[str] = []
        where = "step meter_test.phases"
        for test in self.definition.tests:
            for step in flat_steps(test.steps):
                args = step.get("meter_test")
                if args is None or str(args["role"]) not in self.bench.roles:
                    continue
                try:
                    bench = self.bench.instrument(str(args["role"]))
                except (DriverError, ProcedureError, LookupError):
                    continue  # the role's own check says why
                if not isinstance(bench, MeterTestBench):
                    continue
                expression = args.get("phases", 1)
                if not self._positions:
                    problem = _phases_in(expression, self._base_scope, bench.phases)
                    if problem is not None and f"{where}: {problem}" not in reasons:
                        reasons.append(f"{where}: {problem}")
                    continue
                for position in self._active():
                    own = {**self._base_scope, **(position.spec.instrument.parameters or {})}
                    problem = _phases_in(expression, own, bench.phases)
                    if problem is not None:
                        self._leave(
                            position, "skipped", f"position {position.spec.number}: {problem}"
                        )
        return reasons

    def _active(self) -> list[_PositionRun]:
        return [p for p in self._positions.values() if p.active]

    def _leave(self, position: _PositionRun, state: str, reason: str) -> None:
        """``position`` leaves the run (skipped before its first point, removed after);
        the recorder keeps why before the run goes on."""
        if state == "skipped" and position.points:  # a resumed run: measured before
            state = "removed"
        position.state = state
        position.reason = reason
        recorder: PositionRecorder = self.recorder  # type: ignore[assignment]
        recorder.position_state(position.spec.number, state, reason)
        self.operator.show(
            "position-left", {"position": position.spec.number, "state": state, "reason": reason}
        )

    def restore(self, shared: Iterable[SharedPoint], positions: Iterable[Position]) -> None:
        """Take up an interrupted multi-position run where it stopped: the points of the
        shared sequence finished (``shared``) are not measured again, and each position
        is as it was kept (``positions``: its state and reason, its finished points).
        Called before :meth:`preflight`, so that a position skipped or removed stays so."""
        if not self._positions:
            raise ProcedureError("a run of one position has no positions to restore")
        self._restored = list(shared)
        for kept in positions:
            position = self._positions.get(kept.position)
            if position is None:
                raise ProcedureError(
                    f"position {kept.position} is not on this bench", argument="positions"
                )
            position.state = kept.state
            position.reason = kept.reason
            position.points = list(kept.points)

    def positions_record(self) -> tuple[tuple[SharedPoint, ...], tuple[Position, ...]]:
        """The run record's ``shared`` and ``positions`` of the last :meth:`run`."""
        return tuple(self.shared), tuple(p.record() for p in self._positions.values())

    def _instrument(self, role: str) -> object:
        """The instrument in ``role``; the instrument under test is the position's being
        evaluated."""
        return self.bench.instrument(self._alias.get(role, role))

    def _usages(self, reasons: list[str]) -> list[StandardUsed]:
        """What each standard is used for, over every point, checked against its ranges
        and its certificate."""
        # One usage per role and function: a standard may serve several certificate
        # quantities (a PRT's R0, A and B), each with its own range and unit.
        usages: dict[tuple[str, str], _Usage] = {}
        for test in self.definition.tests:
            for point in test.points:
                where = f"tests[{test.id}].points[{point.index}]"
                try:
                    scope = self._point_scope(test, point, {}, where=where)
                except ProcedureError as exc:
                    reasons.append(str(exc))
                    continue
                for step in flat_steps(test.steps):
                    if "set" in step:
                        args = step["set"]
                        role = args["role"]
                        if not self.definition.roles[role].standard:
                            continue
                        function = _SET_FUNCTION[args["quantity"]]
                        if "frequency_hz" in args and number(
                            args["frequency_hz"], scope, where=where
                        ):
                            function = _AC_FUNCTION.get(args["quantity"], function)
                        value = number(args["value"], scope, where=f"{where}.set.value")
                        unit = _declared_unit(self.standard(role), function)
                        usages.setdefault((role, function), _Usage(function, unit or "")).add(value)
                for qname, q in test.model["quantities"].items():
                    if "certificate" in q:
                        role = q["certificate"]
                        at = number(q.get("at", "nominal"), scope, where=f"{where}.{qname}.at")
                        record = self.standard(role)
                        try:
                            _certificate_value(record, self.on, str(q["quantity"]), at)
                        except ProcedureError as exc:
                            reasons.append(f"role {role}: {exc.message}")
                        quantity = str(q["quantity"])
                        unit = _declared_unit(record, quantity) or ""
                        usages.setdefault((role, quantity), _Usage(quantity, unit)).add(at)
        out: list[StandardUsed] = []
        for (role, _), usage in usages.items():
            record = self.standard(role)
            if not _covers(record, usage):
                reasons.append(
                    f"role {role}: {record.asset_id} does not cover {usage.function} "
                    f"{usage.low:g} to {usage.high:g} {usage.unit}"
                )
            out.append(
                StandardUsed(
                    asset_id=record.asset_id,
                    role=role if role in STANDARD_ROLES else "reference",
                    function=usage.function,
                    unit=usage.unit,
                    low=usage.low,
                    high=usage.high,
                )
            )
        for name, spec in self.definition.roles.items():
            bench_role = self.bench.roles.get(name)
            if (
                spec.standard
                and all(role != name for role, _ in usages)
                and bench_role is not None
                and bench_role.asset_id
            ):
                record = self.standard(name)
                function = spec.needs[0][0] if spec.needs else ""
                unit = _declared_unit(record, function) or ""
                entry = _declared(record, function)
                low = entry.get("min") if entry else None
                high = entry.get("max") if entry else None
                out.append(
                    StandardUsed(
                        asset_id=record.asset_id,
                        role=name if name in STANDARD_ROLES else "reference",
                        function=function,
                        unit=unit,
                        low=low if low is not None else 0,
                        high=high if high is not None else 0,
                    )
                )
        return out

    def read_environment(self) -> dict[str, Any]:
        """Read the environment role once and check the procedure's limits.

        Returns the run's ``environment`` (value, unit, the raw text and the time);
        raises :class:`NotReady` when a quantity is outside its limits.
        """
        limits = self.definition.environment
        if not limits:
            return {}
        instrument = self.bench.instrument("environment")
        out: dict[str, Any] = {}
        reasons = []
        for quantity, limit in limits.items():
            try:
                reading = measure(instrument, quantity)
            except DriverError as exc:
                raise NotReady([f"environment: {quantity} could not be read: {exc}"]) from None
            unit = _unit_name(reading.unit)
            if unit != _unit_name(limit["unit"]):
                reasons.append(
                    f"environment: {quantity} read in {reading.unit}, "
                    f"the limits are in {limit['unit']}"
                )
            elif not limit["min"] <= reading.value <= limit["max"]:
                reasons.append(
                    f"environment: {quantity} {reading.value:g} {reading.unit} is outside "
                    f"{limit['min']:g} to {limit['max']:g} {limit['unit']}"
                )
            out[quantity] = {
                "value": reading.value,
                "unit": reading.unit,
                "raw": reading.raw,
                "timestamp": reading.timestamp.isoformat(),
            }
        if reasons:
            raise NotReady(reasons)
        return out

    # -------------------------------------------------------------- the run

    def run(self, *, done: Iterable[Point] = ()) -> list[Point]:
        """Carry out every point not in ``done`` (points kept from an earlier, interrupted
        attempt of the same run); return all points in run order."""
        if self._positions:
            if done:
                raise ProcedureError(
                    "a multi-position run is resumed by restore(), not done", argument="done"
                )
            self._run_positions()
            return []
        finished = {p.index: p for p in done}
        points: list[Point] = []
        self.checks = []
        self.curves = {}
        self.evaluations = {}
        total = len(self.definition.points)
        for test in self.definition.tests:
            todo = [p for p in test.points if p.index not in finished]
            for spec in test.points:
                if spec.index in finished:
                    points.append(finished[spec.index])
                    continue
                self._show_point(test, spec, total)
                point = self._point(test, spec)
                points.append(point)
                self.operator.show(
                    "point-done",
                    {
                        "index": spec.index,
                        "total": total,
                        "point": point.to_json(readings=False),
                        **self._result_resolution(point),
                    },
                )
            if todo:
                last = test.points[-1]
                where = f"tests[{test.id}].points[{last.index}]"
                self._steps(
                    test.after, self._point_scope(test, last, self._summaries, where=where), None
                )
            # The derived results read the points' JSON, as the LIMS's do (procedures.derived).
            test_points = [p.to_json(readings=False) for p in points if p.test == test.id]
            self._summaries.update(summarize_test(test, test_points))
            self.checks.extend(self._test_checks(test, test_points))
            if test.curve is not None:
                self.curves[test.id] = self._curve(test, test_points)
        return points

    def _show_point(self, test: TestSpec, spec: PointSpec, total: int) -> None:
        self.operator.show(
            "point",
            {
                "index": spec.index,
                "total": total,
                "test": test.id,
                "title": dict(test.title),
                "nominal": self._nominal(test, spec),
                "unit": spec.unit,
            },
        )

    def _run_positions(self) -> None:
        """Every point of the shared sequence, at every position still in the run; each
        test's checks per position."""
        self.shared = list(self._restored)
        finished = {s.index for s in self.shared}
        self.checks = []
        self.curves = {}
        self.evaluations = {}
        self.position_evaluations = {}
        for position in self._positions.values():
            position.checks = []
            if position.spec.skipped is not None and position.active:
                self._leave(position, "skipped", position.spec.skipped)
        total = len(self.definition.points)
        for test in self.definition.tests:
            todo = [p for p in test.points if p.index not in finished]
            for spec in todo:
                if not self._active():
                    raise RunInterrupted("no position is left to measure", point=spec.index)
                self._show_point(test, spec, total)
                self._shared_point(test, spec, total)
            if todo:
                last = test.points[-1]
                where = f"tests[{test.id}].points[{last.index}]"
                self._steps(
                    test.after, self._point_scope(test, last, self._summaries, where=where), None
                )
            for position in self._positions.values():
                test_points = [
                    p.to_json(readings=False) for p in position.points if p.test == test.id
                ]
                if position.active and test_points:
                    position.checks.extend(self._test_checks(test, test_points))

    def _shared_point(self, test: TestSpec, spec: PointSpec, total: int) -> None:
        """One point of the shared sequence: its steps once (the readings of the instrument
        under test at each position), then each position's point evaluated, then the
        shared point kept (the point is finished for every position)."""
        state = self._measure(test, spec, positions=True)
        for position in self._active():
            self._position_point(test, state, position)
        shared = SharedPoint(spec.index, test.id, tuple(state.taken))
        recorder: PositionRecorder = self.recorder  # type: ignore[assignment]
        recorder.shared_point(shared, list(state.reading_ids))
        self.shared.append(shared)
        self.operator.show("positions-done", {"index": spec.index, "total": total})

    def _position_point(self, test: TestSpec, shared: _PointState, position: _PositionRun) -> None:
        """Evaluate ``position``'s point on the shared readings and its own; a point that
        cannot be evaluated removes the position."""
        number_ = position.spec.number
        own = shared.positions[number_]
        both = _PointState(own.spec, own.scope, readings={**shared.readings, **own.readings})
        both.taken = own.taken
        self._alias = {POSITION_ROLE: position.spec.role}
        try:
            point, evaluation = self._evaluated(test, both)
        except (ProcedureError, UncertaintyError) as exc:
            self._leave(position, "removed", f"point {own.spec.index} cannot be evaluated: {exc}")
            return
        finally:
            self._alias = {}
        self.position_evaluations[(number_, point.index)] = evaluation
        recorder: PositionRecorder = self.recorder  # type: ignore[assignment]
        recorder.position_point(number_, point, list(own.reading_ids))
        position.points.append(point)
        self.operator.show(
            "point-done",
            {
                "index": point.index,
                "position": number_,
                "point": point.to_json(readings=False),
                **self._result_resolution(point),
            },
        )

    def _result_resolution(self, point: Point) -> dict[str, Any]:
        """For the display only: the resolution a result read as it is (a time to the
        first pulse) was read to, ``{"resolution": 0.01}``, where the procedure states it
        (:meth:`~procedures.definition.ProcedureDefinition.result_resolution`)."""
        declared = (point.model.get("outputs") or {}).get(point.output)
        unit = str(declared.get("unit") or "") if isinstance(declared, Mapping) else ""
        found = self.definition.result_resolution(point.test, point.model, unit or point.unit)
        return {} if found is None else {"resolution": found}

    def _point(self, test: TestSpec, spec: PointSpec) -> Point:
        state = self._measure(test, spec, positions=False)
        try:
            return self._evaluate(test, state)
        except (ProcedureError, UncertaintyError) as exc:
            raise RunInterrupted(
                f"the point cannot be evaluated: {exc}", point=spec.index
            ) from None

    def _measure(self, test: TestSpec, spec: PointSpec, *, positions: bool) -> _PointState:
        """The test's steps at point ``spec``, their readings (with ``positions``, each
        position's own readings of the instrument under test beside the shared ones);
        RunInterrupted naming the point when a step fails."""
        try:
            scope = self._point_scope(
                test, spec, self._summaries, where=f"tests[{test.id}].points[{spec.index}]"
            )
        except ProcedureError as exc:
            raise RunInterrupted(str(exc), point=spec.index) from None
        state = _PointState(spec, scope)
        shared = {k: v for k, v in scope.items() if k not in self.definition.instrument_parameters}
        for position in self._active() if positions else ():
            own = {**shared, **(position.spec.instrument.parameters or {})}
            state.positions[position.spec.number] = _PointState(spec, own)
        try:
            self._steps(test.steps, scope, state)
        except OperatorAbort as exc:
            raise RunInterrupted(
                exc.reason, point=spec.index, pause=exc.pause, abandon=not exc.pause
            ) from None
        except DriverError as exc:
            raise RunInterrupted(f"{type(exc).__name__}: {exc}", point=spec.index) from None
        except ProcedureError as exc:
            raise RunInterrupted(str(exc), point=spec.index) from None
        finally:
            self._flush_io()
        return state

    def _curve(self, test: TestSpec, points: list[dict[str, Any]]) -> Curve:
        """Fit the test's ``curve:`` over its points (every point of the test, resumed ones
        included); RunInterrupted when the fit is refused."""
        spec = test.curve
        assert spec is not None
        xs = curve_xs(test, self._base_scope, points)
        try:
            return Curve.from_json(curve_payload(test, points, xs), f"curves.{test.id}")
        except UncertaintyError as exc:
            raise RunInterrupted(
                f"the {spec['fit']} of test {test.id} cannot be fitted: {exc}", point=None
            ) from None

    def _function(self, role: str, function: str) -> str:
        """The probe function that reads ``function`` on ``role``: ``register:NAME`` when
        the bench maps it to a register (``options["registers"]``), else ``function``."""
        bench_role = self.bench.roles.get(self._alias.get(role, role))
        registers = bench_role.options.get("registers") if bench_role is not None else None
        if isinstance(registers, Mapping) and function in registers:
            return f"register:{registers[function]}"
        return function

    def _flush_io(self) -> None:
        entries: list[Mapping[str, Any]] = []
        for name, role in self.bench.roles.items():
            if role.driver == "none":
                continue
            try:
                instrument = self.bench.instrument(name)
            except (DriverError, LookupError):  # a position left empty has no instrument
                continue
            log = getattr(instrument, "io_log", None)
            if log is None:
                continue
            address = str(getattr(instrument, "address", role.address))
            for entry in log.drain():
                data = entry.to_dict()
                entries.append(
                    {
                        "t": data["utc"],
                        "dir": data["direction"],
                        "role": name,
                        "address": address,
                        "data": data["data"],
                    }
                )
        if entries:
            entries.sort(key=lambda e: str(e["t"]))
            self.recorder.io(entries)

    # -------------------------------------------------------------- steps

    def _steps(
        self,
        steps: Iterable[Mapping[str, Any]],
        scope: Mapping[str, Any],
        state: _PointState | None,
    ) -> None:
        for step in steps:
            kind, args = next(iter(step.items()))
            where = f"step {kind}"
            if kind in ("operate", "standby", "zero"):
                instrument: Any = self.bench.instrument(args)
                getattr(instrument, kind)()
            elif kind == "wait":
                self._sleep(number(args["seconds"], scope, where=f"{where}.seconds"))
            elif kind == "set":
                instrument = self.bench.instrument(args["role"])
                value = number(args["value"], scope, where=f"{where}.value")
                method = getattr(instrument, SET_QUANTITIES[args["quantity"]])
                if "frequency_hz" in args:
                    method(value, frequency_hz=number(args["frequency_hz"], scope, where=where))
                else:
                    method(value)
            elif kind == "settle":
                instrument = self.bench.instrument(args["role"])
                instrument.wait_settled(
                    timeout_s=number(args.get("timeout_s", 30), scope, where=where)
                )
            elif kind == "control":
                self.bench.instrument(args["role"]).set_control(bool(args["on"]))  # type: ignore[attr-defined]
            elif kind == "wait_stable":
                self._wait_stable(args, scope)
            elif kind == "instruct":
                params = {
                    k: (
                        v
                        if k in ("unit", "position") and isinstance(v, str) and v not in scope
                        else number(v, scope, where=f"{where}.params.{k}")
                    )
                    for k, v in (args.get("params") or {}).items()
                }
                text = {lang: _fill(message, scope) for lang, message in args["text"].items()}
                self.operator.instruct(Instruction(str(args["kind"]), params, text))
            elif kind == "read":
                if state is None:
                    raise ProcedureError("readings are taken at points only", argument=where)
                self._read(args, scope, state)
            elif kind == "repeat":
                self._repeat(args, scope, state)
            elif kind == "meter_test":
                if state is None:
                    raise ProcedureError("a meter test is run at points only", argument=where)
                self._meter_test(args, scope, state)
            elif kind == "check_register":
                if state is None:
                    raise ProcedureError("a register is checked at points only", argument=where)
                self._check_registers(args, state)
            else:  # pragma: no cover - the definition checker refuses other kinds
                raise ProcedureError(f"unknown step {kind!r}", argument=where)

    def _meter_test(
        self, args: Mapping[str, Any], scope: Mapping[str, Any], state: _PointState
    ) -> None:
        """``meter_test``: one test point of the meter test bench in ``args["role"]`` for
        every instrument under test still in the run (each a position of the bench,
        :class:`~drivers.metertest.positions.MeterBenchPosition`), each armed with its own
        constant and pulse target. The source is programmed on the meters' ``phases`` (1, or
        3 with balanced loads: the same voltage, current and phase angle on each). A
        position that cannot be armed (its constant missing, no meter there) is removed
        with its fault, one whose meter has other phases than the source is programmed on,
        or more than the bench's source has, is left out naming its ``phases``; a fault of
        the source or of the link ends the point (RunInterrupted), as a reference's fault
        does."""
        where = "step meter_test"
        role = str(args["role"])
        bench = self.bench.instrument(role)
        if not isinstance(bench, MeterTestBench):
            raise ProcedureError(
                f"role {role}: {type(bench).__name__} is not a meter test bench",
                argument=f"{where}.role",
            )
        kind = TestKind(str(args["test"]))
        source = self._source_phases(args, scope, state, bench.phases)
        taking_part: dict[int, tuple[_PositionRun | None, MeterBenchPosition]] = {}
        constants: dict[int, float | None] = {}
        targets: dict[int, int] = {}
        for position, own in self._under_test(state):
            instrument = self.bench.instrument(position.spec.role if position else POSITION_ROLE)
            if not isinstance(instrument, MeterBenchPosition):
                raise ProcedureError(
                    f"{type(instrument).__name__} is not a position of a meter test bench",
                    argument=f"{where}.role",
                )
            if position is not None:
                # a meter the source cannot be wired to as it is programmed is not tested
                phases = number(args.get("phases", 1), own.scope, where=f"{where}.phases")
                problem = _phases_problem(phases, source, bench.phases)
                if problem is not None:
                    self._leave(position, "skipped", f"position {position.spec.number}: {problem}")
                    continue
                source = int(phases)
            try:
                if "constant" in args:
                    constants[instrument.number] = number(
                        args["constant"], own.scope, where=f"{where}.constant"
                    )
                if kind == TestKind.ACCURACY:
                    targets[instrument.number] = _whole(
                        number(args["pulses"], own.scope, where=f"{where}.pulses"),
                        f"{where}.pulses",
                    )
            except ProcedureError as exc:
                if position is None:
                    raise
                self._leave(position, "removed", f"point {state.spec.index}: {exc}")
                continue
            taking_part[instrument.number] = (position, instrument)
        if not taking_part or source is None:
            return
        power_factor = number(args.get("power_factor", 1), scope, where=f"{where}.power_factor")
        # balanced loads: every phase at the same voltage, current and phase angle
        phase = PhaseSetting(
            number(args["voltage"], scope, where=f"{where}.voltage"),
            number(args["current"], scope, where=f"{where}.current"),
            phase_angle(power_factor, str(args.get("load_kind", "inductive"))),
        )
        duration = number(args["duration_s"], scope, where=f"{where}.duration_s")
        setting = MeterTestSetting(
            kind,
            (phase,) * source,
            number(args["frequency_hz"], scope, where=f"{where}.frequency_hz"),
            duration,
            number(args.get("plausible_error", 100), scope, where=f"{where}.plausible_error"),
        )
        refused = run_meter_test(
            bench,
            [view for _, view in taking_part.values()],
            setting,
            constants=constants,
            targets=targets,
            timeout_s=duration * 1.1 + 30.0,
        )
        for bench_position, fault in refused.items():
            position = taking_part[bench_position][0]
            if position is None:
                raise fault
            self._leave(
                position, "removed", f"point {state.spec.index}: {type(fault).__name__}: {fault}"
            )

    def _source_phases(
        self, args: Mapping[str, Any], scope: Mapping[str, Any], state: _PointState, bench: int
    ) -> int | None:
        """How many phases the source is programmed on at a meter test (``phases``, 1 by
        default): the meter's (its specification's, in ``scope``), on a bench whose source
        has ``bench`` phases. A run of one meter that cannot be tested on this bench ends
        at the point, naming the field; in a multi-position run each meter is checked on
        its own, and the first that can be tested decides (None here)."""
        where = "step meter_test.phases"
        phases = number(args.get("phases", 1), scope, where=where)
        problem = _phases_problem(phases, None, bench)
        if problem is None:
            return int(phases)
        if not state.positions:
            raise ProcedureError(problem, argument=where)
        return None

    def _check_registers(self, args: Mapping[str, Any], state: _PointState) -> None:
        """``check_register``: each instrument under test's register readings (``before``,
        ``after``) against the energy the reference measured (``energy``), before its point
        is evaluated. A register that went backwards or advanced beyond ``plausible_error``
        (%) is a fault of the reading, and a register too coarse for the energy applied
        (its resolution alone taking more than ``max_share`` of the MPE at the point in
        U) cannot be judged: the position is removed naming the register and the cause
        (the run of one instrument stops), never judged."""
        where = "step check_register"
        test = self.definition.test(state.spec.test)
        for position, own in self._under_test(state):
            try:
                problem = self._register_problem(args, test, own, where)
            except ProcedureError as exc:
                problem = exc.message
            if problem is None:
                continue
            if position is None:
                raise ProcedureError(problem, argument=where)
            self._leave(
                position,
                "removed",
                f"point {state.spec.index}: position {position.spec.number}: {problem}",
            )

    def _register_problem(
        self, args: Mapping[str, Any], test: TestSpec, own: _PointState, where: str
    ) -> str | None:
        """Why ``own``'s register readings cannot be judged (:meth:`_check_registers`)."""
        names = [str(args["before"]), str(args["after"])]
        taken = [own.readings.get(n, []) for n in (*names, str(args["energy"]))]
        if not all(taken):
            missing = [n for n, t in zip((*names, args["energy"]), taken, strict=True) if not t]
            return f"no reading {', '.join(map(str, missing))} was taken"
        before, after, energy = (t[-1] for t in taken)
        if len({before.unit, after.unit, energy.unit}) != 1:
            return (
                f"the register reads {before.unit} and {after.unit}, the reference energy "
                f"is in {energy.unit}"
            )
        plausible = number(args["plausible_error"], own.scope, where=f"{where}.plausible_error")
        problem = register_advance_problem(before.value, after.value, energy.value, plausible)
        if problem is not None:
            return f"{problem} {energy.unit}: a fault of the register's reading, not judged"
        resolution = resolution_of_readings([(r.raw, r.unit) for r in (before, after)], names)
        if test.mpe is None:
            return None
        mpe = float(LimitsRule(test.mpe, own.scope, f"tests[{test.id}].mpe").at(0.0).mpe)
        share = resolution_share(float(resolution), energy.value)
        allowed = number(args["max_share"], own.scope, where=f"{where}.max_share") * mpe
        if share > allowed:
            return (
                f"its register resolves {resolution} {energy.unit}: over "
                f"{energy.value:.6g} {energy.unit} its resolution alone takes {share:.2g} % "
                f"of U, more than {allowed:.2g} % (the share allowed of the MPE "
                f"{mpe:g} %); a longer register test is needed"
            )
        return None

    def _under_test(self, state: _PointState) -> list[tuple[_PositionRun | None, _PointState]]:
        """The instruments under test at a point, each with its own state: every position
        still in the run, or the one instrument of a run of one (None)."""
        if not state.positions:
            return [(None, state)]
        return [
            (position, state.positions[position.spec.number])
            for position in self._active()
            if position.spec.number in state.positions
        ]

    def _wait_stable(self, args: Mapping[str, Any], scope: Mapping[str, Any]) -> None:
        where = "step wait_stable"
        role = str(args["role"])
        instrument = self.bench.instrument(role)
        target = number(args["target"], scope, where=f"{where}.target")
        tolerance = number(args["tolerance"], scope, where=f"{where}.tolerance")
        window = number(args["window_s"], scope, where=f"{where}.window_s")
        timeout = number(args["timeout_s"], scope, where=f"{where}.timeout_s")
        interval = number(args.get("interval_s", 1.0), scope, where=f"{where}.interval_s")
        start = self._clock()
        stable_since: float | None = None
        while True:
            reading = measure(instrument, self._function(role, str(args["function"])))
            now = self._clock()
            inside = abs(reading.value - target) <= tolerance
            stable_since = (stable_since if stable_since is not None else now) if inside else None
            self.operator.show(
                "stability",
                {
                    "role": role,
                    "value": reading.value,
                    "unit": reading.unit,
                    "target": target,
                    "inside": inside,
                    "resolution": self._own_resolution(role, str(args["function"])),
                },
            )
            if stable_since is not None and now - stable_since >= window:
                return
            if now - start > timeout:
                raise ProcedureError(
                    f"{role} did not stay within ±{tolerance:g} {reading.unit} of {target:g} "
                    f"for {window:g} s within {timeout:g} s "
                    f"(last {reading.value:g} {reading.unit})",
                    argument=where,
                )
            self._sleep(interval)

    def _read(self, args: Mapping[str, Any], scope: Mapping[str, Any], state: _PointState) -> None:
        if state.positions and args["role"] in (POSITION_ROLE, OPTICAL_ROLE):
            self._read_positions(args, state)
            return
        self._read_role(args, scope, state)

    def _read_positions(self, args: Mapping[str, Any], state: _PointState) -> None:
        """A reading of the instrument under test, at each position still in the run; a
        position whose instrument faults is removed, the others read.

        The meters' optical ports are read at once (:meth:`_probe_at_once`): each answers
        after its own reaction time (IEC 62056-21: up to 1.5 s before the identification,
        then the data readout at the port's rate), which one port after the other added
        up over a 24-position bench. The readings are kept, checked and shown afterwards
        position by position, in the positions' order, as they are when read in turn."""
        active = [
            (position, own)
            for position in self._active()
            if (own := state.positions.get(position.spec.number)) is not None
        ]
        probed: dict[int, list[InstrumentReading] | BaseException] = {}
        if args["role"] == OPTICAL_ROLE and len(active) > 1:
            probed = self._probe_at_once(args, active)
        for position, own in active:
            self._alias = {
                POSITION_ROLE: position.spec.role,
                OPTICAL_ROLE: optical_role(position.spec.role),
            }
            try:
                taken = probed.get(position.spec.number)
                if isinstance(taken, BaseException):
                    raise taken  # the port's error, met while the ports were read at once
                self._read_role(args, own.scope, own, position=position.spec.number, probed=taken)
            except (DriverError, ProcedureError) as exc:
                self._leave(
                    position,
                    "removed",
                    f"point {state.spec.index}: {type(exc).__name__}: {exc}",
                )
            finally:
                self._alias = {}

    def _probe_at_once(
        self, args: Mapping[str, Any], active: Sequence[tuple[_PositionRun, _PointState]]
    ) -> dict[int, list[InstrumentReading] | BaseException]:
        """The readings of each position's optical port, the ports read at the same time,
        one thread per port address (ports behind one address, a shared bus, are read in
        turn); for each position, its readings or the error its port gave."""
        by_address: dict[str, list[tuple[int, Any, str, int, Any, float]]] = {}
        probed: dict[int, list[InstrumentReading] | BaseException] = {}
        for position, own in active:
            self._alias = {OPTICAL_ROLE: optical_role(position.spec.role)}
            try:
                plan = self._reading_plan(args, own.scope)
                instrument = self._instrument(OPTICAL_ROLE)
                function = self._function(OPTICAL_ROLE, str(args["function"]))
            except (DriverError, ProcedureError) as exc:
                probed[position.spec.number] = exc
                continue
            finally:
                self._alias = {}
            role = self.bench.roles.get(optical_role(position.spec.role))
            address = role.address if role is not None else optical_role(position.spec.role)
            by_address.setdefault(address, []).append(
                (position.spec.number, instrument, function, *plan)
            )

        def read_in_turn(
            ports: list[tuple[int, Any, str, int, Any, float]],
        ) -> dict[int, list[InstrumentReading] | BaseException]:
            done: dict[int, list[InstrumentReading] | BaseException] = {}
            for at, instrument, function, count, range_setting, dwell in ports:
                try:
                    readings = []
                    for i in range(count):
                        if i and dwell:
                            self._sleep(dwell)
                        readings.append(measure(instrument, function, range=range_setting))
                    done[at] = readings
                except (DriverError, ProcedureError) as exc:
                    done[at] = exc
            return done

        with ThreadPoolExecutor(max_workers=len(by_address)) as pool:
            for done in pool.map(read_in_turn, by_address.values()):
                probed.update(done)
        return probed

    def _reading_plan(
        self, args: Mapping[str, Any], scope: Mapping[str, Any]
    ) -> tuple[int, Any, float]:
        """A read step's count of readings, range setting and dwell between readings."""
        where = "step read"
        count = int(number(args.get("count", "readings"), scope, where=f"{where}.count"))
        if count < 1:
            raise ProcedureError(
                f"count must be at least 1, got {count}", argument=f"{where}.count"
            )
        range_setting: Any = AUTO
        if "range" in args:
            range_setting = number(args["range"], scope, where=f"{where}.range")
        dwell = number(args.get("dwell_s", 0), scope, where=f"{where}.dwell_s")
        return count, range_setting, dwell

    def _read_role(
        self,
        args: Mapping[str, Any],
        scope: Mapping[str, Any],
        state: _PointState,
        *,
        position: int | None = None,
        probed: list[InstrumentReading] | None = None,
    ) -> None:
        """The step's readings of ``role``, each checked, kept and shown; ``probed``: the
        readings already taken (:meth:`_probe_at_once`), to keep instead of reading."""
        where = "step read"
        role = str(args["role"])
        name = str(args["as"])
        instrument = self._instrument(role)
        count, range_setting, dwell = self._reading_plan(args, scope)
        taken = state.readings.setdefault(name, [])
        # what the display counts to: the readings of this name so far, and those this
        # step still takes, in this pass and the passes of its repeats still to come
        passes_left = 1
        for times, done in state.repeats:
            passes_left = passes_left * times - done
        expected = len(taken) + count * passes_left
        for i in range(count):
            if probed is not None:
                reading = probed[i]
            else:
                if i and dwell:
                    self._sleep(dwell)
                reading = measure(
                    instrument, self._function(role, str(args["function"])), range=range_setting
                )
            if args.get("stable", True) and not reading.stable:
                raise ProcedureError(
                    f"{role} reported an unstable reading ({reading.raw!r}); no reading is taken",
                    argument=where,
                )
            record = Reading(
                value=reading.value,
                unit=reading.unit,
                timestamp=reading.timestamp.isoformat(),
                stable=reading.stable,
                raw=reading.raw,
                quantity=name,
            )
            reading_id = self._keep(position, state.spec.index, name, record)
            state.reading_ids.append(reading_id)
            state.taken.append(record)
            taken.append(reading)
            self.operator.show(
                "reading",
                {
                    "index": state.spec.index,
                    **({"position": position} if position is not None else {}),
                    "quantity": name,
                    "n": len(taken),
                    "of": expected,
                    **record.to_json(),
                    # for the display only: the record above is what is kept, unrounded
                    "resolution": self._register_shown(state, name, reading)
                    or self._shown_resolution(state, role, args, reading.unit),
                    "function": str(args["function"]),
                },
            )

    def _keep(self, position: int | None, index: int, quantity: str, reading: Reading) -> int:
        """Keep a reading: a position's with its position."""
        if position is None:
            return self.recorder.reading(point_index=index, quantity=quantity, reading=reading)
        recorder: PositionRecorder = self.recorder  # type: ignore[assignment]
        return recorder.position_reading(
            position=position, point_index=index, quantity=quantity, reading=reading
        )

    def _register_shown(
        self, state: _PointState, name: str, reading: InstrumentReading
    ) -> float | None:
        """For the display only: a register reading the test's model binds the resolution
        of (``resolution_of_readings``) is shown to the last digit the meter wrote. None
        otherwise, or when its text does not say; nothing raises."""
        test = next((t for t in self.definition.tests if t.id == state.spec.test), None)
        quantities = (test.model.get("quantities") or {}) if test is not None else {}
        if not any(name in q.get("resolution_of_readings", ()) for q in quantities.values()):
            return None
        try:
            return float(register_resolution(reading.raw, reading.unit))
        except ProcedureError:
            return None

    def _shown_resolution(
        self, state: _PointState, role: str, args: Mapping[str, Any], unit: str
    ) -> float | None:
        """The resolution a reading of ``role`` is shown to, where the procedure states it.

        The model of the point's test says what the reading was read to, in the same two
        ways the certificate finds an indication's resolution
        (``labserver.issuance.documents.indication_resolution``): a quantity
        ``{resolution_of: ROLE, function: F}`` for the role and function read (the
        instrument's resolution at the quantity's range), or, for the test's primary
        readings, a rectangular quantity whose half-width is half an instrument
        parameter or a constant (``d_T/2``, ``time_resolution/2``;
        :attr:`~procedures.definition.ProcedureDefinition.resolution_halves`). Either only
        in the reading's unit. Else the resolution the instrument itself declares for the
        function read (:meth:`_own_resolution`: a reference's 8-digit pressure in Pa is shown to its
        module's resolution, not with float noise). None where neither says, or it
        cannot be worked out here: the display then
        writes the value as read, never to a guessed resolution. Nothing raises: a
        display must not stop a run.
        """
        test = next((t for t in self.definition.tests if t.id == state.spec.test), None)
        quantities = (test.model.get("quantities") or {}) if test is not None else {}
        primary = next((str(q["readings"]) for q in quantities.values() if "readings" in q), None)
        halves = self.definition.resolution_halves
        for q in quantities.values():
            if "unit" in q and _unit_name(str(q["unit"])) != _unit_name(unit):
                continue
            try:
                if q.get("resolution_of") == role and q.get("function") == args["function"]:
                    rng = number(q["range"], state.scope, where="range") if "range" in q else None
                    found = _resolution(self._instrument(role), str(q["function"]), rng)
                    if found is not None and found > 0:
                        return float(found)
                half = str(q.get("half_width", "")).replace(" ", "")
                if "unit" in q and half in halves and args.get("as") == primary:
                    width = number(q["half_width"], state.scope, where="half_width")
                    # in decimal, so that twice 5e-08 is 1e-07, not 1.0000000000000001e-07
                    doubled = 2 * Decimal(repr(float(width)))
                    if doubled.is_finite() and doubled > 0:
                        return float(doubled)
            except (ProcedureError, DriverError, KeyError, TypeError, ValueError, ArithmeticError):
                continue
        return self._own_resolution(role, str(args["function"]))

    def _own_resolution(self, role: str, function: str) -> float | None:
        """The resolution the instrument of ``role`` declares for ``function`` where it has
        one span (a reference's pressure module, a scale): what a reading the procedure's
        model says nothing about is shown to. None otherwise; nothing raises."""
        try:
            found = _resolution(self._instrument(role), function, None)
        except (DriverError, KeyError, TypeError, ValueError, AttributeError):
            return None
        return float(found) if found is not None and found > 0 else None

    # -------------------------------------------------------------- evaluation

    def _evaluate(self, test: TestSpec, state: _PointState) -> Point:
        point, evaluation = self._evaluated(test, state)
        self.evaluations[point.index] = evaluation
        self.recorder.point(point, list(state.reading_ids))
        return point

    def _evaluated(self, test: TestSpec, state: _PointState) -> tuple[Point, PointEvaluation]:
        """The point of ``state``'s readings, evaluated (nothing kept)."""
        spec = state.spec
        scope = state.scope
        nominal = float(scope["nominal"])
        template = test.model
        quantities: dict[str, Any] = {}
        primary: str | None = None
        for qname, q in template["quantities"].items():
            where = f"tests[{test.id}].model.quantities.{qname}"
            if "readings" in q:
                taken = state.readings.get(str(q["readings"]), [])
                if not taken:
                    raise ProcedureError("no readings were taken", argument=where)
                units = {r.unit for r in taken}
                unit = units.pop()
                if units or ("unit" in q and _unit_name(q["unit"]) != _unit_name(unit)):
                    raise ProcedureError(
                        f"readings are in {unit}, the model expects {q.get('unit')}", argument=where
                    )
                entry: dict[str, Any] = {"samples": [r.value for r in taken], "unit": unit}
                for opt in ("pooled_sd", "pooled_dof"):
                    if opt in q:
                        entry[opt] = number(q[opt], scope, where=f"{where}.{opt}")
                quantities[qname] = entry
                primary = primary or qname
            elif "certificate" in q:
                record = self.standard(str(q["certificate"]))
                at = number(q.get("at", "nominal"), scope, where=f"{where}.at")
                value = _certificate_value(record, self.on, str(q["quantity"]), at)
                quantities[qname] = bound_quantity(q, value.entry)
            elif "resolution_of_readings" in q:
                names = [str(n) for n in q["resolution_of_readings"]]
                raws = [(r.raw, r.unit) for n in names for r in state.readings.get(n, [])]
                quantities[qname] = register_quantity(names, raws, q.get("unit"))
            elif "resolution_of" in q:
                instrument = self._instrument(str(q["resolution_of"]))
                rng = number(q["range"], scope, where=f"{where}.range") if "range" in q else None
                resolution = _resolution(instrument, str(q["function"]), rng)
                if resolution is None:
                    raise ProcedureError(
                        f"{q['resolution_of']} states no resolution for {q['function']}",
                        argument=where,
                    )
                quantities[qname] = {
                    "value": 0.0,
                    "distribution": "rectangular",
                    "half_width": resolution / 2,
                    **({"unit": q["unit"]} if "unit" in q else {}),
                }
            else:
                entry = {}
                for opt, v in q.items():
                    if opt in ("distribution", "unit") or (opt == "dof" and v == "inf"):
                        entry[opt] = v
                    else:
                        entry[opt] = number(v, scope, where=f"{where}.{opt}")
                quantities[qname] = entry
        if primary is None:
            raise ProcedureError("the model takes no readings", argument=f"tests[{test.id}].model")
        model = {
            "name": f"{test.title['en']} at {nominal:g} {spec.unit}",
            "outputs": template["outputs"],
            "quantities": quantities,
        }
        for opt in ("correlations", "coverage_probability"):
            if opt in template:
                model[opt] = template[opt]
        rules = PointRules.of(self.definition, test, scope, where=f"tests[{test.id}].mpe")
        evaluation = evaluate_point(model, test.output, rules, unit=spec.unit)
        point = Point(
            index=spec.index,
            test=test.id,
            nominal=nominal,
            unit=spec.unit,
            readings_quantity=primary,
            output=test.output,
            model=model,
            result=evaluation.result,
            conformity=evaluation.conformity,
            acceptance=Acceptance.of(evaluation.limits) if evaluation.limits is not None else None,
            uncertainty_ratio=evaluation.ratio,
            readings=tuple(state.taken),
        )
        return point, evaluation

    # -------------------------------------------------------------- additions

    def _nominal(self, test: TestSpec, spec: PointSpec) -> float:
        """The point's nominal: the number of the definition, or its expression evaluated
        over the instrument's parameters, the constants and the point's numbers."""
        if spec.nominal_expression is None:
            return spec.nominal
        scope = {**self._base_scope, **spec.params, "readings": test.readings}
        return number(
            spec.nominal_expression, scope, where=f"tests[{test.id}].points[{spec.index}].nominal"
        )

    def _point_scope(
        self, test: TestSpec, spec: PointSpec, summaries: Mapping[str, Any], *, where: str
    ) -> dict[str, Any]:
        """The names in scope at a point, ``nominal`` evaluated."""
        return point_scope(self._base_scope, summaries, test, spec, where=where)

    def _repeat(
        self, args: Mapping[str, Any], scope: Mapping[str, Any], state: _PointState | None
    ) -> None:
        """``repeat``: the steps ``times`` times at the same point; readings taken under the
        same name add up (the repeated loadings of one load)."""
        times = number(args["times"], scope, where="step repeat.times")
        if times != int(times) or times < 1:
            raise ProcedureError(
                f"times must be a whole number ≥ 1, got {times:g}", argument="step repeat.times"
            )
        for done in range(int(times)):
            if state is not None:
                state.repeats.append((int(times), done))
            try:
                self._steps(args["steps"], scope, state)
            finally:
                if state is not None:
                    state.repeats.pop()

    def _passive_role_problems(self) -> list[str]:
        """Steps that would drive a role the bench fills with no instrument (driver
        ``none``: weights, a standard read by no driver) — a bench fault, found before the
        run rather than at the step."""
        driven = {"operate", "standby", "zero"}
        reasons: list[str] = []
        for test in self.definition.tests:
            for step in flat_steps((*test.steps, *test.after)):
                kind, args = next(iter(step.items()))
                if kind in ("instruct", "wait", "repeat", "check_register"):
                    continue
                role = str(args) if kind in driven else str(args["role"])
                bench_role = self.bench.roles.get(role)
                if bench_role is not None and bench_role.driver == "none":
                    reason = (
                        f"role {role}: test {test.id} steps {kind} it, but the bench has "
                        "no instrument in it (driver none)"
                    )
                    if reason not in reasons:
                        reasons.append(reason)
            for qname, q in test.model["quantities"].items():
                role = q.get("resolution_of")
                bench_role = self.bench.roles.get(str(role)) if role else None
                if bench_role is not None and bench_role.driver == "none":
                    reasons.append(
                        f"role {role}: test {test.id} takes the resolution of {qname} from it, "
                        "but the bench has no instrument in it (driver none)"
                    )
        return reasons

    def _plan_problems(self) -> list[str]:
        """The tests' ``plan:`` over the points they will take (R 76-1 A.4.4.1 for the loads of
        a weighing test, the temperature class for a water meter's test temperatures): a
        plan the rule refuses stops the run before the first point."""
        reasons: list[str] = []
        self.plans = {}
        for test in self.definition.tests:
            if test.plan is None:
                continue
            where = f"tests[{test.id}].plan"
            try:
                points = [
                    self._point_scope(
                        test, spec, {}, where=f"tests[{test.id}].points[{spec.index}]"
                    )
                    for spec in test.points
                ]
                self.plans[test.id] = check_plan(test.plan, self._base_scope, points, where=where)
            except ProcedureError as exc:
                reasons.append(str(exc))
        return reasons

    def _rounding_problems(self) -> list[str]:
        """The definition's ``rounding_error:`` checked against the instrument (a display
        coarser than e/5 does not eliminate the rounding error, R 76-1 A.4.4.3)."""
        spec = self.definition.rounding_error
        self.rounding_error = None
        if spec is None:
            return []
        where = "rounding_error"
        try:
            interval = (
                Decimal(repr(number(spec["interval"], self._base_scope, where=f"{where}.interval")))
                if "interval" in spec
                else None
            )
            e = Decimal(repr(number(spec["e"], self._base_scope, where=f"{where}.e")))
            self.rounding_error = rounding_method(str(spec["method"]), e=e, interval=interval)
        except ProcedureError as exc:
            argument = exc.argument or ""
            if not argument.startswith(where):
                argument = f"{where}.{argument}" if argument else where
            return [f"{argument}: {exc.message}"]
        return []

    def _shadowed_parameters(self) -> list[str]:
        """A point key that names an instrument parameter too (``unit``) shadows it at the
        point: both must then say the same, or the rules would take the point's word for
        the instrument's (a balance in kg verified as if in g)."""
        reasons: list[str] = []
        for test in self.definition.tests:
            for point in test.points:
                for name in self.definition.instrument_parameters:
                    if name in point.params and point.params[name] != self.instrument[name]:
                        reason = (
                            f"the instrument's {name} is {self.instrument[name]!r}; test "
                            f"{test.id} is written for {point.params[name]!r}"
                        )
                        if reason not in reasons:
                            reasons.append(reason)
        return reasons

    def _test_checks(self, test: TestSpec, points: list[dict[str, Any]]) -> list[Check]:
        """The test's ``checks:`` over its finished points; an impossible check (an
        argument outside its rule) interrupts the run after the test's last point."""
        try:
            checks = checks_of_test(test, {**self._base_scope, **self._summaries}, points)
            return [
                Check.from_json(c, f"tests[{test.id}].checks[{i}]") for i, c in enumerate(checks)
            ]
        except ProcedureError as exc:
            raise RunInterrupted(
                f"the check cannot be evaluated: {exc}", point=test.points[-1].index
            ) from None


# ------------------------------------------------------------------ helpers


def _positions(
    definition: ProcedureDefinition, recorder: Recorder, positions: Sequence[BenchPosition]
) -> dict[int, _PositionRun]:
    """The positions of a multi-position run, by number, checked: numbered once each from
    1, a recorder that keeps them, a procedure without curves (a curve is fitted per
    instrument over a run of one)."""
    out: dict[int, _PositionRun] = {}
    for position in positions:
        if position.number < 1 or position.number in out:
            raise ProcedureError(
                f"position {position.number} is not numbered once from 1",
                argument=f"positions[{position.number}]",
            )
        out[position.number] = _PositionRun(position)
    if out and not all(
        callable(getattr(recorder, m, None))
        for m in ("position_reading", "position_point", "position_state", "shared_point")
    ):
        raise ProcedureError("the recorder cannot keep positions", argument="positions")
    curved = [t.id for t in definition.tests if t.curve is not None]
    if out and curved:
        raise ProcedureError(
            f"test {curved[0]} fits a curve: a multi-position run fits none", argument="positions"
        )
    return out


def _phases_in(expression: Any, scope: Mapping[str, Any], bench: int) -> str | None:
    """Why the meter whose specification is ``scope`` cannot be tested on a bench whose
    source has ``bench`` phases (``expression``: the step's ``phases``); None if it can."""
    try:
        phases = number(expression, scope, where="phases")
    except ProcedureError as exc:
        return exc.message
    return _phases_problem(phases, None, bench)


def _phases_problem(phases: float, source: int | None, bench: int) -> str | None:
    """Why a meter of ``phases`` (its specification's) cannot be tested at a point where
    the source is programmed on ``source`` phases (None: not decided yet) of a bench whose
    source has ``bench``; None when it can."""
    if phases not in (1, 3):
        return f"phases {phases:g} is not 1 or 3"
    if phases > bench:
        return f"phases {phases:g}: a three-phase meter on a bench whose source has {bench} phase"
    if source is not None and phases != source:
        return f"phases {phases:g}: the source is programmed on {source} phase(s) for the others"
    return None


def _whole(value: float, where: str) -> int:
    """``value`` as a whole number ≥ 1 (a count of pulses), refused otherwise."""
    if not (math.isfinite(value) and value == int(value) and value >= 1):
        raise ProcedureError(f"must be a whole number ≥ 1, got {value:g}", argument=where)
    return int(value)


def _fill(template: str, scope: Mapping[str, Any]) -> str:
    def value(name: str) -> str:
        v = scope[name]
        return f"{v:g}" if isinstance(v, float) else str(v)

    out = template
    for name in sorted(scope, key=len, reverse=True):
        out = out.replace("{" + name + "}", value(name))
    return out


@dataclass(frozen=True, slots=True)
class _CertifiedValue:
    nominal: float
    value: float
    U: float
    k: float
    unit: str
    entry: Mapping[str, Any]


def _certificate_value(
    record: StandardRecord, on: date, quantity: str, at: float
) -> _CertifiedValue:
    """The certificate's value of ``quantity`` at the nominal ``at``: exactly there, never
    interpolated or extrapolated (a point the certificate does not give is refused)."""
    certificate = certificate_in_force(record, on)
    if certificate is None:
        raise ProcedureError(f"{record.asset_id} has no certificate in force on {on}")
    value = certified_entry(certificate.get("values") or [], quantity, at)
    if value is not None:
        return _CertifiedValue(
            nominal=float(value["nominal"]),
            value=float(value["value"]),
            U=float(value["U"]),
            k=float(value.get("k", 2)),
            unit=str(value.get("unit", "")),
            entry=value,
        )
    raise ProcedureError(
        f"certificate {certificate['number']} of {record.asset_id} gives no {quantity} "
        f"value at {at:g}"
    )


def _declared(record: StandardRecord, function: str) -> Mapping[str, Any] | None:
    for entry in record.standard.get("functions") or []:
        if entry.get("function") == function:
            return dict(entry)
    return None


def _declared_unit(record: StandardRecord, function: str) -> str | None:
    entry = _declared(record, function)
    return str(entry["unit"]) if entry and entry.get("unit") else None


def _covers(record: StandardRecord, usage: _Usage) -> bool:
    for entry in record.standard.get("functions") or []:
        if entry.get("function") == usage.function and entry.get("unit") == usage.unit:
            lo, hi = entry.get("min"), entry.get("max")
            if (lo is None or lo <= usage.low) and (hi is None or usage.high <= hi):
                return True
    return False


def _offers(instrument: object, function: str, direction: str) -> bool:
    capability = getattr(instrument, "capability", None)
    if capability is not None and not callable(capability):
        return str(capability.function) == function and str(capability.direction) == direction
    caps = getattr(type(instrument), "capabilities", None)
    if function.startswith("register:"):
        names = getattr(instrument, "register_names", None)
        return bool(names is not None and function.split(":", 1)[1] in names)
    return bool(caps is not None and caps.offers(function, Direction(direction)))


def _resolution(instrument: object, function: str, rng: float | None) -> float | None:
    capability = getattr(instrument, "capability", None)
    if capability is None or callable(capability):
        caps = getattr(type(instrument), "capabilities", None)
        if caps is None:
            return None
        capability = caps.get(function, Direction.MEASURE)
    spans = capability.spans
    if rng is not None:
        return capability.span(rng).resolution  # type: ignore[no-any-return]
    if len(spans) == 1:
        return spans[0].resolution  # type: ignore[no-any-return]
    return None


_UNIT_NAMES = {"°C": "degC", "℃": "degC", "Ω": "ohm"}


def _unit_name(unit: str) -> str:
    return _UNIT_NAMES.get(unit, unit)
