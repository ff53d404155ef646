"""Every fault gives its typed error and no reading; the driver recovers and resynchronises.

The driver talks to the simulator over a real loopback TCP socket through pyvisa-py.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from drivers.driver import DriverOptions
from drivers.errors import (
    AddressError,
    ConnectionLost,
    DriverError,
    GarbledResponse,
    InstrumentReportedError,
    InstrumentTimeout,
)
from drivers.iolog import IODirection
from drivers.keysight.k34465a import Keysight34465A
from drivers.reading import Reading
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import SILENT, over_faults, times_out

EXPECTED: dict[FaultKind, tuple[type[DriverError], type[Exception]]] = {
    FaultKind.TIMEOUT: (InstrumentTimeout, TimeoutError),
    FaultKind.LATE: (InstrumentTimeout, TimeoutError),
    FaultKind.GARBLED: (GarbledResponse, ValueError),
    FaultKind.TRUNCATED: (GarbledResponse, ValueError),
    FaultKind.DISCONNECT: (ConnectionLost, ConnectionError),
    FaultKind.DEVICE_ERROR: (InstrumentReportedError, DriverError),
}

# The meter reports a device error by queuing it and saying nothing, and pyvisa-py only
# notices a socket the meter closed once the timeout has run out.
SCPI_SILENT = SILENT | {FaultKind.DEVICE_ERROR, FaultKind.DISCONNECT}


def _reads(driver: Keysight34465A) -> list[str]:
    return [e.data for e in driver.io_log if e.direction == IODirection.READ]


@over_faults(FaultKind, silent=SCPI_SILENT)
def test_each_fault_raises_its_typed_error_with_address_and_command_and_no_reading(
    sim: TcpSimulator, dmm: Keysight34465A, kind: FaultKind, late_by_s: float
) -> None:
    dmm.configure("dcv", range=10.0)
    sim.inject(Fault(kind, times=1, late_by_s=late_by_s))
    error_type, builtin = EXPECTED[kind]
    result: Reading | None = None
    with pytest.raises(error_type) as caught:
        result = dmm.read()
    assert result is None
    assert isinstance(caught.value, builtin)
    assert caught.value.address == sim.address
    assert caught.value.last_command == "READ?"
    assert sim.address in str(caught.value)
    # The driver recovers: the next reading is a real one, of the right value.
    assert dmm.read().value == pytest.approx(5.0, abs=1e-4)


@times_out
def test_a_device_error_reports_the_instruments_code_and_text(
    sim: TcpSimulator, dmm: Keysight34465A
) -> None:
    dmm.configure("dcv")
    sim.inject(Fault(FaultKind.DEVICE_ERROR, times=1))
    with pytest.raises(InstrumentReportedError) as caught:
        dmm.read()
    assert caught.value.code == -230
    assert caught.value.text == "Data corrupt or stale"
    assert isinstance(caught.value.__cause__, InstrumentTimeout)


@times_out
def test_a_late_answer_is_discarded_and_the_next_query_gets_its_own_answer(
    sim: TcpSimulator, meter: SimulatedKeysight344xxA, dmm: Keysight34465A, late_by_s: float
) -> None:
    meter.set_input("VOLT", 1.0, noise=0.0)
    dmm.configure("dcv", range=10.0)
    sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=late_by_s))
    with pytest.raises(InstrumentTimeout):
        dmm.read()  # its answer, 1 V, is still on its way
    meter.set_input("VOLT", 2.0, noise=0.0)
    assert dmm.read().value == 2.0
    assert dmm.read().value == 2.0
    stale = [e.data for e in dmm.io_log if e.direction == IODirection.STALE]
    assert stale == ["+1.00000000E+00"]
    assert "+1.00000000E+00" not in _reads(dmm)


@times_out
def test_a_late_answer_to_a_non_measurement_query_is_discarded_too(
    sim: TcpSimulator, dmm: Keysight34465A, late_by_s: float
) -> None:
    sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=late_by_s, target="any"))
    with pytest.raises(InstrumentTimeout):
        dmm.read_identity()
    assert dmm.read_error_queue() == ()
    assert dmm.read_identity().model == "34465A"


@times_out
def test_resync_waits_out_an_answer_later_than_the_next_timeout(
    sim: TcpSimulator, meter: SimulatedKeysight344xxA, dmm: Keysight34465A, late_by_s: float
) -> None:
    meter.set_input("VOLT", 1.0, noise=0.0)
    dmm.configure("dcv", range=10.0)
    assert late_by_s > 2 * dmm.transport.settings.timeout_s  # later than the next timeout too
    sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=late_by_s))
    with pytest.raises(InstrumentTimeout):
        dmm.read()
    meter.set_input("VOLT", 3.0, noise=0.0)
    assert dmm.read().value == 3.0  # not the 1 V answer that came meanwhile
    stale = [e.data for e in dmm.io_log if e.direction == IODirection.STALE]
    assert stale == ["+1.00000000E+00"]


@times_out
def test_a_bounded_retry_recovers_from_one_timeout(
    sim: TcpSimulator, options: DriverOptions
) -> None:
    sim.inject(Fault(FaultKind.TIMEOUT, times=1))
    with Keysight34465A.open(sim.address, replace(options, retries=1)) as dmm:
        reading = dmm.measure_dc_voltage(range=10.0)
        events = [e.data for e in dmm.io_log if e.direction == IODirection.EVENT]
    assert reading.value == pytest.approx(5.0, abs=1e-4)
    assert any(e.startswith("retry 1/1") for e in events)


def test_retries_are_bounded_and_the_last_error_is_raised(
    sim: TcpSimulator, options: DriverOptions
) -> None:
    with Keysight34465A.open(sim.address, replace(options, retries=2)) as dmm:
        dmm.configure("dcv")
        sim.inject(Fault(FaultKind.GARBLED))
        with pytest.raises(GarbledResponse):
            dmm.read()
        writes = [e.data for e in dmm.io_log if e.direction == IODirection.WRITE]
    assert writes.count("READ?") == 3


@times_out  # pyvisa-py waits out the timeout before it sees the socket closed
def test_after_a_lost_connection_the_driver_reconnects_on_the_next_query(
    sim: TcpSimulator, dmm: Keysight34465A
) -> None:
    dmm.configure("dcv", range=10.0)
    sim.inject(Fault(FaultKind.DISCONNECT, times=1))
    with pytest.raises(ConnectionLost):
        dmm.read()
    assert dmm.read().value == pytest.approx(5.0, abs=1e-4)
    assert "reopened: stale input dropped with the old connection" in [
        e.data for e in dmm.io_log if e.direction == IODirection.EVENT
    ]


@times_out  # pyvisa-py waits out the timeout before it sees the socket closed
def test_a_simulator_that_goes_away_gives_connection_lost(
    meter: SimulatedKeysight344xxA, options: DriverOptions
) -> None:
    server = TcpSimulator(meter).start()
    dmm = Keysight34465A.open(server.address, options)
    try:
        dmm.configure("dcv")
        server.stop()
        with pytest.raises(ConnectionLost) as caught:
            dmm.read()
        assert caught.value.address == server.address
    finally:
        dmm.close()
        server.stop()


def test_a_dead_address_fails_at_once_with_connection_lost(options: DriverOptions) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"TCPIP::127.0.0.1::{port}::SOCKET"
    started = time.monotonic()
    with pytest.raises(ConnectionLost) as caught:
        Keysight34465A.open(address, options)
    assert time.monotonic() - started < options.open_timeout_s  # refused, not waited out
    assert caught.value.address == address


def test_a_malformed_address_is_refused_before_any_io(options: DriverOptions) -> None:
    with pytest.raises(AddressError) as caught:
        Keysight34465A.open("TCPIP::::SOCKET", options)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(AddressError):
        Keysight34465A.open("modbus-tcp://127.0.0.1:502?unit=1", options)


def test_a_closed_driver_refuses_to_talk(dmm: Keysight34465A) -> None:
    dmm.close()
    dmm.close()  # idempotent
    with pytest.raises(ConnectionLost, match="closed"):
        dmm.read_identity()


@times_out
def test_a_timeout_is_logged_as_evidence(sim: TcpSimulator, dmm: Keysight34465A) -> None:
    dmm.configure("dcv")
    sim.inject(Fault(FaultKind.TIMEOUT, times=1))
    with pytest.raises(InstrumentTimeout):
        dmm.read()
    dmm.read()
    events = [e.data for e in dmm.io_log if e.direction == IODirection.EVENT]
    assert any(e.startswith("timeout after") for e in events)
    assert "resync: done" in events


def test_two_meters_with_the_same_seed_read_the_same_values(options: DriverOptions) -> None:
    def series(seed: int) -> list[float]:
        meter = SimulatedKeysight344xxA(value=1.0, noise=1e-3, seed=seed)
        with TcpSimulator(meter) as server, Keysight34465A.open(server.address, options) as dmm:
            return [dmm.measure_dc_voltage(range=10.0).value for _ in range(5)]

    first, again, other = series(7), series(7), series(8)
    assert first == again
    assert first != other
    assert len(set(first)) > 1
