"""Modbus through pymodbus: the only module of caltrace that imports pymodbus.

pymodbus changes its API between releases (``slave=`` became ``device_id=``, the server
datastore is being replaced), so every call to it lives here, behind two small
interfaces: :class:`ModbusTransport` (the client drivers use) and :class:`RegisterServer`
(the loopback server the simulators use). Written against pymodbus 3.16.

Addresses, parsed strictly (:func:`parse_modbus_address`; an unknown or malformed option
raises :class:`~drivers.errors.AddressError`)::

    modbus-tcp://HOST[:PORT]?unit=1                      (port 502 by default)
    modbus-rtu:///dev/ttyUSB0?baudrate=19200&parity=E&unit=1

TCP options: ``unit`` (0-255). RTU options: ``unit`` (1-247), ``baudrate``, ``bytesize``
(7, 8), ``parity`` (N, E, O), ``stopbits`` (1, 2). ``unit`` defaults to 1.

What the transport guarantees, like the line transports:

* every request and response PDU (function code and data, no MBAP header or CRC) is
  logged in hex in the :class:`~drivers.iolog.IOLog`;
* an exception response raises :class:`~drivers.errors.ModbusExceptionResponse` with its
  code (never retried: the device answered);
* every Modbus TCP answer is checked against its request as it arrives (transaction id,
  protocol id, length, unit, function code, byte count, nothing after the end): a
  garbled answer raises :class:`~drivers.errors.GarbledResponse` at once with its bytes
  in hex, where pymodbus alone would drop it silently and wait for the timeout;
* no answer raises :class:`~drivers.errors.InstrumentTimeout`; part of an answer then
  silence :class:`~drivers.errors.GarbledResponse` (truncated); a refused or broken
  connection :class:`~drivers.errors.ConnectionLost` (with the bytes received, when it
  closed mid-answer). All of these are retried up to ``settings.retries`` times, each
  time on a **new connection**, so that a late or garbled answer to an abandoned request
  can never be taken for the answer to the next one;
* pymodbus' own retries are off: the retries are ours, bounded and logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, Self
from urllib.parse import urlsplit

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.errors import (
    AddressError,
    ConnectionLost,
    DriverError,
    GarbledResponse,
    InstrumentTimeout,
    ModbusExceptionResponse,
)
from drivers.iolog import IOLog
from drivers.transports.background import BackgroundLoop, stop_accepting
from drivers.transports.base import TransportSettings, parse_address_options, with_retries

__all__ = [
    "EXCEPTION_NAMES",
    "ModbusAddress",
    "ModbusTransport",
    "RegisterModel",
    "RegisterServer",
    "is_modbus_address",
    "parse_modbus_address",
]


# pymodbus logs every failed request at ERROR level; with no logging configured Python
# prints that to standard error. Our typed errors carry the same facts, so the library
# stays quiet unless the application configures logging.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
"""Modbus exception codes (Modbus Application Protocol V1.1b3, §7)."""

_TCP_OPTIONS = frozenset({"unit"})
_RTU_OPTIONS = frozenset({"unit", "baudrate", "bytesize", "parity", "stopbits"})


@dataclass(frozen=True, slots=True)
class ModbusAddress:
    """A parsed Modbus address: ``kind`` ``tcp`` (``host``, ``port``) or ``rtu``
    (``device`` and the line settings, ``baudrate`` in bit/s); ``unit`` is the device id."""

    kind: Literal["tcp", "rtu"]
    unit: int = 1
    host: str = ""
    port: int = 502
    device: str = ""
    baudrate: int = 19200
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1


def is_modbus_address(address: str) -> bool:
    """True for ``modbus-tcp://`` and ``modbus-rtu://`` addresses."""
    return address.startswith(("modbus-tcp://", "modbus-rtu://"))


