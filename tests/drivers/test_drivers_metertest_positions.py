"""A meter test bench's positions as instruments under test, and one test point run over
them (``drivers.metertest.positions``), against the simulated bench over TCP.

The simulated bench runs a million times real speed. Its meters pulse at
P·C·(1 + e/100) / 3.6e6 pulses per second (P in W), so the errors below are the meters'.
"""

from __future__ import annotations

import pytest

from drivers.capabilities import RegisterReader, measure
from drivers.errors import (
    LostPulse,
    MeterConstantInvalid,
    NoPulses,
    OutOfRange,
    PositionNotMounted,
    SourceOutOfRegulation,
)
from drivers.metertest.bench import PhaseSetting, TestKind
from drivers.metertest.caltrace_mtb import CaltraceMeterBench
from drivers.metertest.positions import (
    MeterBenchPosition,
    MeterTestSetting,
    phase_angle,
    run_meter_test,
)
from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import Connect

UNITY = (PhaseSetting(230.0, 5.0, 0.0),)  # 1150 W
ACCURACY = MeterTestSetting(TestKind.ACCURACY, UNITY, 50.0, 600.0, 20.0)


@pytest.fixture
def simulated() -> SimulatedMeterBench:
    """Three meters of 1000 imp/kWh (+0.5 %, −1.0 %, +0.2 % creeping 3600 pulses/h) and
    an empty fourth position."""
    return SimulatedMeterBench(
        [
            SimulatedMeter(1000.0, 0.5),
            SimulatedMeter(1000.0, -1.0),
            SimulatedMeter(1000.0, 0.2, creep_pulses_per_hour=3600.0),
            None,
        ],
        speed=1e6,
    )


@pytest.fixture
def mtb(sim: TcpSimulator, connect: Connect) -> CaltraceMeterBench:
    return connect(CaltraceMeterBench, sim.address)


def views(mtb: CaltraceMeterBench, *numbers: int) -> list[MeterBenchPosition]:
    return [MeterBenchPosition(mtb, n) for n in numbers]


def test_each_position_reads_its_own_result_of_the_one_test(mtb: CaltraceMeterBench) -> None:
    positions = views(mtb, 1, 2, 3)
    refused = run_meter_test(
        mtb,
        positions,
        ACCURACY,
        constants={1: 1000.0, 2: 1000.0, 3: 1000.0},
        targets={1: 20, 2: 20, 3: 40},
        timeout_s=10.0,
    )
    assert refused == {}
    for position, error, pulses in zip(positions, (0.5, -1.0, 0.2), (20, 20, 40), strict=True):
        assert isinstance(position, RegisterReader)
        count = measure(position, "register:pulses")
        energy = measure(position, "register:energy")
        assert (count.value, count.unit, count.raw) == (pulses, "1", str(pulses))
        assert energy.unit == "kWh"
        # the energy of `pulses` pulses of a meter erring by `error` %
        assert energy.value == pytest.approx(pulses / 1000.0 / (1 + error / 100), rel=1e-9)
    assert positions[0].address.endswith("#position=1")


def test_a_position_whose_constant_is_missing_is_left_out_naming_it(
    mtb: CaltraceMeterBench,
) -> None:
    positions = views(mtb, 1, 2)
    refused = run_meter_test(
        mtb, positions, ACCURACY, constants={1: 1000.0}, targets={1: 10, 2: 10}, timeout_s=10.0
    )
    assert list(refused) == [2]
    fault = refused[2]
    assert isinstance(fault, MeterConstantInvalid)
    assert (fault.position, fault.value) == (2, None)
    assert str(fault).startswith("position 2: the meter constant (imp/kWh) is missing")
    assert measure(positions[0], "register:pulses").value == 10  # the other one measured
    with pytest.raises(OutOfRange, match="position 2: the last test gave no pulses"):
        measure(positions[1], "register:pulses")


def test_a_pulse_target_below_one_leaves_its_position_out(mtb: CaltraceMeterBench) -> None:
    refused = run_meter_test(
        mtb, views(mtb, 1), ACCURACY, constants={1: 1000.0}, targets={1: 0}, timeout_s=10.0
    )
    assert str(refused[1]).startswith("position 1: position 1: 0 pulses to count")


