"""The byte link to a meter's optical probe: a serial port, a pseudo-terminal or a TCP socket.

IEC 62056-21 is not a line protocol the way SCPI is: the data message ends with ETX and a
block check character that may be any byte, and the baud rate changes in the middle of a
session. So the optical port gets a byte link of its own (pyserial underneath, as for the
other serial instruments) instead of :class:`~drivers.transports.base.LineTransport`.

Addresses:

* a device path (``/dev/ttyUSB0``, ``COM3``, a pseudo-terminal ``/dev/pts/N``) or a
  ``serial://`` URL: opened at IEC 62056-21's initial character format, 300 baud, 7 data
  bits, even parity, 1 stop bit; options in the URL (``baudrate``, ``bytesize``,
  ``parity``, ``stopbits``) override it, for a probe that needs it;
* ``socket://host:port``: an optical probe behind a serial-to-network server (or the
  simulator). A baud-rate change is recorded in the I/O log but has no physical effect,
  as on a pseudo-terminal: the bytes are what matter there.

Every byte written or read goes to the :class:`~drivers.iolog.IOLog`, control characters
shown by name (``<STX>``, ``<ETX>``, ``<ACK>``...), so the log reads like the standard.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import serial

from drivers.errors import AddressError, ConnectionLost, GarbledResponse, InstrumentTimeout
from drivers.iolog import IOLog
from drivers.transports.base import parse_address_options
from drivers.transports.serial import parse_serial_address

__all__ = ["INITIAL_BAUD_RATE", "MAX_ANSWER_BYTES", "OpticalLink", "shown"]

INITIAL_BAUD_RATE = 300
"""IEC 62056-21's sign-on rate (bit/s): every session starts at it."""

MAX_ANSWER_BYTES = 1 << 20
"""By default, an answer longer than this (bytes) without its end is refused: a line that
never stops talking is a fault, not a meter's readout."""

_PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
_STOPBITS = {"1": serial.STOPBITS_ONE, "2": serial.STOPBITS_TWO}
_NAMES = {
    0x01: "<SOH>",
    0x02: "<STX>",
    0x03: "<ETX>",
    0x04: "<EOT>",
    0x06: "<ACK>",
    0x0A: "<LF>",
    0x0D: "<CR>",
    0x15: "<NAK>",
}


@dataclass(frozen=True, slots=True)
class _Line:
    """Character format of a serial line: rate in bit/s, bits, pyserial's parity and stop
    bits values."""

    baudrate: int = INITIAL_BAUD_RATE
    bytesize: int = serial.SEVENBITS
    parity: str = serial.PARITY_EVEN
    stopbits: float = serial.STOPBITS_ONE


def shown(data: bytes) -> str:
    """``data`` as a person reads it in the I/O log: printable ASCII as is, control
    characters by name, anything else as ``\\xNN``."""
    out: list[str] = []
    for byte in data:
        if byte in _NAMES:
            out.append(_NAMES[byte])
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


