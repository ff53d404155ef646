"""The outbox keeps a multi-position run: four water meters in series on the simulated
bench, the runner recording into the outbox (``RunRecorder`` is its
:class:`procedures.bench.PositionRecorder`). Meter 3's register cannot be read after its
first point (removed, with the reason), the operator pauses at the last point, the run is
resumed: each position holds exactly its readings, the removed one stays removed with its
reason and takes no reading after, the readings of the unfinished point are set aside
(kept, never sent). The outbox refuses what would mix the positions up."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.outbox import RESTARTED, InvalidRecord, Outbox, RunState
from drivers.errors import InstrumentTimeout
from procedures.bench import Instruction, OperatorAbort
from procedures.definition import library, load_definition
from procedures.record import (
    PositionInstrument,
    ProcedureRef,
    RunHeader,
    RunRecord,
    SharedPoint,
    StandardUsed,
)
from procedures.record.positions import MeterIdentity, MeterRegister
from procedures.runner import RunInterrupted, Runner
from simulation.bench import SimulatedBench
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime, SimulatedWorld
from tests.support.positions import GOOD, HIGH, bench_positions, reference_record, water_roles

WATER = load_definition(library()["water-meter-r49"])
METER = {"accuracy_class": 2, "q3": 4.0, "ratio": 160.0}
TODAY = date(2026, 11, 22)


class PausesAtFlow:
    """The simulated operator, who pauses instead of running the ``at``-th flow."""

    def __init__(self, world: SimulatedWorld, at: int | None) -> None:
        self.person = SimulatedOperator(world)
        self.at = at
        self.flows = 0

    def instruct(self, instruction: Instruction) -> None:
        if instruction.kind == "set_flow":
            self.flows += 1
            if self.flows == self.at:
                raise OperatorAbort("paused by the operator", pause=True)
        self.person.instruct(instruction)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.person.show(event, data)


@pytest.fixture
def bench() -> Iterator[SimulatedBench]:
    world = SimulatedWorld(seed=5, flow_time_scale=1e-4, max_flow_s=0.02)
    roles = water_roles({1: GOOD, 2: HIGH, 3: GOOD, 4: GOOD})
    with SimulatedBench(roles, world) as opened:
        yield opened


def runner(bench: SimulatedBench, operator: Any, recorder: Any) -> Runner:
    clock = SimulatedTime(real_pause_s=0.001)
    return Runner(
        WATER,
        bench=bench,
        operator=operator,
        recorder=recorder,
        standards={"HN-V-FLOW": reference_record()},
        instrument=METER,
        on=TODAY,
        sleep=clock.sleep,
        clock=clock.clock,
        positions=bench_positions(4, METER, {4: "not mounted"}),
    )


def header() -> dict[str, Any]:
    return RunHeader(
        run_id="0d8a3c55-5b0e-4d8e-9f52-1f4a3c2b1a00",
        job="J-0001",
        procedure=ProcedureRef(**WATER.ref()),
        operator="metrologist",
        software_version="caltrace-agent (test)",
        started_at="2026-11-22T08:00:00+00:00",
        standards=(StandardUsed("HN-V-FLOW", "reference", "volume", "L", 20, 200),),
    ).to_json()


def instruments() -> dict[int, PositionInstrument]:
    return {p.number: p.instrument for p in bench_positions(4, METER)}


def test_a_paused_run_resumes_each_position_as_it_was_kept(
    outbox: Outbox, bench: SimulatedBench, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = bench.instrument("uut@3")
    read = meter.read_volume  # type: ignore[attr-defined]
    calls: list[int] = []

    def read_volume() -> Any:
        calls.append(1)
        if len(calls) > 2:  # point 0 read, then its display cannot be read
            raise InstrumentTimeout("no answer at the prompt", timeout_s=1.0)
        return read()

    monkeypatch.setattr(meter, "read_volume", read_volume)
    world = bench.world
    run_id = outbox.start_run(header(), positions=instruments())
    first = runner(bench, PausesAtFlow(world, at=3), outbox.recorder(run_id))
    first.preflight()
    with pytest.raises(RunInterrupted, match="paused by the operator"):
        first.run()
    outbox.mark_incomplete(run_id, "paused by the operator")
    before = outbox.readings(run_id)
    # point 2 was begun: T1 and the three... two meters' I1 taken, then the pause
    assert [(r["position"], r["quantity"]) for r in before if r["point_index"] == 2] == [
        (None, "T1"),
        (1, "I1"),
        (2, "I1"),
    ]

    resumed = outbox.resume(run_id)
    assert resumed.completed_points == [0, 1]
    assert resumed.discarded_readings == 3
    assert [s.index for s in resumed.shared] == [0, 1]
    kept = {p.position: p for p in resumed.positions}
    assert (kept[3].state, kept[3].reason) == (
        "removed",
        "point 1: InstrumentTimeout: no answer at the prompt",
    )
    assert (kept[4].state, kept[4].reason) == ("skipped", "not mounted")
    assert [p.index for p in kept[1].points] == [0, 1]
    assert [p.index for p in kept[3].points] == [0]
    # a removed position takes no reading after
    with pytest.raises(InvalidRecord, match=r"position 3 of run .* is removed"):
        outbox.add_reading(
            run_id,
            point_index=2,
            quantity="I1",
            reading=before[0]["reading"],
            position=3,
        )

    second = runner(bench, PausesAtFlow(world, at=None), outbox.recorder(run_id))
    second.restore(resumed.shared, resumed.positions)
    second.preflight()
    second.run()
    _, positions = second.positions_record()
    body = outbox.complete(
        run_id,
        datetime.now(UTC).isoformat(),
        position_checks={p.position: p.checks for p in positions},
    )
    record = RunRecord.from_json(json.loads(body))
    assert [s.index for s in record.shared] == [0, 1, 2]
    assert [[r.quantity for r in s.readings] for s in record.shared] == [["T1", "T2"]] * 3
    assert [(p.position, p.state, [q.index for q in p.points]) for p in record.positions] == [
        (1, "measured", [0, 1, 2]),
        (2, "measured", [0, 1, 2]),
        (3, "removed", [0]),
        (4, "skipped", []),
    ]
    assert record.positions[2].reason == "point 1: InstrumentTimeout: no answer at the prompt"
    assert all(
        [r.quantity for r in q.readings] == ["I1", "I2"] for p in record.positions for q in p.points
    )
    assert [p.verdict for p in record.positions] == ["pass", "fail", None, None]
    # the readings of the unfinished point are kept, set aside, never sent
    after = outbox.readings(run_id)
    aside = [r for r in after if r["discarded"]]
    assert [(r["position"], r["quantity"]) for r in aside] == [(None, "T1"), (1, "I1"), (2, "I1")]
    assert {r["discard_reason"] for r in aside} == {RESTARTED}
    sent = [r for s in record.shared for r in s.readings]
    sent += [r for p in record.positions for q in p.points for r in q.readings]
    assert len(sent) == len(after) - len(aside) == 6 + 2 * 3 * 2 + 2
    assert outbox.state(run_id) == RunState.QUEUED


def test_the_outbox_keeps_the_positions_apart(outbox: Outbox) -> None:
    run_id = outbox.start_run(header(), positions=instruments())
    recorder = outbox.recorder(run_id)
    reading = {"value": 1.0, "unit": "m3", "timestamp": "2026-11-22T08:00:01+00:00"}
    one = outbox.add_reading(run_id, point_index=0, quantity="I1", reading=reading, position=1)
    shared = outbox.add_reading(run_id, point_index=0, quantity="T1", reading=reading)
    with pytest.raises(InvalidRecord, match=f"reading {one} is of position 1"):
        recorder.shared_point(SharedPoint(0, "flow-rates", ()), [shared, one])
    with pytest.raises(InvalidRecord, match="has no position 5"):
        outbox.add_reading(run_id, point_index=0, quantity="I1", reading=reading, position=5)
    with pytest.raises(InvalidRecord, match="keeps its points by position"):
        outbox.add_point(run_id, {"index": 0}, [one])
    recorder.position_state(2, "removed", "its register cannot be read")
    with pytest.raises(InvalidRecord, match=r"position 2 of run .* is removed"):
        recorder.position_state(2, "skipped", "not mounted")
    with pytest.raises(InvalidRecord, match="must be skipped or removed"):
        recorder.position_state(1, "measured", "back")
    single = outbox.start_run({**header(), "run_id": "1d8a3c55-5b0e-4d8e-9f52-1f4a3c2b1a00"})
    with pytest.raises(InvalidRecord, match="has no positions"):
        outbox.add_shared_point(single, SharedPoint(0, "flow-rates", ()), [])


def test_an_outbox_of_the_first_schema_is_carried_to_the_latest(tmp_path: Path) -> None:
    from agent.outbox import _SCHEMA

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA + "PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO runs (run_id, job, header, context, state, created_at, updated_at) "
        "VALUES ('r', 'J-1', '{}', '{}', 'incomplete', 'now', 'now')"
    )
    conn.commit()
    conn.close()
    with Outbox(path) as box:
        assert box._conn.execute("PRAGMA user_version").fetchone()[0] == 3
        assert box.state("r") == RunState.INCOMPLETE
        run_id = box.start_run(header(), positions=instruments())
        box.mark_incomplete(run_id, "instrument fault")
        resumed = box.resume(run_id)
        assert [(p.position, p.state) for p in resumed.positions] == [
            (n, "measured") for n in (1, 2, 3, 4)
        ]


def meter_read(serial: str) -> MeterIdentity:
    return MeterIdentity(
        protocol="iec62056-21",
        port="socket://192.0.2.9:4001",
        serial=serial,
        serial_code="C.1.0",
        registers=(MeterRegister("1.8.0", "12.40", "kWh"),),
        read_at="2026-12-06T08:00:00+00:00",
    )


def test_a_position_s_meter_read_through_its_optical_port_is_kept_with_it(
    outbox: Outbox,
) -> None:
    serials = {n: i.serial for n, i in instruments().items()}
    run_id = outbox.start_run(
        header(), positions=instruments(), identities={2: meter_read(serials[2])}
    )
    outbox.mark_incomplete(run_id, "instrument fault")
    kept = {p.position: p.identity for p in outbox.resume(run_id).positions}
    assert kept == {1: None, 2: meter_read(serials[2]), 3: None, 4: None}

    with pytest.raises(InvalidRecord, match="the meter read states serial EM-X") as caught:
        outbox.start_run(header(), positions=instruments(), identities={1: meter_read("EM-X")})
    assert caught.value.field == "positions.1.identity"
    with pytest.raises(InvalidRecord, match="a position the run does not have") as caught:
        outbox.start_run(header(), positions=instruments(), identities={5: meter_read("EM-5")})
    assert caught.value.field == "positions.5.identity"
