"""A meter that speaks DLMS/COSEM, read with the ``dlms-cosem`` library.

What is read, over a public client association (client address 16, no security): the
meter's serial number, COSEM object 0.0.96.1.0.255 ("Device ID 1, manufacturing number"),
attribute 2 (an octet string or a visible string); its logical device name, 0.0.42.0.0.255
attribute 2, when it has one (for the record); and the active energy import register
1.0.1.8.0.255 (interface class 3, Register), attribute 2 (its value) and attribute 3 (its
scaler and unit). The energy is value × 10^scaler in the unit stated; the only unit
accepted is Wh (DLMS unit code 30, "ActiveEnergy" in the Gurux and Itron unit lists), given
in kWh by a division by 1000, stated on the result.

The link, by the address's scheme: ``dlms+tcp://HOST:PORT``, DLMS over TCP with the
IEC 62056-47 wrapper (``dlms-cosem``'s ``TcpTransport``); ``dlms+hdlc://HOST:PORT``, HDLC
frames over a TCP socket (``HdlcTransport``), as a meter's optical probe speaks them behind
a serial-to-network server. HDLC on a local serial port, and the IEC 62056-21 mode E
switch that leads to it, are not wired here: see ``docs/reference/optical-port.md``.

The I/O goes through a socket of ours (:class:`_LoggedTcpIO`, the library's I/O extension
point), so every byte is in the I/O log, a silence is an
:class:`~drivers.errors.InstrumentTimeout` naming the port and a peer that hangs up a
:class:`~drivers.errors.ConnectionLost`.

The library logs every frame through structlog, whose default configuration prints to
standard output; unless the application configured structlog, this module keeps only
warnings (a module-level configuration, made once, on purpose).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import structlog
from dlms_cosem import cosem, enumerations
from dlms_cosem.client import DataResultError, DlmsClient
from dlms_cosem.exceptions import DlmsClientException, LocalDlmsProtocolError
from dlms_cosem.io import HdlcTransport, TcpTransport
from dlms_cosem.security import NoSecurityAuthentication
from dlms_cosem.utils import parse_as_dlms_data

from drivers.closing import Closing
from drivers.errors import (
    AddressError,
    ConnectionLost,
    DriverError,
    GarbledResponse,
    InstrumentTimeout,
    SerialNumberMissing,
    UnexpectedUnit,
)
from drivers.iolog import IOLog
from drivers.optical.addresses import SCHEMES, is_dlms_address
from drivers.optical.iec62056_21 import RegisterMissing
from drivers.reading import utc_now

__all__ = [
    "ENERGY_IMPORT_LN",
    "LOGICAL_DEVICE_NAME_LN",
    "PUBLIC_CLIENT",
    "SCHEMES",
    "SERIAL_CODE",
    "SERIAL_LN",
    "UNIT_WH",
    "AssociationRefused",
    "DlmsEnergy",
    "DlmsReader",
    "DlmsReadout",
    "is_dlms_address",
]

if not structlog.is_configured():
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

PUBLIC_CLIENT = 16
"""The public client's logical address (no security)."""
SERIAL_LN = (0, 0, 96, 1, 0, 255)
"""Device ID 1, manufacturing number."""
SERIAL_CODE = ".".join(map(str, SERIAL_LN))
LOGICAL_DEVICE_NAME_LN = (0, 0, 42, 0, 0, 255)
"""COSEM logical device name."""
ENERGY_IMPORT_LN = (1, 0, 1, 8, 0, 255)
"""Active energy import (+A), total."""
UNIT_WH = 30
"""DLMS unit code of active energy, Wh."""


class AssociationRefused(DriverError):
    """The meter refused the association (or answered it with something else)."""


@dataclass(frozen=True, slots=True)
class DlmsEnergy:
    """The active energy register as read: ``kwh`` exact; ``value``, ``scaler`` and
    ``unit_code`` as the meter stated them (energy = value × 10^scaler Wh)."""

    kwh: Decimal
    value: int
    scaler: int
    unit_code: int


