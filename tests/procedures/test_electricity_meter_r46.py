"""Procedure electricity-meter-r46 on the simulated meter test bench over TCP.

Six positions of one bench (the simulated ``caltrace-mtb``, its driver opened on it; each
position a view over the one connection): meter 1, 4 and 6 are good, meter 2 reads +2.5 %
(outside the class B MPE of 2 %, MID Annex V Table 2, +5 °C … +30 °C), meter 3's test
output is dead, position 5 holds no meter. The failing meter fails, the dead one is
removed with the reason, the empty position is skipped, the others pass; each position's
evaluation is :func:`procedures.evaluation.evaluate_point` of its own model, as the LIMS
evaluates it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from drivers.simulators.caltrace_mtb import SimulatedMeterBench
from procedures.bench import BenchPosition, BenchRole
from procedures.definition import library, load_definition
from procedures.evaluation import PointRules, evaluate_point
from procedures.record import Position, PositionInstrument
from procedures.runner import RunInterrupted, Runner
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.electricity import (
    ADDRESS,
    METER,
    ROOM,
    OneMeter,
    bench_roles,
    electricity_runner,
    meter_positions,
    reference_meter,
)
from tests.support.positions import Kept

TODAY = date(2026, 12, 6)
ELECTRICITY = load_definition(library()["electricity-meter-r46"])
SIX: dict[int, dict[str, Any]] = {
    1: {"error": 0.21},
    2: {"error": 2.5},
    3: {"error": -0.3, "silent": True},
    4: {"error": -0.34},
    5: {"empty": True},
    6: {"error": 0.05},
}


@dataclass
class Rig:
    bench: SimulatedBench
    kept: Kept

    def runner(self, positions: list[BenchPosition]) -> Runner:
        return electricity_runner(self.bench, self.kept, positions, on=TODAY)

    @property
    def simulated(self) -> SimulatedMeterBench:
        simulator = self.bench.simulator("reference")
        model = getattr(simulator, "instrument", None)
        assert isinstance(model, SimulatedMeterBench)
        return model


def rig_of(meters: Mapping[int, Mapping[str, Any]], positions: int) -> Iterator[Rig]:
    with SimulatedBench(bench_roles(meters, positions=positions), SimulatedWorld(seed=7)) as bench:
        yield Rig(bench, Kept())


@pytest.fixture
def six() -> Iterator[Rig]:
    yield from rig_of(SIX, 6)


def by_number(runner: Runner) -> dict[int, Position]:
    return {p.position: p for p in runner.positions_record()[1]}


def test_six_meters_each_judged_on_its_own_against_the_one_bench(six: Rig) -> None:
    runner = six.runner(meter_positions(6))
    standards = runner.preflight()
    assert runner.read_environment()["temperature"]["unit"] == "degC"
    runner.run()
    measured = by_number(runner)
    # The reference meter's certificate points, one use per power factor.
    assert [(s.function, s.low, s.high) for s in standards] == [
        ("active_power_pf1", 57.5, 13800.0),
        ("active_power_pf0.5ind", 57.5, 575.0),
        ("active_power_pf0.8cap", 92.0, 920.0),
    ]
    assert [measured[n].verdict for n in (1, 2, 4, 6)] == ["pass", "fail", "pass", "pass"]
    assert measured[5].state == "skipped"
    assert measured[5].reason == (
        "its instrument cannot be opened: position 5 holds no meter (mounted: 1, 2, 3, 4, 6)"
    )
    assert measured[3].state == "removed"
    assert measured[3].reason == (
        "point 1: NoPulses: position 3: no pulse within the starting test's 93.913 s: "
        "the meter did not start"
    )
    assert [p.test for p in measured[3].points] == ["no-load"]  # measured before it stays
    # Every point of a measured meter: no-load, starting, 8 accuracy points, the register.
    tests = [p.test for p in measured[1].points]
    assert tests == ["no-load", "starting"] + ["accuracy-pf1"] * 4 + [
        "accuracy-pf05-inductive"
    ] * 2 + ["accuracy-pf08-capacitive"] * 2 + ["register"]
    # The error of each accuracy point is the simulated meter's, within the count's
    # resolution (half a pulse of 100 at the least: 0.5 %) and exactly so here (the
    # simulated window closes on the meter's own pulses).
    for number, error in ((1, 0.21), (2, 2.5), (4, -0.34), (6, 0.05)):
        for point in measured[number].points[2:10]:
            assert point.result.value == pytest.approx(error, abs=1e-6), (number, point.index)
        # the register's error is the meter's within the register's resolution over the
        # 4 kWh applied: 0.01 kWh / 4 kWh = 0.25 %
        register = measured[number].points[10]
        assert register.result.value == pytest.approx(error, abs=0.25 + 1e-6), number
    failing = [p.conformity for p in measured[2].points[2:]]
    assert failing == ["fail"] * 9
    # No-load: no pulse counted; starting: the first pulse within τ = 1.2 × one pulse.
    assert measured[1].points[0].result.value == 0
    assert measured[1].points[0].acceptance is not None
    assert measured[1].points[0].acceptance.mpe == 1.0
    one_pulse = 3.6e6 / (10000 * 230 * 0.02 * 1.0021)
    assert measured[1].points[1].result.value == pytest.approx(one_pulse, rel=1e-5)


def test_the_bench_and_the_lims_evaluator_agree_on_every_point(six: Rig) -> None:
    runner = six.runner(meter_positions(6))
    runner.preflight()
    runner.run()
    tests = {t.id: t for t in ELECTRICITY.tests}
    compared = 0
    for position in runner.positions_record()[1]:
        for point in position.points:
            test = tests[point.test]
            spec = next(s for s in test.points if s.index == point.index)
            own = {**METER, **(position.instrument.parameters or {})}
            scope = runner._point_scope(test, spec, {}, where="test") | own
            again = evaluate_point(
                point.model,
                point.output,
                PointRules.of(ELECTRICITY, test, scope, where="mpe"),
                unit=point.unit,
            )
            bench = runner.position_evaluations[(position.position, point.index)]
            assert again.to_json() == bench.to_json()
            assert again.budget.to_json() == bench.budget.to_json()
            compared += 1
    assert compared == 4 * 11 + 1


def test_the_mpe_of_each_point_is_mid_table_2_by_class_and_current_range(six: Rig) -> None:
    """MID Annex V Table 2 (+5 °C … +30 °C): class B 2 % over Imin..Imax; class C 1 % from
    Imin to Itr and 0.7 % from Itr to Imax, at every power factor of the procedure; the
    no-load test at most one pulse; the starting test within its duration."""
    class_c = {**METER, "accuracy_class": "C"}
    runner = six.runner(meter_positions(2, {1: METER, 2: class_c}))
    runner.preflight()
    runner.run()
    measured = by_number(runner)
    mpe = {
        n: [(p.test, p.nominal, p.acceptance.mpe if p.acceptance else None) for p in m.points]
        for n, m in measured.items()
    }
    tau = 93.0  # 1.2 × 3.6e6 / (10000 × 230 × 0.02) = 93.9 s, in whole seconds
    assert mpe[1] == [
        ("no-load", 0.0, 1.0),
        ("starting", 0.02, tau),
        ("accuracy-pf1", 0.25, 2.0),
        ("accuracy-pf1", 0.5, 2.0),
        ("accuracy-pf1", 5.0, 2.0),
        ("accuracy-pf1", 60.0, 2.0),
        ("accuracy-pf05-inductive", 0.5, 2.0),
        ("accuracy-pf05-inductive", 5.0, 2.0),
        ("accuracy-pf08-capacitive", 0.5, 2.0),
        ("accuracy-pf08-capacitive", 5.0, 2.0),
        ("register", 60.0, 2.0),
    ]
    assert [m for _, _, m in mpe[2][2:]] == [1.0, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    documents = {p.acceptance.document for p in measured[2].points if p.acceptance}
    assert documents == {
        "IEC 62053-21, test of no-load condition (at most one pulse)",
        "IEC 62053-21, test of starting current (a first pulse within the test's duration)",
        "OIML R 46 accuracy classes A, B, C (MPE by current range and temperature)",
    }


def test_a_meter_whose_constant_is_missing_is_not_measured_and_none_is_guessed(
    six: Rig,
) -> None:
    without = {k: v for k, v in METER.items() if k != "constant"}
    runner = six.runner(meter_positions(2, {1: METER, 2: without}))
    runner.preflight()
    assert (
        "skipped",
        2,
        "its instrument's specification lacks constant (the procedure needs them)",
    ) in six.kept.journal
    runner.run()
    measured = by_number(runner)
    assert (measured[1].verdict, measured[2].state, measured[2].points) == ("pass", "skipped", ())


def test_a_constant_that_is_not_positive_removes_its_position_naming_it(six: Rig) -> None:
    zero = {**METER, "constant": 0.0}
    runner = six.runner(meter_positions(2, {1: METER, 2: zero}))
    runner.preflight()
    runner.run()
    measured = by_number(runner)
    assert measured[2].state == "removed"
    assert measured[2].reason is not None
    assert measured[2].reason.startswith("point 0: MeterConstantInvalid: position 2: ")
    assert "the meter constant 0.0 imp/kWh is not a positive number" in measured[2].reason
    assert measured[1].verdict == "pass"


def test_pulses_lost_beyond_what_a_meter_can_err_remove_that_meter_alone() -> None:
    """An error calculator that misses 30 pulses of 100 counts 130 pulses' energy: −23 %,
    beyond the procedure's plausible 20 %: a fault of the count (LostPulse), not the
    meter's error. (One pulse lost of 100 reads as −1 %: one window cannot tell it from
    the meter's error.)"""
    meters = {1: {"error": 0.1}, 2: {"error": 0.1, "lost_pulses": 30}}
    for rig in rig_of(meters, 2):
        runner = rig.runner(meter_positions(2))
        runner.preflight()
        runner.run()
        measured = by_number(runner)
        assert measured[1].verdict == "pass"
        assert measured[2].state == "removed"
        assert measured[2].reason == (
            "point 2: LostPulse: position 2: 100 pulses counted where the reference energy "
            "0.012987 kWh gives 129.9 at 10000 imp/kWh (beyond the plausible 20 %)"
        )
        assert [p.test for p in measured[2].points] == ["no-load", "starting"]


