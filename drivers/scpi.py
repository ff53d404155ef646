"""Base of the drivers for SCPI / IEEE 488.2 instruments.

What every SCPI instrument gets from :class:`ScpiDriver`:

* ``*IDN?`` parsed into an :class:`~drivers.reading.Identity` and checked against the
  models the driver supports and, when configured, the expected serial number
  (:class:`~drivers.errors.IdentityMismatch`);
* the error queue drained with ``SYST:ERR?`` until ``+0,"No error"`` (bounded), and raised
  as :class:`~drivers.errors.InstrumentReportedError` after configuration commands;
* a timeout on a query followed by a look at the error queue, so "the instrument refused
  to answer because of error -230" is reported as such rather than as a bare timeout;
* ``*OPC?`` to wait for pending operations;
* the resynchronisation marker of :func:`scpi_sync_marker` installed on the transport.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Self, TypeVar

from drivers.base import MessageDriver
from drivers.capabilities import DriverCapabilities
from drivers.driver import DriverOptions
from drivers.errors import (
    DeviceError,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentReportedError,
    InstrumentTimeout,
    OutOfRange,
)
from drivers.reading import Identity
from drivers.transports.base import LineTransport, MessageTransport, SyncMarker

__all__ = [
    "ScpiDriver",
    "parse_error_entry",
    "parse_identity",
    "parse_opc",
    "scpi_sync_marker",
]

T = TypeVar("T")

_ERROR_ENTRY = re.compile(r'\s*([+-]?\d+)\s*,\s*"(.*)"\s*')


def scpi_sync_marker(token: int) -> SyncMarker:
    """The resynchronisation marker for IEEE 488.2 instruments.

    ``*ESE <token>;*ESE?;*ESE 0`` makes the instrument echo ``token`` (1-255) through its
    Standard Event Status Enable register, then puts the register back to 0 (caltrace
    drivers do not use service requests). Any answer other than the token is stale.
    """
    if not 1 <= token <= 255:
        raise ValueError(f"token must be 1..255, got {token}")

    def is_answer(text: str) -> bool:
        stripped = text.strip()
        digits = stripped[1:] if stripped[:1] == "+" else stripped
        return digits.isdigit() and int(digits) == token

    return SyncMarker(f"*ESE {token};*ESE?;*ESE 0", is_answer)


def parse_identity(text: str) -> Identity:
    """Parse an ``*IDN?`` answer: four comma-separated fields (IEEE 488.2 §10.14)."""
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != 4 or not fields[1]:
        raise GarbledResponse(
            "malformed *IDN? answer",
            expected="manufacturer,model,serial,firmware",
            received=text,
        )
    return Identity(fields[0], fields[1], fields[2], fields[3], raw=text)


def parse_error_entry(text: str) -> DeviceError:
    """Parse one ``SYST:ERR?`` answer, e.g. ``-113,"Undefined header"``."""
    match = _ERROR_ENTRY.fullmatch(text)
    if match is None:
        raise GarbledResponse(
            "malformed error-queue answer", expected='<code>,"<text>"', received=text
        )
    return DeviceError(int(match.group(1)), match.group(2))


def parse_opc(text: str) -> None:
    """Check an ``*OPC?`` answer (``1``)."""
    if text.strip() not in {"1", "+1"}:
        raise GarbledResponse("unexpected *OPC? answer", expected="1", received=text)


class ScpiDriver(MessageDriver):
    """Base class of SCPI instrument drivers.

    Subclasses set ``name`` (the registry name), ``capabilities``, ``models`` (the
    ``*IDN?`` model fields they drive) and implement the capability protocols. They may
    override :meth:`_after_connect` to read options or set a known state, and
    :meth:`close` to leave outputs safe (then call ``super().close()``).
    """

    name: ClassVar[str]
    capabilities: ClassVar[DriverCapabilities]
    models: ClassVar[tuple[str, ...]]
    error_queue_size: ClassVar[int] = 20
    """Entries the instrument's error queue holds; draining stops after this many + 1."""
    error_query: ClassVar[str] = "SYST:ERR?"
    """The query that pops one error-queue entry (``ERR?`` on IEEE 488.2-only instruments)."""

    def __init__(self, transport: MessageTransport, *, expected_serial: str | None = None):
        super().__init__(transport, expected_serial=expected_serial)
        if isinstance(transport, LineTransport):
            transport.set_sync_marker(scpi_sync_marker)

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Connect to ``address``, check the identity, and return the ready driver.

        The link is closed again if anything fails.
        """
        options = options or DriverOptions()
        expected_serial = options.expected_serial
        return cls._open_connected(
            address,
            options,
            scpi_sync_marker,
            lambda transport: cls(transport, expected_serial=expected_serial),
        )

    def connect(self) -> Identity:
        """Read and check the identity, log errors queued before we came, run the hook."""
        identity = self.read_identity()
        self.check_identity(identity)
        self._identity = identity
        for entry in self.read_error_queue():
            self._transport.io_log.event(f"error queued before connection: {entry}")
        self._after_connect()
        return identity

    def _after_connect(self) -> None:
        """Hook for subclasses: runs once the identity is checked."""

    # -- identity -----------------------------------------------------------------------

    def read_identity(self) -> Identity:
        """Ask ``*IDN?`` and parse the answer."""
        return self.query("*IDN?", parse_identity)

    def check_identity(self, identity: Identity) -> None:
        """Raise IdentityMismatch unless the model is driven here and the serial matches."""
        if identity.model.upper() not in {m.upper() for m in self.models}:
            raise IdentityMismatch(
                f"the instrument is a {identity.model}, this driver is for "
                + " / ".join(self.models),
                expected_identity=" / ".join(self.models),
                actual_identity=identity.raw,
                address=self._transport.address,
                last_command="*IDN?",
            )
        self._check_serial(identity, last_command="*IDN?")

    # -- exchanges ----------------------------------------------------------------------

    def write(self, command: str) -> None:
        """Send one command without checking the error queue."""
        self._transport.write(command)

    def query(
        self, command: str, parse: Callable[[str], T], *, timeout_s: float | None = None
    ) -> T:
        """Send a query and return ``parse(answer)``.

        When the instrument does not answer, its error queue is read: if it holds errors
        they are raised as InstrumentReportedError (chained to the timeout), otherwise the
        InstrumentTimeout stands.
        """
        try:
            return self._transport.query_parsed(command, parse, timeout_s=timeout_s)
        except InstrumentTimeout as timeout:
            reported = self._errors_after_failure()
            if reported:
                raise InstrumentReportedError(
                    "no answer: the instrument reported an error instead",
                    errors=reported,
                    address=self._transport.address,
                    last_command=command,
                ) from timeout
            raise

    def write_checked(self, *commands: str) -> None:
        """Send configuration commands, then raise InstrumentReportedError if any failed."""
        for command in commands:
            self._transport.write(command)
        self.check_errors("; ".join(commands))

    def read_error_queue(self) -> tuple[DeviceError, ...]:
        """Drain the error queue (oldest first) until ``0,"No error"``."""
        entries: list[DeviceError] = []
        for _ in range(self.error_queue_size + 1):
            entry = self._transport.query_parsed(self.error_query, self.parse_error)
            if entry.code == 0:
                return tuple(entries)
            entries.append(entry)
        raise GarbledResponse(
            "the error queue did not empty",
            expected=f'+0,"No error" within {self.error_queue_size + 1} reads',
            received=str(entries[-1]),
            address=self._transport.address,
            last_command=self.error_query,
        )

    def parse_error(self, text: str) -> DeviceError:
        """Parse one answer to :attr:`error_query` (code 0 means the queue is empty)."""
        return parse_error_entry(text)

    def check_errors(self, context: str) -> None:
        """Raise InstrumentReportedError when the error queue is not empty.

        ``context`` names what was being done (reported as the last command).
        """
        errors = self.read_error_queue()
        if errors:
            raise InstrumentReportedError(
                "the instrument reported errors",
                errors=errors,
                address=self._transport.address,
                last_command=context,
            )

    def wait_complete(self, *, timeout_s: float | None = None) -> None:
        """Wait for pending operations with ``*OPC?`` (seconds; None: transport timeout)."""
        self.query("*OPC?", parse_opc, timeout_s=timeout_s)

    def reset(self) -> None:
        """``*RST`` and ``*CLS``, then wait for completion."""
        self._transport.write("*RST;*CLS")
        self.wait_complete()

    @contextmanager
    def validating(self) -> Iterator[None]:
        """Context for argument checks: refusals carry this instrument's address."""
        try:
            yield
        except OutOfRange as err:
            address = self._transport.address
            raise err.with_context(address=address, last_command=None) from err.__cause__

    def _errors_after_failure(self) -> tuple[DeviceError, ...]:
        try:
            return self.read_error_queue()
        except DriverError as err:
            self._transport.io_log.event(f"could not read the error queue: {err.message}")
            return ()
