"""Three phases on the meter test bench: the driver against its simulator over TCP.

A three-phase meter is tested with balanced loads: the source applies the same voltage,
current and phase angle on each phase, the reference meter measures the total power
P = 3·U·I·cos φ, and the meter's constant applies to the total energy. The simulated meter
pulses at P·C·(1 + e/100) / 3.6e6 pulses per second, P the total; every expected value
below is computed by hand from that and from e = (pulses/C − E_ref) / E_ref × 100 %.
A bench states how many phases its source has (``BENCh:PHASes?``): more are refused before
anything is sent.
"""

from __future__ import annotations

import math

import pytest

from drivers.errors import (
    GarbledResponse,
    InstrumentReportedError,
    OutOfRange,
    SourceOutOfRegulation,
)
from drivers.metertest.bench import AccuracyResult, PhaseSetting, TestKind
from drivers.metertest.caltrace_mtb import CaltraceMeterBench
from drivers.metertest.positions import MeterBenchPosition, MeterTestSetting, run_meter_test
from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import Connect

SPEED = 1e6
# 3 × 230 V, 5 A, cos φ = 0.5 inductive (60°): 3 × 575 W = 1725 W
BALANCED = (PhaseSetting(230.0, 5.0, 60.0),) * 3


@pytest.fixture
def simulated() -> SimulatedMeterBench:
    """Two positions of a three-phase bench: +0.8 % and −1.2 % at 1000 imp/kWh."""
    return SimulatedMeterBench(
        [SimulatedMeter(1000.0, 0.8), SimulatedMeter(1000.0, -1.2)], serial="MTB-3", speed=SPEED
    )


@pytest.fixture
def mtb(sim: TcpSimulator, connect: Connect) -> CaltraceMeterBench:
    return connect(CaltraceMeterBench, sim.address)


def test_the_bench_says_how_many_phases_its_source_has(mtb: CaltraceMeterBench) -> None:
    assert mtb.phases == 3


def test_three_balanced_phases_are_programmed_and_measured_as_their_total(
    mtb: CaltraceMeterBench, simulated: SimulatedMeterBench
) -> None:
    mtb.configure_source(BALANCED, frequency_hz=50.0)
    mtb.source_on()
    assert simulated.phases == [[230.0, 5.0, 60.0]] * 3
    for phase in (1, 2, 3):
        assert mtb.read_register(f"current-{phase}").value == 5.0
        assert mtb.read_register(f"angle-{phase}").value == 60.0
    assert mtb.read_register("power").value == pytest.approx(3 * 230.0 * 5.0 * 0.5, rel=1e-9)
    mtb.source_off()


def test_each_meter_s_error_on_three_phases_is_its_own_over_the_total_energy(
    mtb: CaltraceMeterBench, simulated: SimulatedMeterBench
) -> None:
    positions = [MeterBenchPosition(mtb, n) for n in (1, 2)]
    setting = MeterTestSetting(TestKind.ACCURACY, BALANCED, 50.0, 600.0, 20.0)
    refused = run_meter_test(
        mtb,
        positions,
        setting,
        constants={1: 1000.0, 2: 1000.0},
        targets={1: 50, 2: 50},
        timeout_s=30.0,
    )
    assert refused == {}
    assert simulated.output is False
    for position, error in zip(positions, (0.8, -1.2), strict=True):
        pulses = position.read_register("pulses").value
        energy = position.read_register("energy").value
        assert pulses == 50
        # the window of 50 pulses at 1725 W · 1000 imp/kWh · (1 + e): E_ref = 50/1000/(1 + e)
        assert energy == pytest.approx(0.05 / (1 + error / 100), rel=1e-9)
        result = AccuracyResult(position.number, int(pulses), 1000.0, energy)
        assert result.error_percent == pytest.approx(error, abs=1e-6)


def test_one_phase_out_of_regulation_voids_the_three_phase_test_naming_the_phase(
    mtb: CaltraceMeterBench, simulated: SimulatedMeterBench
) -> None:
    positions = [MeterBenchPosition(mtb, 1)]
    setting = MeterTestSetting(TestKind.ACCURACY, BALANCED, 50.0, 600.0, 20.0)
    simulated.upset_source(3, "CURR", 4.1)
    with pytest.raises(SourceOutOfRegulation, match=r"phase 3 current measured 4\.1") as refused:
        run_meter_test(
            mtb, positions, setting, constants={1: 1000.0}, targets={1: 50}, timeout_s=30.0
        )
    assert (refused.value.phase, refused.value.quantity) == (3, "current")
    assert simulated.output is False
    assert simulated.test is None


def test_a_single_phase_bench_refuses_three_phases_before_sending_anything(
    connect: Connect,
) -> None:
    one_phase = SimulatedMeterBench([SimulatedMeter()], speed=SPEED, phases=1)
    with TcpSimulator(one_phase) as server:
        mtb = connect(CaltraceMeterBench, server.address)
        assert mtb.phases == 1
        with pytest.raises(OutOfRange, match="3 phases given; the bench's source has 1") as err:
            mtb.configure_source(BALANCED, frequency_hz=50.0)
        assert (err.value.parameter, err.value.value) == ("phases", 3)
        assert one_phase.phases[1] == [0.0, 0.0, 0.0]  # nothing was sent
        # one phase is programmed alone: the bench has no second or third phase
        mtb.configure_source(BALANCED[:1], frequency_hz=50.0)
        mtb.source_on()
        assert mtb.read_register("power").value == pytest.approx(575.0, rel=1e-9)
        with pytest.raises(InstrumentReportedError, match="-113"):
            mtb.read_register("voltage-2")
        mtb.source_off()


def test_the_simulator_knows_only_one_or_three_phases_and_upsets_only_its_own() -> None:
    with pytest.raises(ValueError, match="1 or 3 phases, not 2"):
        SimulatedMeterBench([SimulatedMeter()], phases=2)
    one_phase = SimulatedMeterBench([SimulatedMeter()], phases=1)
    with pytest.raises(ValueError, match="phases 1 to 1, not 3"):
        one_phase.upset_source(3, "VOLT", 0.0)
    assert math.isclose(one_phase.power_w(), 0.0)


def test_a_bench_stating_another_number_of_phases_is_refused_at_connection(
    connect: Connect,
) -> None:
    odd = SimulatedMeterBench([SimulatedMeter()], speed=SPEED)
    odd.phase_count = 2  # what BENCh:PHASes? answers from now on
    with TcpSimulator(odd) as server, pytest.raises(GarbledResponse) as refused:
        connect(CaltraceMeterBench, server.address)
    assert (refused.value.expected, refused.value.received) == ("1 or 3", "2")
    assert "malformed BENC:PHAS? answer" in str(refused.value)
