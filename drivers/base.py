"""What the drivers over a message transport (SCPI, MT-SICS) share, whatever their protocol.

:class:`MessageDriver` holds the transport, the expected serial number and the identity
read at connection; it opens the transport and closes it again if connecting fails, checks
the serial number, and gives the :class:`~drivers.driver.Driver` properties, ``close`` and
the context manager. How the identity is asked and which models are accepted stay with
each protocol's driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Self

from drivers.closing import Closing
from drivers.driver import DriverOptions
from drivers.errors import DriverError, IdentityMismatch
from drivers.iolog import IOLog
from drivers.reading import Identity
from drivers.transports import open_message_transport
from drivers.transports.base import MessageTransport, SyncMarker

__all__ = ["MessageDriver"]


class MessageDriver(Closing):
    """Base class of the drivers that exchange text messages over a
    :class:`~drivers.transports.base.MessageTransport`.

    Subclasses implement :meth:`connect` (read and check the identity, set
    ``self._identity``) and an ``open`` classmethod that calls :meth:`_open_connected`.
    """

    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\n"

    def __init__(self, transport: MessageTransport, *, expected_serial: str | None = None):
        self._transport = transport
        self._expected_serial = expected_serial
        self._identity: Identity | None = None

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def _open_connected(
        cls,
        address: str,
        options: DriverOptions,
        sync_marker: Callable[[int], SyncMarker],
        build: Callable[[MessageTransport], Self],
    ) -> Self:
        """Open the transport at ``address``, build the driver on it with ``build`` and
        connect; the link is closed again if anything fails."""
        transport = open_message_transport(
            address,
            settings=options.transport_settings(),
            sync_marker=sync_marker,
            write_termination=cls.write_termination,
            read_termination=cls.read_termination,
            visa_library=options.visa_library,
        )
        try:
            driver = build(transport)
            driver.connect()
        except BaseException:
            transport.close()
            raise
        return driver

    def connect(self) -> Identity:
        """Read and check the identity (protocol-specific)."""
        raise NotImplementedError

    def _check_serial(self, identity: Identity, *, last_command: str) -> None:
        """Raise IdentityMismatch when an expected serial is set and ``identity`` differs;
        ``last_command`` is the command that read the serial number."""
        expected = self._expected_serial
        if expected is not None and identity.serial != expected:
            raise IdentityMismatch(
                f"serial number {identity.serial!r} differs from the expected {expected!r}",
                expected_identity=expected,
                actual_identity=identity.raw,
                address=self._transport.address,
                last_command=last_command,
            )

    # -- Driver protocol ----------------------------------------------------------------

    @property
    def address(self) -> str:
        """The address the driver was opened with."""
        return self._transport.address

    @property
    def io_log(self) -> IOLog:
        """Every command and answer exchanged, timestamped."""
        return self._transport.io_log

    @property
    def transport(self) -> MessageTransport:
        """The transport (for drivers built on this one and tools; procedures use the
        methods)."""
        return self._transport

    @property
    def identity(self) -> Identity:
        """The identity read by :meth:`connect`."""
        if self._identity is None:
            raise DriverError("the driver is not connected yet", address=self._transport.address)
        return self._identity

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Release the link; idempotent."""
        self._transport.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._transport.address!r})"
