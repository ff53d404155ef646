"""The procedure runner on real simulators and transports: DC voltage of a multimeter.

The calibrator and the multimeter are simulated on TCP sockets and driven through
their real drivers (pyvisa-py); the multimeter sees what the calibrator delivers,
with a known error, so the runner's errors, uncertainties and verdicts can be checked.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from drivers.driver import DriverOptions
from drivers.errors import DriverError
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34465a import Keysight34465A
from drivers.manual.entry import ManualEntry
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.fluke_5522a import SimulatedFluke5522A
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator
from procedures import record
from procedures.bench import BenchRole, Instruction, StandardRecord
from procedures.definition import library, load_definition
from procedures.runner import NotReady, RunInterrupted, Runner
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

TODAY = date(2026, 11, 22)
GAIN = 8e-6  # the simulated multimeter reads 8 ppm high
OFFSET = 3e-6  # and 3 µV high
# Every exchange here is answered: a generous timeout costs nothing and spares a loaded
# machine a failure.
OPTIONS = DriverOptions(timeout_s=10.0, retries=0, resync_timeout_s=10.0, open_timeout_s=10.0)
NOMINALS = (0.1, 0.5, 1.0, 1.0, 5.0, 10.0, -10.0, 10.0, 50.0, 100.0)


class CoupledMeter(SimulatedKeysight344xxA):
    """A simulated multimeter whose DC voltage input is the calibrator's output."""

    def __init__(self, source: SimulatedFluke5522A) -> None:
        super().__init__(model="34465A", serial="MY54500007", noise=2e-6, seed=3)
        self.source = source

    def _take(self, count: int) -> list[str]:
        volts = self.source.amplitude if self.source.operate else 0.0
        self.set_input("VOLT", volts * (1 + GAIN) + OFFSET)
        return super()._take(count)


@dataclass
class Recorded:
    readings: list[tuple[int, str, Mapping[str, Any]]] = field(default_factory=list)
    points: list[tuple[Mapping[str, Any], list[int]]] = field(default_factory=list)
    io_entries: list[Mapping[str, Any]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: record.Reading) -> int:
        self.readings.append((point_index, quantity, reading.to_json()))
        return len(self.readings)

    def point(self, point: record.Point, reading_ids: list[int]) -> None:
        self.points.append((point.to_json(readings=False), reading_ids))

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        self.io_entries.extend(entries)


@dataclass
class Operator:
    instructions: list[Instruction] = field(default_factory=list)
    events: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def instruct(self, instruction: Instruction) -> None:
        self.instructions.append(instruction)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.events.append((event, data))


class Bench:
    def __init__(self, instruments: dict[str, object], roles: dict[str, BenchRole]) -> None:
        self._instruments = instruments
        self.roles = roles

    def instrument(self, role: str) -> object:
        return self._instruments[role]


def calibrator_record(
    *, due: date | None = None, nominals: tuple[float, ...] = NOMINALS
) -> StandardRecord:
    values = [
        {
            "quantity": "dcv",
            "nominal": v,
            "value": v * (1 + 1e-6),
            "unit": "V",
            "U": 2e-6 + 4e-6 * abs(v),
            "k": 2,
        }
        for v in sorted(set(nominals))
    ]
    return StandardRecord(
        standard={
            "asset_id": "QT-CAL-01",
            "functions": [
                {"role": "source", "function": "dcv", "unit": "V", "min": -1020, "max": 1020}
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "NMI-2026-0042",
                "calibrated_on": "2026-06-01",
                "due_on": (due or date(2027, 6, 1)).isoformat(),
                "values": values,
            },
        ),
    )


