"""Procedure electricity-meter-r46 for three-phase meters with balanced loads, on the
simulated meter test bench over TCP.

The meters' specification says ``phases: 3``: the source is programmed on all three phases
at the same voltage (``u_ref``, per phase), current and phase angle; the reference meter
measures the total energy; the meter's constant applies to the total; each point's nominal
power, at which the reference meter's certificate is taken, is 3·U·I·cos φ. The MPEs are
MID Annex V Table 2's rows for "single phase meter; polyphase meter if operating with
balanced loads", the same as a single-phase meter's: class B 2 % at +5 °C … +30 °C, so
+2.5 % fails.

Refused, naming the position and the field: a three-phase meter on a bench whose source has
one phase, a number of phases other than 1 or 3, a meter whose phases differ from those
the source is programmed on.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from drivers.simulators.caltrace_mtb import SimulatedMeterBench
from procedures.bench import BenchRole
from procedures.record import Position
from procedures.runner import NotReady, RunInterrupted, Runner
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.electricity import (
    ADDRESS,
    METER,
    METER_3,
    OneMeter,
    bench_roles,
    electricity_runner,
    meter_positions,
    one_optical_port,
)
from tests.support.positions import Kept

TODAY = date(2026, 12, 6)


def by_number(runner: Runner) -> dict[int, Position]:
    return {p.position: p for p in runner.positions_record()[1]}


def simulated_of(bench: SimulatedBench) -> SimulatedMeterBench:
    simulator = bench.simulator("reference")
    model = getattr(simulator, "instrument", None)
    assert isinstance(model, SimulatedMeterBench)
    return model


def three_phase_meters(bench: SimulatedBench, count: int) -> Runner:
    """The procedure for ``count`` three-phase meters (:data:`METER_3`) on ``bench``."""
    return electricity_runner(
        bench,
        Kept(),
        meter_positions(count, dict.fromkeys(range(1, count + 1), METER_3)),
        on=TODAY,
        instrument=METER_3,
    )


def test_three_phase_meters_are_verified_on_the_total_energy_of_balanced_phases() -> None:
    meters = {1: {"error": 0.4}, 2: {"error": 2.5}, 3: {"error": -0.6}}
    with SimulatedBench(bench_roles(meters, positions=3), SimulatedWorld(seed=5)) as bench:
        runner = three_phase_meters(bench, len(meters))
        standards = runner.preflight()
        runner.read_environment()
        runner.run()
        simulated = simulated_of(bench)
        # the last point (the register test at Imax = 60 A, cos φ = 1) on all three phases
        # alike
        assert simulated.phases == [[230.0, 60.0, 0.0]] * 3
    # the certificate's points at 3·U·I·cos φ
    assert [(s.function, s.low, s.high) for s in standards] == [
        ("active_power_pf1", 172.5, 41400.0),
        ("active_power_pf0.5ind", 172.5, 1725.0),
        ("active_power_pf0.8cap", 276.0, 2760.0),
    ]
    measured = by_number(runner)
    assert [measured[n].verdict for n in (1, 2, 3)] == ["pass", "fail", "pass"]
    for number, error in ((1, 0.4), (2, 2.5), (3, -0.6)):
        accuracy = [p for p in measured[number].points if p.test.startswith("accuracy")]
        assert len(accuracy) == 8
        for point in accuracy:
            assert point.result.value == pytest.approx(error, abs=1e-6), (number, point.index)
            assert point.acceptance is not None
            assert point.acceptance.mpe == 2.0  # class B, MID Annex V Table 2
    assert [p.conformity for p in measured[2].points[2:]] == ["fail"] * 9  # and its register
    # starting: the first pulse at Ist on three phases, 3.6e6 / (C · 3·U·Ist · (1 + e))
    one_pulse = 3.6e6 / (10000 * 3 * 230 * 0.02 * 1.004)
    assert measured[1].points[1].result.value == pytest.approx(one_pulse, rel=1e-5)
    assert measured[1].points[1].acceptance is not None
    # τ = 1.2 × one pulse at Ist on three phases, 31.3 s, in whole seconds rounded down
    assert measured[1].points[1].acceptance.mpe == 31


def test_a_three_phase_meter_on_a_single_phase_bench_is_left_out_naming_its_phases() -> None:
    roles = bench_roles({1: {"error": 0.1}, 2: {"error": 0.1}}, positions=2, phases=1)
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(
            bench, Kept(), meter_positions(2, {1: METER, 2: METER_3}), on=TODAY
        )
        runner.preflight()
        runner.run()
    measured = by_number(runner)
    assert (measured[1].state, measured[1].verdict) == ("measured", "pass")
    assert (measured[2].state, measured[2].points) == ("skipped", ())
    assert measured[2].reason == (
        "position 2: phases 3: a three-phase meter on a bench whose source has 1 phase"
    )


def test_a_run_of_one_three_phase_meter_on_a_single_phase_bench_is_refused_naming_the_field() -> (
    None
):
    roles: dict[str, Any] = bench_roles({}, positions=1, phases=1)
    roles["uut"] = BenchRole("uut", "caltrace-mtb", ADDRESS, options={"error": 0.1})
    roles["optical"] = one_optical_port()
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(bench, OneMeter(), [], on=TODAY, instrument=METER_3)
        with pytest.raises(NotReady) as refused:
            runner.preflight()
        assert refused.value.reasons == [
            "step meter_test.phases: phases 3: a three-phase meter on a bench whose source "
            "has 1 phase"
        ]
        # run without its preflight, the step refuses it too, the source never switched on
        with pytest.raises(RunInterrupted) as stopped:
            runner.run()
        assert simulated_of(bench).output is False
        assert simulated_of(bench).test is None
    assert stopped.value.point == 0
    assert str(stopped.value) == (
        "point 0: step meter_test.phases: phases 3: a three-phase meter on a bench whose "
        "source has 1 phase"
    )


def test_phases_other_than_one_or_three_and_a_mix_of_phases_are_left_out() -> None:
    meters = {n: {"error": 0.2} for n in (1, 2, 3, 4)}
    two, text = {**METER_3, "phases": 2}, {**METER_3, "phases": "three"}
    with SimulatedBench(bench_roles(meters, positions=4), SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(
            bench,
            Kept(),
            meter_positions(4, {1: METER_3, 2: two, 3: METER, 4: text}),
            on=TODAY,
            instrument=METER_3,
        )
        runner.preflight()
        runner.run()
    measured = by_number(runner)
    assert (measured[1].state, measured[1].verdict) == ("measured", "pass")
    assert [measured[n].state for n in (2, 3, 4)] == ["skipped"] * 3
    assert measured[2].reason == "position 2: phases 2 is not 1 or 3"
    assert measured[3].reason == (
        "position 3: phases 1: the source is programmed on 3 phase(s) for the others"
    )
    assert measured[4].reason == "position 4: 'phases' is not a finite number (phases is text)"


def test_a_run_of_one_with_phases_not_one_or_three_is_refused_naming_the_field() -> None:
    roles: dict[str, Any] = bench_roles({}, positions=1)
    roles["uut"] = BenchRole("uut", "caltrace-mtb", ADDRESS, options={"error": 0.1})
    roles["optical"] = one_optical_port()
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(
            bench, OneMeter(), [], on=TODAY, instrument={**METER, "phases": 0}
        )
        with pytest.raises(NotReady) as refused:
            runner.preflight()
    assert refused.value.reasons == ["step meter_test.phases: phases 0 is not 1 or 3"]


def test_one_phase_out_of_regulation_stops_a_three_phase_run_naming_the_phase() -> None:
    meters = {1: {"error": 0.4}, 2: {"error": -0.6}}
    with SimulatedBench(bench_roles(meters, positions=2), SimulatedWorld(seed=5)) as bench:
        runner = three_phase_meters(bench, len(meters))
        runner.preflight()
        simulated_of(bench).upset_source(3, "CURR", 4.1)
        with pytest.raises(RunInterrupted) as stopped:
            runner.run()
        assert simulated_of(bench).output is False
    assert stopped.value.point == 0
    assert str(stopped.value).startswith(
        "point 0: SourceOutOfRegulation: the source is out of regulation: phase 3 current "
        "measured 4.1; "
    )


def test_the_register_of_a_three_phase_meter_counts_the_energy_of_its_three_phases() -> None:
    """The register test of three-phase meters: each register counts the total energy of
    the three phases (4 kWh, ``register_energy``), so the meter whose register is right
    passes and the one whose register counts 3 % short (``register_error``) fails it,
    while its test output passes every accuracy point."""
    meters = {1: {"error": 0.4}, 2: {"error": 0.1, "register_error": -3.0}}
    with SimulatedBench(bench_roles(meters, positions=2), SimulatedWorld(seed=5)) as bench:
        runner = three_phase_meters(bench, len(meters))
        runner.preflight()
        runner.run()
        simulated = simulated_of(bench)
        registered = {n: simulated.registered_kwh(n) for n in meters}
    measured = by_number(runner)
    registers = {n: measured[n].points[-1] for n in meters}
    for number, error in ((1, 0.4), (2, -3.0)):
        point = registers[number]
        assert point.test == "register"
        values = {r.quantity: r.value for r in point.readings}
        # the energy test applied register_energy on three phases, the register counted
        # all of it (times its error), not one phase's third
        assert values["W"] == pytest.approx(4.0, rel=1e-3)
        assert values["R2"] - values["R1"] == pytest.approx(4.0 * (1 + error / 100), abs=0.011)
        assert point.result.value == pytest.approx(error, abs=0.3)
    assert (registers[1].conformity, registers[2].conformity) == ("pass", "fail")
    assert [p.conformity for p in measured[2].points[2:-1]] == ["pass"] * 8
    assert [measured[n].verdict for n in meters] == ["pass", "fail"]
    # every test's energy, on all three phases, in the registers: more than the register
    # test's alone
    for number, error in ((1, 0.4), (2, -3.0)):
        assert registered[number] > 4.0 * (1 + error / 100)
