"""Multi-position runs: water-meter-r49 on a simulated bench of meters in series.

Four water meters in series against one reference meter (a simulated Modbus device over
Modbus TCP): the reference is read once at each point, each meter's register (typed at
its own manual-entry prompt) once per position, and each position is evaluated on the
shared readings and its own. Meter 1 and meter 3 are good, meter 2 reads 5 % high at
high flows (outside the class 2 MPE of 2 % in the upper zone, R 49-1:2013 4.2.2 as
``procedures/mpe/water.py`` cites it), meter 4 is not mounted. A failing meter or a
skipped one does not stop the others; a meter whose register cannot be read is removed
and the run goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from drivers.errors import InstrumentTimeout
from procedures.bench import BenchPosition
from procedures.definition import library, load_definition
from procedures.errors import ProcedureError
from procedures.evaluation import PointRules, evaluate_point
from procedures.record import (
    PositionInstrument,
    ProcedureRef,
    RunHeader,
    RunRecord,
    StandardUsed,
)
from procedures.runner import RunInterrupted, Runner
from simulation.bench import SimulatedBench
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime, SimulatedWorld
from tests.support.positions import GOOD, HIGH, Kept, bench_positions, reference_record, water_roles

TODAY = date(2026, 11, 22)
WATER = load_definition(library()["water-meter-r49"])
# The meters of the LIMS demo: Q3 = 4 m3/h, R = 160, class 2.
METER = {"accuracy_class": 2, "q3": 4.0, "ratio": 160.0}


def positions(count: int, skipped: Mapping[int, str] | None = None) -> list[BenchPosition]:
    return bench_positions(count, METER, skipped)


@dataclass
class Rig:
    runner: Runner
    bench: SimulatedBench
    kept: Kept


@pytest.fixture
def rig() -> Iterator[Rig]:
    world = SimulatedWorld(seed=5, flow_time_scale=1e-4, max_flow_s=0.02)
    roles = water_roles({1: GOOD, 2: HIGH, 3: GOOD, 4: GOOD})
    kept = Kept()
    clock = SimulatedTime(real_pause_s=0.001)
    with SimulatedBench(roles, world) as bench:
        runner = Runner(
            WATER,
            bench=bench,
            operator=SimulatedOperator(world),
            recorder=kept,
            standards={"HN-V-FLOW": reference_record()},
            instrument=METER,
            on=TODAY,
            sleep=clock.sleep,
            clock=clock.clock,
            positions=positions(4, {4: "not mounted"}),
        )
        yield Rig(runner, bench, kept)


def record_of(runner: Runner, standards: list[StandardUsed]) -> RunRecord:
    shared, measured = runner.positions_record()
    return RunRecord(
        header=RunHeader(
            run_id="6f1c7d1e-3c1b-4b8e-9d51-6a3f0f2b9a10",
            job="HN-2026-00042",
            procedure=ProcedureRef(**WATER.ref()),
            operator="hn-metrologist",
            software_version="caltrace-agent (test)",
            started_at="2026-11-22T08:00:00+07:00",
            standards=tuple(standards),
        ),
        finished_at="2026-11-22T09:00:00+07:00",
        points=(),
        shared=shared,
        positions=measured,
    )


def test_each_meter_is_measured_against_the_one_reference_and_judged_on_its_own(
    rig: Rig,
) -> None:
    runner = rig.runner
    standards = runner.preflight()
    assert runner.run() == []
    shared, measured = runner.positions_record()

    # The reference is read once per point (T1 before the flow, T2 after), for every meter.
    assert [(s.index, s.test) for s in shared] == [
        (0, "flow-rates"),
        (1, "flow-rates"),
        (2, "flow-rates"),
    ]
    assert [[r.quantity for r in s.readings] for s in shared] == [["T1", "T2"]] * 3
    by_number = {p.position: p for p in measured}
    assert [p.position for p in measured] == [1, 2, 3, 4]
    assert [p.instrument.serial for p in measured] == ["WM-0001", "WM-0002", "WM-0003", "WM-0004"]

    # Meter 4 is not mounted: skipped with its reason, nothing read of it.
    assert (by_number[4].state, by_number[4].reason, by_number[4].points) == (
        "skipped",
        "not mounted",
        (),
    )
    assert ("skipped", 4, "not mounted") in rig.kept.journal
    assert not [e for e in rig.kept.journal if e[0] == "reading" and e[1] == 4]

    # Each measured meter: its own registers (I1, I2) at every point, its own error.
    for number in (1, 2, 3):
        position = by_number[number]
        assert position.state == "measured"
        assert position.reason is None
        assert [p.index for p in position.points] == [0, 1, 2]
        assert all([r.quantity for r in p.readings] == ["I1", "I2"] for p in position.points)
    # The error at Q3 (0.95 Q3 = 3.8 m3/h, 200 L): the meter's own, within the register's
    # resolution (0.1 L on 200 L: 0.05 % per reading).
    q3 = {n: by_number[n].points[2].result.value for n in (1, 2, 3)}
    assert q3[1] == pytest.approx(100 * GOOD.error(3.8), abs=0.11)
    assert q3[3] == pytest.approx(100 * GOOD.error(3.8), abs=0.11)
    assert q3[2] == pytest.approx(100 * HIGH.error(3.8), abs=0.11)
    # Verdicts per meter: meter 2 fails in the upper zone (MPE 2 %, R 49-1 class 2), the
    # others pass; the failing meter did not stop the others.
    assert by_number[2].points[2].acceptance is not None
    assert by_number[2].points[2].acceptance.mpe == 2.0
    assert by_number[2].points[2].conformity == "fail"
    assert [by_number[n].verdict for n in (1, 2, 3, 4)] == ["pass", "fail", "pass", None]

    # Each position's point is the evaluation of its own model: evaluated again, the same
    # numbers (what the LIMS does with every point it receives).
    for number in (1, 2, 3):
        for point in by_number[number].points:
            bench = runner.position_evaluations[(number, point.index)]
            test = WATER.tests[0]
            scope = runner._point_scope(
                test, next(t for t in test.points if t.index == point.index), {}, where="test"
            )
            again = evaluate_point(
                point.model, point.output, PointRules.of(WATER, test, scope, where="mpe"), unit="%"
            )
            assert again.to_json() == bench.to_json()
            assert point.result == bench.result

    # The recorder kept the shared readings once, then each meter's, point by point.
    first_point = [e for e in rig.kept.journal if e[0] in ("shared", "reading")][:6]
    assert first_point == [
        ("shared", 0, "T1"),
        ("reading", 1, 0, "I1"),
        ("reading", 2, 0, "I1"),
        ("reading", 3, 0, "I1"),
        ("shared", 0, "T2"),
        ("reading", 1, 0, "I2"),
    ]
    assert ("point", 2, 2, 2) in rig.kept.journal

    # The run record holds them, and its JSON reads back to the same record.
    record = record_of(runner, standards)
    payload = record.to_json()
    assert list(payload) == [k for k in RunRecord.KEYS if k in payload]
    assert {"shared", "positions"} <= set(payload)
    assert payload["points"] == []
    assert RunRecord.from_json(json.loads(json.dumps(payload))) == record


def test_a_meter_whose_register_cannot_be_read_is_removed_and_the_run_goes_on(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = rig.bench.instrument("uut@3")
    read = meter.read_volume  # type: ignore[attr-defined]
    calls = []

    def read_volume() -> Any:
        calls.append(1)
        if len(calls) > 2:  # the register of point 1 read, then the display fails
            raise InstrumentTimeout("no answer at the prompt", timeout_s=1.0)
        return read()

    monkeypatch.setattr(meter, "read_volume", read_volume)
    rig.runner.preflight()
    rig.runner.run()
    _, measured = rig.runner.positions_record()
    by_number = {p.position: p for p in measured}
    removed = by_number[3]
    assert removed.state == "removed"
    assert removed.reason == "point 1: InstrumentTimeout: no answer at the prompt"
    assert [p.index for p in removed.points] == [0]  # what was measured before stays
    assert removed.verdict is None
    assert [p.index for p in by_number[1].points] == [0, 1, 2]
    assert [by_number[n].verdict for n in (1, 2)] == ["pass", "fail"]
    assert ("removed", 3, removed.reason) in rig.kept.journal


def another(rig: Rig, bench_positions: list[BenchPosition], recorder: Any = None) -> Runner:
    """A runner on ``rig``'s bench for other positions."""
    return Runner(
        WATER,
        bench=rig.bench,
        operator=rig.runner.operator,
        recorder=rig.kept if recorder is None else recorder,
        standards=rig.runner.standards,
        instrument=METER,
        on=TODAY,
        positions=bench_positions,
    )


def test_a_run_with_no_position_left_is_interrupted(rig: Rig) -> None:
    runner = another(rig, positions(2, {1: "broken glass", 2: "not mounted"}))
    runner.preflight()
    with pytest.raises(RunInterrupted, match="no position is left to measure"):
        runner.run()


def test_positions_are_numbered_once_and_need_a_recorder_that_keeps_them(rig: Rig) -> None:
    two = positions(2)
    with pytest.raises(ProcedureError, match="position 2 is not numbered once"):
        another(rig, [*two, two[1]])

    class PointsOnly:
        def reading(self, **kwargs: Any) -> int:
            return 0

        def point(self, *args: Any) -> None: ...

        def io(self, *args: Any) -> None: ...

    with pytest.raises(ProcedureError, match="the recorder cannot keep positions"):
        another(rig, two, PointsOnly())


def test_a_position_whose_instrument_is_not_on_the_bench_is_skipped(rig: Rig) -> None:
    extra = BenchPosition(5, "uut@5", PositionInstrument("WM-0005", "water-meter", dict(METER)))
    another(rig, [*positions(1), extra]).preflight()
    assert ("skipped", 5, "the bench has no instrument in role uut@5") in rig.kept.journal
