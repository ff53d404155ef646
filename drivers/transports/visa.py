"""VISA transport through PyVISA: pyvisa-py by default, a vendor VISA when configured.

Resource strings are taken as written: ``TCPIP::10.0.0.5::5025::SOCKET``,
``TCPIP::host::INSTR``, ``GPIB0::22::INSTR``, ``ASRL/dev/ttyUSB0::INSTR``,
``USB0::0x2A8D::0x0101::MY54505281::INSTR``.

Two pyvisa-py behaviours are handled here (both seen with pyvisa-py 0.8):

* a socket closed by the instrument is reported as a timeout after the full timeout; on a
  timeout we therefore peek at the session's socket and report ``ConnectionLost`` when the
  peer has hung up;
* opening a ``SOCKET`` resource to a port nobody listens on "succeeds"; we check the
  socket's pending error right after opening and report the refusal at once.

Both peeks go through pyvisa-py's session table and are skipped for other backends.

Reads and writes go through PyVISA's low-level library API (``visalib.read`` /
``visalib.write``, the viRead/viWrite of the VISA specification) on the resource's
session: the same calls ``Resource.query`` ends in, without the per-call context managers
of the resource layer. The "more data may be available" status is acknowledged once for
the session's lifetime, as the resource layer does around each read.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from contextlib import ExitStack
from typing import Any

import pyvisa
import pyvisa.constants
import pyvisa.errors
import pyvisa.rname
from pyvisa.highlevel import VisaLibraryBase
from pyvisa.resources import MessageBasedResource
from pyvisa.typing import VISASession

from drivers.errors import AddressError, ConnectionLost, InstrumentTimeout
from drivers.iolog import IOLog
from drivers.transports.base import LineTransport, SyncMarkerFactory, TransportSettings

__all__ = ["DEFAULT_VISA_LIBRARY", "VisaTransport", "parse_visa_address"]

DEFAULT_VISA_LIBRARY = "@py"
"""pyvisa-py, the pure-Python backend; pass ``"@ivi"`` or a library path for a vendor VISA."""

_TIMEOUT = pyvisa.constants.StatusCode.error_timeout
_MORE = pyvisa.constants.StatusCode.success_max_count_read
_NOT_PRESENT = pyvisa.constants.StatusCode.success_device_not_present
_CHUNK = 20 * 1024


def parse_visa_address(address: str) -> pyvisa.rname.ResourceName:
    """Parse a VISA resource string, raising :class:`~drivers.errors.AddressError`."""
    try:
        return pyvisa.rname.parse_resource_name(address)
    except pyvisa.rname.InvalidResourceName as err:
        raise AddressError(
            f"not a VISA resource string: {err}",
            address=address,
            expected="e.g. TCPIP::host::5025::SOCKET, GPIB0::22::INSTR, ASRL/dev/ttyUSB0::INSTR",
        ) from err


class VisaTransport(LineTransport):
    """A message-based VISA resource behind the :class:`LineTransport` machinery.

    ``visa_library`` selects the backend (``"@py"``: pyvisa-py). Terminations are those of
    the instrument's protocol (``"\\n"`` for SCPI over a socket).
    """

    def __init__(
        self,
        address: str,
        *,
        settings: TransportSettings | None = None,
        sync_marker: SyncMarkerFactory | None = None,
        write_termination: str = "\n",
        read_termination: str = "\n",
        encoding: str = "ascii",
        visa_library: str = DEFAULT_VISA_LIBRARY,
        io_log: IOLog | None = None,
    ) -> None:
        self._resource_name = parse_visa_address(address)
        super().__init__(
            address,
            settings=settings,
            sync_marker=sync_marker,
            write_termination=write_termination,
            read_termination=read_termination,
            encoding=encoding,
            io_log=io_log,
        )
        self._visa_library = visa_library
        self._read_term_bytes = read_termination.encode(encoding)
        self._rm: pyvisa.ResourceManager | None = None
        self._resource: MessageBasedResource | None = None
        self._session_scope = ExitStack()
        self._visalib: VisaLibraryBase | None = None
        self._session: VISASession = VISASession(0)
        self._timeout_ms: float | None = None
        self._is_socket = self._resource_name.resource_class == "SOCKET"

    # -- link -------------------------------------------------------------------------

    def _link_open(self) -> None:
        try:
            rm = pyvisa.ResourceManager(self._visa_library)
        except (OSError, ValueError) as err:
            raise ConnectionLost(
                f"VISA library {self._visa_library!r} is not available: {err}"
            ) from err
        open_timeout_ms = int(self._settings.open_timeout_s * 1000)
        try:
            resource = rm.open_resource(
                self._address,
                open_timeout=open_timeout_ms,
                read_termination=self._read_termination,
                write_termination=self._write_termination,
                encoding=self._encoding,
            )
        except pyvisa.errors.VisaIOError as err:
            raise ConnectionLost(f"could not open the resource: {err.description}") from err
        except (OSError, ValueError) as err:
            raise ConnectionLost(f"could not open the resource: {err}") from err
        except Exception as err:
            # pyvisa-py raises a bare Exception("could not connect: ...") for sockets.
            raise ConnectionLost(f"could not open the resource: {err}") from err
        if not isinstance(resource, MessageBasedResource):
            resource.close()
            raise AddressError(
                "not a message-based resource",
                address=self._address,
                expected="an INSTR or SOCKET resource",
            )
        self._rm = rm
        self._resource = resource
        self._visalib = resource.visalib
        self._session = resource.session
        self._session_scope.enter_context(resource.ignore_warning(_MORE, _NOT_PRESENT))
        self._timeout_ms = None
        if self._is_socket:
            refused = _socket_pending_error(resource)
            if refused:
                self._link_close()
                raise ConnectionLost(f"could not connect: {refused}")
            _no_delay(resource)

    def _link_close(self) -> None:
        resource, rm = self._resource, self._rm
        self._resource = None
        self._rm = None
        self._visalib = None
        with contextlib.suppress(Exception):  # the session may be gone already
            self._session_scope.close()
        del rm  # PyVISA shares one ResourceManager per library in a process: closing it
        # would close every other instrument's session, so only this resource is closed.
        if resource is not None:
            with contextlib.suppress(pyvisa.errors.Error, OSError):
                resource.close()  # a broken session has nothing more to release

    def _link_send(self, data: bytes) -> None:
        if self._visalib is None:
            raise ConnectionLost("resource is not open")
        try:
            self._visalib.write(self._session, data)
        except pyvisa.errors.VisaIOError as err:
            raise self._map_visa_error(err, "write") from err
        except OSError as err:
            raise ConnectionLost(f"write failed: {err}") from err

    def _link_receive(self, timeout_s: float) -> bytes:
        resource = self._require_resource()
        timeout_ms = max(1.0, timeout_s * 1000.0)
        if timeout_ms != self._timeout_ms:
            resource.timeout = timeout_ms
            self._timeout_ms = timeout_ms
        visalib, session = self._visalib, self._session
        if visalib is None:
            raise ConnectionLost("resource is not open")
        try:
            raw, status = visalib.read(session, _CHUNK)
            if status == _MORE:
                buffer = bytearray(raw)
                while status == _MORE:
                    raw, status = visalib.read(session, _CHUNK)
                    buffer.extend(raw)
                raw = bytes(buffer)
        except pyvisa.errors.VisaIOError as err:
            raise self._map_visa_error(err, "read", timeout_s) from err
        except OSError as err:
            raise ConnectionLost(f"read failed: {err}") from err
        term = self._read_term_bytes
        if term and raw.endswith(term):
            return raw[: -len(term)]
        return raw  # ended by END/EOI (GPIB, USBTMC) rather than a termination character

    def _link_discard_input(self) -> None:
        resource = self._resource
        if resource is None:
            return
        # Not every backend buffers; the marker exchange resynchronises regardless.
        with contextlib.suppress(pyvisa.errors.Error, OSError, NotImplementedError):
            resource.flush(pyvisa.constants.BufferOperation.discard_read_buffer_no_io)

    def _link_peer_closed(self) -> bool:
        if not self._is_socket or self._resource is None:
            return False
        sock = _pyvisa_py_socket(self._resource)
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _link_reopen_drops_stale_input(self) -> bool:
        return self._is_socket

    # -- helpers ----------------------------------------------------------------------

    def _require_resource(self) -> MessageBasedResource:
        if self._resource is None:
            raise ConnectionLost("resource is not open")
        return self._resource

    def _map_visa_error(
        self, err: pyvisa.errors.VisaIOError, operation: str, timeout_s: float | None = None
    ) -> InstrumentTimeout | ConnectionLost:
        if err.error_code == _TIMEOUT:
            return InstrumentTimeout(
                f"no answer within {timeout_s} s" if timeout_s else f"{operation} timed out",
                timeout_s=timeout_s,
            )
        return ConnectionLost(f"{operation} failed: {err.abbreviation} {err.description}")


def _pyvisa_py_socket(resource: MessageBasedResource) -> socket.socket | None:
    """The socket under a pyvisa-py SOCKET session, or None for other backends."""
    sessions: Any = getattr(resource.visalib, "sessions", None)
    if sessions is None:
        return None
    try:
        session = sessions[resource.session]
    except (KeyError, TypeError, pyvisa.errors.Error):
        return None
    sock = getattr(session, "interface", None)
    return sock if isinstance(sock, socket.socket) else None


def _no_delay(resource: MessageBasedResource) -> None:
    """Send each command at once on a raw socket (TCP_NODELAY), as a vendor VISA does by
    default (``VI_ATTR_TCPIP_NODELAY``). pyvisa-py leaves Nagle's algorithm on, and a query
    after a command then waits for the instrument's delayed acknowledgement (about 40 ms
    on Linux) each time."""
    sock = _pyvisa_py_socket(resource)
    if sock is None:
        return
    with contextlib.suppress(OSError):  # an option the platform lacks: only slower
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _socket_pending_error(resource: MessageBasedResource) -> str | None:
    sock = _pyvisa_py_socket(resource)
    if sock is None:
        return None
    try:
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            sock.getpeername()  # raises when the connection never completed
    except OSError as err:
        return err.strerror or str(err)
    return os.strerror(code) if code else None
