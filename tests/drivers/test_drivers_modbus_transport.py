"""The Modbus transport (pymodbus wrapped) against a pymodbus server on loopback TCP."""

from __future__ import annotations

import gc
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace

import pytest

from drivers.errors import AddressError, ConnectionLost, InstrumentTimeout, ModbusExceptionResponse
from drivers.iolog import IODirection
from drivers.transports.modbus import (
    ModbusAddress,
    ModbusTransport,
    RegisterServer,
    parse_modbus_address,
)
from tests.support.driver_options import ANSWER_S, BRIEF, LATE_BY_S, STEADY

SETTINGS = STEADY.transport_settings()
BRIEF_SETTINGS = BRIEF.transport_settings()


class Registers:
    """A device with 100 holding registers (value = address) and input = address + 1000."""

    def __init__(self) -> None:
        self.holding = list(range(100))
        self.delays: list[float | None] = []  # one per coming request
        self.lock = threading.Lock()

    def read(self, function: int, address: int, count: int) -> list[int] | int:
        if address + count > 100:
            return 2
        if function == 4:
            return [1000 + a for a in range(address, address + count)]
        return self.holding[address : address + count]

    def write(self, address: int, values: list[int]) -> int | None:
        if address + len(values) > 100:
            return 2
        if address == 99:
            return 3
        self.holding[address : address + len(values)] = values
        return None

    def delay_s(self, function: int, address: int) -> float | None:
        with self.lock:
            return self.delays.pop(0) if self.delays else 0.0


@pytest.fixture
def device() -> Registers:
    return Registers()


@pytest.fixture
def server(device: Registers) -> Iterator[RegisterServer]:
    with RegisterServer(device) as running:
        yield running


@pytest.fixture
def link(server: RegisterServer) -> Iterator[ModbusTransport]:
    transport = ModbusTransport(server.address, settings=SETTINGS)
    try:
        yield transport
    finally:
        transport.close()


def test_tcp_and_rtu_addresses_are_parsed() -> None:
    assert parse_modbus_address("modbus-tcp://10.0.0.7:1502?unit=3") == ModbusAddress(
        "tcp", unit=3, host="10.0.0.7", port=1502
    )
    assert parse_modbus_address("modbus-tcp://meter.lab").port == 502
    rtu = parse_modbus_address("modbus-rtu:///dev/ttyUSB0?baudrate=9600&parity=E&unit=17")
    assert (rtu.kind, rtu.device, rtu.baudrate, rtu.parity, rtu.unit) == (
        "rtu", "/dev/ttyUSB0", 9600, "E", 17,
    )  # fmt: skip


@pytest.mark.parametrize(
    "address",
    [
        "modbus-tcp://host:502?unit=1&timeout=3",  # unknown option
        "modbus-tcp://host:502?slave=1",  # the old pymodbus name is not ours
        "modbus-tcp://host:502?unit=256",
        "modbus-tcp://host:502?unit=one",
        "modbus-tcp://host:502?unit=1&unit=2",
        "modbus-tcp://:502?unit=1",
        "modbus-tcp://host:99999",
        "modbus-tcp://host/path",
        "modbus-rtu:///dev/ttyUSB0?parity=X",
        "modbus-rtu:///dev/ttyUSB0?unit=0",  # broadcast: no answer to read
        "modbus-rtu:///dev/ttyUSB0?baudrate=fast",
        "modbus-rtu:///dev/ttyUSB0?stopbits=1.5",
        "modbus-rtu:///dev/ttyUSB0?host=x",
        "modbus-rtu://",
        "tcp://host:502",
    ],
)
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_modbus_address(address)
    assert caught.value.address == address


def test_it_reads_and_writes_registers_and_logs_the_pdus_in_hex(
    link: ModbusTransport, device: Registers
) -> None:
    assert link.read_holding_registers(10, 3) == (10, 11, 12)
    assert link.read_input_registers(0, 2) == (1000, 1001)
    link.write_registers(20, [7, 65535])
    link.write_register(30, 4)
    assert device.holding[20:22] == [7, 65535]
    assert device.holding[30] == 4
    writes = [e.data for e in link.io_log if e.direction == IODirection.WRITE]
    reads = [e.data for e in link.io_log if e.direction == IODirection.READ]
    assert writes[0] == "03 00 0a 00 03"
    assert reads[0] == "03 06 00 0a 00 0b 00 0c"
    assert writes[2] == "10 00 14 00 02 04 00 07 ff ff"
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        link.write_register(1, 70000)


@pytest.mark.parametrize(("call", "code"), [("read", 2), ("write", 3)])
def test_an_exception_response_raises_with_its_code(
    link: ModbusTransport, server: RegisterServer, call: str, code: int
) -> None:
    def request() -> None:
        if call == "read":
            link.read_holding_registers(98, 5)
        else:
            link.write_register(99, 1)

    with pytest.raises(ModbusExceptionResponse) as caught:
        request()
    assert caught.value.exception_code == code
    assert caught.value.address == server.address
    assert caught.value.last_command is not None
    assert caught.value.last_command.startswith(call)
    assert [e.data for e in link.io_log][-1] == ("83 02" if call == "read" else "86 03")


def test_a_timeout_is_typed_and_a_late_answer_never_answers_the_next_request(
    server: RegisterServer, device: Registers
) -> None:
    device.delays = [LATE_BY_S]  # answers after the client gave up
    with ModbusTransport(server.address, settings=BRIEF_SETTINGS) as link:
        with pytest.raises(InstrumentTimeout) as caught:
            link.read_holding_registers(1)
        assert caught.value.last_command == "read holding registers 1 x1 (unit 1)"
        assert link.read_holding_registers(5) == (5,)  # not the late (1,)
        assert link.read_holding_registers(6) == (6,)


def test_a_bounded_retry_recovers_from_one_silent_request(
    server: RegisterServer, device: Registers
) -> None:
    device.delays = [None]
    with ModbusTransport(server.address, settings=replace(BRIEF_SETTINGS, retries=1)) as link:
        assert link.read_input_registers(3) == (1003,)
        events = [e.data for e in link.io_log if e.direction == IODirection.EVENT]
        assert any(e.startswith("retry 1/1") for e in events)
        device.delays = [None, None]
        with pytest.raises(InstrumentTimeout):
            link.read_input_registers(3)


def test_a_device_that_went_away_is_a_lost_connection(device: Registers) -> None:
    server = RegisterServer(device).start()
    link = ModbusTransport(server.address, settings=SETTINGS)
    try:
        assert link.read_holding_registers(0) == (0,)
        server.stop()
        with pytest.raises(ConnectionLost) as caught:
            link.read_holding_registers(0)
        assert caught.value.address == server.address
        assert caught.value.last_command == "read holding registers 0 x1 (unit 1)"
    finally:
        link.close()
        server.stop()


def test_it_closes_a_connection_that_never_sent_a_request_when_stopping(device: Registers) -> None:
    # The accept of a client that sent nothing may still be in flight when stop() runs;
    # its socket used to be left open (a ResourceWarning at collection).
    for _ in range(10):
        server = RegisterServer(device).start()
        link = ModbusTransport(server.address, settings=SETTINGS)
        link.open()  # connected, nothing sent
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                server.stop()
                link.close()
                gc.collect()
            raw.settimeout(ANSWER_S)
            assert raw.recv(1) == b""  # the server closed its end
        assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