def parse_modbus_address(address: str) -> ModbusAddress:
    """Parse a ``modbus-tcp://`` or ``modbus-rtu://`` address; AddressError otherwise."""

    def refuse(reason: str) -> AddressError:
        return AddressError(
            reason,
            address=address,
            expected="modbus-tcp://HOST:PORT?unit=1 or "
            "modbus-rtu:///dev/ttyUSB0?baudrate=19200&parity=E&unit=1",
        )

    if not is_modbus_address(address):
        raise refuse("not a Modbus address")
    parts = urlsplit(address)
    options = parse_address_options(parts, refuse)

    def integer(key: str, low: int, high: int, default: int) -> int:
        text = options.get(key)
        if text is None:
            return default
        if not text.isdigit() or not low <= int(text) <= high:
            raise refuse(f"{key} must be an integer from {low} to {high}, got {text!r}")
        return int(text)

    if parts.scheme == "modbus-tcp":
        unknown = sorted(set(options) - _TCP_OPTIONS)
        if unknown:
            raise refuse(f"unknown Modbus TCP option {unknown[0]!r}")
        if parts.path not in {"", "/"}:
            raise refuse("a Modbus TCP address has no path")
        try:
            host, port = parts.hostname, parts.port
        except ValueError as err:
            raise refuse(f"bad port: {err}") from err
        if not host:
            raise refuse("no host")
        return ModbusAddress("tcp", unit=integer("unit", 0, 255, 1), host=host, port=port or 502)
    unknown = sorted(set(options) - _RTU_OPTIONS)
    if unknown:
        raise refuse(f"unknown Modbus RTU option {unknown[0]!r}")
    device = parts.netloc + parts.path
    if not device:
        raise refuse("no serial device")
    parity = options.get("parity", "N").upper()
    if parity not in {"N", "E", "O"}:
        raise refuse(f"parity must be N, E or O, got {options['parity']!r}")
    stopbits = options.get("stopbits", "1")
    if stopbits not in {"1", "2"}:
        raise refuse(f"stopbits must be 1 or 2, got {stopbits!r}")
    bytesize = options.get("bytesize", "8")
    if bytesize not in {"7", "8"}:
        raise refuse(f"bytesize must be 7 or 8, got {bytesize!r}")
    return ModbusAddress(
        "rtu",
        unit=integer("unit", 1, 247, 1),
        device=device,
        baudrate=integer("baudrate", 1, 10_000_000, 19200),
        bytesize=int(bytesize),
        parity=parity,
        stopbits=int(stopbits),
    )


def _pdu_hex(pdu: ModbusPDU) -> str:
    return (bytes([pdu.function_code]) + pdu.encode()).hex(" ")


