"""The meter test bench driver (caltrace's own command set) against its simulator over TCP.

Every expected error below is computed by hand from the definition
e = (E_meter − E_ref) / E_ref × 100 %, E_meter = pulses / constant (imp/kWh), and from the
simulated meter: it pulses at P·C·(1 + e/100) / 3.6e6 pulses per second (P in W).
The simulated bench runs a million times real speed, so a test of minutes takes
milliseconds.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from agent.cli import main
from drivers.capabilities import RegisterReader, measure
from drivers.errors import (
    DriverError,
    GarbledResponse,
    InstrumentReportedError,
    InstrumentTimeout,
    LostPulse,
    MeterConstantInvalid,
    NoPulses,
    OutOfRange,
    PositionNotMounted,
    SourceOutOfRegulation,
)
from drivers.metertest.bench import (
    AccuracyResult,
    MeterTestBench,
    PhaseSetting,
    TestKind,
    meter_error_percent,
)
from drivers.metertest.caltrace_mtb import CaltraceMeterBench
from drivers.registry import get
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import Connect, writes

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "meter-test-bench.md"
SPEED = 1e6
UNITY = [PhaseSetting(230.0, 5.0, 0.0)]  # 1150 W


@pytest.fixture
def bench() -> SimulatedMeterBench:
    """Four positions: +0.5 % at 1000 imp/kWh, an empty one, −1.0 % at 500 imp/kWh, and
    a meter whose error falls from +1 % at 0.5 A to 0 % at 5 A and creeps 3600 pulses/h."""
    return SimulatedMeterBench(
        [
            SimulatedMeter(1000.0, 0.5),
            None,
            SimulatedMeter(500.0, -1.0),
            SimulatedMeter(
                1000.0, error_by_current=((0.5, 1.0), (5.0, 0.0)), creep_pulses_per_hour=3600.0
            ),
        ],
        serial="MTB-7",
        speed=SPEED,
    )


@pytest.fixture
def simulated(bench: SimulatedMeterBench) -> SimulatedMeterBench:
    """The bench the ``sim`` fixture serves."""
    return bench


@pytest.fixture
def mtb(sim: TcpSimulator, connect: Connect) -> CaltraceMeterBench:
    """The driver connected to the simulated bench."""
    return connect(CaltraceMeterBench, sim.address)


def _accuracy(
    mtb: CaltraceMeterBench,
    positions: list[int],
    *,
    pulses: int = 10,
    phases: list[PhaseSetting] = UNITY,
    duration_s: float = 600.0,
    plausible: float = 5.0,
) -> dict[int, AccuracyResult | Exception]:
    constants = {1: 1000.0, 3: 500.0, 4: 1000.0}
    mtb.configure_source(phases, frequency_hz=50.0)
    mtb.source_on()
    for position in positions:
        mtb.set_meter_constant(position, constants[position])
        mtb.set_pulses(position, pulses)
    mtb.start_test(TestKind.ACCURACY, positions, duration_s=duration_s)
    mtb.wait_test(timeout_s=10.0)
    return dict(mtb.read_accuracy(positions, plausible_error_percent=plausible))


# -- the error, by hand ---------------------------------------------------------------------


def test_the_error_is_the_registered_energy_against_the_reference_energy() -> None:
    # 10 pulses at 1000 imp/kWh = 0.01 kWh against 0.00995 kWh: 0.00005 / 0.00995 = 0.502512...%
    assert meter_error_percent(10, 1000.0, 0.00995) == pytest.approx(0.50251256, abs=1e-8)
    # 200 pulses at 400 imp/kWh = 0.5 kWh against 0.51 kWh: −0.01 / 0.51 = −1.960784...%
    assert meter_error_percent(200, 400.0, 0.51) == pytest.approx(-1.96078431, abs=1e-8)


# -- connection, source, reference meter ----------------------------------------------------


def test_it_reads_the_bench_and_leaves_the_source_off(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    assert isinstance(mtb, MeterTestBench)
    assert isinstance(mtb, RegisterReader)
    assert (mtb.identity.model, mtb.identity.serial) == ("MTB-1", "MTB-7")
    assert mtb.positions == 4
    assert mtb.mounted == frozenset({1, 3, 4})
    assert "SOUR:OUTP OFF" in writes(mtb)
    assert bench.output is False


def test_it_programs_the_source_and_reads_the_reference_meter(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    three = [PhaseSetting(230.0, 5.0, 60.0), PhaseSetting(231.0, 2.0, 0.0), PhaseSetting(0, 0)]
    mtb.configure_source(three, frequency_hz=60.0)
    assert bench.output is False
    assert bench.phases == [[230.0, 5.0, 60.0], [231.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
    mtb.source_on()
    # 230 V × 5 A × cos 60° + 231 V × 2 A = 575 W + 462 W
    assert measure(mtb, "register:power").value == pytest.approx(1037.0, abs=1e-6)
    assert mtb.read_register("frequency").value == 60.0
    assert mtb.read_register("angle-1").unit == "deg"
    assert mtb.read_register("voltage-2").value == 231.0
    mtb.source_off()
    assert bench.output is False
    with pytest.raises(OutOfRange, match="register"):
        mtb.read_register("energy")
    mtb.source_on()
    mtb.close()
    assert bench.output is False


def test_it_refuses_a_source_setting_it_cannot_state(mtb: CaltraceMeterBench) -> None:
    before = len(writes(mtb))
    with pytest.raises(OutOfRange, match="phase 1 current"):
        mtb.configure_source([PhaseSetting(230.0, math.nan)], frequency_hz=50.0)
    with pytest.raises(OutOfRange, match="phases"):
        mtb.configure_source(UNITY * 2, frequency_hz=50.0)
    with pytest.raises(OutOfRange, match="frequency"):
        mtb.configure_source(UNITY, frequency_hz=0.0)
    assert len(writes(mtb)) == before


# -- the tests ------------------------------------------------------------------------------


def test_each_position_s_error_is_computed_from_its_pulses_and_the_reference_energy(
    mtb: CaltraceMeterBench,
) -> None:
    results = _accuracy(mtb, [1, 3, 4], phases=[PhaseSetting(230.0, 2.75, 0.0)])
    one, three, four = results[1], results[3], results[4]
    assert isinstance(one, AccuracyResult)
    assert isinstance(three, AccuracyResult)
    assert isinstance(four, AccuracyResult)
    # +0.5 %: 10 pulses come after 10 / 1.005 of 0.01 kWh; E_ref = 0.00995025 kWh.
    assert one.pulses == 10
    assert one.reference_energy_kwh == pytest.approx(0.01 / 1.005, rel=1e-9)
    assert one.error_percent == pytest.approx(0.5, abs=1e-6)
    # −1.0 % at 500 imp/kWh: 10 pulses = 0.02 kWh registered for E_ref = 0.02 / 0.99 kWh.
    assert three.meter_energy_kwh == pytest.approx(0.02)
    assert three.reference_energy_kwh == pytest.approx(0.02 / 0.99, rel=1e-9)
    assert three.error_percent == pytest.approx(-1.0, abs=1e-6)
    # at 2.75 A, halfway from (0.5 A, +1 %) to (5 A, 0 %): +0.5 %.
    assert four.error_percent == pytest.approx(0.5, abs=1e-6)


def test_the_no_load_test_counts_each_position_s_creep(mtb: CaltraceMeterBench) -> None:
    mtb.configure_source([PhaseSetting(264.5, 0.0)], frequency_hz=50.0)
    mtb.source_on()
    mtb.start_test(TestKind.CREEP, [1, 3, 4], duration_s=10.0)
    mtb.wait_test(timeout_s=10.0)
    # 3600 pulses/h for 10 s: 10 pulses at position 4; the others do not creep.
    assert mtb.read_creep([1, 3, 4]) == {1: 0, 3: 0, 4: 10}


def test_the_starting_test_gives_the_time_to_the_first_pulse(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    bench.silence(3)
    mtb.configure_source([PhaseSetting(230.0, 0.02)], frequency_hz=50.0)
    mtb.source_on()
    mtb.start_test(TestKind.STARTING, [1, 3], duration_s=1200.0)
    mtb.wait_test(timeout_s=10.0)
    first = mtb.read_starting([1, 3])
    # 4.6 W × 1000 imp/kWh × 1.005 / 3.6e6 = 1.28417e-3 pulses/s: the first after 778.7 s.
    assert first[1] == pytest.approx(3.6e6 / (4.6 * 1000.0 * 1.005), rel=1e-5)
    assert first[3] is None


def test_a_test_stops_when_told_and_is_not_read_while_it_runs(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    bench.speed = 1.0
    mtb.configure_source(UNITY, frequency_hz=50.0)
    mtb.source_on()
    mtb.start_test(TestKind.CREEP, [1], duration_s=900.0)
    assert mtb.test_done() is False
    with pytest.raises(DriverError, match="still running"):
        mtb.read_creep([1])
    mtb.stop_test()
    assert mtb.test_done() is True
    assert mtb.read_creep([1]) == {1: 0}


def test_a_test_that_does_not_end_in_time_times_out_with_the_source_off(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    bench.speed = 1.0
    mtb.configure_source(UNITY, frequency_hz=50.0)
    mtb.source_on()
    mtb.start_test(TestKind.CREEP, [1], duration_s=900.0)
    with pytest.raises(InstrumentTimeout, match=r"did not end within 0\.05 s"):
        mtb.wait_test(timeout_s=0.05)
    assert bench.output is False


# -- faults ---------------------------------------------------------------------------------


def test_a_position_without_pulses_is_a_fault_of_its_own(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    bench.silence(3)
    results = _accuracy(mtb, [1, 3])
    fault = results[3]
    assert isinstance(fault, NoPulses)
    assert fault.position == 3
    assert fault.value == pytest.approx(1150.0 * 600.0 / 3.6e6)  # the energy of the test, kWh
    assert "position 3" in str(fault)
    assert isinstance(results[1], AccuracyResult)


def test_a_lost_pulse_is_refused_not_taken_for_an_error(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    bench.lose_pulses(1)
    results = _accuracy(mtb, [1, 3])
    # 11 real pulses of a +0.5 % meter for 10 counted: E_ref = 11 / 1005 kWh = 0.0109453 kWh,
    # which gives 10.95 pulses at 1000 imp/kWh; the error would be −8.64 %, beyond 5 %.
    fault = results[1]
    assert isinstance(fault, LostPulse)
    assert (fault.position, fault.value) == (1, 10)
    assert "position 1: 10 pulses counted" in str(fault)
    assert "0.0109453 kWh gives 10.95" in str(fault)
    assert isinstance(results[3], AccuracyResult)


def test_a_count_short_of_its_target_when_the_test_ends_is_refused(
    mtb: CaltraceMeterBench,
) -> None:
    # 1150 W at 1000 imp/kWh × 1.005: 3.21 pulses in 10 s, far short of 10.
    fault = _accuracy(mtb, [1], duration_s=10.0)[1]
    assert isinstance(fault, LostPulse)
    assert (fault.position, fault.value) == (1, 3)
    assert "stop at 10" in str(fault)


def test_a_source_out_of_regulation_voids_the_test_and_switches_off(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    mtb.configure_source(UNITY, frequency_hz=50.0)
    mtb.source_on()
    mtb.set_meter_constant(1, 1000.0)
    mtb.set_pulses(1, 10)
    bench.upset_source(1, "VOLT", 212.5)
    with pytest.raises(SourceOutOfRegulation) as refused:
        mtb.start_test(TestKind.ACCURACY, [1], duration_s=600.0)
    assert (refused.value.phase, refused.value.quantity, refused.value.value) == (
        1,
        "voltage",
        212.5,
    )
    assert bench.output is False
    assert bench.test is None


def test_a_source_lost_during_the_test_voids_its_results(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    _accuracy(mtb, [1])
    bench.upset_source(2, "CURR", 0.0)
    with pytest.raises(SourceOutOfRegulation, match="phase 2 current measured 0"):
        mtb.read_accuracy([1], plausible_error_percent=5.0)
    assert bench.output is False


def test_a_position_that_holds_no_meter_is_refused_by_number(mtb: CaltraceMeterBench) -> None:
    before = len(writes(mtb))
    with pytest.raises(PositionNotMounted, match="position 2 holds no meter") as refused:
        mtb.set_meter_constant(2, 1000.0)
    assert refused.value.position == 2
    assert refused.value.value == (1, 3, 4)
    with pytest.raises(PositionNotMounted, match="position 9"):
        mtb.set_pulses(9, 10)
    with pytest.raises(PositionNotMounted, match="position 2"):
        mtb.start_test(TestKind.CREEP, [1, 2], duration_s=10.0)
    assert len(writes(mtb)) == before


@pytest.mark.parametrize("constant", [0.0, -1000.0, math.nan, math.inf])
def test_a_meter_constant_not_positive_is_refused_with_its_position(
    mtb: CaltraceMeterBench, constant: float
) -> None:
    before = len(writes(mtb))
    with pytest.raises(MeterConstantInvalid, match="position 3") as refused:
        mtb.set_meter_constant(3, constant)
    assert refused.value.position == 3
    assert refused.value.value is constant or math.isnan(constant)
    assert len(writes(mtb)) == before


def test_a_missing_meter_constant_stops_the_test_before_it_starts(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    mtb.set_meter_constant(1, 1000.0)
    mtb.set_pulses(1, 10)
    mtb.set_pulses(4, 10)
    with pytest.raises(MeterConstantInvalid, match="position 4: the meter constant") as refused:
        mtb.set_meter_constant(4, None)
    assert refused.value.value is None
    with pytest.raises(MeterConstantInvalid, match="position 4"):
        mtb.start_test(TestKind.ACCURACY, [1, 4], duration_s=600.0)
    assert bench.test is None
    with pytest.raises(OutOfRange, match="position 3: 0 pulses"):
        mtb.set_pulses(3, 0)


def test_a_start_the_bench_refuses_is_reported_with_its_error(
    mtb: CaltraceMeterBench, bench: SimulatedMeterBench
) -> None:
    mtb.set_meter_constant(1, 1000.0)
    mtb.set_pulses(1, 10)
    bench.reset_state()  # the bench restarted behind the driver's back: its settings are gone
    with pytest.raises(InstrumentReportedError, match="Position not configured") as refused:
        mtb.start_test(TestKind.ACCURACY, [1], duration_s=600.0)
    assert refused.value.code == 202
    assert bench.test is None


def test_a_garbled_count_is_an_error_not_a_reading(
    mtb: CaltraceMeterBench, sim: TcpSimulator
) -> None:
    _accuracy(mtb, [1])
    sim.inject(Fault(FaultKind.GARBLED, times=1))
    with pytest.raises(GarbledResponse):
        mtb.read_accuracy([1], plausible_error_percent=5.0)


# -- registered for the command line --------------------------------------------------------


def test_the_command_line_lists_and_probes_the_registered_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = get("caltrace-mtb")
    assert entry.load_driver() is CaltraceMeterBench
    factory = entry.load_simulator()
    assert factory is not None
    assert main(["drivers"]) == 0
    assert "caltrace-mtb" in capsys.readouterr().out
    with factory(SimulatorOptions(serial="MTB-42")) as server:
        probe = ["probe", "--driver", "caltrace-mtb", "--address", server.address]
        assert main([*probe, "--function", "register:frequency"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["identity"]["serial"] == "MTB-42"
    assert result["readings"][0]["value"] == 50.0
    assert result["readings"][0]["unit"] == "Hz"


# -- the reference page says what the bench and the driver speak ----------------------------


def _documented() -> list[str]:
    """The first cell of each row of the page's command table."""
    text = PAGE.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE)


