"""Procedure fuel-dispenser-r117 on the simulated field bench (simulation.fuel).

The dispenser's display, the two proving cans' neck scales and the fuel's thermometer are
read by eye: each is the real manual-entry driver, typed by a simulated person. The
simulated dispenser shows +0.14 % at its maximum flow rate and −0.06 % at its minimum
(simulation.fuel.UUT_DISPENSER); the MPEs are MID MI-005 2.1-2.4's (the equivalent of
OIML R 117-1:2007): class 0.5, line A, ±0.5 % at 20 L, and at an MMQ of 5 L E_min =
2·5·0.5/100 = 0.05 L = ±1 % (MI-005 2.4 condition 2).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from drivers.manual.entry import EntryRefused
from procedures.bench import BenchRole, StandardRecord
from procedures.definition import library, load_definition
from procedures.runner import NotReady, RunInterrupted, Runner
from simulation.bench import SimulatedBench
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime, SimulatedWorld
from tests.support.demo import Recorded

TODAY = date(2026, 11, 22)
DISPENSER = {"accuracy_class": 0.5, "q_max": 40, "q_min": 5, "mmq": 5, "scale_interval": 0.01}
# The cans' certificates: the actual volume at the nominal mark (L) and its U (k = 2).
CANS = {"HN-V-CAN20": (20.0, 20.004, 0.004), "HN-V-CAN5": (5.0, 5.001, 0.0015)}


def can_record(asset_id: str) -> StandardRecord:
    nominal, value, u = CANS[asset_id]
    return StandardRecord(
        standard={
            "asset_id": asset_id,
            "functions": [{"function": "volume", "unit": "L", "min": 0, "max": 25}],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": f"{asset_id}-2026",
                "calibrated_on": "2026-03-01",
                "due_on": "2027-03-01",
                "values": [
                    {"quantity": "volume", "nominal": nominal, "value": value, "unit": "L",
                     "U": u, "k": 2}
                ],
            },
        ),
    )  # fmt: skip


def roles(*, can20_scale: str = "min=19.8&max=20.2") -> dict[str, BenchRole]:
    return {
        "can": BenchRole(
            "can",
            "manual",
            f"manual://volume?unit=L&{can20_scale}&resolution=0.01",
            asset_id="HN-V-CAN20",
            options={"simulates": "proving-can", "correction": 0.004},
        ),
        "mmq_can": BenchRole(
            "mmq_can",
            "manual",
            "manual://volume?unit=L&min=4.95&max=5.05&resolution=0.005",
            asset_id="HN-V-CAN5",
            options={"simulates": "proving-can", "correction": 0.001},
        ),
        "uut": BenchRole(
            "uut",
            "manual",
            "manual://volume?unit=L&min=0&max=9999.99&resolution=0.01",
            options={"simulates": "dispenser"},
        ),
        "thermometer": BenchRole(
            "thermometer",
            "manual",
            "manual://temperature?unit=degC&min=-10&max=60&resolution=0.1",
            options={"simulates": "fuel-thermometer", "fuel_temperature": 31.4},
        ),
    }


def run(
    bench_roles: dict[str, BenchRole], recorder: Recorded | None = None
) -> tuple[Runner, list[Any]]:
    world = SimulatedWorld(seed=5, time_constant_s=0.02, settle_s=0.05)
    clock = SimulatedTime(real_pause_s=0.003)
    with SimulatedBench(bench_roles, world) as bench:
        runner = Runner(
            load_definition(library()["fuel-dispenser-r117"]),
            bench=bench,
            operator=SimulatedOperator(world),
            recorder=recorder or Recorded(),
            standards={a: can_record(a) for a in CANS},
            instrument=DISPENSER,
            on=TODAY,
            sleep=clock.sleep,
            clock=clock.clock,
        )
        runner.preflight()
        return runner, runner.run()


def test_the_procedure_tests_qmax_qmin_and_the_mmq_with_the_right_cans() -> None:
    definition = load_definition(library()["fuel-dispenser-r117"])
    assert definition.instrument_parameters == (
        "accuracy_class",
        "q_max",
        "q_min",
        "mmq",
        "scale_interval",
    )
    flow, mmq = definition.tests
    assert [(p.nominal, p.params["flow_rate"]) for p in flow.points] == [
        (20.0, {"expression": "q_max"}),
        (20.0, {"expression": "q_min"}),
    ]
    assert [(p.nominal_expression, p.params["flow_rate"]) for p in mmq.points] == [
        ("mmq", {"expression": "q_min"})
    ]
    assert math.isnan(mmq.points[0].nominal)  # evaluated at the run, from the dispenser
    assert {s["read"]["role"] for s in flow.steps if "read" in s} == {"uut", "can", "thermometer"}
    assert {s["read"]["role"] for s in mmq.steps if "read" in s} == {
        "uut",
        "mmq_can",
        "thermometer",
    }
    assert flow.mpe is not None
    assert mmq.mpe is not None
    assert flow.mpe["rule"] == mmq.mpe["rule"] == "fuel_dispenser"
    assert flow.mpe["line"] == "A"  # the complete measuring system


def test_the_dispenser_is_verified_at_qmax_qmin_and_the_mmq_end_to_end() -> None:
    runner, points = run(roles())
    assert [(p.test, p.nominal) for p in points] == [
        ("flow-rates", 20.0),
        ("flow-rates", 20.0),
        ("mmq", 5.0),
    ]
    evaluations = [runner.evaluations[p.index] for p in points]
    # MI-005 2.1 line A class 0.5 at 20 L; 2.4 E_min at the 5 L MMQ (0.05 L = 1 %).
    assert [e.limits.mpe for e in evaluations] == [0.5, 0.5, 1.0]  # type: ignore[union-attr]
    errors = [e.result.value for e in evaluations]
    # The dispenser's +0.14 % at 40 L/min and −0.06 % at 5 L/min, as the display and the
    # can's scale show them, each rounded to its interval (half of 0.01 L twice on 20 L:
    # 0.05 %; half of 0.01 L and of 0.005 L on 5 L: 0.15 %).
    assert errors[0] == pytest.approx(0.144, abs=0.051)
    assert errors[1] == pytest.approx(-0.062, abs=0.051)
    assert errors[2] == pytest.approx(-0.062, abs=0.151)
    assert [e.conformity for e in evaluations] == ["pass", "pass", "pass"]
    # The fuel's temperature is recorded with every point, uncorrected.
    for p in points:
        assert p.model["quantities"]["t"]["samples"] == [31.4]
        assert "t_fuel" in p.model["outputs"]


def test_a_can_reading_outside_its_scale_is_refused_naming_the_value() -> None:
    # The 20 L can's neck scale is given as 19.8 .. 19.95 L: the 20 L delivered is beyond
    # it. The driver refuses what is typed, three times, and the point stops there: no
    # reading of the can is invented and no point is recorded.
    recorder = Recorded()
    with pytest.raises(RunInterrupted) as caught:
        run(roles(can20_scale="min=19.8&max=19.95"), recorder)
    message = str(caught.value)
    assert EntryRefused.__name__ in message
    assert "received '20.00'" in message  # the value typed
    assert "from 19.8 to 19.95 L" in message  # the can's scale
    assert caught.value.point == 0
    assert recorder.points == []
    assert [quantity for _, quantity, _ in recorder.readings] == ["I"]  # the display only


@pytest.mark.parametrize(
    ("specification", "reason"),
    [
        # MI-005 2.4 condition 1: E_min = 2·2 L·0.5/100 = 0.02 L < 2 × 0.02 L
        ({"mmq": 2, "scale_interval": 0.02}, "below twice the scale interval"),
        # a 20 L test below an MMQ of 25 L has no MPE (MI-005 2.3, 2.4)
        ({"mmq": 25}, "a test of 20 L is below the minimum measured quantity 25"),
    ],
)
def test_a_dispenser_the_rules_cannot_verify_is_refused_before_any_fuel_is_pumped(
    specification: dict[str, float], reason: str
) -> None:
    world = SimulatedWorld(seed=5)
    recorder = Recorded()
    operator = SimulatedOperator(world)
    with SimulatedBench(roles(), world) as bench:
        runner = Runner(
            load_definition(library()["fuel-dispenser-r117"]),
            bench=bench,
            operator=operator,
            recorder=recorder,
            standards={a: can_record(a) for a in CANS},
            instrument={**DISPENSER, **specification},
            on=TODAY,
        )
        with pytest.raises(NotReady) as caught:
            runner.preflight()
    assert reason in str(caught.value)
    assert "tests[flow-rates].plan" in str(caught.value)
    assert operator.instructions == ()
    assert recorder.readings == []
