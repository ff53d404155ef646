"""Procedure pressure-gauge-r101 end to end: a PACE controller on TCP, a gauge read by eye.

The PACE simulator (SCPI over a TCP socket, through the real driver) sets and controls
the pressure; the gauge is a manual entry whose operator is a test-local typist: each
line it types is the controller's true pressure in kPa plus a known gauge error (and a
known hysteresis on falling pressure), written with a decimal comma. The expected
errors, MPE (class % of span) and hysteresis check are computed here from those numbers.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TextIO, cast

import pytest

from drivers.driver import DriverOptions
from drivers.druck.pace import DruckPace
from drivers.manual.entry import ManualEntry
from drivers.simulators.druck_pace import SimulatedPace
from drivers.simulators.tcp import TcpSimulator
from procedures import record
from procedures.bench import BenchRole, Instruction, StandardRecord
from procedures.definition import library, load_definition
from procedures.runner import NotReady, Runner
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

TODAY = date(2026, 11, 22)
# Every exchange here is answered: a generous timeout costs nothing and spares a loaded
# machine a failure.
OPTIONS = DriverOptions(timeout_s=10.0, retries=0, resync_timeout_s=10.0, open_timeout_s=10.0)
# A 0-600 kPa gauge of class 1.6 (Eichordnung Anlage 16 3.1; R 101 [unverified]).
INSTRUMENT = {"accuracy_class": 1.6, "span": 600, "unit": "kPa"}
# 0-600 kPa graduated, the dial goes on to 660 kPa; read to 2 kPa
GAUGE = "manual://pressure?unit=kPa&min=0&max=660&resolution=2"
ASSET = "QT-PACE-01"
# The room thermometer the environment role reads.
ROOM = "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1"
NOMINALS_KPA = (0.0, 150.0, 300.0, 450.0, 600.0, 600.0, 450.0, 300.0, 150.0, 0.0)
HYSTERESIS = 1.5  # kPa more on falling pressure


def correction(pascals: float) -> float:
    """The PACE certificate's correction at a nominal (Pa): certified − nominal."""
    return 3e-5 * pascals + 5.0


def pace_record() -> StandardRecord:
    return StandardRecord(
        standard={
            "asset_id": ASSET,
            "functions": [{"function": "pressure", "unit": "Pa", "min": 0, "max": 700000}],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "VMI-P-2026-0031",
                "calibrated_on": "2026-05-12",
                "due_on": "2027-05-12",
                "values": [
                    {
                        "quantity": "pressure",
                        "nominal": n * 1000,
                        "value": n * 1000 + correction(n * 1000),
                        "unit": "Pa",
                        "U": 20 + 5e-5 * n * 1000,
                        "k": 2,
                    }
                    for n in sorted(set(NOMINALS_KPA))
                ],
            },
        ),
    )


class Typist:
    """The operator at the gauge: reads the dial (the controller's true pressure, plus the
    gauge's error) and types it with a decimal comma; ``mistakes`` are lines typed first
    at the given readings (1-based)."""

    def __init__(
        self,
        pace: SimulatedPace,
        error: Callable[[float], float],
        mistakes: Mapping[int, str] | None = None,
    ) -> None:
        self.pace = pace
        self.error = error
        self.mistakes = dict(mistakes or {})
        self.count = 0
        self.lines: list[str] = []

    def readline(self) -> str:
        if self.count + 1 in self.mistakes:
            line = self.mistakes.pop(self.count + 1)
        else:
            self.count += 1
            true_kpa = self.pace.true_pressure()
            falling = self.count > 5
            shown = true_kpa + self.error(true_kpa) + (HYSTERESIS if falling else 0.0)
            line = f"{shown:.1f}".replace(".", ",")
        self.lines.append(line)
        return line + "\n"


@dataclass
class Recorded:
    events: list[tuple[str, Any]] = field(default_factory=list)
    readings: list[tuple[int, str, Mapping[str, Any]]] = field(default_factory=list)
    points: list[tuple[Mapping[str, Any], list[int]]] = field(default_factory=list)
    io_entries: list[Mapping[str, Any]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: record.Reading) -> int:
        self.readings.append((point_index, quantity, reading.to_json()))
        self.events.append(("reading", quantity))
        return len(self.readings)

    def point(self, point: record.Point, reading_ids: list[int]) -> None:
        self.points.append((point.to_json(readings=False), reading_ids))
        self.events.append(("point", point.index))

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        self.io_entries.extend(entries)


