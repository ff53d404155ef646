"""The I/O log: every command and answer exchanged with an instrument, timestamped.

A run keeps this log as raw evidence of what was sent and received. Each entry carries
two clocks: a monotonic one (nanoseconds, for durations and ordering within a process)
and the UTC wall clock (nanoseconds since the epoch, for the record). Converting to ISO
text happens only on export, so logging costs little on the hot path.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["IODirection", "IOEntry", "IOLog"]


class IODirection(StrEnum):
    """What an I/O log entry records."""

    WRITE = "write"
    """A command sent to the instrument."""
    READ = "read"
    """An answer received and handed to the driver."""
    STALE = "stale"
    """An answer received while resynchronising: discarded, never used as a value."""
    EVENT = "event"
    """Something the transport did or saw: timeout, resync, reconnect, error."""


@dataclass(frozen=True, slots=True)
class IOEntry:
    """One logged exchange: ``data`` is the text without terminator."""

    direction: IODirection
    data: str
    monotonic_ns: int
    utc_ns: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``utc`` as ISO 8601 (microseconds), ``monotonic_s`` in seconds."""
        utc = datetime.fromtimestamp(self.utc_ns / 1e9, tz=UTC)
        return {
            "direction": str(self.direction),
            "data": self.data,
            "utc": utc.isoformat(),
            "monotonic_s": self.monotonic_ns / 1e9,
        }


_Row = tuple[IODirection, str, int, int]


class IOLog:
    """An append-only log of I/O entries, shared by a transport and its driver.

    ``maxlen`` bounds memory for long unattended sessions (oldest entries dropped); the
    default keeps everything, which is what a run's evidence needs. ``drain()`` hands the
    entries over and clears the log, so a runner can file them per point.

    Entries are stored as plain tuples and become :class:`IOEntry` objects when read: the
    log sits on every exchange's path, so appending must cost as little as possible.
    """

    def __init__(self, maxlen: int | None = None) -> None:
        self._rows: deque[_Row] = deque(maxlen=maxlen)

    def record(self, direction: IODirection, data: str) -> None:
        """Append one entry stamped now."""
        self._rows.append((direction, data, time.monotonic_ns(), time.time_ns()))

    def write(self, data: str) -> None:
        """Record a command sent."""
        self._rows.append((IODirection.WRITE, data, time.monotonic_ns(), time.time_ns()))

    def read(self, data: str) -> None:
        """Record an answer received."""
        self._rows.append((IODirection.READ, data, time.monotonic_ns(), time.time_ns()))

    def event(self, text: str) -> None:
        """Record a transport event (timeout, resync, reconnect...)."""
        self.record(IODirection.EVENT, text)

    @property
    def entries(self) -> tuple[IOEntry, ...]:
        """A snapshot of the entries, oldest first."""
        # deque.copy() runs in C without releasing the GIL: a consistent snapshot even
        # while the transport's thread appends.
        return tuple(IOEntry(*row) for row in self._rows.copy())

    def to_dicts(self) -> list[dict[str, Any]]:
        """The entries as JSON-ready dicts, oldest first."""
        return [entry.to_dict() for entry in self.entries]

    def drain(self) -> list[IOEntry]:
        """Return all entries and clear the log (entries appended meanwhile are kept)."""
        out: list[IOEntry] = []
        while True:
            try:
                out.append(IOEntry(*self._rows.popleft()))
            except IndexError:
                return out

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[IOEntry]:
        return iter(self.entries)