class ModbusTransport:
    """A Modbus client for one device (``unit``) at one address; thread-safe.

    Register addresses are PDU addresses (0-based, as on the wire); values are unsigned
    16-bit integers. Timeouts in seconds come from ``settings``.
    """

    def __init__(
        self,
        address: str,
        *,
        settings: TransportSettings | None = None,
        io_log: IOLog | None = None,
    ) -> None:
        self._address = address
        self._target = parse_modbus_address(address)
        self._settings = settings or TransportSettings()
        self._log = io_log if io_log is not None else IOLog()
        self._lock = threading.Lock()
        self._last_command: str | None = None
        self._client: ModbusTcpClient | ModbusSerialClient | None = None
        self._closed = False
        self._request: _Request | None = None  # the TCP request in flight
        self._received = b""  # what has come back for it so far (MBAP included)

    # -- interface ------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The address as given by the user."""
        return self._address

    @property
    def target(self) -> ModbusAddress:
        """The parsed address."""
        return self._target

    @property
    def io_log(self) -> IOLog:
        """Every request and response PDU, in hex, and transport events."""
        return self._log

    @property
    def last_command(self) -> str | None:
        """The last request, described (e.g. ``read holding registers 1 x2 (unit 1)``)."""
        return self._last_command

    @property
    def settings(self) -> TransportSettings:
        """Timing and retry settings."""
        return self._settings

    def open(self) -> None:
        """Connect now; ConnectionLost when the device cannot be reached."""
        with self._lock:
            try:
                self._connect()
            except DriverError as err:
                raise err.with_context(address=self._address, last_command=None) from None

    def read_holding_registers(self, address: int, count: int = 1) -> tuple[int, ...]:
        """Read ``count`` holding registers (FC 03) from PDU address ``address``."""
        return self._read(3, address, count)

    def read_input_registers(self, address: int, count: int = 1) -> tuple[int, ...]:
        """Read ``count`` input registers (FC 04) from PDU address ``address``."""
        return self._read(4, address, count)

    def write_register(self, address: int, value: int) -> None:
        """Write one holding register (FC 06)."""
        _check_words([value])
        self._exchange(
            f"write register {address} = {value}",
            lambda c, unit: c.write_register(address, value, device_id=unit),
        )

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        """Write consecutive holding registers (FC 16) from PDU address ``address``."""
        words = list(values)
        _check_words(words)
        if not 1 <= len(words) <= 123:
            raise ValueError("write 1 to 123 registers at a time")
        self._exchange(
            f"write registers {address} x{len(words)} = {words}",
            lambda c, unit: c.write_registers(address, words, device_id=unit),
        )

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            self._closed = True
            self._drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- machinery ------------------------------------------------------------------------

    def _read(self, function: int, address: int, count: int) -> tuple[int, ...]:
        if not 1 <= count <= 125:
            raise ValueError("read 1 to 125 registers at a time")
        kind = "holding" if function == 3 else "input"

        def call(client: ModbusTcpClient | ModbusSerialClient, unit: int) -> ModbusPDU:
            if function == 3:
                return client.read_holding_registers(address, count=count, device_id=unit)
            return client.read_input_registers(address, count=count, device_id=unit)

        response = self._exchange(f"read {kind} registers {address} x{count}", call)
        registers = tuple(int(r) for r in response.registers)
        if len(registers) != count:
            raise GarbledResponse(
                "wrong number of registers in the answer",
                expected=f"{count} registers",
                received=str(list(registers)),
                address=self._address,
                last_command=self._last_command,
            )
        return registers

    def _exchange(
        self,
        description: str,
        call: Callable[[ModbusTcpClient | ModbusSerialClient, int], ModbusPDU],
    ) -> ModbusPDU:
        command = f"{description} (unit {self._target.unit})"

        def drop(failure: DriverError) -> DriverError:
            # Whatever was pending on this connection is abandoned with it, so a late or
            # garbled answer can never be read as the next one.
            self._log.event(f"{failure.message}; connection dropped")
            self._drop()
            return failure

        with self._lock:
            self._last_command = command
            response = with_retries(
                lambda: self._attempt(call),
                retries=self._settings.retries,
                log=self._log,
                recover=drop,
                contextualise=lambda failure: failure.with_context(
                    address=self._address, last_command=command
                ),
            )
            if isinstance(response, ExceptionResponse) or response.isError():
                code = int(getattr(response, "exception_code", 0))
                name = EXCEPTION_NAMES.get(code, "unknown exception")
                raise ModbusExceptionResponse(
                    f"the device answered exception {code} ({name})",
                    exception_code=code,
                    address=self._address,
                    last_command=command,
                )
            return response

    def _attempt(
        self, call: Callable[[ModbusTcpClient | ModbusSerialClient, int], ModbusPDU]
    ) -> ModbusPDU:
        """One request and its answer; every failure as a DriverError."""
        self._request = None
        self._received = b""
        try:
            client = self._connect()
            return call(client, self._target.unit)
        except _MalformedAnswer as err:
            self._log.event(f"garbled answer: {err.frame.hex(' ')}")
            raise GarbledResponse(
                f"garbled answer: {err.problem}",
                expected="a Modbus TCP answer to the request",
                received=err.frame.hex(" "),
            ) from None
        except ConnectionException as err:
            if self._received:
                raise self._cut_short("connection closed mid-answer", ConnectionLost) from err
            raise ConnectionLost(f"connection lost: {err}") from err
        except ModbusIOException as err:
            if self._client is not None and not self._client.connected:
                raise ConnectionLost(f"connection lost: {err}") from err
            if self._received:
                raise self._cut_short("truncated answer", GarbledResponse) from err
            raise InstrumentTimeout(
                f"no answer within {self._settings.timeout_s} s",
                timeout_s=self._settings.timeout_s,
            ) from err
        except ModbusException as err:
            raise GarbledResponse(f"bad answer: {err}") from err

    def _cut_short(self, what: str, error: type[DriverError]) -> DriverError:
        received = self._received
        expected = _frame_size(received)
        of = f" of {expected}" if expected is not None else ""
        self._log.event(f"{what}: {received.hex(' ')}")
        return error(
            f"{what}: {len(received)}{of} bytes, then "
            + ("the connection closed" if error is ConnectionLost else "silence"),
            expected="a complete Modbus TCP answer",
            received=received.hex(" "),
        )

    def _connect(self) -> ModbusTcpClient | ModbusSerialClient:
        if self._closed:
            raise ConnectionLost("transport is closed")
        if self._client is not None:
            return self._client
        target = self._target
        client: ModbusTcpClient | ModbusSerialClient
        if target.kind == "tcp":
            client = ModbusTcpClient(
                target.host,
                port=target.port,
                timeout=self._settings.timeout_s,
                retries=0,
                trace_packet=self._check_packet,
                trace_pdu=self._trace,
            )
        else:
            client = ModbusSerialClient(
                target.device,
                framer=FramerType.RTU,
                baudrate=target.baudrate,
                bytesize=target.bytesize,
                parity=target.parity,
                stopbits=target.stopbits,
                timeout=self._settings.timeout_s,
                retries=0,
                trace_pdu=self._trace,
            )
        self._log.event("open")
        if not client.connect():
            client.close()  # type: ignore[no-untyped-call]
            raise ConnectionLost("could not connect to the Modbus device")
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]

    def _check_packet(self, sending: bool, packet: bytes) -> bytes:
        """pymodbus hook on every TCP frame sent and every receive buffer (MBAP included).

        pymodbus silently drops an answer whose transaction id, unit or length does not
        fit and waits for the timeout; a frame with a wrong function code or byte count
        may even decode as something else. Each is checked here against the request, so
        a garbled answer fails at once, typed, with its bytes.
        """
        if sending:
            self._request = _Request.of(packet)
            self._received = b""
            return packet
        self._received = packet
        request = self._request
        if request is not None:
            problem = request.problem_with(packet)
            if problem is not None:
                raise _MalformedAnswer(problem, packet)
        return packet

    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            self._log.write(_pdu_hex(pdu))
        else:
            self._log.read(_pdu_hex(pdu))
        return pdu


