"""Serial transport through pyserial.

Addresses are a device path (``/dev/ttyUSB0``, ``COM3``; 9600 baud 8N1 then) or a
``serial://`` URL carrying the line settings::

    serial:///dev/ttyUSB0?baudrate=9600&bytesize=8&parity=N&stopbits=1

Options: ``baudrate`` (positive int), ``bytesize`` (5-8), ``parity`` (N, E, O, M, S),
``stopbits`` (1, 1.5, 2), ``xonxoff``, ``rtscts``, ``dsrdtr`` (0 or 1). Anything else is
refused with :class:`~drivers.errors.AddressError`: a mistyped option must not silently
leave the port at a default.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import serial

from drivers.errors import AddressError, ConnectionLost, InstrumentTimeout
from drivers.iolog import IOLog
from drivers.transports.base import (
    LineTransport,
    SyncMarkerFactory,
    TransportSettings,
    parse_address_options,
)

__all__ = ["SerialSettings", "SerialTransport", "parse_serial_address"]

_PARITIES = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}
_STOPBITS = {
    "1": serial.STOPBITS_ONE,
    "1.5": serial.STOPBITS_ONE_POINT_FIVE,
    "2": serial.STOPBITS_TWO,
}
_FLAGS = {"0": False, "1": True}


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Line settings of a serial port: ``baudrate`` in bit/s, ``bytesize`` in bits."""

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: str = "1"
    xonxoff: bool = False
    rtscts: bool = False
    dsrdtr: bool = False


def parse_serial_address(address: str) -> SerialSettings:
    """Parse a device path or ``serial://`` URL; unknown or bad options raise AddressError."""

    def refuse(reason: str) -> AddressError:
        return AddressError(
            reason,
            address=address,
            expected="a device path or serial:///dev/ttyX?baudrate=9600&bytesize=8&parity=N"
            "&stopbits=1",
        )

    if not address.startswith("serial://"):
        if not address or "?" in address or "://" in address:
            raise refuse("not a serial device path")
        return SerialSettings(port=address)
    parts = urlsplit(address)
    port = parts.netloc + parts.path
    if not port:
        raise refuse("no serial device in the URL")
    options = parse_address_options(parts, refuse)
    result = SerialSettings(port=port)
    for key, value in options.items():
        if key == "baudrate":
            if not value.isdigit() or int(value) <= 0:
                raise refuse(f"baudrate must be a positive integer, got {value!r}")
            result = replace(result, baudrate=int(value))
        elif key == "bytesize":
            if value not in {"5", "6", "7", "8"}:
                raise refuse(f"bytesize must be 5, 6, 7 or 8, got {value!r}")
            result = replace(result, bytesize=int(value))
        elif key == "parity":
            if value.upper() not in _PARITIES:
                raise refuse(f"parity must be one of N, E, O, M, S, got {value!r}")
            result = replace(result, parity=value.upper())
        elif key == "stopbits":
            if value not in _STOPBITS:
                raise refuse(f"stopbits must be 1, 1.5 or 2, got {value!r}")
            result = replace(result, stopbits=value)
        elif key in {"xonxoff", "rtscts", "dsrdtr"}:
            if value not in _FLAGS:
                raise refuse(f"{key} must be 0 or 1, got {value!r}")
            flag = _FLAGS[value]
            if key == "xonxoff":
                result = replace(result, xonxoff=flag)
            elif key == "rtscts":
                result = replace(result, rtscts=flag)
            else:
                result = replace(result, dsrdtr=flag)
        else:
            raise refuse(f"unknown serial option {key!r}")
    return result


class SerialTransport(LineTransport):
    """A serial port behind the :class:`LineTransport` machinery.

    Reads poll the port every ``poll_s`` seconds at most, so a timeout is honoured to within
    that interval while an answer is returned as soon as its terminator arrives.
    """

    def __init__(
        self,
        address: str,
        *,
        settings: TransportSettings | None = None,
        sync_marker: SyncMarkerFactory | None = None,
        write_termination: str = "\r\n",
        read_termination: str = "\r\n",
        encoding: str = "ascii",
        io_log: IOLog | None = None,
        poll_s: float = 0.01,
    ) -> None:
        self._line = parse_serial_address(address)
        super().__init__(
            address,
            settings=settings,
            sync_marker=sync_marker,
            write_termination=write_termination,
            read_termination=read_termination,
            encoding=encoding,
            io_log=io_log,
        )
        self._read_term_bytes = read_termination.encode(encoding)
        if not self._read_term_bytes:
            raise ValueError("a serial transport needs a read termination")
        self._poll_s = poll_s
        self._port: serial.Serial | None = None
        self._buffer = bytearray()

    @property
    def line_settings(self) -> SerialSettings:
        """The parsed port and line settings."""
        return self._line

    def _link_open(self) -> None:
        line = self._line
        port = serial.Serial()
        port.port = line.port
        port.baudrate = line.baudrate
        port.bytesize = line.bytesize
        port.parity = _PARITIES[line.parity]
        port.stopbits = _STOPBITS[line.stopbits]
        port.xonxoff = line.xonxoff
        port.rtscts = line.rtscts
        port.dsrdtr = line.dsrdtr
        port.timeout = self._poll_s
        port.write_timeout = self._settings.timeout_s
        if os.name == "posix":
            port.exclusive = True  # one owner per physical instrument
        try:
            port.open()
        except (serial.SerialException, OSError, ValueError) as err:
            raise ConnectionLost(f"could not open the serial port: {err}") from err
        self._port = port
        self._buffer.clear()

    def _link_close(self) -> None:
        port = self._port
        self._port = None
        self._buffer.clear()
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()  # the device may be gone already

    def _link_send(self, data: bytes) -> None:
        port = self._require_port()
        try:
            port.write(data)
        except serial.SerialTimeoutException as err:
            raise InstrumentTimeout("write timed out", timeout_s=port.write_timeout) from err
        except (serial.SerialException, OSError) as err:
            raise ConnectionLost(f"write failed: {err}") from err

    def _link_receive(self, timeout_s: float) -> bytes:
        port = self._require_port()
        buffer = self._buffer
        term = self._read_term_bytes
        deadline = time.monotonic() + timeout_s
        while True:
            end = buffer.find(term)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + len(term)]
                return line
            if time.monotonic() >= deadline:
                raise InstrumentTimeout(f"no answer within {timeout_s} s", timeout_s=timeout_s)
            try:
                chunk = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError) as err:
                raise ConnectionLost(f"read failed: {err}") from err
            buffer.extend(chunk)

    def _link_discard_input(self) -> None:
        self._buffer.clear()
        port = self._port
        if port is None:
            return
        with contextlib.suppress(serial.SerialException, OSError):
            port.reset_input_buffer()  # a broken port shows up on the next read

    def _require_port(self) -> serial.Serial:
        if self._port is None:
            raise ConnectionLost("serial port is not open")
        return self._port
