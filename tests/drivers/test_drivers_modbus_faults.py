"""Wire faults of the Modbus simulators (garbled, truncated, cut off) and how the Modbus
transport and drivers meet them: a typed error with the address and the last command,
no reading, and the next request answered afresh. Over loopback TCP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drivers.driver import DriverOptions
from drivers.errors import ConnectionLost, DriverError, GarbledResponse
from drivers.eurotherm.e3200 import Eurotherm3200
from drivers.generic.modbus_map import ModbusMapDevice, load_register_map
from drivers.iolog import IODirection
from drivers.reading import Reading
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.eurotherm_3200 import Eurotherm3200Simulator, SimulatedEurotherm3200
from drivers.simulators.modbus import ModbusSimulator
from drivers.simulators.modbus_map import ModbusMapSimulator, SimulatedMapDevice
from drivers.transports.modbus import ModbusTransport
from tests.support.driver_options import BRIEF, STEADY

SDM120 = Path(__file__).resolve().parents[2] / "drivers" / "maps" / "eastron-sdm120.yaml"

Read = Callable[[], Reading]
Bench = tuple[ModbusSimulator[Any], Read, str]


@pytest.fixture(params=["eurotherm-3200", "modbus-map"])
def bench(request: pytest.FixtureRequest, options: DriverOptions) -> Iterator[Bench]:
    """(simulator, read one value, driver address) for each Modbus simulator."""
    if request.param == "eurotherm-3200":
        bath = SimulatedEurotherm3200(temperature=30.0, setpoint=30.0, noise=0.0)
        with (
            Eurotherm3200Simulator(bath) as sim,
            Eurotherm3200.open(sim.address, options) as controller,
        ):
            yield sim, controller.read_temperature, controller.address
    else:
        meter_map = load_register_map(SDM120)
        device = SimulatedMapDevice(meter_map, dict.fromkeys(meter_map.entries, 230.0))
        with (
            ModbusMapSimulator(device) as meter_sim,
            ModbusMapDevice.open(meter_sim.address, options) as meter,
        ):
            yield meter_sim, lambda: meter.read_register("voltage"), meter.address


@pytest.mark.parametrize(
    ("kind", "error", "message", "options"),
    [
        (FaultKind.GARBLED, GarbledResponse, "garbled answer: transaction id", STEADY),
        # The rest of a truncated answer never comes: the driver gives up at its timeout.
        (FaultKind.TRUNCATED, GarbledResponse, "bytes, then silence", BRIEF),
        (FaultKind.DISCONNECT, ConnectionLost, "bytes, then the connection closed", STEADY),
    ],
    ids=["garbled", "truncated", "disconnect"],
)
def test_each_wire_fault_is_a_typed_error_and_no_reading(
    bench: Bench,
    kind: FaultKind,
    error: type[DriverError],
    message: str,
) -> None:
    sim, read, address = bench
    before = read().value
    sim.inject(Fault(kind, times=1))
    with pytest.raises(error) as caught:
        read()
    assert message in caught.value.message
    assert caught.value.address == address
    assert (caught.value.last_command or "").startswith("read ")
    assert caught.value.received  # the bytes that did come, in hex
    assert read().value == before  # a fresh answer to a fresh request


def test_a_garbled_answer_is_caught_in_each_part_of_the_frame(
    bench: Bench,
) -> None:
    sim, read, _ = bench
    problems = []
    for _ in range(3):
        sim.inject(Fault(FaultKind.GARBLED, times=1))
        with pytest.raises(GarbledResponse) as caught:
            read()
        problems.append(" ".join(caught.value.message.split()[2:4]))
    assert problems == ["transaction id", "function code", "byte count"]


def test_a_garbled_answer_is_retried_on_a_new_connection_within_the_bound() -> None:
    bath = SimulatedEurotherm3200(temperature=30.0, setpoint=30.0, noise=0.0)
    with Eurotherm3200Simulator(bath) as sim:
        with Eurotherm3200.open(sim.address, replace(STEADY, retries=1)) as bath_io:
            sim.inject(Fault(FaultKind.GARBLED, times=1))
            assert bath_io.read_temperature().value == 30.0
            events = [e.data for e in bath_io.io_log if e.direction == IODirection.EVENT]
            assert any(e.startswith("garbled answer: ") for e in events)
            assert any(e.startswith("retry 1/1 after: garbled answer") for e in events)
            assert events.count("open") == 2  # the retry went over a new connection
        # Truncated answers end in silence: the brief timeout, on a connection of its own.
        with Eurotherm3200.open(sim.address, replace(BRIEF, retries=1)) as bath_io:
            sim.inject(Fault(FaultKind.TRUNCATED, times=2))
            with pytest.raises(GarbledResponse):
                bath_io.read_temperature()  # two attempts, two truncated answers
            assert bath_io.read_temperature().value == 30.0


def test_a_persistent_wire_fault_hits_only_readings_when_aimed_at_them() -> None:
    bath = SimulatedEurotherm3200(temperature=30.0, setpoint=30.0, noise=0.0)
    with Eurotherm3200Simulator(bath) as sim:
        sim.inject(Fault(FaultKind.DISCONNECT))
        with Eurotherm3200.open(sim.address, STEADY) as controller:  # range reads pass
            assert controller.read_working_setpoint() == 30.0
            with pytest.raises(ConnectionLost):
                controller.read_temperature()
            sim.clear_faults()
            assert controller.read_temperature().value == 30.0


class _OneAnswer:
    """A raw TCP 'device' that answers the first request with ``damage(answer)``."""

    def __init__(self, damage: Callable[[bytes], bytes]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._damage = damage
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            request = connection.recv(260)
            answer = request[:4] + b"\x00\x05" + request[6:8] + b"\x02\x00\x07"
            connection.sendall(self._damage(answer))
            connection.recv(260)  # until the client hangs up

    def close(self) -> None:
        self._thread.join(timeout=5)
        self._listener.close()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda a: a[:2] + b"\x00\x09" + a[4:], "protocol id 9, expected 0"),
        (lambda a: a[:6] + b"\x07" + a[7:], "unit id 7, expected 1"),
        (lambda a: a[:4] + b"\x00\xff" + a[6:], "MBAP length 255, outside 3..254"),
        (lambda a: a[:4] + b"\x00\x04" + a[6:], "MBAP length 4, expected 5"),
        (lambda a: a + b"\x00", "1 bytes after the end of the answer"),
        (lambda a: a[:7] + b"\x83\x02", "MBAP length 5, expected 3"),
    ],
)
def test_the_transport_checks_every_field_of_a_tcp_answer(
    damage: Callable[[bytes], bytes], problem: str
) -> None:
    device = _OneAnswer(damage)
    link = ModbusTransport(
        f"modbus-tcp://127.0.0.1:{device.port}?unit=1",
        settings=STEADY.transport_settings(),
    )
    try:
        with pytest.raises(GarbledResponse) as caught:
            link.read_holding_registers(1)
    finally:
        link.close()
        device.close()
    assert caught.value.message == f"garbled answer: {problem}"
    assert caught.value.last_command == "read holding registers 1 x1 (unit 1)"