def test_the_source_out_of_regulation_stops_the_run_at_the_point_with_the_source_off(
    six: Rig,
) -> None:
    runner = six.runner(meter_positions(2))
    runner.preflight()
    six.simulated.upset_source(1, "VOLT", 201.5)
    with pytest.raises(RunInterrupted) as stopped:
        runner.run()
    assert stopped.value.point == 0
    assert str(stopped.value).startswith(
        "point 0: SourceOutOfRegulation: the source is out of regulation: phase 1 voltage "
        "measured 201.5; address TCPIP::127.0.0.1::"
    )
    assert str(stopped.value).endswith("; last command 'SOUR:REG?'")
    assert six.simulated.output is False
    six.simulated.restore()
    again = six.runner(meter_positions(2))
    again.preflight()
    again.run()
    assert [p.verdict for p in again.positions_record()[1]] == ["pass", "fail"]  # SIX


def test_twenty_four_meters_are_verified_in_one_run() -> None:
    meters = {n: {"error": round(0.05 * (n - 12), 2)} for n in range(1, 25)}
    for rig in rig_of(meters, 24):
        runner = rig.runner(meter_positions(24))
        runner.preflight()
        runner.run()
        measured = runner.positions_record()[1]
        assert [p.verdict for p in measured] == ["pass"] * 24
        assert measured[23].points[5].result.value == pytest.approx(0.6, abs=1e-6)


