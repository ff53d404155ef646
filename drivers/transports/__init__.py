"""Transports: how bytes reach an instrument (VISA, serial; Modbus and manual entry later).

:func:`open_message_transport` picks the transport from the address form:

* ``serial://...`` URLs and bare device paths (``/dev/ttyUSB0``, ``COM3``) go through
  pyserial (:mod:`drivers.transports.serial`);
* anything else must be a VISA resource string and goes through PyVISA
  (:mod:`drivers.transports.visa`).

The transport modules import their library when first used, so importing ``drivers``
does not load PyVISA or pyserial.
"""

from __future__ import annotations

import re

from drivers.errors import AddressError
from drivers.iolog import IOLog
from drivers.transports.base import (
    LineTransport,
    MessageTransport,
    SyncMarker,
    SyncMarkerFactory,
    TransportSettings,
)

__all__ = [
    "LineTransport",
    "MessageTransport",
    "SyncMarker",
    "SyncMarkerFactory",
    "TransportSettings",
    "is_serial_address",
    "open_message_transport",
]

_DEVICE_PATH = re.compile(r"^(/dev/\S+|COM\d+)$", re.IGNORECASE)


def is_serial_address(address: str) -> bool:
    """True for ``serial://`` URLs and bare serial device paths."""
    return address.startswith("serial://") or bool(_DEVICE_PATH.match(address))


def open_message_transport(
    address: str,
    *,
    settings: TransportSettings | None = None,
    sync_marker: SyncMarkerFactory | None = None,
    write_termination: str = "\n",
    read_termination: str = "\n",
    encoding: str = "ascii",
    visa_library: str = "@py",
    io_log: IOLog | None = None,
) -> LineTransport:
    """Open a message transport to ``address`` (the link is opened before returning).

    Raises :class:`~drivers.errors.AddressError` for an address no transport understands
    and :class:`~drivers.errors.ConnectionLost` when the link cannot be opened.
    """
    transport: LineTransport
    if "://" in address and not address.startswith("serial://"):
        raise AddressError(
            "this address is not for a message-based instrument",
            address=address,
            expected="a VISA resource string, a serial device path or a serial:// URL",
        )
    if is_serial_address(address):
        from drivers.transports.serial import SerialTransport

        transport = SerialTransport(
            address,
            settings=settings,
            sync_marker=sync_marker,
            write_termination=write_termination,
            read_termination=read_termination,
            encoding=encoding,
            io_log=io_log,
        )
    else:
        from drivers.transports.visa import VisaTransport

        transport = VisaTransport(
            address,
            settings=settings,
            sync_marker=sync_marker,
            write_termination=write_termination,
            read_termination=read_termination,
            encoding=encoding,
            visa_library=visa_library,
            io_log=io_log,
        )
    try:
        transport.open()
    except BaseException:
        transport.close()
        raise
    return transport