class _MalformedAnswer(Exception):
    """Raised from the pymodbus receive hook: ``frame`` does not answer the request."""

    def __init__(self, problem: str, frame: bytes) -> None:
        super().__init__(problem)
        self.problem = problem
        self.frame = frame


def _frame_size(frame: bytes) -> int | None:
    """The size a Modbus TCP frame announces (MBAP length + 6), once its header is in."""
    return int.from_bytes(frame[4:6], "big") + 6 if len(frame) >= 6 else None


@dataclass(frozen=True, slots=True)
class _Request:
    """What a Modbus TCP answer must match: transaction id, unit, function, count."""

    transaction: int
    unit: int
    function: int
    count: int  # registers asked for (FC 03/04), else 0

    @classmethod
    def of(cls, frame: bytes) -> _Request | None:
        if len(frame) < 8:
            return None
        function = frame[7]
        count = int.from_bytes(frame[10:12], "big") if function in {3, 4} else 0
        return cls(int.from_bytes(frame[0:2], "big"), frame[6], function, count)

    def problem_with(self, frame: bytes) -> str | None:
        """What is wrong with the (possibly partial) answer ``frame``; None so far."""
        size = len(frame)
        if size >= 2 and (tid := int.from_bytes(frame[0:2], "big")) != self.transaction:
            return f"transaction id {tid}, expected {self.transaction}"
        if size >= 4 and (protocol := int.from_bytes(frame[2:4], "big")) != 0:
            return f"protocol id {protocol}, expected 0"
        if size < 6:
            return None
        length = int.from_bytes(frame[4:6], "big")
        if not 3 <= length <= 254:
            return f"MBAP length {length}, outside 3..254"
        if size >= 7 and frame[6] != self.unit:
            return f"unit id {frame[6]}, expected {self.unit}"
        if size < 8:
            return None
        function = frame[7]
        if function not in {self.function, self.function | 0x80}:
            return f"function code 0x{function:02x}, expected 0x{self.function:02x}"
        if function & 0x80:
            expected_length = 3  # unit, function, exception code
        elif self.count:
            if size < 9:
                return None
            if frame[8] != 2 * self.count:
                return f"byte count {frame[8]}, expected {2 * self.count}"
            expected_length = 3 + 2 * self.count
        elif self.function in {5, 6, 15, 16}:
            expected_length = 6  # the echo: unit, function, address, value or quantity
        else:
            return None
        if length != expected_length:
            return f"MBAP length {length}, expected {expected_length}"
        if size > 6 + length:
            return f"{size - 6 - length} bytes after the end of the answer"
        return None