def test_one_meter_is_verified_at_the_position_its_role_names() -> None:
    roles = {
        "reference": BenchRole(
            "reference", "caltrace-mtb", ADDRESS, asset_id="HN-E-MTB", options={"positions": 3}
        ),
        "environment": BenchRole("environment", "manual", ROOM),
        "uut": BenchRole("uut", "caltrace-mtb", ADDRESS, options={"position": 2, "error": -0.8}),
        # its meter's optical port: a role of the bench beside the meter's
        "optical": BenchRole("optical", "iec62056-21", "/dev/ttyUSB0", serial="EM-0002"),
    }
    recorder = OneMeter()
    with SimulatedBench(roles, SimulatedWorld(seed=1)) as bench:
        runner = electricity_runner(bench, recorder, [], on=TODAY)
        runner.preflight()
        points = runner.run()
    assert recorder.points == points
    assert [p.conformity for p in points] == ["pass"] * 11
    assert points[10].test == "register"
    assert points[10].result.value == pytest.approx(-0.8, abs=0.25 + 1e-6)
    assert points[4].result.value == pytest.approx(-0.8, abs=1e-6)
    assert {e.conformity for e in runner.evaluations.values()} == {"pass"}


def test_a_position_role_without_its_bench_has_no_instrument() -> None:
    roles = {"uut@1": BenchRole("uut@1", "caltrace-mtb", ADDRESS)}
    with (
        SimulatedBench(roles, SimulatedWorld(seed=1)) as bench,
        pytest.raises(LookupError, match="no meter test bench of the bench is at its"),
    ):
        bench.instrument("uut@1")


