"""The Druck PACE5000/6000 driver against its simulator over TCP through pyvisa-py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from drivers.capabilities import PressureController, VoltageSource, measure
from drivers.driver import DriverOptions
from drivers.druck.pace import DruckPace, strip_echo
from drivers.errors import (
    ConnectionLost,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentReportedError,
    InstrumentTimeout,
    OutOfRange,
)
from drivers.iolog import IODirection
from drivers.reading import Reading
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.druck_pace import SimulatedPace
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import (
    ANSWER_S,
    SILENT,
    Connect,
    over_faults,
    times_out,
    writes,
)


@pytest.fixture
def controller() -> SimulatedPace:
    """A simulated PACE5000 at 1013.25 mbar, 0..7000 mbar, time constant 30 ms, no noise."""
    return SimulatedPace(serial="3101234", tau_s=0.03)


@pytest.fixture
def simulated(controller: SimulatedPace) -> SimulatedPace:
    """The controller the ``sim`` fixture serves."""
    return controller


@pytest.fixture
def pace(sim: TcpSimulator, connect: Connect) -> DruckPace:
    """The driver connected to the simulator, no retries."""
    return connect(DruckPace, sim.address)


def test_it_reads_and_checks_the_identity_and_the_sensor_range(pace: DruckPace) -> None:
    assert pace.identity.manufacturer == "GE Druck"
    assert pace.identity.serial == "3101234"
    assert pace.model == "PACE5000"
    assert pace.display_unit == "mbar"
    assert pace.unit == "Pa"
    assert pace.limits == (0.0, 700000.0)  # read in mbar, stated in Pa


def test_it_refuses_another_serial_and_another_instrument(
    sim: TcpSimulator, options: DriverOptions
) -> None:
    with pytest.raises(IdentityMismatch) as caught:
        DruckPace.open(sim.address, replace(options, expected_serial="0000000"))
    assert caught.value.expected_identity == "0000000"
    with (
        TcpSimulator(SimulatedKeysight344xxA()) as dmm,
        pytest.raises(IdentityMismatch, match="PACE5000 / PACE6000"),
    ):
        DruckPace.open(dmm.address, options)


def test_a_reading_is_the_pressure_in_pascals_with_the_raw_answer(
    controller: SimulatedPace, pace: DruckPace
) -> None:
    reading = pace.read_pressure()
    assert reading.value == pytest.approx(101325.0)
    assert reading.unit == "Pa"
    assert reading.raw == ":SENS:PRES 1.0132500e+03"  # the controller works in mbar
    assert reading.function == "pressure"
    assert reading.timestamp.tzinfo is not None
    assert measure(pace, "pressure").value == pytest.approx(101325.0)
    assert isinstance(pace, PressureController)
    assert not isinstance(pace, VoltageSource)


def test_in_control_the_pressure_approaches_the_setpoint_and_comes_in_limits(
    controller: SimulatedPace, pace: DruckPace
) -> None:
    pace.set_pressure(200e3)
    assert pace.read_setpoint() == 200e3
    assert pace.in_limits() is False  # measure mode: nothing moves
    assert pace.read_pressure().value == pytest.approx(101325.0)
    pace.set_control(True)
    assert pace.control_enabled() is True
    reading = pace.wait_in_limits(timeout_s=ANSWER_S)
    assert reading.status == "in-limits"
    assert reading.value == pytest.approx(200e3, abs=140.0)  # 0.02 % of 7000 mbar
    pace.set_control(False)
    held = pace.read_pressure().value
    assert pace.read_pressure().value == held  # measure mode holds the pressure
    assert pace.in_limits() is False
    assert ":OUTP:STAT ON" in writes(pace)
    assert ":SOUR:PRES 2000.0" in writes(pace)


def test_the_in_limits_band_and_unit_reach_the_controller(
    controller: SimulatedPace, pace: DruckPace
) -> None:
    pace.set_in_limits_band(0.5)
    assert controller.module_state().band_percent == 0.5
    pace.set_unit("bar")
    assert controller.module_state().unit == "BAR"
    assert pace.display_unit == "bar"
    assert pace.limits == (0.0, 700000.0)
    assert pace.read_pressure().value == pytest.approx(101325.0)
    pace.set_pressure(650e3)
    assert ":SOUR:PRES 6.5" in writes(pace)  # sent in the controller's unit
    assert controller.module_state().setpoint_pa == pytest.approx(6.5e5)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda p: p.set_pressure(700000.1), "setpoint"),
        (lambda p: p.set_pressure(-50.0), "setpoint"),
        (lambda p: p.set_pressure(float("nan")), "setpoint"),
        (lambda p: p.set_pressure(True), "setpoint"),
        (lambda p: p.set_unit("furlongs"), "unit"),
        (lambda p: p.set_in_limits_band(20.0), "in_limits_band"),
        (lambda p: p.use_module(2), "module"),  # a PACE5000 has one module
    ],
)
def test_it_refuses_what_the_controller_cannot_do_before_sending_anything(
    pace: DruckPace, call: Callable[[DruckPace], None], parameter: str
) -> None:
    before = len(pace.io_log)
    with pytest.raises(OutOfRange) as caught:
        call(pace)
    assert caught.value.parameter == parameter
    assert caught.value.address == pace.address
    assert len(pace.io_log) == before


def test_a_refused_command_raises_the_controllers_error(pace: DruckPace) -> None:
    with pytest.raises(InstrumentReportedError) as caught:
        pace.write_checked(":SOUR:PRES 99999")
    assert (caught.value.code, caught.value.text) == (-222, "Data out of range")
    assert pace.read_error_queue() == ()


def test_a_pace6000_drives_its_second_module(options: DriverOptions) -> None:
    controller = SimulatedPace(model="PACE6000", tau_s=0.03, upper=2000.0)
    with TcpSimulator(controller) as server, DruckPace.open(server.address, options) as pace:
        assert pace.model == "PACE6000"
        pace.use_module(2)
        assert pace.module == 2
        pace.set_pressure(150e3)
        pace.set_control(True)
        pace.wait_in_limits(timeout_s=ANSWER_S)
        assert controller.module_state(2).control is True
        assert controller.module_state(1).control is False
        assert ":SOUR2:PRES 1500.0" in writes(pace)  # mbar on the wire
        assert ":INST:LIM5?" in writes(pace)


def test_an_answer_that_does_not_echo_the_query_is_refused() -> None:
    assert strip_echo(":OUTP:STAT?", ":OUTP:STAT 0") == "0"
    assert strip_echo(":INST:SN1?", ":INST:SN 68795") == "68795"  # manual p. 4-27
    with pytest.raises(GarbledResponse):
        strip_echo(":SENS:PRES?", ":OUTP:STAT 1")


EXPECTED: dict[FaultKind, type[DriverError]] = {
    FaultKind.TIMEOUT: InstrumentTimeout,
    FaultKind.LATE: InstrumentTimeout,
    FaultKind.GARBLED: GarbledResponse,
    FaultKind.TRUNCATED: GarbledResponse,
    FaultKind.DISCONNECT: ConnectionLost,
    FaultKind.DEVICE_ERROR: InstrumentReportedError,
}

# The controller reports a device error by queuing it and saying nothing, and pyvisa-py
# only notices a socket the controller closed once the timeout has run out.
SCPI_SILENT = SILENT | {FaultKind.DEVICE_ERROR, FaultKind.DISCONNECT}


@over_faults(FaultKind, silent=SCPI_SILENT)
def test_each_fault_raises_its_typed_error_and_no_reading(
    sim: TcpSimulator, pace: DruckPace, kind: FaultKind, late_by_s: float
) -> None:
    sim.inject(Fault(kind, times=1, late_by_s=late_by_s))
    result: Reading | None = None
    with pytest.raises(EXPECTED[kind]) as caught:
        result = pace.read_pressure()
    assert result is None
    assert caught.value.address == sim.address
    assert caught.value.last_command == ":SENS:PRES?"
    assert pace.read_pressure().value == pytest.approx(101325.0)  # recovered


@times_out
def test_a_late_answer_is_never_taken_for_the_next_one(
    controller: SimulatedPace, sim: TcpSimulator, pace: DruckPace, late_by_s: float
) -> None:
    sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=late_by_s))
    with pytest.raises(InstrumentTimeout):
        pace.read_pressure()
    assert pace.control_enabled() is False
    stale = [e.data for e in pace.io_log if e.direction == IODirection.STALE]
    assert stale == [":SENS:PRES 1.0132500e+03"]


def test_two_controllers_with_the_same_seed_read_the_same_noise(options: DriverOptions) -> None:
    def series(seed: int) -> list[float]:
        controller = SimulatedPace(noise=0.05, seed=seed)
        with TcpSimulator(controller) as server, DruckPace.open(server.address, options) as pace:
            return [pace.read_pressure().value for _ in range(4)]

    first, again, other = series(3), series(3), series(4)
    assert first == again
    assert first != other
    assert len(set(first)) > 1