@pytest.fixture
def bench() -> Iterator[Bench]:
    source_model = SimulatedFluke5522A(settle_s=0.0)
    with (
        TcpSimulator(source_model) as source_sim,
        TcpSimulator(CoupledMeter(source_model)) as meter_sim,
    ):
        source_sim.start()
        meter_sim.start()
        source = Fluke5522A.open(source_sim.address, OPTIONS)
        meter = Keysight34465A.open(meter_sim.address, OPTIONS)
        environment = ManualEntry.open(
            "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1",
            input=io.StringIO("23,1\n"),
            output=io.StringIO(),
        )
        roles = {
            "source": BenchRole("source", "fluke-5522a", source_sim.address, asset_id="QT-CAL-01"),
            "uut": BenchRole("uut", "keysight-34465a", meter_sim.address),
            "environment": BenchRole("environment", "manual", environment.address),
        }
        try:
            yield Bench({"source": source, "uut": meter, "environment": environment}, roles)
        finally:
            meter.close()
            source.close()
        bench_servers = (source_sim, meter_sim)
        del bench_servers


def runner(bench: Bench, recorder: Recorded, operator: Operator, **changes: Any) -> Runner:
    arguments: dict[str, Any] = {
        "bench": bench,
        "operator": operator,
        "recorder": recorder,
        "standards": {"QT-CAL-01": calibrator_record()},
        "instrument": {},
        "on": TODAY,
    }
    arguments.update(changes)
    return Runner(load_definition(library()["dmm-dcv"]), **arguments)


def test_dcv_calibration_end_to_end(bench: Bench) -> None:
    recorder, operator = Recorded(), Operator()
    run = runner(bench, recorder, operator)
    standards = [s.to_json() for s in run.preflight()]
    assert standards == [
        {
            "asset_id": "QT-CAL-01",
            "role": "source",
            "function": "dcv",
            "unit": "V",
            "range": [-10.0, 100.0],
        }
    ]
    environment = run.read_environment()
    assert environment["temperature"]["value"] == pytest.approx(23.1)
    assert environment["temperature"]["raw"] == "23,1"
    points = [p.to_json() for p in run.run()]

    assert [p["nominal"] for p in points] == list(NOMINALS)
    assert len(recorder.readings) == 50
    assert len(recorder.points) == 10
    for point, ids in recorder.points:
        assert len(ids) == 5
        # The readings of the model are exactly the recorded ones, in order.
        samples = point["model"]["quantities"]["x"]["samples"]
        assert samples == [recorder.readings[i - 1][2]["value"] for i in ids]
        # The result is what the model gives, evaluated independently.
        out = evaluate_gum(parse_model(point["model"]))["E"]
        assert point["result"]["value"] == pytest.approx(out.value, rel=1e-12)
        assert point["result"]["U"] == pytest.approx(out.U, rel=1e-12)
        # E = x − V_s: the meter's 8 ppm + 3 µV, less the calibrator's +1 ppm correction.
        nominal = point["nominal"]
        expected = nominal * GAIN + OFFSET - nominal * 1e-6
        assert point["result"]["value"] == pytest.approx(expected, abs=5 * 2e-6 / 5**0.5 + 1e-6)
        assert point["acceptance"]["rule"] == "spec"
        assert point["conformity"] == "pass"
    ten = points[5]
    # 34465A 10 V range, 1 year: 0.0035 % of 10 V + 0.0005 % of 10 V = 400 µV.
    assert ten["acceptance"]["mpe"] == pytest.approx(400e-6, rel=1e-12)
    assert ten["uncertainty_ratio"]["met"] is True
    # Raw I/O of both instruments is kept, tagged with the role.
    assert {e["role"] for e in recorder.io_entries} >= {"source", "uut"}
    assert any("OUT" in e["data"] for e in recorder.io_entries if e["role"] == "source")
    # The calibrator was left in standby after the test.
    assert bench.instrument("source")._transport  # type: ignore[attr-defined]
    reading_events = [e for e, _ in operator.events if e == "reading"]
    assert len(reading_events) == 50