def _short(header: str) -> str:
    """``POSition<i>:CONStant?`` → ``POS<i>:CONS?`` (the short form, indices kept)."""
    marked = header.replace("<p>", "#P").replace("<i>", "#I")
    return re.sub(r"[a-z]", "", marked).replace("#P", "<p>").replace("#I", "<i>")


def test_every_documented_command_is_known_to_the_simulated_bench(
    bench: SimulatedMeterBench,
) -> None:
    documented = _documented()
    assert {"*IDN?", "TEST:STARt", "POSition<i>:ENERgy?"} <= set(documented)
    for header in documented:
        bench.handle(header.replace("<p>", "1").replace("<i>", "1"))
        undefined = [e for e in bench.queued_errors if e[0] == -113]
        assert not undefined, f"{header} is not a command of the simulated bench"
        bench.handle("*CLS")


def test_every_command_the_driver_sends_is_documented(mtb: CaltraceMeterBench) -> None:
    _accuracy(mtb, [1, 3])
    mtb.start_test(TestKind.CREEP, [4], duration_s=1.0)
    mtb.wait_test(timeout_s=10.0)
    mtb.read_creep([4])
    mtb.start_test(TestKind.STARTING, [4], duration_s=1.0)
    mtb.wait_test(timeout_s=10.0)
    mtb.read_starting([4])
    for name in mtb.register_names:
        mtb.read_register(name)
    mtb.stop_test()
    documented = {_short(header) for header in _documented()}
    sent = set()
    for line in writes(mtb):
        for unit in line.split(";"):
            header = unit.strip().lstrip(":").split(" ", 1)[0]
            sent.add(
                re.sub(
                    r"(POS|PHAS)(\d+)", lambda m: m[1] + ("<i>" if m[1] == "POS" else "<p>"), header
                )
            )
    assert sent - documented == set()
