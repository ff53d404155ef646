"""Procedure nawi-r76 end to end: a class III balance over MT-SICS on a pseudo-terminal.

The balance simulator's load follows the operator: a test-local operator acts on the
``position``, ``place_load`` and ``remove_load`` instructions by putting on the pan the
conventional mass of the weights named (their certificate's value), read by a balance
with a known gain error and a known eccentricity at each position. The runner, its
driver and the definition are the real ones; the expected errors, MPEs (OIML R 76-1:2006
Table 6) and checks are computed here from those known numbers.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from drivers.driver import DriverOptions
from drivers.manual.entry import ManualEntry
from drivers.mettler.sics import MettlerToledoSics
from drivers.simulators.mettler_sics import SimulatedSicsBalance
from procedures import record
from procedures.bench import BenchRole, Instruction, StandardRecord
from procedures.definition import ProcedureDefinition, library, load_definition, parse_definition
from procedures.runner import NotReady, RunInterrupted, Runner
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pseudo-terminals are POSIX", allow_module_level=True)

from drivers.simulators.pty import PtySimulator

TODAY = date(2026, 11, 22)
# Every exchange here is answered: a generous timeout costs nothing and spares a loaded
# machine a failure.
OPTIONS = DriverOptions(timeout_s=10.0, retries=0, resync_timeout_s=10.0, open_timeout_s=10.0)
# A 15 kg class III instrument, e = 5 g (n = 3000), read in a test mode with d_T = 0.5 g.
INSTRUMENT = {"accuracy_class": "III", "max_capacity": 15000, "e": 5, "d_T": 0.5, "unit": "g"}
GAIN = 1e-4  # the balance reads 100 ppm high
WEIGHTS_PPM = 2e-6  # the test weights' conventional mass is 2 ppm above nominal
LOADS = (7500.0, 5000.0, 100.0, 1000.0, 2500.0, 10000.0, 11250.0, 12500.0, 13750.0, 15000.0)
ASSET = "QT-W-M1-01"
# The room thermometer the environment role reads.
ROOM = "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1"


def conventional_mass(load: float) -> float:
    return load * (1 + WEIGHTS_PPM)


def weights_record() -> StandardRecord:
    """An M1 weight set whose certificate gives the conventional mass of the combination
    used for each test load, with U (k = 2) well inside 1/3 of the M1 MPE."""
    return StandardRecord(
        standard={
            "asset_id": ASSET,
            "functions": [{"function": "mass", "unit": "g", "min": 1, "max": 20000}],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "VMI-M-2026-0107",
                "calibrated_on": "2026-03-02",
                "due_on": "2027-03-02",
                "values": [
                    {
                        "quantity": "mass",
                        "nominal": load,
                        "value": conventional_mass(load),
                        "unit": "g",
                        "U": max(load * 5e-6, 0.0005),
                        "k": 2,
                    }
                    for load in LOADS
                ],
            },
        ),
    )


class CoupledBalance(SimulatedSicsBalance):
    """A 15 kg balance showing multiples of ``readability`` (its test-mode interval)."""

    def __init__(self, *, readability: float = 0.5, settle_s: float = 0.05) -> None:
        super().__init__(
            model="ICS425",
            serial="B123456789",
            load=0.0,
            noise=0.0,
            capacity=15045.0,  # Max + 9 e
            readability=readability,
            settle_s=settle_s,
        )

    def _field(self, value: float) -> str:
        steps = round(value / self.readability)
        return f"{steps * self.readability:.1f}".rjust(10)

    def shows(self, mass: float) -> float:
        """What this balance indicates for ``mass`` on the pan (g)."""
        return round(mass / self.readability) * self.readability


@dataclass
class Log:
    """Every event of the run, in order: instructions and recorded readings."""

    events: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Recorded:
    log: Log
    readings: list[tuple[int, str, Mapping[str, Any]]] = field(default_factory=list)
    points: list[tuple[Mapping[str, Any], list[int]]] = field(default_factory=list)
    io_entries: list[Mapping[str, Any]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: record.Reading) -> int:
        self.readings.append((point_index, quantity, reading.to_json()))
        self.log.events.append(("reading", reading.value))
        return len(self.readings)

    def point(self, point: record.Point, reading_ids: list[int]) -> None:
        self.points.append((point.to_json(readings=False), reading_ids))
        self.log.events.append(("point", point.index))

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        self.io_entries.extend(entries)


@dataclass
class LoadingOperator:
    """Places the weights the instructions name on the simulated balance."""

    balance: SimulatedSicsBalance
    log: Log
    eccentricity: Mapping[int, float]
    repeat_offsets: list[float] = field(default_factory=list)
    position: int = 1
    instructions: list[Instruction] = field(default_factory=list)
    shown: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def instruct(self, instruction: Instruction) -> None:
        self.instructions.append(instruction)
        self.log.events.append(("instruct", instruction.kind))
        params = instruction.params
        if instruction.kind == "position":
            self.position = int(params["position"])
        elif instruction.kind == "place_load":
            assert params["unit"] == "g"
            offset = self.repeat_offsets.pop(0) if self.repeat_offsets else 0.0
            mass = conventional_mass(float(params["load"])) + offset
            self.balance.set_load(mass * (1 + GAIN) + self.eccentricity.get(self.position, 0.0))
        elif instruction.kind == "remove_load":
            self.position = 1
            self.balance.set_load(0.0)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.shown.append((event, data))


class Bench:
    def __init__(self, instruments: dict[str, object], roles: dict[str, BenchRole]) -> None:
        self._instruments = instruments
        self.roles = roles

    def instrument(self, role: str) -> object:
        return self._instruments[role]  # the weights have none: asking for them fails


@contextmanager
def nawi_bench(
    balance: SimulatedSicsBalance, *, stable_wait_s: float = 5.0, room: str = "24.6"
) -> Iterator[Bench]:
    with PtySimulator(balance) as sim:
        scale = MettlerToledoSics.open(sim.address, OPTIONS, stable_wait_s=stable_wait_s)
        # nawi-r76 1.2.0 records the room's temperature (typed once if asked).
        thermometer = ManualEntry.open(ROOM, input=io.StringIO(f"{room}\n"), output=io.StringIO())
        roles = {
            "uut": BenchRole("uut", "mettler-sics", sim.address),
            "weights": BenchRole("weights", "none", "", asset_id=ASSET),
            "environment": BenchRole("environment", "manual", ROOM),
        }
        try:
            yield Bench({"uut": scale, "environment": thermometer}, roles)
        finally:
            scale.close()


def nawi_runner(
    bench: Bench,
    operator: LoadingOperator,
    recorder: Recorded,
    definition: ProcedureDefinition | None = None,
    **changes: Any,
) -> Runner:
    arguments: dict[str, Any] = {
        "bench": bench,
        "operator": operator,
        "recorder": recorder,
        "standards": {ASSET: weights_record()},
        "instrument": INSTRUMENT,
        "on": TODAY,
    }
    arguments.update(changes)
    return Runner(definition or load_definition(library()["nawi-r76"]), **arguments)


# R 76-1:2006 3.5.1 Table 6, class III, e = 5 g: 0.5 e up to 500 e (2500 g, inclusive),
# 1 e up to 2000 e (10 000 g, inclusive), 1.5 e above.
TABLE_6 = {
    100.0: 2.5,
    1000.0: 2.5,
    2500.0: 2.5,
    5000.0: 5.0,
    7500.0: 5.0,
    10000.0: 5.0,
    11250.0: 7.5,
    12500.0: 7.5,
    13750.0: 7.5,
    15000.0: 7.5,
}
# The weighing test's loads (R 76-1:2006 A.4.4.1: at least 10 different loads, Max, Min and
# the change points 500 e and 2 000 e), up to Max and back to Min.
WEIGHING_UP = [100.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0, 11250.0, 12500.0, 13750.0, 15000.0]
WEIGHING = WEIGHING_UP + WEIGHING_UP[-2::-1]
ECCENTRIC_OK = {1: 0.0, 2: 1.0, 3: -1.0, 4: 1.5, 5: -0.5}


def run_nawi(
    eccentricity: Mapping[int, float], *, repeat_offsets: tuple[float, ...] = ()
) -> tuple[Runner, list[dict[str, Any]], Recorded, LoadingOperator, CoupledBalance]:
    balance = CoupledBalance()
    log = Log()
    recorder = Recorded(log)
    with nawi_bench(balance) as bench:
        operator = LoadingOperator(balance, log, eccentricity, list(repeat_offsets))
        runner = nawi_runner(bench, operator, recorder)
        standards = [s.to_json() for s in runner.preflight()]
        assert standards == [
            {
                "asset_id": ASSET,
                "role": "reference",
                "function": "mass",
                "unit": "g",
                "range": [100.0, 15000.0],
            }
        ]
        points = [p.to_json() for p in runner.run()]
    return runner, points, recorder, operator, balance


def expected_error(balance: CoupledBalance, load: float, offset: float = 0.0) -> float:
    mass = conventional_mass(load)
    return balance.shows((mass + offset) * (1 + GAIN)) - mass


@pytest.mark.parametrize(("room", "refused"), [("24.6", None), ("41.5", "outside -10 to 40")])
def test_the_room_temperature_is_recorded_and_held_to_its_limits(
    room: str, refused: str | None
) -> None:
    # nawi-r76 1.2.0 records the room's temperature for the certificate (ISO/IEC 17025
    # 7.8.4.1 b) and refuses to start outside -10 °C to 40 °C.
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance, room=room) as bench:
        runner = nawi_runner(bench, LoadingOperator(balance, log, {}, []), Recorded(log))
        if refused is None:
            environment = runner.read_environment()
            assert environment["temperature"]["value"] == pytest.approx(24.6)
            assert environment["temperature"]["unit"] == "degC"
        else:
            with pytest.raises(NotReady, match=f"environment: temperature 41.5 degC is {refused}"):
                runner.read_environment()


def test_a_class_iii_balance_within_its_mpe_passes_every_point_and_check() -> None:
    runner, points, recorder, operator, balance = run_nawi(ECCENTRIC_OK)

    assert [p["test"] for p in points] == ["repeatability"] + ["eccentricity"] * 5 + [
        "weighing"
    ] * 19
    nominals = [p["nominal"] for p in points]
    assert nominals == [7500.0] + [5000.0] * 5 + WEIGHING
    for point, ids in recorder.points:
        # The model's indications are exactly the recorded readings, in order.
        samples = point["model"]["quantities"]["I"]["samples"]
        assert samples == [recorder.readings[i - 1][2]["value"] for i in ids]
        # The result is what the stored model gives, evaluated independently.
        out = evaluate_gum(parse_model(point["model"]))["E"]
        assert point["result"]["value"] == pytest.approx(out.value, rel=1e-12)
        assert point["result"]["U"] == pytest.approx(out.U, rel=1e-12)
        # The MPE is R 76-1 Table 6 at the nominal load.
        assert point["acceptance"]["mpe"] == TABLE_6[point["nominal"]]
        assert point["acceptance"]["rule"] == "nawi"
        assert point["conformity"] == "pass"
        # d_T = 0.5 g (u = 0.14 g) and M1 weights: U is within MPE/3 at every load.
        assert point["uncertainty_ratio"]["met"] is True
        assert point["model"]["quantities"]["m_ref"]["value"] == pytest.approx(
            conventional_mass(point["nominal"]), rel=1e-12
        )
    # E = I − m_ref: the balance's 100 ppm, the positions' eccentricity, the rounding to d_T.
    repeat = points[0]
    assert repeat["model"]["quantities"]["I"]["samples"] == [7501.0] * 3
    assert repeat["result"]["value"] == pytest.approx(expected_error(balance, 7500.0), abs=1e-9)
    for point, position in zip(points[1:6], range(1, 6), strict=True):
        assert point["result"]["value"] == pytest.approx(
            expected_error(balance, 5000.0, ECCENTRIC_OK[position] / (1 + GAIN)), abs=1e-6
        )
        # single readings carry the repeatability's standard deviation (0 here, 2 dof)
        assert point["model"]["quantities"]["I"]["pooled_sd"] == 0.0
        assert point["model"]["quantities"]["I"]["pooled_dof"] == 2
    for point in points[6:]:
        assert point["result"]["value"] == pytest.approx(
            expected_error(balance, point["nominal"]), abs=1e-9
        )
    top = points[15]
    assert top["result"]["value"] == pytest.approx(15001.5 - 15000.03, abs=1e-9)

    # The test-level checks: repeatability (3.6.1) and eccentricity (3.6.2).
    checks = [c.to_json() for c in runner.checks]
    assert [Decimal(c["limit"]) for c in checks] == [5, 5]  # Table 6: 1 e at both
    assert checks == [
        {
            "check": "repeatability",
            "test": "repeatability",
            "rule": "OIML R 76-1:2006 3.6.1",
            "value": "0.0",
            "limit": checks[0]["limit"],
            "unit": "g",
            "passed": True,
            "at": "7500.0",
            "at_unit": "g",
            "points": [0],
        },
        {
            "check": "eccentricity",
            "test": "eccentricity",
            "rule": "OIML R 76-1:2006 3.6.2",
            "value": checks[1]["value"],
            "limit": checks[1]["limit"],
            "unit": "g",
            "passed": True,
            "at": "5000.0",
            "at_unit": "g",
            "points": [1, 2, 3, 4, 5],
        },
    ]
    worst = max(abs(p["result"]["value"]) for p in points[1:6])
    assert float(checks[1]["value"]) == pytest.approx(worst, rel=1e-12)

    # The operator was asked exactly this, and every reading was recorded before the
    # next instruction (and every point after its readings).
    loading = [("instruct", "place_load"), ("reading", None), ("instruct", "remove_load")]
    expected: list[tuple[str, Any]] = loading * 3 + [("point", 0)]
    for index in range(1, 6):
        expected += [("instruct", "position"), *loading, ("point", index)]
    for index in range(6, 6 + len(WEIGHING)):
        expected += [("instruct", "place_load"), ("reading", None), ("point", index)]
    expected += [("instruct", "remove_load")]
    assert [(k, None if k == "reading" else v) for k, v in recorder.log.events] == expected
    places = [i for i in operator.instructions if i.kind == "place_load"]
    assert places[0].params == {"load": 7500.0, "unit": "g"}
    assert places[0].text["en"] == "Place 7500 g of test weights on the centre of the load receptor"
    positions = [i.params["position"] for i in operator.instructions if i.kind == "position"]
    assert positions == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [i.params["load"] for i in places[-len(WEIGHING) :]] == WEIGHING
    # The balance's raw MT-SICS exchange is kept, tagged with its role.
    assert {e["role"] for e in recorder.io_entries} == {"uut"}
    assert any(e["data"].startswith("S S") for e in recorder.io_entries)
    assert all(r[2]["stable"] for r in recorder.readings)
    assert recorder.readings[0][2]["raw"].startswith("S S")


def test_a_large_eccentricity_fails_its_position_and_the_eccentricity_check() -> None:
    eccentric = {**ECCENTRIC_OK, 4: 6.0}  # 6 g off on position 4: MPE at Max/3 is 5 g
    runner, points, _, _, balance = run_nawi(eccentric, repeat_offsets=(0.0, 0.5, 0.0))

    position_4 = points[4]
    assert position_4["result"]["value"] == pytest.approx(
        expected_error(balance, 5000.0, 6.0 / (1 + GAIN)), abs=1e-6
    )
    assert position_4["conformity"] == "fail"
    assert [p["conformity"] for p in points[1:6]] == ["pass", "pass", "pass", "fail", "pass"]
    repeatability, eccentricity = (c.to_json() for c in runner.checks)
    # A second loading 0.5 g heavier: the indications spread by one d_T.
    assert points[0]["model"]["quantities"]["I"]["samples"] == [7501.0, 7501.5, 7501.0]
    assert repeatability["value"] == "0.5"
    assert repeatability["passed"] is True
    assert eccentricity["passed"] is False
    assert float(eccentricity["value"]) == pytest.approx(position_4["result"]["value"])
    assert Decimal(eccentricity["limit"]) == 5
    # The repeatability's standard deviation (0.29 g, 2 dof) now dominates the single
    # readings: U exceeds MPE/3 at the loads where the MPE is 0.5 e.
    sd = points[1]["model"]["quantities"]["I"]["pooled_sd"]
    assert sd == pytest.approx(0.5 / 3**0.5, rel=1e-9)
    flags = {p["nominal"]: p["uncertainty_ratio"]["met"] for p in points[6:]}
    assert flags == {load: TABLE_6[load] > 2.5 for load in WEIGHING_UP}


def test_an_unstable_balance_interrupts_the_run_without_a_reading() -> None:
    balance = CoupledBalance(settle_s=3600.0)  # never settles after a load is placed
    log = Log()
    recorder = Recorded(log)
    with nawi_bench(balance, stable_wait_s=0.3) as bench:
        operator = LoadingOperator(balance, log, ECCENTRIC_OK)
        runner = nawi_runner(bench, operator, recorder)
        runner.preflight()
        with pytest.raises(RunInterrupted) as err:
            runner.run()
    assert err.value.point == 0
    assert "UnstableReading" in str(err.value)
    assert recorder.readings == []
    assert recorder.points == []
    assert [e for e in log.events if e[0] == "reading"] == []


def test_preflight_refuses_steps_on_a_role_with_no_instrument() -> None:
    balance = CoupledBalance()
    with nawi_bench(balance) as bench:
        bench.roles["uut"] = BenchRole("uut", "none", "")
        runner = nawi_runner(bench, LoadingOperator(balance, Log(), {}), Recorded(Log()))
        with pytest.raises(NotReady) as err:
            runner.preflight()
    assert "role uut: test repeatability steps zero it, but the bench has no instrument" in str(
        err.value
    )


def test_preflight_refuses_an_instrument_in_another_unit_than_the_procedure() -> None:
    balance = CoupledBalance()
    with nawi_bench(balance) as bench:
        instrument = {**INSTRUMENT, "max_capacity": 15, "e": 0.005, "d_T": 0.0005, "unit": "kg"}
        runner = nawi_runner(
            bench, LoadingOperator(balance, Log(), {}), Recorded(Log()), instrument=instrument
        )
        with pytest.raises(NotReady) as err:
            runner.preflight()
    assert "the instrument's unit is 'kg'; test repeatability is written for 'g'" in str(err.value)


def test_preflight_refuses_weights_without_a_value_at_a_test_load() -> None:
    record = weights_record()
    values = [v for v in record.certificates[0]["values"] if v["nominal"] != 2500.0]
    record = StandardRecord(record.standard, ({**record.certificates[0], "values": values},))
    balance = CoupledBalance()
    with nawi_bench(balance) as bench:
        runner = nawi_runner(
            bench,
            LoadingOperator(balance, Log(), {}),
            Recorded(Log()),
            standards={ASSET: record},
        )
        with pytest.raises(NotReady, match="gives no mass value at 2500"):
            runner.preflight()


# -- what the run refuses before the first point (issue 16) ---------------------------------


def _four_load_definition() -> ProcedureDefinition:
    """nawi-r76 as version 1.0.0 had it: Min, 500 e, 2 000 e and Max, up and down."""
    text = library()["nawi-r76"].read_text(encoding="utf-8")
    start = text.index("      - {nominal: 200 * e}\n")
    end = text.index("      - {nominal: max_capacity}\n")
    text = text[:start] + "      - {nominal: 500 * e}\n      - {nominal: 2000 * e}\n" + text[end:]
    start = text.index("      # decreasing, back to Min\n")
    end = text.index("    steps:", start)
    decreasing = (
        "      - {nominal: 2000 * e}\n      - {nominal: 500 * e}\n      - {nominal: 20 * e}\n"
    )
    text = text[:start] + decreasing + text[end:]
    return parse_definition(text, source="nawi-r76-four-loads.yaml")


def test_a_weighing_test_with_four_loads_is_refused_before_the_first_point() -> None:
    """R 76-1:2006 A.4.4.1: at least 10 different test loads for the initial intrinsic
    error; the verification's weighing test with 4 (the old nawi-r76) does not start."""
    definition = _four_load_definition()
    assert sorted({str(p.nominal_expression) for p in definition.test("weighing").points}) == [
        "20 * e",
        "2000 * e",
        "500 * e",
        "max_capacity",
    ]
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance) as bench:
        operator = LoadingOperator(balance, log, ECCENTRIC_OK)
        runner = nawi_runner(bench, operator, Recorded(log), definition)
        with pytest.raises(NotReady) as caught:
            runner.preflight()
    message = str(caught.value)
    assert "tests[weighing].plan.loads" in message
    assert "4 different loads; OIML R 76-1:2006 A.4.4.1 asks for at least 10" in message
    assert operator.instructions == []