def _check_words(values: Sequence[int]) -> None:
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise ValueError(f"a register holds 0..65535, got {value!r}")


# -- loopback server for the simulators ------------------------------------------------------


class RegisterModel(Protocol):
    """What a simulated Modbus device answers; register addresses are PDU addresses.

    Methods return register values, or an int: the Modbus exception code to answer.
    ``delay_s`` is how long to wait before answering (seconds; ``None``: never answer).
    """

    def read(self, function: int, address: int, count: int) -> list[int] | int:
        """Registers ``address..address+count-1`` of table ``function`` (3 holding, 4 input)."""
        ...

    def write(self, address: int, values: list[int]) -> int | None:
        """Write holding registers; None when accepted, else an exception code."""
        ...

    def delay_s(self, function: int, address: int) -> float | None:
        """Seconds to wait before answering this request (0 normally; None: no answer)."""
        ...


class RegisterServer(BackgroundLoop):
    """A pymodbus Modbus TCP server on loopback serving ``model``, in its own thread.

    Every unit id is answered. Bound at construction (``port`` 0: ephemeral); the address
    is ``modbus-tcp://HOST:PORT?unit=1``.
    """

    _SPACE = 65536

    def __init__(self, model: RegisterModel, *, host: str = "127.0.0.1", port: int = 0):
        super().__init__("sim-modbus")
        self.model = model
        self._host = host
        self._server: ModbusTcpServer | None = None
        # Requests held back by the model (delay_s): the only tasks stop() may cancel.
        self._held: set[asyncio.Task[object]] = set()
        self._port = self._run(self._listen(port))

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return self._port

    @property
    def address(self) -> str:
        """The caltrace address of the served device (unit 1)."""
        return f"modbus-tcp://{self._host}:{self._port}?unit=1"

    async def _listen(self, port: int) -> int:
        device = SimDevice(
            id=0,
            simdata=[SimData(0, count=self._SPACE, values=0, datatype=DataType.REGISTERS)],
            action=self._action,
        )
        server = ModbusTcpServer(device, address=(self._host, port))
        await server.serve_forever(background=True)
        self._server = server
        sockets = getattr(server.transport, "sockets", None)
        if not sockets:
            raise OSError("the Modbus server did not bind")
        return int(sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        # Cancelling every task of the loop, as this once did, also cancelled asyncio's
        # accept tasks and leaked the socket of a client that had connected and sent
        # nothing yet (see drivers.transports.background). Only the requests the model
        # holds back are ours to cancel.
        server = self._server
        for task in self._held:
            task.cancel()
        listening = getattr(getattr(server, "transport", None), "sockets", None) or ()
        await stop_accepting(listening, settle_s=self.SHUTDOWN_S)
        for task in asyncio.all_tasks():  # pragma: no cover - pymodbus work that never ends
            if task is not asyncio.current_task():
                task.cancel()
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]  # listener, connections
        await asyncio.sleep(0)  # the transports close their sockets on the next turn

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        delay = self.model.delay_s(function_code, address)
        if delay is None or delay > 0:
            task = asyncio.current_task()
            assert task is not None
            self._held.add(task)
            try:
                if delay is None:
                    await asyncio.Event().wait()  # never answers; cancelled on stop
                else:
                    await asyncio.sleep(delay)
            finally:
                self._held.discard(task)
        if set_values is not None:
            code = self.model.write(address, [int(v) for v in set_values])
            return None if code is None else ExcCodes(code)
        answer = self.model.read(function_code, address, count)
        if isinstance(answer, int):
            return ExcCodes(answer)
        offset = address - start_address
        registers[offset : offset + count] = answer
        return None