@dataclass
class Operator:
    recorder: Recorded
    instructions: list[Instruction] = field(default_factory=list)

    def instruct(self, instruction: Instruction) -> None:
        self.instructions.append(instruction)
        self.recorder.events.append(("instruct", instruction.kind))

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        del event, data


class Bench:
    def __init__(self, instruments: dict[str, object], roles: dict[str, BenchRole]) -> None:
        self._instruments = instruments
        self.roles = roles

    def instrument(self, role: str) -> object:
        return self._instruments[role]


class FakeTime:
    """The runner's clock and sleep: the procedure's 10 s stability window and 1 s dwell
    pass in fake time while the simulator settles in real time (tau 2 ms)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        time.sleep(0.002)


@contextmanager
def pressure_bench(
    error: Callable[[float], float],
    mistakes: Mapping[int, str] | None = None,
    *,
    room: str = "21.4",
) -> Iterator[tuple[Bench, Typist]]:
    pace_model = SimulatedPace(unit="KPA", lower=0.0, upper=700.0, pressure=0.0, tau_s=0.002)
    with TcpSimulator(pace_model) as sim:
        sim.start()
        pace = DruckPace.open(sim.address, OPTIONS)
        typist = Typist(pace_model, error, mistakes)
        gauge = ManualEntry.open(GAUGE, input=cast(TextIO, typist), output=io.StringIO())
        # pressure-gauge-r101 1.2.0 records the room's temperature (typed once if asked).
        thermometer = ManualEntry.open(ROOM, input=io.StringIO(f"{room}\n"), output=io.StringIO())
        roles = {
            "reference": BenchRole("reference", "druck-pace", sim.address, asset_id=ASSET),
            "uut": BenchRole("uut", "manual", GAUGE),
            "environment": BenchRole("environment", "manual", ROOM),
        }
        try:
            yield (
                Bench({"reference": pace, "uut": gauge, "environment": thermometer}, roles),
                typist,
            )
        finally:
            pace.close()


def pressure_runner(bench: Bench, recorder: Recorded, **changes: Any) -> Runner:
    fake = FakeTime()
    arguments: dict[str, Any] = {
        "bench": bench,
        "operator": Operator(recorder),
        "recorder": recorder,
        "standards": {ASSET: pace_record()},
        "instrument": INSTRUMENT,
        "on": TODAY,
        "sleep": fake.sleep,
        "clock": fake.clock,
    }
    arguments.update(changes)
    return Runner(load_definition(library()["pressure-gauge-r101"]), **arguments)


def good_gauge(kpa: float) -> float:
    return 2.0 + 0.005 * kpa  # +2 kPa at zero, +5 kPa at 600 kPa


@pytest.mark.parametrize(("room", "refused"), [("21.4", None), ("29.5", "outside 18 to 28")])
def test_the_room_temperature_is_recorded_and_held_to_its_limits(
    room: str, refused: str | None
) -> None:
    # pressure-gauge-r101 1.2.0 records the room's temperature for the certificate
    # (ISO/IEC 17025 7.8.4.1 b) and refuses to start outside 18 °C to 28 °C.
    recorder = Recorded()
    with pressure_bench(good_gauge, room=room) as (bench, _typist):
        runner = pressure_runner(bench, recorder)
        if refused is None:
            environment = runner.read_environment()
            assert environment["temperature"]["value"] == pytest.approx(21.4)
            assert environment["temperature"]["unit"] == "degC"
        else:
            with pytest.raises(NotReady, match=f"environment: temperature 29.5 degC is {refused}"):
                runner.read_environment()


def test_a_gauge_within_its_class_passes_rising_falling_and_hysteresis() -> None:
    recorder = Recorded()
    with pressure_bench(good_gauge) as (bench, typist):
        runner = pressure_runner(bench, recorder)
        assert [s.to_json() for s in runner.preflight()] == [
            {
                "asset_id": ASSET,
                "role": "reference",
                "function": "pressure",
                "unit": "Pa",
                "range": [0.0, 600000.0],
            }
        ]
        points = [p.to_json() for p in runner.run()]
        pace: Any = bench.instrument("reference")
        assert pace.control_enabled() is False  # switched off after the test

    assert [p["nominal"] for p in points] == list(NOMINALS_KPA)
    for (point, ids), nominal in zip(recorder.points, NOMINALS_KPA, strict=True):
        quantities = point["model"]["quantities"]
        # one typed gauge reading and 5 controller readings, exactly the recorded ones
        assert len(ids) == 6
        assert quantities["p_g"]["samples"] == [recorder.readings[ids[0] - 1][2]["value"]]
        assert quantities["p_ref"]["samples"] == [
            recorder.readings[i - 1][2]["value"] for i in ids[1:]
        ]
        assert quantities["p_ref"]["unit"] == "Pa"
        assert quantities["p_ref"]["samples"] == pytest.approx([nominal * 1000] * 5, abs=1.0)
        assert quantities["c_ref"]["value"] == pytest.approx(correction(nominal * 1000))
        assert quantities["k_Pa"] == {"value": 1000.0, "u": 0.0, "unit": "Pa/kPa"}
        assert quantities["dp_res"]["half_width"] == 1.0  # half the 2 kPa reading interval
        out = evaluate_gum(parse_model(point["model"]))["E"]
        assert point["result"]["value"] == pytest.approx(out.value, rel=1e-12)
        assert point["result"]["U"] == pytest.approx(out.U, rel=1e-12)
        # E = p_g − (p_ref + c_ref)/1000: the gauge's error (+ hysteresis falling), the
        # controller's correction, and the typist's rounding to 0.1 kPa.
        falling = point["index"] >= 5
        typed = good_gauge(nominal) + (HYSTERESIS if falling else 0.0)
        expected = typed - correction(nominal * 1000) / 1000
        assert point["result"]["value"] == pytest.approx(expected, abs=0.051)
        # MPE: 1.6 % of the 600 kPa span = 9.6 kPa at every point (Eichordnung Anlage 16
        # 3.1 and 3.3; R 101 [unverified]).
        assert point["acceptance"]["mpe"] == pytest.approx(9.6, rel=1e-12)
        assert point["acceptance"]["rule"] == "pressure_gauge"
        assert point["conformity"] == "pass"
        assert point["uncertainty_ratio"]["met"] is True  # U ≈ 1.1 kPa ≤ 9.6/3
    # The raw text kept is the typed line (decimal comma).
    gauge_raws = [r[2]["raw"] for r in recorder.readings if r[1] == "p_g"]
    assert gauge_raws == typist.lines
    assert gauge_raws[0] == "2,0"

    # Hysteresis at each pressure: |falling − rising| error ≤ MPE (Anlage 16 3.4).
    checks = [c.to_json() for c in runner.checks]
    assert [c["check"] for c in checks] == ["hysteresis"] * 5
    assert [c["points"] for c in checks] == [[0, 9], [1, 8], [2, 7], [3, 6], [4, 5]]
    for check in checks:
        assert check["passed"] is True
        assert Decimal(check["limit"]) == Decimal("9.6")
        assert float(check["value"]) == pytest.approx(HYSTERESIS, abs=0.101)
        assert check["unit"] == "kPa"

    # Every reading was recorded before the next step: the operator's prompt, the typed
    # gauge reading, the controller's five readings, then the point.
    expected_events: list[tuple[str, Any]] = []
    for index in range(10):
        expected_events += [("instruct", "confirm"), ("reading", "p_g")]
        expected_events += [("reading", "p_ref")] * 5 + [("point", index)]
    assert recorder.events == expected_events
    roles = {e["role"] for e in recorder.io_entries}
    assert roles == {"reference", "uut"}


def test_a_gauge_outside_its_class_fails_where_its_error_exceeds_the_mpe() -> None:
    recorder = Recorded()
    with pressure_bench(lambda kpa: 2.0 + 0.02 * kpa) as (bench, _):  # +14 kPa at 600
        runner = pressure_runner(bench, recorder)
        runner.preflight()
        points = runner.run()
    verdicts = [p.conformity for p in points]
    # rising: 2, 5, 8, 11, 14 kPa; falling 1.5 kPa more: 15.5, 12.5, 9.5, 6.5, 3.5
    assert verdicts == ["pass"] * 3 + ["fail"] * 4 + ["pass"] * 3
    assert all(c.passed for c in runner.checks)  # the hysteresis itself is small


def test_a_typed_non_number_is_refused_and_asked_again() -> None:
    recorder = Recorded()
    with pressure_bench(good_gauge, mistakes={3: "3OO,9"}) as (bench, typist):
        runner = pressure_runner(bench, recorder)
        runner.run()
    assert typist.lines[2] == "3OO,9"
    kept = [r[2] for r in recorder.readings if r[1] == "p_g"]
    assert len(kept) == 10  # the refused line is no reading
    assert kept[2]["raw"] == typist.lines[3]
    assert kept[2]["value"] == pytest.approx(float(typist.lines[3].replace(",", ".")))
    refusals = [e["data"] for e in recorder.io_entries if "refused" in str(e["data"])]
    assert len(refusals) == 1
    assert "'3OO,9'" in refusals[0]


def test_a_gauge_in_another_unit_than_the_procedure_is_refused_before_the_run() -> None:
    with pressure_bench(good_gauge) as (bench, _):
        runner = pressure_runner(
            bench, Recorded(), instrument={"accuracy_class": 1.6, "span": 6, "unit": "bar"}
        )
        with pytest.raises(NotReady, match="the instrument's unit is 'bar'; test gauge is "):
            runner.preflight()


@dataclass
class Watching(Operator):
    """The operator's screen: every event the runner shows, as it was shown."""

    shown: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.shown.append((event, dict(data)))