def test_the_shipped_weighing_plan_meets_a_4_4_1_and_is_recorded() -> None:
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance) as bench:
        runner = nawi_runner(bench, LoadingOperator(balance, log, ECCENTRIC_OK), Recorded(log))
        runner.preflight()
    plan = runner.plans["weighing"]
    assert plan["rule"] == "OIML R 76-1:2006 A.4.4.1"
    assert (plan["different_loads"], plan["required"]) == (10, 10)
    assert [float(m) for m in plan["increasing"]] == WEIGHING_UP
    # R 76-1 A.4.4.3: read on the test-mode display, d_T = 0.5 g ≤ e/5 = 1 g.
    assert runner.rounding_error is not None
    assert runner.rounding_error["method"] == "fine_display"
    assert runner.rounding_error["interval"] == "0.5"


def test_an_instrument_read_only_to_e_is_refused_by_the_fine_display_method() -> None:
    """R 76-1:2006 A.4.4.3: a display interval of e does not eliminate the rounding error
    (it hides up to e/2); the procedure names the changepoint method instead."""
    balance = CoupledBalance()
    log = Log()
    with nawi_bench(balance) as bench:
        operator = LoadingOperator(balance, log, ECCENTRIC_OK)
        runner = nawi_runner(bench, operator, Recorded(log), instrument={**INSTRUMENT, "d_T": 5})
        with pytest.raises(NotReady) as caught:
            runner.preflight()
    assert "rounding_error.interval: a display interval of 5 is more than e/5 = 1" in str(
        caught.value
    )
    assert "use the changepoint method" in str(caught.value)
    assert operator.instructions == []
