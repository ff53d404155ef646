"""Transports on their own: serial addresses, the serial transport on a pseudo-terminal,
VISA over a serial resource, the drain-only resynchronisation."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from drivers.errors import AddressError, ConnectionLost, GarbledResponse, InstrumentTimeout
from drivers.iolog import IODirection
from drivers.keysight.k34465a import Keysight34465A
from drivers.scpi import scpi_sync_marker
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator
from drivers.transports import is_serial_address, open_message_transport
from drivers.transports.base import TransportSettings
from drivers.transports.serial import SerialSettings, SerialTransport, parse_serial_address
from drivers.transports.visa import VisaTransport
from tests.support.driver_options import BRIEF_S, LATE_BY_S, STEADY

if TYPE_CHECKING:
    from drivers.simulators.pty import PtySimulator

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

SETTINGS = STEADY.transport_settings()


def test_a_device_path_opens_at_9600_8n1() -> None:
    assert parse_serial_address("/dev/ttyUSB0") == SerialSettings(port="/dev/ttyUSB0")
    assert parse_serial_address("COM3").port == "COM3"


def test_a_serial_url_carries_the_line_settings() -> None:
    line = parse_serial_address(
        "serial:///dev/ttyUSB0?baudrate=19200&bytesize=7&parity=e&stopbits=2&rtscts=1"
    )
    assert line == SerialSettings(
        port="/dev/ttyUSB0", baudrate=19200, bytesize=7, parity="E", stopbits="2", rtscts=True
    )
    assert parse_serial_address("serial://COM4?baudrate=9600").port == "COM4"


@pytest.mark.parametrize(
    "address",
    [
        "serial:///dev/ttyUSB0?baud=9600",  # unknown option: refused, not ignored
        "serial:///dev/ttyUSB0?baudrate=fast",
        "serial:///dev/ttyUSB0?baudrate=0",
        "serial:///dev/ttyUSB0?bytesize=9",
        "serial:///dev/ttyUSB0?parity=X",
        "serial:///dev/ttyUSB0?stopbits=3",
        "serial:///dev/ttyUSB0?xonxoff=yes",
        "serial:///dev/ttyUSB0?baudrate=9600&baudrate=19200",
        "serial:///dev/ttyUSB0?baudrate",
        "serial://?baudrate=9600",
        "",
    ],
)
def test_a_malformed_serial_address_is_refused(address: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_serial_address(address)
    assert caught.value.address == address


def test_addresses_go_to_the_right_transport() -> None:
    assert is_serial_address("/dev/ttyS0")
    assert is_serial_address("serial:///dev/ttyS0?baudrate=9600")
    assert not is_serial_address("ASRL/dev/ttyS0::INSTR")
    assert not is_serial_address("TCPIP::10.0.0.5::5025::SOCKET")
    with pytest.raises(AddressError):
        open_message_transport("modbus-tcp://10.0.0.5:502?unit=1")
    with pytest.raises(AddressError):
        VisaTransport("TCPIP::::SOCKET")


@pytest.fixture
def pty_meter() -> Iterator[tuple[SimulatedKeysight344xxA, PtySimulator]]:
    from drivers.simulators.pty import PtySimulator

    meter = SimulatedKeysight344xxA(value=2.0, noise=0.0)
    with PtySimulator(meter) as sim:
        yield meter, sim


@posix_only
def test_the_serial_transport_queries_over_a_pseudo_terminal(
    pty_meter: tuple[SimulatedKeysight344xxA, PtySimulator],
) -> None:
    _, sim = pty_meter
    address = f"serial://{sim.address}?baudrate=115200"
    with SerialTransport(
        address,
        settings=SETTINGS,
        sync_marker=scpi_sync_marker,
        write_termination="\n",
        read_termination="\n",
    ) as link:
        assert link.query("*IDN?").startswith("Keysight Technologies,34465A")
        link.write("CONF:VOLT:DC 10")
        assert link.query("READ?") == "+2.00000000E+00"
        assert link.line_settings.baudrate == 115200


@posix_only
def test_the_serial_transport_resynchronises_after_a_late_answer(
    pty_meter: tuple[SimulatedKeysight344xxA, PtySimulator],
) -> None:
    meter, sim = pty_meter
    link = SerialTransport(
        sim.address,
        settings=SETTINGS,
        sync_marker=scpi_sync_marker,
        write_termination="\n",
        read_termination="\n",
    )
    try:
        link.write("CONF:VOLT:DC 10")
        sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=LATE_BY_S))
        with pytest.raises(InstrumentTimeout) as caught:
            link.query("READ?", timeout_s=BRIEF_S)
        assert caught.value.last_command == "READ?"
        meter.set_input("VOLT", 7.0)
        assert link.query("READ?") == "+7.00000000E+00"
        assert [e.data for e in link.io_log if e.direction == IODirection.STALE] == [
            "+2.00000000E+00"
        ]
    finally:
        link.close()


@posix_only
def test_the_serial_transport_reports_garbage_and_a_port_that_is_gone(
    pty_meter: tuple[SimulatedKeysight344xxA, PtySimulator],
) -> None:
    _, sim = pty_meter
    link = SerialTransport(
        sim.address,
        settings=SETTINGS,
        sync_marker=scpi_sync_marker,
        write_termination="\n",
        read_termination="\n",
    )
    try:
        link.write("CONF:VOLT:DC 10")
        sim.inject(Fault(FaultKind.GARBLED, times=1))
        with pytest.raises(GarbledResponse):
            link.query("READ?")
        assert link.query("READ?") == "+2.00000000E+00"
    finally:
        link.close()
    with pytest.raises(ConnectionLost):
        SerialTransport("/dev/caltrace-no-such-port", settings=SETTINGS).open()


@posix_only
def test_the_driver_works_over_visa_serial_too(
    pty_meter: tuple[SimulatedKeysight344xxA, PtySimulator],
) -> None:
    _, sim = pty_meter
    with Keysight34465A.open(f"ASRL{sim.address}::INSTR", STEADY) as dmm:
        assert dmm.measure_dc_voltage(range=10.0).value == 2.0


def test_without_a_marker_the_transport_drains_until_quiet(
    sim: TcpSimulator, meter: SimulatedKeysight344xxA
) -> None:
    # No sync marker: drain until the line has been quiet for quiet_s. The late answer
    # comes 0.3 s after the query gave up and 0.3 s before the quiet window closes, so a
    # slow machine has room on either side.
    timeout_s, late_by_s, quiet_s = 0.1, 0.4, 0.6
    link = VisaTransport(sim.address, settings=replace(SETTINGS, quiet_s=quiet_s))
    try:
        link.open()
        link.write("CONF:VOLT:DC 10")
        meter.set_input("VOLT", 1.0, noise=0.0)
        sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=late_by_s))
        with pytest.raises(InstrumentTimeout):
            link.query("READ?", timeout_s=timeout_s)
        meter.set_input("VOLT", 4.0, noise=0.0)
        link.resync()
        assert link.query("READ?") == "+4.00000000E+00"
        stale = [e.data for e in link.io_log if e.direction == IODirection.STALE]
        assert stale == ["+1.00000000E+00"]
    finally:
        link.close()
    # Draining only catches an answer that comes within the quiet window: the marker is
    # the robust way, which is why every SCPI driver installs one.


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        TransportSettings(timeout_s=0)
    with pytest.raises(ValueError, match="retries"):
        TransportSettings(retries=-1)
    assert TransportSettings(timeout_s=0.1).effective_resync_timeout_s == 0.5
    assert TransportSettings(timeout_s=2.0).effective_resync_timeout_s == 4.0


def test_closing_one_visa_instrument_leaves_the_others_open() -> None:
    """PyVISA shares one ResourceManager per library: closing a driver must close only its
    own session (a bench has a calibrator and a multimeter open at once)."""
    from drivers.keysight.k34465a import Keysight34465A
    from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
    from drivers.simulators.tcp import TcpSimulator

    with (
        TcpSimulator(SimulatedKeysight344xxA(value=1.0)) as first_sim,
        TcpSimulator(SimulatedKeysight344xxA(value=2.0, serial="MY2")) as second_sim,
    ):
        first = Keysight34465A.open(first_sim.address, STEADY)
        second = Keysight34465A.open(second_sim.address, STEADY)
        first.close()
        try:
            assert second.measure_dc_voltage(range=10).value == pytest.approx(2.0, abs=1e-3)
        finally:
            second.close()
