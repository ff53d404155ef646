"""The message transport interface and the machinery every line-based transport shares.

Drivers program against :class:`MessageTransport` (write, read, query, close). The
concrete transports (VISA, serial) subclass :class:`LineTransport`, which owns what must
behave the same everywhere:

* every command and answer goes to the :class:`~drivers.iolog.IOLog`;
* library exceptions become typed :mod:`drivers.errors` with the address and last command;
* bounded, configurable retries (``retries`` extra attempts after the first);
* **resynchronisation** after a timeout or a garbled answer, so that a late answer is
  never taken as the answer to the next command.

Resynchronisation relies on one property of message-based instruments: they answer in
the order they were asked. After a lost answer the transport is marked out of sync; before
the next exchange it sends a *marker* query whose answer carries a fresh token (the
driver provides it: :class:`SyncMarker`) and reads until that answer arrives. Everything
received before it is a stale answer to an earlier command: logged as ``stale`` and
discarded. If the marker's answer never comes the link is reopened (for a TCP socket that
alone drops every stale byte). A protocol with no way to ask for a token falls back to
draining: discard input until the line has been quiet for ``quiet_s``.

Subclasses implement the ``_link_*`` methods only; they run under the transport's lock.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, TypeVar, runtime_checkable
from urllib.parse import SplitResult, parse_qsl

from drivers.errors import (
    AddressError,
    ConnectionLost,
    DriverError,
    GarbledResponse,
    InstrumentTimeout,
)
from drivers.iolog import IODirection, IOLog

__all__ = [
    "LineTransport",
    "MessageTransport",
    "SyncMarker",
    "SyncMarkerFactory",
    "TransportSettings",
    "parse_address_options",
    "with_retries",
]

T = TypeVar("T")


def parse_address_options(
    parts: SplitResult, refuse: Callable[[str], AddressError]
) -> dict[str, str]:
    """The query options of an address URL (``?key=value&...``) as a dict.

    ``refuse(reason)`` builds the transport's AddressError (it carries the address and the
    expected form). Refused: a ``#`` fragment, a malformed query (an option with no ``=``),
    and an option given twice (named in the reason). Which options are known and what
    their values may be is for the caller to check.
    """
    if parts.fragment:
        raise refuse("unexpected '#' fragment")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as err:
        raise refuse(f"malformed options: {err}") from err
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise refuse(f"option {key!r} given twice")
        options[key] = value
    return options


def with_retries(
    attempt: Callable[[], T],
    *,
    retries: int,
    log: IOLog,
    recover: Callable[[DriverError], DriverError | None],
    contextualise: Callable[[DriverError], DriverError],
) -> T:
    """Run ``attempt`` up to ``1 + retries`` times; the retry loop every transport shares.

    When ``attempt`` raises a DriverError, ``recover(err)`` puts the link in a state fit
    for the next attempt (resync, reconnect...) and returns the failure to report, or None
    when ``err`` is not worth retrying: then it is raised at once. After the last attempt
    the last failure is raised. Both go through ``contextualise`` (address, command) and
    keep their cause; each retry is logged as an event. Other exceptions propagate.
    """
    attempts = 1 + retries
    for n in range(attempts):
        try:
            return attempt()
        except DriverError as err:
            failure = recover(err)
            if failure is None:
                raise contextualise(err) from err.__cause__
        if n + 1 == attempts:
            raise contextualise(failure) from failure.__cause__
        log.event(f"retry {n + 1}/{attempts - 1} after: {failure.message}")
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class SyncMarker:
    """A query whose answer the transport can recognise without doubt.

    ``command`` is written as is; ``is_answer`` is True only for the answer carrying the
    token it was built with.
    """

    command: str
    is_answer: Callable[[str], bool]


SyncMarkerFactory = Callable[[int], SyncMarker]
"""Builds the marker for a token (an int from 1 to 255, different from the previous one)."""


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """Timing and retry settings shared by every transport.

    ``timeout_s``: how long a read waits for an answer (seconds). ``retries``: extra
    attempts after a timeout, a garbled answer or a lost connection (0 = no retry).
    ``resync_timeout_s``: how long a resynchronisation may wait for its marker's answer
    (seconds; ``None``: twice ``timeout_s``, at least 0.5 s). ``quiet_s``: the silence that
    ends a drain-only resynchronisation (seconds). ``open_timeout_s``: how long opening the
    link may take (seconds).
    """

    timeout_s: float = 2.0
    retries: int = 1
    resync_timeout_s: float | None = None
    quiet_s: float = 0.05
    open_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 s, got {self.timeout_s!r}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries!r}")
        if self.resync_timeout_s is not None and not self.resync_timeout_s > 0:
            raise ValueError(f"resync_timeout_s must be > 0 s, got {self.resync_timeout_s!r}")
        if not self.quiet_s > 0:
            raise ValueError(f"quiet_s must be > 0 s, got {self.quiet_s!r}")
        if not self.open_timeout_s > 0:
            raise ValueError(f"open_timeout_s must be > 0 s, got {self.open_timeout_s!r}")

    @property
    def effective_resync_timeout_s(self) -> float:
        """The resynchronisation budget in seconds."""
        if self.resync_timeout_s is not None:
            return self.resync_timeout_s
        return max(2.0 * self.timeout_s, 0.5)


@runtime_checkable
class MessageTransport(Protocol):
    """A line-oriented link to one instrument: what every message-based driver uses.

    Commands and answers are text without terminators; the transport adds and strips
    them. Timeouts are in seconds. Every method raises :class:`~drivers.errors.DriverError`
    subclasses only.
    """

    @property
    def address(self) -> str:
        """The instrument address as given by the user."""
        ...

    @property
    def io_log(self) -> IOLog:
        """The log of every command and answer."""
        ...

    @property
    def last_command(self) -> str | None:
        """The last command written (markers excluded)."""
        ...

    @property
    def settings(self) -> TransportSettings:
        """Timing and retry settings."""
        ...

    def write(self, command: str) -> None:
        """Send one command (no answer expected)."""
        ...

    def read(self, *, timeout_s: float | None = None) -> str:
        """Read one answer (seconds; ``None``: the transport's timeout)."""
        ...

    def query(self, command: str, *, timeout_s: float | None = None) -> str:
        """Send one command and return its answer."""
        ...

    def query_parsed(
        self, command: str, parse: Callable[[str], T], *, timeout_s: float | None = None
    ) -> T:
        """Send one command and return ``parse(answer)``; retried if parsing says garbled."""
        ...

    def close(self) -> None:
        """Close the link; idempotent."""
        ...


class LineTransport(ABC):
    """Base of the line-based transports: logging, typed errors, retries, resync.

    Thread-safe: one lock serialises whole exchanges, so two threads sharing one
    instrument never interleave a command and another command's answer.
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
        io_log: IOLog | None = None,
    ) -> None:
        self._address = address
        self._settings = settings or TransportSettings()
        self._sync_marker = sync_marker
        self._write_termination = write_termination
        self._write_term_bytes = write_termination.encode(encoding)
        self._read_termination = read_termination
        self._encoding = encoding
        self._log = io_log if io_log is not None else IOLog()
        self._lock = threading.Lock()
        self._last_command: str | None = None
        self._token = 0
        # Link state: open and in sync; out of sync (answers may be pending); broken
        # (must be reopened); closed by the user.
        self._is_open = False
        self._out_of_sync = False
        self._unanswered = 0
        self._closed = False

    # -- public interface ---------------------------------------------------------------

    @property
    def address(self) -> str:
        """The instrument address as given by the user."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """The log of every command and answer."""
        return self._log

    @property
    def last_command(self) -> str | None:
        """The last command written (resync markers excluded)."""
        return self._last_command

    @property
    def settings(self) -> TransportSettings:
        """Timing and retry settings."""
        return self._settings

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def set_sync_marker(self, factory: SyncMarkerFactory | None) -> None:
        """Install the marker a driver's protocol uses to resynchronise (``None``: drain)."""
        self._sync_marker = factory

    def open(self) -> None:
        """Open the link now (the first exchange would otherwise do it)."""
        with self._lock:
            try:
                self._ensure_ready()
            except DriverError as err:
                raise self._contextualise(err) from err.__cause__

    def write(self, command: str) -> None:
        """Send ``command``; on a lost connection, reconnect and resend (bounded retries)."""
        with self._lock:
            self._last_command = command
            attempts = 1 + self._settings.retries
            for attempt in range(attempts):
                try:
                    self._ensure_ready()
                    self._send(command)
                    return
                except ConnectionLost as err:
                    self._mark_broken(err)
                    if attempt + 1 == attempts:
                        raise self._contextualise(err) from err.__cause__
                    self._log.event(f"retry {attempt + 1}/{attempts - 1} after: {err.message}")
                except DriverError as err:
                    raise self._contextualise(err) from err.__cause__

    def read(self, *, timeout_s: float | None = None) -> str:
        """Read one answer without sending anything (never retried: it cannot be re-asked)."""
        with self._lock:
            try:
                self._ensure_ready()
                return self._receive(timeout_s)
            except InstrumentTimeout as err:
                failure = self._after_timeout(err, unanswered=0)
                raise self._contextualise(failure) from failure.__cause__
            except GarbledResponse as err:
                self._mark_out_of_sync(unanswered=0)
                raise self._contextualise(err) from err.__cause__
            except ConnectionLost as err:
                self._mark_broken(err)
                raise self._contextualise(err) from err.__cause__

    def query(self, command: str, *, timeout_s: float | None = None) -> str:
        """Send ``command`` and return its answer (text without terminator)."""
        return self.query_parsed(command, _identity, timeout_s=timeout_s)

    def query_parsed(
        self, command: str, parse: Callable[[str], T], *, timeout_s: float | None = None
    ) -> T:
        """Send ``command`` and return ``parse(answer)``.

        Timeouts, garbled answers (undecodable, or ``parse`` raising
        :class:`~drivers.errors.GarbledResponse`) and lost connections are retried up to
        ``settings.retries`` times, each retry after a resynchronisation or reconnection.
        Any other error from ``parse`` propagates at once. The error raised after the last
        attempt is the last one seen, with the address and this command.
        """

        def attempt() -> T:
            self._ensure_ready()
            self._send(command)
            answer = self._receive(timeout_s)
            return parse(answer)

        with self._lock:
            self._last_command = command
            return with_retries(
                attempt,
                retries=self._settings.retries,
                log=self._log,
                recover=self._recover,
                contextualise=self._contextualise,
            )

    def _recover(self, err: DriverError) -> DriverError | None:
        """Get ready for another attempt after ``err``: resync after a timeout or a garbled
        answer, reconnect after a lost connection; None for an error not worth retrying."""
        if isinstance(err, InstrumentTimeout):
            return self._after_timeout(err, unanswered=1)
        if isinstance(err, GarbledResponse):
            self._mark_out_of_sync(unanswered=0)
            return err
        if isinstance(err, ConnectionLost):
            self._mark_broken(err)
            return err
        return None

    def resync(self) -> None:
        """Resynchronise now (normally done lazily before the next exchange)."""
        with self._lock:
            self._out_of_sync = True
            self._ensure_ready()

    def close(self) -> None:
        """Close the link; later calls raise :class:`~drivers.errors.ConnectionLost`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._is_open:
                self._is_open = False
                self._link_close()
            self._log.event("closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._address!r})"

    # -- machinery (called with the lock held) -------------------------------------------

    def _contextualise(self, err: DriverError) -> DriverError:
        return err.with_context(address=self._address, last_command=self._last_command)

    def _send(self, command: str) -> None:
        data = command.encode(self._encoding) + self._write_term_bytes
        self._log.write(command)
        self._link_send(data)

    def _receive(self, timeout_s: float | None) -> str:
        raw = self._link_receive(self._settings.timeout_s if timeout_s is None else timeout_s)
        try:
            text = raw.decode(self._encoding)
        except UnicodeDecodeError as err:
            shown = raw.decode(self._encoding, errors="backslashreplace")
            self._log.record(IODirection.READ, shown)
            raise GarbledResponse(
                f"undecodable answer ({self._encoding})",
                expected=f"{self._encoding} text",
                received=shown,
            ) from err
        self._log.read(text)
        return text

    def _mark_out_of_sync(self, *, unanswered: int) -> None:
        self._out_of_sync = True
        self._unanswered += unanswered

    def _mark_broken(self, err: DriverError) -> None:
        self._log.event(f"connection lost: {err.message}")
        if self._is_open:
            self._is_open = False
            self._link_close()

    def _after_timeout(self, err: InstrumentTimeout, *, unanswered: int) -> DriverError:
        """Record a timeout; report ConnectionLost instead when the instrument hung up.

        A socket closed by the peer looks like a timeout to some backends (pyvisa-py waits
        the full timeout), so the link is asked whether the peer is gone.
        """
        self._mark_out_of_sync(unanswered=unanswered)
        if self._is_open and self._link_peer_closed():
            lost = ConnectionLost(
                "connection closed by the instrument before a complete answer",
                expected="an answer",
            )
            lost.__cause__ = err
            self._mark_broken(lost)
            return lost
        self._log.event(f"timeout after {err.timeout_s} s")
        return err

    def _ensure_ready(self) -> None:
        if self._closed:
            raise ConnectionLost("transport is closed", address=self._address)
        if not self._is_open:
            self._log.event("open")
            self._link_open()
            self._is_open = True
            if self._out_of_sync and self._link_reopen_drops_stale_input():
                self._log.event("reopened: stale input dropped with the old connection")
                self._out_of_sync = False
                self._unanswered = 0
        if self._out_of_sync:
            try:
                self._resynchronise()
            except DriverError as err:
                # One more chance on a fresh link; if that fails too the error stands.
                self._log.event(f"resync failed: {err.message}; reopening")
                self._is_open = False
                self._link_close()
                self._link_open()
                self._is_open = True
                if self._link_reopen_drops_stale_input():
                    self._out_of_sync = False
                    self._unanswered = 0
                else:
                    self._resynchronise()

    def _resynchronise(self) -> None:
        self._link_discard_input()
        budget = self._settings.effective_resync_timeout_s
        deadline = time.monotonic() + budget
        factory = self._sync_marker
        if factory is None:
            self._drain(deadline)
        else:
            self._token = self._token % 255 + 1
            marker = factory(self._token)
            self._log.event(f"resync: {self._unanswered} answer(s) may be pending; marker sent")
            self._log.write(marker.command)
            self._link_send(marker.command.encode(self._encoding) + self._write_term_bytes)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise InstrumentTimeout(
                        "no answer to the resynchronisation marker",
                        timeout_s=budget,
                        expected=f"the answer to {marker.command!r}",
                    )
                raw = self._link_receive(remaining)
                text = raw.decode(self._encoding, errors="backslashreplace")
                if marker.is_answer(text):
                    self._log.read(text)
                    break
                self._log.record(IODirection.STALE, text)
        self._out_of_sync = False
        self._unanswered = 0
        self._log.event("resync: done")

    def _drain(self, deadline: float) -> None:
        self._log.event("resync: draining input until quiet")
        quiet = self._settings.quiet_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(
                    "input never went quiet while resynchronising",
                    timeout_s=self._settings.effective_resync_timeout_s,
                )
            try:
                raw = self._link_receive(min(quiet, remaining))
            except InstrumentTimeout:
                return
            self._log.record(IODirection.STALE, raw.decode(self._encoding, "backslashreplace"))

    # -- what a concrete transport implements --------------------------------------------

    @abstractmethod
    def _link_open(self) -> None:
        """Open the link. Raise ConnectionLost (or AddressError) on failure."""

    @abstractmethod
    def _link_close(self) -> None:
        """Close the link and release its resources. Never raise."""

    @abstractmethod
    def _link_send(self, data: bytes) -> None:
        """Send bytes (terminator included). Raise ConnectionLost / InstrumentTimeout."""

    @abstractmethod
    def _link_receive(self, timeout_s: float) -> bytes:
        """Return one answer without its terminator, waiting at most ``timeout_s`` seconds.

        Raise InstrumentTimeout (with ``timeout_s``) when no complete answer came, and
        ConnectionLost when the link broke.
        """

    @abstractmethod
    def _link_discard_input(self) -> None:
        """Drop input already received and buffered, without waiting. Never raise."""

    def _link_peer_closed(self) -> bool:
        """True when the instrument is known to have closed the link (checked on timeout)."""
        return False

    def _link_reopen_drops_stale_input(self) -> bool:
        """True when reopening the link discards answers owed on the old one (TCP)."""
        return False


def _identity(text: str) -> str:
    return text
