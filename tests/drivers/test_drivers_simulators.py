"""The SCPI simulator base and the TCP carrier, spoken to over a raw socket."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from drivers.simulators.base import Fault, FaultKind, FaultPlan, Reply
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.scpi import compile_header
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import ANSWER_S


class Line:
    """A raw line-oriented client: what the instrument sees, byte for byte."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_S)
        self.file = self.sock.makefile("rb")

    def ask(self, message: str) -> str:
        self.sock.sendall(message.encode() + b"\n")
        return self.file.readline().decode().rstrip("\n")

    def send(self, message: str) -> None:
        """Send without an answer, then wait until the instrument has processed it."""
        self.sock.sendall(message.encode() + b"\n")
        assert self.ask("*OPC?") == "1"

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def line(sim: TcpSimulator) -> Iterator[Line]:
    client = Line(sim.port)
    try:
        yield client
    finally:
        client.close()


def test_headers_match_short_and_long_forms_in_any_case() -> None:
    pattern = compile_header("[SENSe:]VOLTage[:DC]:NPLCycles")
    for header in ("VOLT:NPLC", "SENS:VOLT:DC:NPLC", "SENSE:VOLTAGE:DC:NPLCYCLES", "VOLT:DC:NPLC"):
        assert pattern.fullmatch(header), header
    for header in ("VOL:NPLC", "VOLTA:NPLC", "VOLT:AC:NPLC", "SENS:VOLT:DC"):
        assert not pattern.fullmatch(header), header


def test_the_simulator_answers_the_common_commands(line: Line) -> None:
    assert line.ask("*IDN?") == "Keysight Technologies,34465A,MY54500001," + (
        "A.02.14-02.40-02.14-00.49-03-01"
    )
    assert line.ask("*opc?") == "1"
    assert line.ask("*ESE 37;*ESE?;*ESE 0") == "+37"
    assert line.ask("*ESE?") == "+0"
    assert line.ask("SYST:ERR?") == '+0,"No error"'


def test_compound_messages_follow_the_scpi_path_rules(
    line: Line, meter: SimulatedKeysight344xxA
) -> None:
    line.send("CONF:VOLT:DC 10;:SENS:VOLT:DC:NPLC 100;RANG 100")
    assert meter.sense_nplc("VOLT") == 100.0
    assert meter.sense_range("VOLT") == (100.0, False)
    assert line.ask("SENS:VOLT:DC:NPLC?;RANG?") == "+1.00000000E+02;+1.00000000E+02"
    assert line.ask("syst:err?") == '+0,"No error"'


def test_bad_commands_queue_real_scpi_error_numbers(line: Line) -> None:
    line.send("FOO:BAR")
    line.send("VOLT:DC:NPLC")
    line.send("VOLT:DC:NPLC 1000")
    line.send("VOLT:DC:NPLC fast")
    line.send("*CLS 3")
    answers = [line.ask("SYST:ERR?") for _ in range(6)]
    assert answers == [
        '-113,"Undefined header"',
        '-109,"Missing parameter"',
        '-222,"Data out of range"',
        '-224,"Illegal parameter value"',
        '-108,"Parameter not allowed"',
        '+0,"No error"',
    ]


def test_a_range_between_two_is_rounded_up_by_the_instrument_itself(
    line: Line, meter: SimulatedKeysight344xxA
) -> None:
    line.send("CONF:VOLT:DC 5")
    assert meter.sense_range("VOLT") == (10.0, False)
    assert line.ask("CONF?") == '"VOLT +1.00000000E+01,+1.00000000E-06"'


def test_readings_follow_the_instrument_format_and_trigger_count(
    line: Line, meter: SimulatedKeysight344xxA
) -> None:
    meter.set_input("VOLT", 0.123456789, noise=0.0)
    line.send("CONF:VOLT:DC 1;:TRIG:COUN 3")
    assert line.ask("READ?") == ",".join(["+1.23456800E-01"] * 3)
    assert line.ask("MEAS:VOLT:DC? 0.1") == "+9.90000000E+37"
    assert line.ask("FETC?") == "+9.90000000E+37"


def test_persistent_and_counted_faults(sim: TcpSimulator, line: Line) -> None:
    line.send("CONF:VOLT:DC 10")
    sim.inject(Fault(FaultKind.TRUNCATED, times=2))
    first, second, third = (line.ask("READ?") for _ in range(3))
    assert len(first) < len("+5.00000000E+00")
    assert len(second) < len("+5.00000000E+00")
    assert third.endswith("E+00")
    assert len(third) == len("+5.00000000E+00")
    sim.inject(Fault(FaultKind.GARBLED))
    for _ in range(2):
        line.sock.sendall(b"READ?\n")
        raw = line.file.readline()
        assert any(b > 0x7F for b in raw)
    assert line.ask("*IDN?").startswith("Keysight")  # faults hit readings only
    sim.clear_faults()
    assert line.ask("READ?").endswith("E+00")


def test_a_fault_plan_targets_measurements_unless_told_otherwise() -> None:
    plan = FaultPlan(Fault(FaultKind.TIMEOUT, times=1))
    assert plan.take(Reply("Keysight,...")) is None
    assert plan.take(Reply(None, measurement=True)) is None
    assert plan.take(Reply("+1.0E+00", measurement=True)) is not None
    assert not plan
    plan.arm(Fault(FaultKind.LATE, target="any"))
    assert plan.take(Reply("anything")) is not None
    assert plan.take(Reply("anything")) is not None
    with pytest.raises(ValueError, match="times"):
        Fault(FaultKind.LATE, times=0)


def test_the_disconnect_fault_closes_mid_answer(sim: TcpSimulator, line: Line) -> None:
    line.send("CONF:VOLT:DC 10")
    sim.inject(Fault(FaultKind.DISCONNECT, times=1))
    line.sock.sendall(b"READ?\n")
    partial = line.file.read()  # until the simulator closes
    assert partial
    assert not partial.endswith(b"\n")
    other = Line(sim.port)  # the instrument still listens
    try:
        assert other.ask("*OPC?") == "1"
    finally:
        other.close()


def test_stopping_the_server_releases_the_port_and_its_clients(
    meter: SimulatedKeysight344xxA,
) -> None:
    server = TcpSimulator(meter).start()
    client = Line(server.port)
    try:
        assert client.ask("*OPC?") == "1"
        server.stop()
        server.stop()  # idempotent
        assert client.file.read() == b""
    finally:
        client.close()
    with pytest.raises(ConnectionRefusedError):
        Line(server.port).close()


def test_with_timing_a_reading_takes_its_integration_time() -> None:
    # 34465A data sheet: NPLC counts power-line cycles of integration per reading;
    # at 1 PLC on 50 Hz mains a reading integrates for 20 ms.
    meter = SimulatedKeysight344xxA(value=1.0, timing=True, line_frequency_hz=50.0)
    meter.handle("VOLT:DC:NPLC 1")
    meter.handle("TRIG:COUN 3")
    start = time.monotonic()
    reply = meter.handle("READ?")
    elapsed = time.monotonic() - start
    assert reply.text is not None
    assert len(reply.text.split(",")) == 3
    assert elapsed >= 3 * 0.020

    # Without timing it does not integrate: at 100 PLC that alone would take 6 s.
    meter.timing = False
    meter.handle("VOLT:DC:NPLC 100")
    start = time.monotonic()
    meter.handle("READ?")
    assert time.monotonic() - start < 3 * 100 * 0.020


def test_a_line_frequency_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="line frequency"):
        SimulatedKeysight344xxA(line_frequency_hz=0.0)