def test_refuses_an_expired_standard_before_anything_is_switched_on(bench: Bench) -> None:
    recorder = Recorded()
    run = runner(
        bench,
        recorder,
        Operator(),
        standards={"QT-CAL-01": calibrator_record(due=TODAY - timedelta(days=1))},
    )
    with pytest.raises(NotReady, match="no calibration certificate in force on 2026-11-22"):
        run.preflight()
    assert recorder.readings == []


def test_refuses_a_certificate_without_the_points(bench: Bench) -> None:
    run = runner(
        bench,
        Recorded(),
        Operator(),
        standards={"QT-CAL-01": calibrator_record(nominals=(1.0, 10.0))},
    )
    with pytest.raises(NotReady) as err:
        run.preflight()
    assert "gives no dcv value at 0.1" in str(err.value)


def test_refuses_a_standard_out_of_tolerance(bench: Bench) -> None:
    record = calibrator_record()
    record = StandardRecord(
        {**record.standard, "out_of_tolerance_since": "2026-11-01"}, record.certificates
    )
    run = runner(bench, Recorded(), Operator(), standards={"QT-CAL-01": record})
    with pytest.raises(NotReady, match="out of tolerance since 2026-11-01"):
        run.preflight()


def test_environment_outside_the_limits_refuses(bench: Bench) -> None:
    env = ManualEntry.open(
        "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1",
        input=io.StringIO("31.5\n"),
        output=io.StringIO(),
    )
    bench._instruments["environment"] = env
    run = runner(bench, Recorded(), Operator())
    with pytest.raises(NotReady, match=r"temperature 31\.5 degC is outside 18 to 28 degC"):
        run.read_environment()


def test_an_instrument_fault_interrupts_with_the_readings_kept(bench: Bench) -> None:
    recorder = Recorded()
    run = runner(bench, recorder, Operator())
    meter: Any = bench.instrument("uut")
    calls = {"n": 0}
    original = meter.measure_dc_voltage

    def failing(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 13:
            raise DriverError("simulated timeout", address=meter.address, last_command="READ?")
        return original(**kwargs)

    meter.measure_dc_voltage = failing
    with pytest.raises(RunInterrupted) as err:
        run.run()
    assert err.value.point == 2
    assert "simulated timeout" in str(err.value)
    assert len(recorder.readings) == 12  # what was read before the fault, nothing made up
    assert len(recorder.points) == 2


def test_resume_skips_the_finished_points(bench: Bench) -> None:
    recorder = Recorded()
    first = runner(bench, recorder, Operator()).run()
    again = Recorded()
    points = runner(bench, again, Operator()).run(done=first[:7])
    assert [p.index for p in points] == list(range(10))
    assert len(again.readings) == 15


def test_the_fault_proxy_of_the_simulator_gives_a_typed_error(bench: Bench) -> None:
    del bench
    source_model = SimulatedFluke5522A(settle_s=0.0)
    with (
        TcpSimulator(source_model) as source_sim,
        TcpSimulator(CoupledMeter(source_model)) as meter_sim,
    ):
        source_sim.start()
        meter_sim.start()
        meter_sim.inject(Fault(FaultKind.GARBLED, times=1))
        source = Fluke5522A.open(source_sim.address, OPTIONS)
        meter = Keysight34465A.open(meter_sim.address, OPTIONS)
        env = ManualEntry.open(
            "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1",
            input=io.StringIO("23\n"),
            output=io.StringIO(),
        )
        roles = {
            "source": BenchRole("source", "fluke-5522a", source_sim.address, asset_id="QT-CAL-01"),
            "uut": BenchRole("uut", "keysight-34465a", meter_sim.address),
            "environment": BenchRole("environment", "manual", env.address),
        }
        recorder = Recorded()
        try:
            with pytest.raises(RunInterrupted, match="point 0: GarbledResponse"):
                runner(
                    Bench({"source": source, "uut": meter, "environment": env}, roles),
                    recorder,
                    Operator(),
                ).run()
        finally:
            meter.close()
            source.close()
    assert recorder.readings == []