def test_a_dead_test_output_is_the_fault_its_position_reads(
    mtb: CaltraceMeterBench, simulated: SimulatedMeterBench
) -> None:
    simulated.silence(2)
    positions = views(mtb, 1, 2)
    setting = MeterTestSetting(TestKind.ACCURACY, UNITY, 50.0, 120.0, 20.0)
    run_meter_test(
        mtb, positions, setting, constants={1: 1000.0, 2: 1000.0}, targets={1: 10, 2: 10},
        timeout_s=10.0,
    )  # fmt: skip
    assert measure(positions[0], "register:pulses").value == 10
    with pytest.raises(NoPulses, match="position 2: no pulse counted") as caught:
        measure(positions[1], "register:energy")
    assert caught.value.position == 2


def test_pulses_lost_beyond_the_plausible_are_a_fault_not_an_error(
    mtb: CaltraceMeterBench, simulated: SimulatedMeterBench
) -> None:
    simulated.lose_pulses(1, 5)  # 10 counted for 15 pulses' energy: −33 %
    positions = views(mtb, 1)
    run_meter_test(mtb, positions, ACCURACY, constants={1: 1000.0}, targets={1: 10}, timeout_s=10.0)
    with pytest.raises(LostPulse, match="beyond the plausible 20 %"):
        measure(positions[0], "register:pulses")


def test_creep_and_starting_keep_their_own_results(mtb: CaltraceMeterBench) -> None:
    positions = views(mtb, 1, 3)
    creep = MeterTestSetting(TestKind.CREEP, (PhaseSetting(264.5, 0.0, 0.0),), 50.0, 600.0)
    assert run_meter_test(mtb, positions, creep, constants={}, targets={}, timeout_s=10.0) == {}
    # 3600 pulses an hour for 600 s: 600 pulses; the other meter does not creep
    assert [measure(p, "register:pulses").value for p in positions] == [0, 600]
    with pytest.raises(OutOfRange, match="the last test gave no energy"):
        measure(positions[0], "register:energy")
    starting = MeterTestSetting(TestKind.STARTING, (PhaseSetting(230.0, 0.02, 0.0),), 50.0, 1000.0)
    run_meter_test(mtb, positions, starting, constants={}, targets={}, timeout_s=10.0)
    # 4.6 W at 1000 imp/kWh, +0.5 %: one pulse every 3.6e6 / (4.6 × 1000 × 1.005) s
    first = measure(positions[0], "register:first_pulse")
    assert first.value == pytest.approx(778.72, abs=0.01)
    assert first.unit == "s"


def test_no_first_pulse_within_the_duration_is_a_meter_that_did_not_start(
    mtb: CaltraceMeterBench,
) -> None:
    positions = views(mtb, 1)
    starting = MeterTestSetting(TestKind.STARTING, (PhaseSetting(230.0, 0.02, 0.0),), 50.0, 60.0)
    run_meter_test(mtb, positions, starting, constants={}, targets={}, timeout_s=10.0)
    with pytest.raises(NoPulses, match="no pulse within the starting test's 60 s: the meter"):
        measure(positions[0], "register:first_pulse")


def test_the_source_out_of_regulation_voids_the_test_with_the_source_off(
    mtb: CaltraceMeterBench, simulated: SimulatedMeterBench
) -> None:
    simulated.upset_source(1, "CURR", 4.2)
    with pytest.raises(SourceOutOfRegulation, match=r"phase 1 current measured 4\.2"):
        run_meter_test(
            mtb, views(mtb, 1), ACCURACY, constants={1: 1000.0}, targets={1: 10}, timeout_s=10.0
        )
    assert simulated.output is False


def test_an_empty_position_cannot_be_opened_and_a_view_refuses_unknown_registers(
    mtb: CaltraceMeterBench,
) -> None:
    with pytest.raises(PositionNotMounted, match=r"position 4 holds no meter \(mounted: 1, 2, 3\)"):
        MeterBenchPosition(mtb, 4)
    view = MeterBenchPosition(mtb, 1)
    with pytest.raises(OutOfRange, match="unknown register 'power'"):
        view.read_register("power")
    with pytest.raises(
        OutOfRange, match=r"the last test gave no pulses; expected nothing \(run a test first\)"
    ):
        view.read_register("pulses")
    view.close()  # closes nothing: the bench still answers
    assert mtb.positions == 4


def test_the_phase_angle_follows_the_power_factor_and_the_load() -> None:
    assert phase_angle(1.0, "inductive") == 0.0
    assert phase_angle(0.5, "inductive") == pytest.approx(60.0)
    assert phase_angle(0.8, "capacitive") == pytest.approx(-36.8698976)
    with pytest.raises(OutOfRange, match=r"power factor 1\.2"):
        phase_angle(1.2, "inductive")
    with pytest.raises(OutOfRange, match="load kind 'resistive'"):
        phase_angle(1.0, "resistive")