class OpticalLink:
    """A byte link to one optical probe; timeouts in seconds, rates in bit/s.

    ``timeout_s`` is how long a read waits for the first byte of an answer and, once an
    answer has started, for each next byte. Reads poll every ``poll_s`` seconds at most.
    ``max_answer_bytes``: the longest answer accepted before its end arrives.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout_s: float = 2.0,
        io_log: IOLog | None = None,
        poll_s: float = 0.01,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 s, got {timeout_s!r}")
        self._address = address
        self._url, self._line, self._is_socket = _parse(address)
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._max_answer_bytes = max_answer_bytes
        self._log = io_log if io_log is not None else IOLog()
        self._port: serial.Serial | None = None
        self._buffer = bytearray()
        self._baud_rate = self._line.baudrate
        self.last_command: str | None = None
        """The last message written, as shown in the I/O log (for error context)."""

    # -- properties ---------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The address as given by the user."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every byte written and read, and every rate change."""
        return self._log

    @property
    def baud_rate(self) -> int:
        """The rate the link is set to now (bit/s)."""
        return self._baud_rate

    @property
    def rate_is_physical(self) -> bool:
        """False on a socket or a pseudo-terminal, where a rate change changes nothing."""
        if self._is_socket:
            return False
        return not os.path.realpath(self._url).startswith("/dev/pts/")

    # -- life cycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Open the link at its initial settings; ConnectionLost when it cannot be."""
        if self._port is not None:
            return
        self._log.event("open")
        try:
            port = serial.serial_for_url(self._url, do_not_open=True)
            if not self._is_socket:
                port.baudrate = self._line.baudrate
                port.bytesize = self._line.bytesize
                port.parity = self._line.parity
                port.stopbits = self._line.stopbits
                if os.name == "posix":
                    port.exclusive = True  # one owner per probe
            port.timeout = self._poll_s
            port.write_timeout = self._timeout_s
            port.open()
        except (serial.SerialException, OSError, ValueError) as err:
            raise ConnectionLost(
                f"could not open the optical port: {err}", address=self._address
            ) from err
        self._port = port
        self._buffer.clear()

    def close(self) -> None:
        """Close the link; idempotent, never raises."""
        port = self._port
        self._port = None
        self._buffer.clear()
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
            self._log.event("closed")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- exchanges ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send ``data`` and wait until it has left the port."""
        port = self._require_port()
        text = shown(data)
        self.last_command = text
        self._log.write(text)
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as err:
            raise self._timeout("the optical port did not take the message", err) from err
        except (serial.SerialException, OSError) as err:
            raise ConnectionLost(
                f"write failed: {err}", address=self._address, last_command=text
            ) from err

    def read_until(self, end: bytes, *, extra: int = 0, what: str) -> bytes:
        """Read up to and including ``end`` and ``extra`` bytes after it (the BCC after
        ETX); ``what`` names the awaited answer in a timeout. Bytes after the answer stay
        buffered for the next read."""
        buffer = self._buffer
        deadline = time.monotonic() + self._timeout_s
        while True:
            found = buffer.find(end)
            if found >= 0 and len(buffer) >= found + len(end) + extra:
                size = found + len(end) + extra
                answer = bytes(buffer[:size])
                del buffer[:size]
                self._log.read(shown(answer))
                return answer
            if time.monotonic() >= deadline:
                received = bytes(buffer)
                buffer.clear()
                if received:
                    self._log.read(shown(received))
                raise self._timeout(
                    f"no complete {what} from the meter's optical port within "
                    f"{self._timeout_s} s"
                    + (f" (received {shown(received)!r})" if received else " (no answer)"),
                    None,
                )
            if len(buffer) > self._max_answer_bytes:
                start = shown(bytes(buffer[:80]))
                buffer.clear()
                raise GarbledResponse(
                    f"no end of the {what} within {self._max_answer_bytes} bytes",
                    expected=shown(end),
                    received=start + "...",
                    address=self._address,
                    last_command=self.last_command,
                )
            chunk = self._receive()
            if chunk:
                buffer.extend(chunk)
                deadline = time.monotonic() + self._timeout_s  # a silence ends it, not a length

    def set_baud_rate(self, baud_rate: int) -> None:
        """Switch the link to ``baud_rate`` bit/s (on a socket or a pseudo-terminal the
        change is logged and has no physical effect)."""
        port = self._require_port()
        previous = self._baud_rate
        self._baud_rate = baud_rate
        if self._is_socket:
            self._log.event(f"baud rate {previous} -> {baud_rate} bit/s (TCP: no physical effect)")
            return
        try:
            port.baudrate = baud_rate
        except (serial.SerialException, OSError, ValueError) as err:
            raise ConnectionLost(
                f"could not set {baud_rate} bit/s: {err}",
                address=self._address,
                last_command=self.last_command,
            ) from err
        note = "" if self.rate_is_physical else " (pseudo-terminal: no physical effect)"
        self._log.event(f"baud rate {previous} -> {baud_rate} bit/s{note}")

    def discard_input(self) -> None:
        """Drop what was received and not read yet."""
        self._buffer.clear()
        port = self._port
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.reset_input_buffer()

    # -- machinery ----------------------------------------------------------------------

    def _receive(self) -> bytes:
        port = self._require_port()
        try:
            return bytes(port.read(max(1, port.in_waiting)))
        except (serial.SerialException, OSError) as err:
            raise ConnectionLost(
                f"read failed: {err}", address=self._address, last_command=self.last_command
            ) from err

    def _require_port(self) -> serial.Serial:
        if self._port is None:
            raise ConnectionLost("the optical port is not open", address=self._address)
        return self._port

    def _timeout(self, message: str, cause: BaseException | None) -> InstrumentTimeout:
        del cause  # chained by the caller
        return InstrumentTimeout(
            message,
            timeout_s=self._timeout_s,
            address=self._address,
            last_command=self.last_command,
        )


def _parse(address: str) -> tuple[str, _Line, bool]:
    """The pyserial URL, the line settings and whether it is a socket, for ``address``."""
    line = _Line()
    if address.startswith("socket://"):
        parts = urlsplit(address)

        def refuse(reason: str) -> AddressError:
            return AddressError(reason, address=address, expected="socket://host:port")

        options = parse_address_options(parts, refuse)
        if options or parts.path:
            raise refuse("a socket address takes no path and no option")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise refuse("no host or no port")
        return address, line, True
    settings = parse_serial_address(address)  # refuses unknown and malformed options
    if not address.startswith("serial://"):
        return settings.port, line, False

    def refuse_option(reason: str) -> AddressError:
        return AddressError(
            reason,
            address=address,
            expected="options baudrate, bytesize, parity (N, E, O), stopbits (1, 2)",
        )

    given = parse_address_options(urlsplit(address), refuse_option)
    for key in given:
        if key == "baudrate":
            line = replace(line, baudrate=settings.baudrate)
        elif key == "bytesize":
            line = replace(line, bytesize=settings.bytesize)
        elif key == "parity" and settings.parity in _PARITIES:
            line = replace(line, parity=_PARITIES[settings.parity])
        elif key == "stopbits" and settings.stopbits in _STOPBITS:
            line = replace(line, stopbits=_STOPBITS[settings.stopbits])
        else:
            raise refuse_option(f"option {key}={given[key]} is not for an optical port")
    return settings.port, line, False
