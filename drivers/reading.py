"""Readings and instrument identities: the values drivers hand to procedures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Identity", "Reading", "utc_now"]


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reading:
    """One value read from an instrument, with everything needed to keep it as evidence.

    ``value`` is a finite float in ``unit`` (SI units for electrical quantities: ``V``,
    ``A``, ``ohm``; instruments that report in their own unit state it here, e.g. ``g``,
    ``mbar``). ``timestamp`` is timezone-aware (UTC from the drivers), taken when the answer
    was received. ``stable`` is False only when the instrument itself flags the value as
    not settled (e.g. a balance's dynamic weight); ``status`` is the instrument's own word
    for the reading (``"ok"``, ``"dynamic"``, ``"in-limits"``...). ``raw`` is the answer
    text the value was parsed from, exactly as received. ``function`` and ``range`` say how
    the instrument was set (``range`` in ``unit``, ``None`` for autorange or not applicable).

    A Reading never holds NaN, infinity or an overload marker: drivers raise instead.
    """

    value: float
    unit: str
    timestamp: datetime
    raw: str
    stable: bool = True
    status: str = "ok"
    function: str | None = None
    range: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"a reading must be finite, got {self.value!r} (raw {self.raw!r})")
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise ValueError("a reading's timestamp must be timezone-aware")
        if not self.unit:
            raise ValueError("a reading must state its unit")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamp as ISO 8601 with offset)."""
        return {
            "value": self.value,
            "unit": self.unit,
            "timestamp": self.timestamp.isoformat(),
            "stable": self.stable,
            "status": self.status,
            "raw": self.raw,
            "function": self.function,
            "range": self.range,
        }


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the instrument says it is (``*IDN?``, ``I4``, a Modbus device-id...).

    ``raw`` is the answer as received; the other fields are parsed from it and empty when
    the protocol does not report them.
    """

    manufacturer: str
    model: str
    serial: str
    firmware: str
    raw: str

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "raw": self.raw,
        }