def test_the_live_reading_carries_the_resolution_the_procedure_states() -> None:
    # Issue 16: the gauge is read to 2 kPa (dp_res: {resolution_of: uut}), so its typed
    # "450,4" is shown as 450 kPa, as the certificate prints the indication; the reading
    # recorded for the LIMS keeps 450.4. The PACE reference has no resolution in the model:
    # its readings are shown as read (without float noise), never cut to a guessed resolution.
    from agent.console import reading_text

    recorder = Recorded()
    screen = Watching(recorder)
    with pressure_bench(good_gauge) as (bench, typist):
        pressure_runner(bench, recorder, operator=screen).run()

    shown = [data for event, data in screen.shown if event == "reading"]
    recorded = [reading for _, _, reading in recorder.readings]
    assert len(shown) == len(recorded) == 60  # 10 points, 1 gauge and 5 reference readings
    for data, reading in zip(shown, recorded, strict=True):
        # the record is what was read, whatever the display does with it
        assert {k: data[k] for k in reading} == reading
        assert "resolution" not in reading
    gauge = [data for data in shown if data["quantity"] == "p_g"]
    assert {data["resolution"] for data in gauge} == {2.0}
    typed = [float(line.replace(",", ".")) for line in typist.lines]
    assert [data["value"] for data in gauge] == typed  # 2.0, 152.8, ... 450.4 ...
    assert any(value % 2 for value in typed)  # the dial was read between two divisions
    for data in gauge:
        whole = Decimal(repr(data["value"])) / 2
        expected = (whole.to_integral_value(rounding="ROUND_HALF_UP") * 2).normalize()
        assert reading_text(data) == f"{expected:f} kPa"
    reference = [data for data in shown if data["quantity"] == "p_ref"]
    assert {data["resolution"] for data in reference} == {None}
    for data in reference:
        number, unit = reading_text(data).split(" ")
        # every digit the float holds (15 significant), its arithmetic's noise dropped
        # (issue 18: 0.0018971891000000001 is shown as 0.0018971891)
        assert (Decimal(number), unit) == (Decimal(f"{data['value']:.15g}"), "Pa")
    assert any(Decimal(repr(data["value"])) % 1 for data in reference)  # digits to lose