@dataclass(frozen=True, slots=True)
class DlmsReadout:
    """What a DLMS session read: the ``serial`` number, the ``energy`` import register,
    when (``read_at``, UTC), and the ``logical_device_name`` (None when the meter has no
    such object: it is read for the record, the serial number identifies the meter)."""

    serial: str
    energy: DlmsEnergy
    read_at: datetime
    logical_device_name: str | None = None

    @property
    def serial_code(self) -> str:
        """The COSEM object the serial number is read from."""
        return SERIAL_CODE


class DlmsReader(Closing):
    """Reads a DLMS/COSEM meter at ``dlms+tcp://HOST:PORT?server=1`` or
    ``dlms+hdlc://HOST:PORT?server=1`` (``server``: the meter's logical device address, 1
    by default). ``timeout_s``: how long each answer may take (seconds)."""

    def __init__(
        self, address: str, *, timeout_s: float = 2.0, io_log: IOLog | None = None
    ) -> None:
        scheme, host, port, server = _parse(address)
        self._hdlc = scheme == "dlms+hdlc"
        self._address = address
        self._log = io_log if io_log is not None else IOLog()
        self._io = _LoggedTcpIO(host, port, timeout_s, address, self._log)
        self._server = server

    @property
    def address(self) -> str:
        """The meter's address as given."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every byte exchanged, in hexadecimal."""
        return self._log

    def read_out(self) -> DlmsReadout:
        """Associate, read the serial number and the energy register, release.

        Raises InstrumentTimeout, ConnectionLost, AssociationRefused, SerialNumberMissing,
        RegisterMissing, UnexpectedUnit, GarbledResponse, each naming the address.
        """
        kind = HdlcTransport if self._hdlc else TcpTransport
        client = DlmsClient(
            transport=kind(
                client_logical_address=PUBLIC_CLIENT,
                server_logical_address=self._server,
                io=self._io,
            ),
            authentication=NoSecurityAuthentication(),
        )
        self._io.last = "SNRM" if self._hdlc else "open"
        try:
            client.connect()
            try:
                self._io.last = "AARQ"
                try:
                    client.associate()
                except (DlmsClientException, LocalDlmsProtocolError) as err:
                    raise AssociationRefused(f"the meter refused the association: {err}") from err
                serial = self._serial(client)
                name = self._logical_device_name(client)
                energy = self._energy(client)
                self._io.last = "RLRQ"
                client.release_association()
                if self._hdlc:
                    self._io.last = "DISC"
                    client.transport.disconnect()  # DISC, answered by UA; closes the socket
            finally:
                self._io.disconnect()
        except DriverError as err:
            raise err.with_context(address=self._address, last_command=self._io.last) from (
                err.__cause__
            )
        return DlmsReadout(serial, energy, utc_now(), name)

    def _get(self, client: DlmsClient, interface: Any, ln: tuple[int, ...], attribute: int) -> Any:
        self._io.last = f"GET {'.'.join(map(str, ln))} attribute {attribute}"
        attr = cosem.CosemAttribute(
            interface=interface, instance=cosem.Obis(*ln), attribute=attribute
        )
        try:
            data = client.get(attr)
        except DataResultError as err:
            raise RegisterMissing(
                f"the meter has no {'.'.join(map(str, ln))} attribute {attribute} ({err})",
                code=".".join(map(str, ln)),
            ) from err
        try:
            return parse_as_dlms_data(data)
        except (ValueError, KeyError, IndexError) as err:
            raise GarbledResponse(
                f"undecodable data for {'.'.join(map(str, ln))}",
                expected="A-XDR data",
                received=data.hex(),
            ) from err

    def _serial(self, client: DlmsClient) -> str:
        try:
            value = self._get(client, enumerations.CosemInterface.DATA, SERIAL_LN, 2)
        except RegisterMissing as err:
            raise SerialNumberMissing(
                "the meter states no serial number", codes=(SERIAL_CODE,)
            ) from err
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("ascii", errors="backslashreplace")
        if not isinstance(value, str) or not value.strip():
            raise SerialNumberMissing(
                f"the meter's serial number is not a text: {value!r}", codes=(SERIAL_CODE,)
            )
        return value.strip()

    def _logical_device_name(self, client: DlmsClient) -> str | None:
        try:
            value = self._get(client, enumerations.CosemInterface.DATA, LOGICAL_DEVICE_NAME_LN, 2)
        except RegisterMissing:
            return None
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("ascii", errors="backslashreplace")
        return str(value)

    def _energy(self, client: DlmsClient) -> DlmsEnergy:
        register = enumerations.CosemInterface.REGISTER
        value = self._get(client, register, ENERGY_IMPORT_LN, 2)
        scaler_unit = self._get(client, register, ENERGY_IMPORT_LN, 3)
        code = ".".join(map(str, ENERGY_IMPORT_LN))
        if not isinstance(value, int) or isinstance(value, bool):
            raise GarbledResponse(
                f"register {code} is not a whole number",
                expected="an integer",
                received=repr(value),
            )
        if (
            not isinstance(scaler_unit, list)
            or len(scaler_unit) != 2
            or not all(isinstance(v, int) for v in scaler_unit)
        ):
            raise GarbledResponse(
                f"scaler and unit of {code} malformed",
                expected="a structure {scaler, unit}",
                received=repr(scaler_unit),
            )
        scaler, unit = scaler_unit
        if unit != UNIT_WH:
            raise UnexpectedUnit(
                f"register {code} is not stated in Wh",
                code=code,
                unit=f"DLMS unit {unit}",
                allowed=("DLMS unit 30 (Wh)",),
            )
        kwh = Decimal(value).scaleb(scaler) / 1000
        return DlmsEnergy(kwh, value, scaler, unit)

    def close(self) -> None:
        """Release the socket; idempotent."""
        self._io.disconnect()


