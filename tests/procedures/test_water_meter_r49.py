"""Procedure water-meter-r49 on real simulators and transports.

The reference meter is a simulated Modbus device serving the ONICON F-3100 map
(drivers/maps/onicon-f3100.yaml) over Modbus TCP; a simulated operator carries out the
``set_flow`` instruction by passing the volume through both meters: the reference
totaliser advances by what the reference meter indicates for that volume (its
certificate's correction), the register of the meter under test by the volume plus a
known error per flow rate; a typist types that register. Errors, MPEs and verdicts are
checked against OIML R 49-1 and the injected errors.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from drivers.driver import DriverOptions
from drivers.generic.modbus_map import ModbusMapDevice, load_register_map
from drivers.manual.entry import ManualEntry
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.modbus_map import ModbusMapSimulator, SimulatedMapDevice
from procedures.bench import BenchRole, Instruction, StandardRecord
from procedures.definition import DefinitionError, library, load_definition, parse_definition
from procedures.runner import RunInterrupted, Runner
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

TODAY = date(2026, 11, 22)
# A generous timeout for the exchanges that are answered: it costs nothing and spares a
# loaded machine a failure. BRIEF where the point is a silent reference meter.
OPTIONS = DriverOptions(timeout_s=10.0, retries=0, resync_timeout_s=10.0, open_timeout_s=10.0)
BRIEF = replace(OPTIONS, timeout_s=0.25)
MAP = Path(__file__).resolve().parents[2] / "drivers" / "maps" / "onicon-f3100.yaml"
# The meter of the LIMS demo: Q3 = 4 m3/h, R = 160, class 2 → Q1 = 0.025, Q2 = 0.04 m3/h.
METER = {"accuracy_class": 2, "q3": 4.0, "ratio": 160.0}
FLOWS = (1.05 * 4 / 160, 1.05 * 1.6 * 4 / 160, 0.95 * 4)  # the middle of each band, m3/h
# The reference meter's certificate: the actual volume (L) when it indicates the nominal.
REFERENCE = {20.0: (20.010, 0.012), 50.0: (50.020, 0.025), 200.0: (200.060, 0.08)}


@dataclass
class Journal:
    entries: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Recorded:
    journal: Journal
    readings: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    points: list[tuple[dict[str, Any], list[int]]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: Any) -> int:
        self.readings.append((point_index, quantity, reading.to_json()))
        self.journal.entries.append(("reading", quantity))
        return len(self.readings)

    def point(self, point: Any, reading_ids: list[int]) -> None:
        self.points.append((point.to_json(readings=False), reading_ids))
        self.journal.entries.append(("point", point.index))

    def io(self, entries: list[Any]) -> None:
        pass


class Water:
    """The water that runs: both registers, advanced by each ``set_flow``."""

    def __init__(self, reference: SimulatedMapDevice, errors: dict[int, float]) -> None:
        self.reference = reference
        self.errors = errors  # % the meter under test shows too much, by point
        self.register_m3 = 123.4567
        self.runs = 0
        self.before_run: list[int] = []

    def run(self, flow_rate: float, volume_m3: float) -> None:
        point = min(range(3), key=lambda i: abs(FLOWS[i] - flow_rate))
        litres = volume_m3 * 1000
        actual, _ = REFERENCE[round(litres, 6)]
        indicated = litres * litres / actual  # the reference meter reads low, as certified
        self.reference.set("positive_total", self.reference.values["positive_total"] + indicated)
        self.register_m3 = round(self.register_m3 + volume_m3 * (1 + self.errors[point] / 100), 4)
        self.runs += 1


@dataclass
class Operator:
    water: Water
    journal: Journal
    instructions: list[Instruction] = field(default_factory=list)

    def instruct(self, instruction: Instruction) -> None:
        assert instruction.kind == "set_flow"
        assert set(instruction.params) == {"flow_rate", "volume"}
        self.instructions.append(instruction)
        self.journal.entries.append(("instruct", instruction.params["flow_rate"]))
        self.water.run(instruction.params["flow_rate"], instruction.params["volume"])

    def show(self, event: str, data: Any) -> None:
        pass


class Typist:
    """Types the register of the meter under test, decimal comma, to 0.0001 m3."""

    def __init__(self, water: Water, journal: Journal) -> None:
        self.water = water
        self.journal = journal

    def readline(self) -> str:
        self.journal.entries.append(("typed", self.water.register_m3))
        return f"{self.water.register_m3:.4f}".replace(".", ",") + "\n"


def reference_record() -> StandardRecord:
    return StandardRecord(
        standard={
            "asset_id": "QT-V-FLOW-02",
            "functions": [
                {"role": "reference", "function": "volume", "unit": "L", "min": 0, "max": 10000}
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "QT-V-2026-0077",
                "calibrated_on": "2026-02-01",
                "due_on": "2027-02-01",
                "values": [
                    {"quantity": "volume", "nominal": n, "value": v, "unit": "L", "U": u, "k": 2}
                    for n, (v, u) in REFERENCE.items()
                ],
            },
        ),
    )


@dataclass
class World:
    sim: ModbusMapSimulator
    water: Water
    journal: Journal
    runner: Runner


@contextmanager
def open_world(errors: dict[int, float], options: DriverOptions = OPTIONS) -> Iterator[World]:
    device = SimulatedMapDevice(
        load_register_map(MAP), {"positive_total": 5000.0, "flow_rate": 0.0}
    )
    water = Water(device, errors)
    journal = Journal()
    with ModbusMapSimulator(device) as sim:
        reference = ModbusMapDevice.open(sim.address, options)
        uut = ManualEntry.open(
            "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001",
            input=Typist(water, journal),  # type: ignore[arg-type]
            output=io.StringIO(),
        )
        roles = {
            "reference": BenchRole(
                "reference",
                "modbus-map",
                sim.address,
                asset_id="QT-V-FLOW-02",
                options={"registers": {"volume": "positive_total"}},
            ),
            "uut": BenchRole("uut", "manual", uut.address),
        }
        bench = _Bench({"reference": reference, "uut": uut}, roles)
        run = Runner(
            load_definition(library()["water-meter-r49"]),
            bench=bench,
            operator=Operator(water, journal),
            recorder=Recorded(journal),
            standards={"QT-V-FLOW-02": reference_record()},
            instrument=METER,
            on=TODAY,
        )
        try:
            yield World(sim, water, journal, run)
        finally:
            reference.close()


class _Bench:
    def __init__(self, instruments: dict[str, object], roles: dict[str, BenchRole]) -> None:
        self.instruments = instruments
        self.roles = roles

    def instrument(self, role: str) -> object:
        return self.instruments[role]


@pytest.fixture
def good() -> Iterator[World]:
    with open_world({0: 3.0, 1: 1.2, 2: 0.8}) as world:
        yield world


def test_verification_at_q1_q2_q3_end_to_end(good: World) -> None:
    run = good.runner
    recorder: Recorded = run.recorder  # type: ignore[assignment]
    assert [s.to_json() for s in run.preflight()] == [
        {
            "asset_id": "QT-V-FLOW-02",
            "role": "reference",
            "function": "volume",
            "unit": "L",
            "range": [20.0, 200.0],
        }
    ]
    points = [p.to_json() for p in run.run()]
    operator: Operator = run.operator  # type: ignore[assignment]

    # The flow rates come from Q3 and R, in the middle of R 49-2's bands [unverified].
    assert [i.params["flow_rate"] for i in operator.instructions] == pytest.approx(
        [0.02625, 0.042, 3.8], rel=1e-12
    )
    assert [i.params["volume"] for i in operator.instructions] == pytest.approx([0.02, 0.05, 0.2])
    assert "0.042 m3/h" in operator.instructions[1].text["en"]
    assert len(recorder.readings) == 12
    for point, ids in recorder.points:
        assert [recorder.readings[i - 1][1] for i in ids] == ["T1", "I1", "T2", "I2"]
        gum = evaluate_gum(parse_model(point["model"]))
        assert point["result"]["value"] == pytest.approx(gum["E"].value, rel=1e-12)
        assert point["result"]["U"] == pytest.approx(gum["E"].U, rel=1e-12)
    # E = (V_i − V_ref)/V_ref: the injected errors, to the reference totaliser's 0.001 L.
    assert [p["result"]["value"] for p in points] == pytest.approx([3.0, 1.2, 0.8], abs=0.01)
    assert [p["model"]["quantities"]["V_cert"]["value"] for p in points] == [20.01, 50.02, 200.06]
    # OIML R 49-1:2013 4.2.2/4.2.3 (MID MI-001), class 2 at 20 °C: lower zone (Q1 ≤ Q < Q2)
    # ±5 %, upper zone (Q2 ≤ Q ≤ Q4) ±2 %.
    assert [p["acceptance"]["mpe"] for p in points] == [5.0, 2.0, 2.0]
    assert [p["acceptance"]["rule"] for p in points] == ["water_meter"] * 3
    assert [p["conformity"] for p in points] == ["pass", "pass", "pass"]
    # U from the two register resolutions and the reference's certificate: at Q1 the UUT's
    # 0.1 L interval over 20 L dominates.
    q1 = points[0]
    assert 0.2 < q1["result"]["U"] < 0.5
    assert all(p["uncertainty_ratio"]["met"] for p in points)


def test_every_reading_is_recorded_before_the_next_step(good: World) -> None:
    good.runner.run()
    kinds = [
        kind if kind != "reading" else f"reading {data}" for kind, data in good.journal.entries
    ]
    one_point = ["reading T1", "typed", "reading I1", "instruct", "reading T2", "typed",
                 "reading I2", "point"]  # fmt: skip
    assert kinds == one_point * 3


def test_a_failing_meter_fails_where_its_error_exceeds_the_mpe() -> None:
    with open_world({0: -6.0, 1: 1.0, 2: 2.5}) as world:
        points = world.runner.run()
    assert [p.result.value for p in points] == pytest.approx([-6.0, 1.0, 2.5], abs=0.01)
    # −6 % at Q1 is beyond the lower zone's 5 %; 2.5 % at Q3 beyond the upper zone's 2 %.
    assert [p.conformity for p in points] == ["fail", "pass", "fail"]


@pytest.mark.parametrize(
    ("kind", "error", "options"),
    [
        (FaultKind.DEVICE_ERROR, "ModbusExceptionResponse", OPTIONS),
        (FaultKind.TIMEOUT, "InstrumentTimeout", BRIEF),
    ],
    ids=["device-error", "timeout"],
)
def test_a_reference_meter_fault_interrupts_with_the_typed_error(
    kind: FaultKind, error: str, options: DriverOptions
) -> None:
    with open_world({0: 3.0, 1: 1.2, 2: 0.8}, options) as world:
        water, sim = world.water, world.sim
        original = water.run

        def run_then_fail(flow_rate: float, volume_m3: float) -> None:
            original(flow_rate, volume_m3)
            if water.runs == 2:  # the reference meter fails on the next request
                sim.inject(Fault(kind, times=1))

        water.run = run_then_fail  # type: ignore[method-assign]
        recorder: Recorded = world.runner.recorder  # type: ignore[assignment]
        with pytest.raises(RunInterrupted) as err:
            world.runner.run()
    assert err.value.point == 1
    assert f"{error}:" in str(err.value)
    # The first point and the readings before the fault are kept; nothing is made up.
    assert [q for _, q, _ in recorder.readings] == ["T1", "I1", "T2", "I2", "T1", "I1"]
    assert len(recorder.points) == 1


def test_a_point_expression_is_checked_when_the_definition_is_loaded() -> None:
    text = library()["water-meter-r49"].read_text(encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"points\[0\]\.flow_rate\.expression"):
        parse_definition(text.replace("1.05*q3/ratio}", "1.05*q3/R}"))