def test_a_position_described_twice_is_refused() -> None:
    roles = bench_roles({1: {}}, positions=2)
    roles["uut"] = BenchRole("uut", "caltrace-mtb", ADDRESS, options={"position": 1})
    with pytest.raises(Exception, match="position 1 is described twice"):
        SimulatedBench(roles, SimulatedWorld(seed=1)).start()


def test_a_position_that_is_not_a_meter_bench_s_is_refused_at_the_point(six: Rig) -> None:
    runner = six.runner([BenchPosition(1, "environment", PositionInstrument("X", "x", METER))])
    with pytest.raises(RunInterrupted, match="ManualThermometer is not a position of a meter"):
        runner.run()


def test_a_meter_at_plus_one_and_a_half_percent_passes_class_b_and_fails_class_c() -> None:
    """+1.5 % is inside class B's 2 % and outside class C's 1 % (Imin..Itr) and 0.7 %
    (Itr..Imax), MID Annex V Table 2 at +5 °C … +30 °C."""
    class_c = {**METER, "accuracy_class": "C"}
    for rig in rig_of({1: {"error": 1.5}, 2: {"error": 1.5}}, 2):
        runner = rig.runner(meter_positions(2, {1: METER, 2: class_c}))
        runner.preflight()
        runner.run()
        measured = by_number(runner)
        assert [p.conformity for p in measured[1].points] == ["pass"] * 11
        assert [p.conformity for p in measured[2].points[2:]] == ["fail"] * 9
        assert [measured[n].verdict for n in (1, 2)] == ["pass", "fail"]


def test_the_reference_meter_s_certificate_corrects_what_it_indicates() -> None:
    """A reference meter reading 0.05 % high: with its certificate saying so, each meter's
    error is its own; taken at its word, every error would be 0.05 % off."""
    roles = bench_roles({1: {"error": 0.21}}, positions=1, reference_error=5e-4)
    errors = {}
    for reads_high in (5e-4, 0.0):
        with SimulatedBench(roles, SimulatedWorld(seed=2)) as bench:
            reference = reference_meter(reads_high=reads_high)
            runner = electricity_runner(
                bench, Kept(), meter_positions(1), on=TODAY, reference=reference
            )
            runner.preflight()
            runner.run()
        errors[reads_high] = [p.result.value for p in runner.positions_record()[1][0].points[2:10]]
    assert errors[5e-4] == pytest.approx([0.21] * 8, abs=1e-6)
    # the energy over-read by 0.05 %: (1.0021 / 1.0005 − 1) × 100
    assert errors[0.0] == pytest.approx([0.15992] * 8, abs=1e-5)
