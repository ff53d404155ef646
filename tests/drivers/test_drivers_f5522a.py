"""The Fluke 5522A driver against its simulator over TCP through pyvisa-py.

The rule under test above all: the output is left in standby on close and after any
error, whatever the error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from drivers.capabilities import (
    CurrentSource,
    DCVoltmeter,
    Direction,
    Function,
    ResistanceSource,
    VoltageSource,
    measure,
)
from drivers.driver import DriverOptions
from drivers.errors import (
    ConnectionLost,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentReportedError,
    InstrumentTimeout,
    OutOfRange,
)
from drivers.fluke.f5522a import ISR_OPER, ISR_REMOTE, ISR_SETTLED, Fluke5522A
from drivers.iolog import IODirection
from drivers.keysight.k34465a import Keysight34465A
from drivers.registry import get
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.fluke_5522a import SimulatedFluke5522A
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import (
    ANSWER_S,
    BRIEF_S,
    LATE_BY_S,
    SILENT,
    Connect,
    over_faults,
    times_out,
    writes,
)


@pytest.fixture
def calibrator() -> SimulatedFluke5522A:
    """A simulated 5522A that settles at once (tests that need settling set it)."""
    return SimulatedFluke5522A(serial="4421007", settle_s=0.0)


@pytest.fixture
def simulated(calibrator: SimulatedFluke5522A) -> SimulatedFluke5522A:
    """The calibrator the ``sim`` fixture serves."""
    return calibrator


@pytest.fixture
def cal(sim: TcpSimulator, connect: Connect) -> Fluke5522A:
    """The driver connected to the simulator, no retries."""
    return connect(Fluke5522A, sim.address)


def _eventually(condition: Callable[[], bool], timeout_s: float = ANSWER_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _operating(cal: Fluke5522A, calibrator: SimulatedFluke5522A) -> None:
    cal.set_voltage(10.0)
    cal.operate()
    cal.wait_settled(timeout_s=ANSWER_S)
    assert calibrator.operate


# -- identity and state on connection ------------------------------------------------------


def test_it_reads_and_checks_the_identity(cal: Fluke5522A) -> None:
    assert (cal.identity.manufacturer, cal.identity.model) == ("FLUKE", "5522A")
    assert cal.identity.serial == "4421007"


def test_it_refuses_another_serial_and_another_model(
    sim: TcpSimulator, options: DriverOptions
) -> None:
    with Fluke5522A.open(sim.address, replace(options, expected_serial="4421007")) as cal:
        assert cal.identity.serial == "4421007"
    with pytest.raises(IdentityMismatch) as caught:
        Fluke5522A.open(sim.address, replace(options, expected_serial="1111111"))
    assert caught.value.last_command == "*IDN?"
    assert caught.value.address == sim.address
    with pytest.raises(IdentityMismatch, match="5522A, this driver is for 34465A"):
        Keysight34465A.open(sim.address, options)


def test_connecting_puts_an_operating_calibrator_in_standby(
    calibrator: SimulatedFluke5522A, sim: TcpSimulator, options: DriverOptions
) -> None:
    calibrator.operate = True
    with Fluke5522A.open(sim.address, options) as cal:
        assert calibrator.operate is False
        assert "STBY" in writes(cal)
        assert cal.output is None


# -- programming, operate, settle ----------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "command", "unit", "amplitude", "frequency"),
    [
        (lambda c: c.set_voltage(-10.0), "OUT -10.0 V, 0 HZ", "V", -10.0, 0.0),
        (lambda c: c.set_voltage(1020), "OUT 1020.0 V, 0 HZ", "V", 1020.0, 0.0),
        (
            lambda c: c.set_voltage(1.0, frequency_hz=1000.0),
            "OUT 1.0 V, 1000.0 HZ",
            "V",
            1.0,
            1000.0,
        ),
        (lambda c: c.set_current(0.001), "OUT 0.001 A, 0 HZ", "A", 0.001, 0.0),
        (lambda c: c.set_current(-20.5), "OUT -20.5 A, 0 HZ", "A", -20.5, 0.0),
        (
            lambda c: c.set_current(0.1, frequency_hz=60),
            "OUT 0.1 A, 60.0 HZ",
            "A",
            0.1,
            60.0,
        ),
        (lambda c: c.set_resistance(100.0), "OUT 100.0 OHM", "OHM", 100.0, 0.0),
        (lambda c: c.set_resistance(1.1e9), "OUT 1100000000.0 OHM", "OHM", 1.1e9, 0.0),
    ],
)
def test_it_programs_each_function_with_the_out_command(
    calibrator: SimulatedFluke5522A,
    cal: Fluke5522A,
    call: Callable[[Fluke5522A], None],
    command: str,
    unit: str,
    amplitude: float,
    frequency: float,
) -> None:
    call(cal)
    assert command in writes(cal)
    assert (calibrator.unit, calibrator.amplitude, calibrator.frequency_hz) == (
        unit,
        amplitude,
        frequency,
    )
    assert calibrator.operate is False  # programming alone never switches the output on
    assert cal.output is not None
    assert cal.output.command == command


def test_operate_then_wait_settled_follows_the_status_register(
    calibrator: SimulatedFluke5522A, cal: Fluke5522A
) -> None:
    calibrator.settle_s = 0.15
    cal.set_voltage(50.0)
    cal.operate()
    started = time.monotonic()
    cal.wait_settled(timeout_s=ANSWER_S)
    assert time.monotonic() - started >= 0.1
    status = cal.read_status()
    assert status & ISR_OPER
    assert status & ISR_SETTLED
    assert status & ISR_REMOTE
    assert cal.is_operating()
    written = writes(cal)
    assert written.index("OPER") < written.index("*OPC?") < written.index("ISR?")
    cal.standby()
    assert not cal.is_operating()
    assert calibrator.operate is False


def test_a_slow_output_times_out_and_is_left_in_standby(
    calibrator: SimulatedFluke5522A, cal: Fluke5522A
) -> None:
    cal.set_voltage(1.0)
    cal.operate()
    calibrator.settle_s = LATE_BY_S  # still settling when the brief wait runs out
    cal.set_voltage(2.0)
    with pytest.raises(InstrumentTimeout):
        cal.wait_settled(timeout_s=BRIEF_S)
    assert _eventually(lambda: not calibrator.operate)
    assert cal.operate_requested is False


def test_the_driver_is_a_voltage_current_and_resistance_source(cal: Fluke5522A) -> None:
    for protocol in (VoltageSource, CurrentSource, ResistanceSource):
        assert isinstance(cal, protocol)
    assert not isinstance(cal, DCVoltmeter)
    with pytest.raises(OutOfRange, match="does not measure dcv"):
        measure(cal, "dcv")
    caps = Fluke5522A.capabilities
    assert caps.get(Function.DCV, Direction.SOURCE).spans[-1].maximum == 1020.0
    assert caps.get(Function.DCI, Direction.SOURCE).spans[-1].maximum == 20.5
    assert caps.get(Function.ACI, Direction.SOURCE).spans[0].minimum == 29e-6
    assert caps.get(Function.RES2W, Direction.SOURCE).spans[0].maximum == 1100e6
    assert not caps.offers(Function.DCV)  # it sources, it does not measure


# -- refusals: never clamped, and the output goes to standby -------------------------------


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda c: c.set_voltage(1020.5), "DC voltage"),
        (lambda c: c.set_voltage(-1100.0), "DC voltage"),
        (lambda c: c.set_voltage(float("nan")), "DC voltage"),
        (lambda c: c.set_voltage(0.0005, frequency_hz=1000.0), "AC voltage"),
        (lambda c: c.set_voltage(-1.0, frequency_hz=1000.0), "AC voltage"),
        (lambda c: c.set_voltage(1.0, frequency_hz=600e3), "frequency_hz"),
        (lambda c: c.set_voltage(500.0, frequency_hz=20e3), "frequency_hz"),
        (lambda c: c.set_voltage(1.0, frequency_hz=-50.0), "frequency_hz"),
        (lambda c: c.set_voltage(1.0, frequency_hz=float("inf")), "frequency_hz"),
        (lambda c: c.set_current(21.0), "DC current"),
        (lambda c: c.set_current(10e-6, frequency_hz=60.0), "AC current"),
        (lambda c: c.set_current(15.0, frequency_hz=5e3), "frequency_hz"),
        (lambda c: c.set_resistance(-1.0), "resistance"),
        (lambda c: c.set_resistance(2e9), "resistance"),
        (lambda c: c.set_voltage(True), "DC voltage"),
    ],
)
def test_it_refuses_what_the_5522a_cannot_source_and_goes_to_standby(
    calibrator: SimulatedFluke5522A,
    cal: Fluke5522A,
    call: Callable[[Fluke5522A], None],
    parameter: str,
) -> None:
    _operating(cal, calibrator)
    before = len(writes(cal))
    with pytest.raises(OutOfRange) as caught:
        call(cal)
    assert caught.value.parameter == parameter
    assert caught.value.address == cal.address
    assert isinstance(caught.value, ValueError)
    assert writes(cal)[before:] == ["STBY"]  # nothing programmed, output switched off
    assert not cal.is_operating()
    assert calibrator.amplitude == 10.0  # the refused value never reached the calibrator


def test_an_error_the_calibrator_reports_is_raised_and_leaves_standby(
    calibrator: SimulatedFluke5522A, cal: Fluke5522A
) -> None:
    _operating(cal, calibrator)
    with pytest.raises(InstrumentReportedError) as caught:
        cal.write_checked("OUT 5 PARSEC")
    assert (caught.value.code, caught.value.text) == (1300, "Bad syntax")
    cal.standby()
    assert calibrator.operate is False


def test_a_calibrator_that_drops_to_standby_on_its_own_is_reported(
    calibrator: SimulatedFluke5522A, cal: Fluke5522A
) -> None:
    _operating(cal, calibrator)
    calibrator.trip(104, "Hardware relay trip occurred")
    with pytest.raises(InstrumentReportedError) as caught:
        cal.wait_settled(timeout_s=ANSWER_S)
    assert caught.value.code == 104
    assert caught.value.last_command == "ISR?"
    assert cal.operate_requested is False
    assert calibrator.operate is False


def test_operate_without_a_programmed_output_is_refused(cal: Fluke5522A) -> None:
    with pytest.raises(DriverError, match="no output programmed"):
        cal.operate()
    assert "OPER" not in writes(cal)


def test_the_error_queue_holds_16_and_reports_overflow(
    calibrator: SimulatedFluke5522A, cal: Fluke5522A
) -> None:
    for n in range(20):
        calibrator.push_error(500 + n, f"error {n}")
    errors = cal.read_error_queue()
    assert len(errors) == 16
    assert (errors[0].code, errors[-1].code, errors[-1].text) == (500, 1, "Error queue overflow")
    assert cal.read_error_queue() == ()


# -- faults on the link --------------------------------------------------------------------

EXPECTED: dict[FaultKind, type[DriverError]] = {
    FaultKind.TIMEOUT: InstrumentTimeout,
    FaultKind.LATE: InstrumentTimeout,
    FaultKind.GARBLED: GarbledResponse,
    FaultKind.TRUNCATED: GarbledResponse,
    FaultKind.DISCONNECT: ConnectionLost,
    FaultKind.DEVICE_ERROR: InstrumentReportedError,
}

# A relay trip leaves the calibrator silent, and pyvisa-py only notices a socket the
# calibrator closed once the timeout has run out.
SCPI_SILENT = SILENT | {FaultKind.DEVICE_ERROR, FaultKind.DISCONNECT}


@over_faults(FaultKind, silent=SCPI_SILENT)
def test_each_fault_raises_its_typed_error_and_leaves_the_output_in_standby(
    calibrator: SimulatedFluke5522A,
    sim: TcpSimulator,
    cal: Fluke5522A,
    kind: FaultKind,
    late_by_s: float,
) -> None:
    _operating(cal, calibrator)
    cal.set_voltage(20.0)
    sim.inject(Fault(kind, times=1, late_by_s=late_by_s))  # hits the next ISR? answer
    with pytest.raises(EXPECTED[kind]) as caught:
        cal.wait_settled(timeout_s=ANSWER_S)
    assert caught.value.address == sim.address
    assert caught.value.last_command in {"ISR?", "ERR?"}
    assert not cal.is_operating()  # STBY reached the calibrator before this query
    assert calibrator.operate is False
    assert any(
        e.data.startswith("standby after") for e in cal.io_log if e.direction == IODirection.EVENT
    )
    # The driver recovers: the output can be programmed and operated again.
    _operating(cal, calibrator)


@times_out
def test_a_device_error_is_the_calibrators_fault_code(
    calibrator: SimulatedFluke5522A, sim: TcpSimulator, cal: Fluke5522A
) -> None:
    _operating(cal, calibrator)
    sim.inject(Fault(FaultKind.DEVICE_ERROR, times=1))
    with pytest.raises(InstrumentReportedError) as caught:
        cal.read_status()
    assert (caught.value.code, caught.value.text) == (104, "Hardware relay trip occurred")
    assert isinstance(caught.value.__cause__, InstrumentTimeout)
    assert calibrator.operate is False


# -- closing -------------------------------------------------------------------------------


def test_closing_leaves_the_output_in_standby(
    calibrator: SimulatedFluke5522A, sim: TcpSimulator, options: DriverOptions
) -> None:
    cal = Fluke5522A.open(sim.address, options)
    _operating(cal, calibrator)
    cal.close()
    cal.close()  # idempotent
    assert _eventually(lambda: not calibrator.operate)
    assert writes(cal)[-1] == "STBY"
    with pytest.raises(ConnectionLost):
        cal.read_status()


def test_closing_after_the_calibrator_went_away_does_not_raise(
    calibrator: SimulatedFluke5522A, options: DriverOptions
) -> None:
    server = TcpSimulator(calibrator).start()
    cal = Fluke5522A.open(server.address, options)
    try:
        server.stop()
        cal.close()
    finally:
        cal.close()
        server.stop()
    events = [e.data for e in cal.io_log if e.direction == IODirection.EVENT]
    assert any(e.startswith("standby closing") for e in events)


def test_the_registry_entry_starts_the_simulator(options: DriverOptions) -> None:
    entry = get("fluke-5522a")
    factory = entry.load_simulator()
    assert factory is not None
    assert entry.load_driver() is Fluke5522A
    with factory(SimulatorOptions(serial="1234567", value=1.5)) as server:
        cal = entry.load_driver().open(server.address, options)
        try:
            assert cal.identity.serial == "1234567"
        finally:
            cal.close()