def _parse(address: str) -> tuple[str, str, int, int]:
    def refuse(reason: str) -> AddressError:
        return AddressError(
            reason, address=address, expected="dlms+tcp:// or dlms+hdlc://HOST:PORT?server=1"
        )

    parts = urlsplit(address)
    if parts.scheme not in SCHEMES:
        raise refuse("not a DLMS address")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path or parts.fragment:
        raise refuse("no host or no port")
    server = 1
    if parts.query:
        key, _, value = parts.query.partition("=")
        if key != "server" or not value.isdigit() or not 1 <= int(value) <= 0x3FFF:
            raise refuse(f"unknown option {parts.query!r}")
        server = int(value)
    return parts.scheme, parts.hostname, port, server


class _LoggedTcpIO:
    """The library's I/O interface over a socket of ours: logged, with typed errors."""

    def __init__(self, host: str, port: int, timeout_s: float, address: str, log: IOLog):
        self._host = host
        self._port = port
        self._timeout_s = timeout_s
        self._address = address
        self._log = log
        self._socket: socket.socket | None = None
        self.last = ""

    def connect(self) -> None:
        self._log.event("open")
        try:
            self._socket = socket.create_connection((self._host, self._port), self._timeout_s)
        except OSError as err:
            raise ConnectionLost(f"could not connect: {err}", address=self._address) from err

    def disconnect(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
            self._log.event("closed")

    def send(self, data: bytes) -> None:
        sock = self._require()
        self._log.write(data.hex(" "))
        try:
            sock.sendall(data)
        except OSError as err:
            raise ConnectionLost(f"send failed: {err}") from err

    def recv(self, amount: int = 1) -> bytes:
        sock = self._require()
        data = bytearray()
        while len(data) < amount:
            try:
                chunk = sock.recv(amount - len(data))
            except TimeoutError as err:
                if data:
                    self._log.read(bytes(data).hex(" "))
                raise InstrumentTimeout(
                    f"no answer from the meter within {self._timeout_s} s",
                    timeout_s=self._timeout_s,
                ) from err
            except OSError as err:
                raise ConnectionLost(f"receive failed: {err}") from err
            if not chunk:
                raise ConnectionLost("the meter closed the connection mid-answer")
            data += chunk
        self._log.read(bytes(data).hex(" "))
        return bytes(data)

    def recv_until(self, end: bytes) -> bytes:
        data = b""
        while not data.endswith(end):
            data += self.recv()
        return data

    def _require(self) -> socket.socket:
        if self._socket is None:
            raise ConnectionLost("not connected")
        return self._socket
