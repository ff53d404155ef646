"""The register (constant) test of procedure electricity-meter-r46 1.1.0.

Each meter's 1.8.0 register is read through its optical port (the real IEC 62056-21 and
DLMS/COSEM drivers on their simulators over TCP) before and after the simulated bench
applies 4 kWh at Imax; the register's error is judged against MID Annex V Table 2. The
model is checked against a hand computation; the refusals name the position and the
cause; the simulated registers count what the bench applied.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from drivers.errors import GarbledResponse
from drivers.metertest.bench import PhaseSetting, TestKind
from drivers.metertest.positions import MeterTestSetting, run_meter_test
from drivers.simulators.base import Fault, FaultKind
from procedures.definition import DefinitionError, library, load_definition, parse_definition
from procedures.errors import ProcedureError
from procedures.evaluation import PointRules, evaluate_point
from procedures.record import Position
from procedures.register import (
    register_advance_problem,
    register_quantity,
    register_resolution,
    resolution_share,
)
from procedures.runner import NotReady, Runner
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.electricity import (
    METER,
    OneMeter,
    bench_roles,
    electricity_runner,
    meter_positions,
    one_meter_roles,
)
from tests.support.positions import Kept

TODAY = date(2026, 12, 6)
ELECTRICITY = load_definition(library()["electricity-meter-r46"])
REGISTER = ELECTRICITY.test("register")


def by_number(runner: Runner) -> dict[int, Position]:
    return {p.position: p for p in runner.positions_record()[1]}


def run(meters: dict[int, dict[str, Any]], count: int, **roles: Any) -> dict[int, Position]:
    """Procedure electricity-meter-r46 on the simulated bench for ``meters``."""
    bench_options = bench_roles(meters, positions=count, **roles)
    with SimulatedBench(bench_options, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(bench, Kept(), meter_positions(count), on=TODAY)
        runner.preflight()
        runner.run()
    return by_number(runner)


# ---------------------------------------------------------------- the model by hand


def test_the_register_error_is_the_model_of_the_procedure_computed_by_hand() -> None:
    """E = ((R2 − R1 + d_R)/(W·P_cert/P_nom) − 1)·100 % (the procedure's model): R1 =
    1234.56 kWh, R2 = 1238.58 kWh, W = 4 kWh, P_cert = P_nom = 13 800 W with U = 0.02 %
    (k = 2). E = (4.02/4 − 1)·100 = 0.5 %. d_R: the register's resolution 0.01 kWh (its
    last written digit), triangular of half-width 0.01 kWh, u = 0.01/√6 = 0.004 082 kWh,
    sensitivity 100/W = 25 %/kWh: 0.102 06 %; P_cert: u = 1e-4 relative, sensitivity
    −(E + 100) %: 0.010 05 %; u(E) = √(0.102 06² + 0.010 05²) = 0.102 55 %."""
    raws = [("1.8.0(001234.56*kWh)", "kWh"), ("1.8.0(001238.58*kWh)", "kWh")]
    model = {
        "outputs": REGISTER.model["outputs"],
        "quantities": {
            "R1": {"samples": [1234.56], "pooled_sd": 0, "unit": "kWh"},
            "R2": {"samples": [1238.58], "pooled_sd": 0, "unit": "kWh"},
            "W": {"samples": [4.0], "pooled_sd": 0, "unit": "kWh"},
            "d_R": register_quantity(["R1", "R2"], raws, "kWh"),
            "P_cert": {"value": 13800.0, "U": 2.76, "k": 2, "unit": "W"},
            "P_nom": {"value": 13800.0, "u": 0, "unit": "W"},
        },
    }
    assert model["quantities"]["d_R"] == {
        "value": 0.0,
        "distribution": "triangular",
        "half_width": 0.01,
        "unit": "kWh",
    }
    scope = {**ELECTRICITY.constants, **METER, "nominal": 60.0, "power_factor": 1}
    evaluation = evaluate_point(
        model, "E", PointRules.of(ELECTRICITY, REGISTER, scope, where="mpe"), unit="A"
    )
    u_resolution = 0.01 / math.sqrt(6) * 100 / 4
    u_certificate = 1e-4 * 100.5
    assert evaluation.result.value == pytest.approx(0.5, abs=1e-9)
    assert evaluation.result.u == pytest.approx(math.hypot(u_resolution, u_certificate), rel=1e-6)
    assert evaluation.result.u == pytest.approx(0.102556, abs=1e-6)
    assert evaluation.limits is not None
    assert evaluation.limits.mpe == 2.0  # class B at Imax
    assert evaluation.conformity == "pass"


def test_the_resolution_is_the_last_digit_the_meter_wrote_never_assumed() -> None:
    assert str(register_resolution("1.8.0(001234.56*kWh)", "kWh")) == "0.01"
    assert str(register_resolution("1.8.0(0001234.567*kWh)", "kWh")) == "0.001"
    assert str(register_resolution("1-0:1.8.0*255(012345*kWh)", "kWh")) == "1"
    # DLMS: value × 10^scaler Wh; scaler 1 is 10 Wh = 0.01 kWh
    assert str(register_resolution("value 123456, scaler 1, unit 30", "kWh")) == "0.01"
    assert str(register_resolution("value 123456, scaler 0, unit 30", "Wh")) == "1"
    with pytest.raises(ProcedureError, match=r"cannot be read from '4\.02'"):
        register_resolution("4.02", "kWh")
    with pytest.raises(ProcedureError, match=r"is in Wh, its reading in kWh"):
        register_resolution("1.8.0(001234*Wh)", "kWh")
    with pytest.raises(ProcedureError, match=r"R1, R2 state different resolutions \(0.01, 0.1\)"):
        register_quantity(
            ["R1", "R2"], [("1.8.0(1.23*kWh)", "kWh"), ("1.8.0(5.2*kWh)", "kWh")], "kWh"
        )


def test_the_resolution_s_share_of_u_and_the_advance_s_plausibility() -> None:
    # 2·(0.01/√6)/4·100 = 0.2041 %: under a third of class B's 2 % (and of class C's 0.7 %)
    assert resolution_share(0.01, 4.0) == pytest.approx(0.20412, abs=1e-5)
    assert register_advance_problem(10.0, 14.02, 4.0, 20) is None
    assert register_advance_problem(10.0, 9.5, 4.0, 20) == (
        "the register went backwards, from 10.0 to 9.5"
    )
    assert register_advance_problem(10.0, 10.0, 4.0, 20) == (
        "the register advanced 0 where the reference meter measured 4 (-100 %, beyond the "
        "plausible ±20 %)"
    )


# ---------------------------------------------------------------- the run on the bench


def test_each_meter_s_register_is_judged_and_a_register_that_disagrees_with_the_pulses_fails() -> (
    None
):
    """Meter 1 (IEC 62056-21) and meter 3 (DLMS/COSEM) err by +0.4 % in both their test
    output and their register; meter 2's test output errs by +0.1 % but its register
    counts 3 % short: every accuracy point passes, the register test fails."""
    meters = {
        1: {"error": 0.4},
        2: {"error": 0.1, "register_error": -3.0},
        3: {"error": 0.4, "dlms": True, "register": 1000.0},
    }
    measured = run(meters, 3)
    for number in (1, 2, 3):
        register = measured[number].points[-1]
        assert register.test == "register"
        readings = {str(r.quantity): r for r in register.readings}
        assert sorted(readings) == ["R1", "R2", "W"]
        # the energy applied: 4 kWh at 230 V × 60 A, as the reference meter measured it
        assert readings["W"].value == pytest.approx(4.0, rel=1e-6)
        assert register.model["quantities"]["d_R"]["half_width"] == 0.01
        assert register.acceptance is not None
        assert register.acceptance.mpe == 2.0
    assert measured[1].points[-1].readings[0].raw.startswith("1.8.0(")
    assert measured[3].points[-1].readings[0].raw.startswith("value ")
    for number, error in ((1, 0.4), (2, -3.0), (3, 0.4)):
        # within the register's resolution over 4 kWh: 0.01/4 = 0.25 %
        assert measured[number].points[-1].result.value == pytest.approx(error, abs=0.25 + 1e-9)
    assert [p.conformity for p in measured[2].points[:-1]] == ["pass"] * 10
    assert measured[2].points[-1].conformity == "fail"
    assert [measured[n].verdict for n in (1, 2, 3)] == ["pass", "fail", "pass"]


def test_a_position_without_an_optical_port_is_skipped_naming_it() -> None:
    roles = bench_roles({1: {"error": 0.1}, 2: {"error": 0.1}}, positions=2)
    del roles["optical@2"]
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        kept = Kept()
        runner = electricity_runner(bench, kept, meter_positions(2), on=TODAY)
        runner.preflight()
        runner.run()
    measured = by_number(runner)
    assert (measured[2].state, measured[2].points) == ("skipped", ())
    assert measured[2].reason == (
        "position 2 has no optical port on the bench: the procedure reads its meter's "
        "register through it"
    )
    assert measured[1].verdict == "pass"


def test_a_probe_that_falls_silent_removes_its_position_at_the_register_test() -> None:
    roles = bench_roles({1: {"error": 0.1}, 2: {"error": 0.1}}, positions=2)
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(bench, Kept(), meter_positions(2), on=TODAY)
        runner.preflight()  # the probe answered when opened
        bench.inject_probe("optical@2", Fault(FaultKind.TIMEOUT, target="any"))
        runner.run()
    measured = by_number(runner)
    assert measured[2].state == "removed"
    assert measured[2].reason is not None
    assert measured[2].reason.startswith("point 10: InstrumentTimeout: ")
    assert [p.test for p in measured[2].points][-1] == "accuracy-pf08-capacitive"
    assert measured[1].verdict == "pass"


def test_a_register_that_goes_backwards_is_a_fault_of_the_reading_not_judged() -> None:
    """A register counting down (a meter connected the wrong way round, here the simulated
    register's error −200 %): its position is removed naming the register and the cause,
    and never judged; the others go on."""
    meters = {1: {"error": 0.1}, 2: {"error": 0.1, "register_error": -200.0, "register": 500.0}}
    measured = run(meters, 2)
    assert measured[2].state == "removed"
    assert measured[2].reason is not None
    assert measured[2].reason.startswith("point 10: position 2: the register went backwards, from ")
    assert measured[2].reason.endswith("kWh: a fault of the register's reading, not judged")
    assert "register" not in [p.test for p in measured[2].points]
    assert measured[1].verdict == "pass"


def test_a_register_that_advances_beyond_the_plausible_is_removed_not_judged() -> None:
    meters = {1: {"error": 0.1}, 2: {"error": 0.1, "register_error": 30.0}}
    measured = run(meters, 2)
    assert measured[2].state == "removed"
    assert measured[2].reason is not None
    assert "position 2: the register advanced 5.2 where the reference meter measured 4 " in (
        measured[2].reason
    )
    assert "beyond the plausible ±20 %" in measured[2].reason


def test_a_register_too_coarse_for_the_energy_applied_is_not_judged() -> None:
    """A register of 0.1 kWh over 4 kWh: its resolution alone takes 2·(0.1/√6)/4·100 =
    2.04 % of U, more than a third of class B's 2 %: the position is removed naming it."""
    meters = {1: {"error": 0.1}, 2: {"error": 0.1, "register_decimals": 1}}
    measured = run(meters, 2)
    assert measured[2].state == "removed"
    assert measured[2].reason == (
        "point 10: position 2: its register resolves 0.1 kWh: over 4 kWh its resolution "
        "alone takes 2 % of U, more than 0.67 % (the share allowed of the MPE 2 %); a "
        "longer register test is needed"
    )
    assert measured[1].verdict == "pass"


# ---------------------------------------------------------------- the simulated registers


@pytest.mark.parametrize(
    ("dlms", "phases", "applied", "after"),
    [
        # 12.34 + 2.3 × 1.01 = 14.663, counted in whole hundredths: 14.66
        (False, 1, 2.3, 14.66),
        (True, 1, 2.3, 14.66),
        # a three-phase meter: 12.34 + 6.9 × 1.01 = 19.309, the total of its three phases
        # (not one phase's third), counted in whole hundredths: 19.30
        (False, 3, 6.9, 19.30),
        (True, 3, 6.9, 19.30),
    ],
)
def test_the_simulated_register_counts_the_energy_its_meter_registered(
    dlms: bool, phases: int, applied: float, after: float
) -> None:
    """The bench applies 230 V × 10 A on each of ``phases`` phases for an hour (2.3 kWh a
    phase); a meter erring by +1 % in its register counts 1.01 times the total, read
    through its optical port to its last digit."""
    meter = {"error": 0.5, "register_error": 1.0, "register": 12.34, "dlms": dlms}
    with SimulatedBench(bench_roles({1: meter}, positions=1), SimulatedWorld(seed=1)) as bench:
        optical: Any = bench.instrument("optical@1")
        before = optical.read_register("1.8.0")
        source = (PhaseSetting(230.0, 10.0),) * phases
        setting = MeterTestSetting(TestKind.ENERGY, source, 50.0, 3600.0)
        position: Any = bench.instrument("uut@1")
        reference: Any = bench.instrument("reference")
        refused = run_meter_test(
            reference, [position], setting, constants={}, targets={}, timeout_s=60.0
        )
        counted = optical.read_register("1.8.0")
        energy = position.read_register("energy")
    assert refused == {}
    assert energy.value == pytest.approx(applied, rel=1e-9)
    assert before.value == pytest.approx(12.34)
    assert counted.value == pytest.approx(after, abs=1e-9)


def test_a_run_of_one_meter_without_its_optical_port_is_refused_naming_the_role() -> None:
    """A run of one meter (role ``uut``) on a bench without role ``optical``: the register
    test cannot read the meter's register, so the run does not start, saying so."""
    roles = one_meter_roles(0.1)
    del roles["optical"]
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(bench, OneMeter(), [], on=TODAY)
        with pytest.raises(NotReady) as refused:
            runner.preflight()
    assert refused.value.reasons == [
        "role optical: the bench has no instrument in this role: test register needs the "
        "meter's optical port (its register is read through it)"
    ]


# ---------------------------------------------------------------- the definition and the bench


@pytest.mark.parametrize(
    ("written", "instead", "key", "reason"),
    [
        ("before: R1", "before: R9", "check_register.before", "no step before it reads 'R9'"),
        (
            "d_R: {resolution_of_readings: [R1, R2], unit: kWh}",
            "d_R: {resolution_of_readings: [R1, R2, W], unit: kWh}",
            "quantities.d_R.resolution_of_readings",
            "expected one or two names of readings",
        ),
        ("test: energy", "test: dosage", "meter_test.test", "expected accuracy, creep, starting"),
    ],
)
def test_the_definition_checker_refuses_a_register_test_written_wrong(
    written: str, instead: str, key: str, reason: str
) -> None:
    text = library()["electricity-meter-r46"].read_text(encoding="utf-8")
    assert text.count(written) == 1
    with pytest.raises(DefinitionError) as refused:
        parse_definition(text.replace(written, instead), source="r46.yaml")
    assert refused.value.key.endswith(key), refused.value.key
    assert reason in refused.value.reason


def test_an_energy_test_that_applied_no_energy_is_refused_not_judged() -> None:
    """No current: the reference meter measured no energy, and the driver refuses it
    (nothing a register could be judged against), naming the position."""
    with SimulatedBench(bench_roles({1: {}}, positions=1), SimulatedWorld(seed=1)) as bench:
        setting = MeterTestSetting(TestKind.ENERGY, (PhaseSetting(230.0, 0.0),), 50.0, 60.0)
        position: Any = bench.instrument("uut@1")
        reference: Any = bench.instrument("reference")
        with pytest.raises(GarbledResponse, match="position 1: the reference energy of the energy"):
            run_meter_test(reference, [position], setting, constants={}, targets={}, timeout_s=60)
