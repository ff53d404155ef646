"""A multi-position run's parts: the readings the positions share, and each position.

A bench with N positions (N meters in series against one reference) measures the shared
part once at each point of the test sequence (the reference's readings: a
:class:`SharedPoint`) and each position's instrument separately (a :class:`Position`:
the instrument's identity, its own points with their results and verdicts, and its
state). A position is ``measured``, ``skipped`` (never measured: not mounted, broken)
or ``removed`` (taken out of the run, by the operator or after a fault, with the points
measured before): skipped and removed positions state why. A position that fails or is
removed does not invalidate the others: each carries its own points and verdict.

A position whose meter was read through its optical port carries what was read
(:class:`MeterIdentity`): the protocol, the port, the serial number the meter stated and
its registers as stated, the evidence that the serial number and the registers were read,
not typed.

A single-position run carries neither (its JSON is what it always was).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from procedures.record.derived import Check
from procedures.record.points import Point, Reading
from procedures.record.reader import Fields, RecordError, decimal_text

__all__ = [
    "METER_PROTOCOLS",
    "POSITION_STATES",
    "MeterIdentity",
    "MeterRegister",
    "Position",
    "PositionInstrument",
    "SharedPoint",
]

POSITION_STATES = ("measured", "skipped", "removed")
"""What became of a position: measured through the run, skipped (never measured), or
removed during the run."""


@dataclass(frozen=True, slots=True)
class SharedPoint:
    """The readings taken once for every position at one point of the sequence (the
    reference's registers): ``index`` and ``test`` of the point; none where nothing is
    read once (a calibrator's output is set, not read)."""

    KEYS: ClassVar[tuple[str, ...]] = ("index", "test", "readings")
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    index: int
    test: str
    readings: tuple[Reading, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "test": self.test,
            "readings": [r.to_json() for r in self.readings],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> SharedPoint:
        f = Fields(data, where)
        return cls(
            index=f.integer("index"),
            test=f.text("test"),
            readings=f.objects("readings", Reading.from_json),
        )


@dataclass(frozen=True, slots=True)
class PositionInstrument:
    """The instrument mounted at a position: its serial number, its type (the catalog's
    instrument type) and the numbers of its specification the procedure reads
    (``parameters``: a meter's constant, Q3 and ratio, a resolution...)."""

    KEYS: ClassVar[tuple[str, ...]] = ("serial", "type", "parameters")
    REQUIRED: ClassVar[tuple[str, ...]] = ("serial",)

    serial: str
    type: str = ""
    parameters: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "type": self.type, "parameters": dict(self.parameters or {})}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> PositionInstrument:
        f = Fields(data, where)
        return cls(
            serial=f.text("serial"),
            type=f.optional_text("type") or "",
            parameters=f.mapping("parameters") if f.given("parameters") else None,
        )


METER_PROTOCOLS = {"iec62056-21": "IEC 62056-21", "dlms": "DLMS/COSEM"}
"""How a meter is read through its optical port (the record's code → its name for people):
IEC 62056-21 (mode C readout), or DLMS/COSEM."""


@dataclass(frozen=True, slots=True)
class MeterRegister:
    """One register of a meter as it stated it: its OBIS ``code``, its ``value`` as plain decimal
    text (to the register's own resolution: ``1234.567`` stays three decimals) and its
    ``unit`` (``kWh``, ``Wh``). An indication, kept as read, never re-rounded."""

    KEYS: ClassVar[tuple[str, ...]] = ("code", "value", "unit")
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    code: str
    value: str
    unit: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "value": self.value, "unit": self.unit}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> MeterRegister:
        f = Fields(data, where)
        return cls(code=f.text("code"), value=f.check("value", decimal_text), unit=f.text("unit"))


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """A position's meter as read through its optical port before the test: the
    ``protocol`` (one of :data:`METER_PROTOCOLS`), the ``port`` of the probe, the
    ``serial`` the meter stated under the OBIS code ``serial_code``, its energy
    ``registers`` as stated, and when it was read (``read_at``, ISO 8601 with offset)."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "protocol",
        "port",
        "serial",
        "serial_code",
        "registers",
        "read_at",
    )
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    protocol: str
    port: str
    serial: str
    serial_code: str
    registers: tuple[MeterRegister, ...]
    read_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "port": self.port,
            "serial": self.serial,
            "serial_code": self.serial_code,
            "registers": [r.to_json() for r in self.registers],
            "read_at": self.read_at,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> MeterIdentity:
        f = Fields(data, where)
        return cls(
            protocol=f.check("protocol", _protocol),
            port=f.text("port"),
            serial=f.text("serial"),
            serial_code=f.text("serial_code"),
            registers=f.objects("registers", MeterRegister.from_json, empty=False),
            read_at=f.time("read_at"),
        )


@dataclass(frozen=True, slots=True)
class Position:
    """One position of a multi-position run: its number on the bench (from 1), the
    instrument mounted there, its state and the reason of a skipped or removed one, its
    points (as a single-position run's, its own readings only: the shared ones are in
    the run's ``shared``) and its test-level checks."""

    KEYS: ClassVar[tuple[str, ...]] = (
        "position",
        "instrument",
        "state",
        "reason",
        "points",
        "checks",
        "identity",
    )
    REQUIRED: ClassVar[tuple[str, ...]] = ("position", "instrument", "state", "points")

    position: int
    instrument: PositionInstrument
    state: str = "measured"
    reason: str | None = None
    points: tuple[Point, ...] = ()
    checks: tuple[Check, ...] = ()
    identity: MeterIdentity | None = None
    """Its meter as read through its optical port before the test (None: not read so)."""

    @property
    def verdict(self) -> str | None:
        """``fail`` when a point or check failed, ``pass`` when a measured position's
        points all passed, None for one skipped, removed or not judged (a point without
        a clear pass: a conditional statement is the reviewer's to judge)."""
        if any(p.conformity == "fail" for p in self.points) or any(
            not c.passed for c in self.checks
        ):
            return "fail"
        if self.state != "measured" or not self.points:
            return None
        return "pass" if all(p.conformity == "pass" for p in self.points) else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "position": self.position,
            "instrument": self.instrument.to_json(),
            "state": self.state,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        out["points"] = [p.to_json() for p in self.points]
        if self.checks:
            out["checks"] = [c.to_json() for c in self.checks]
        if self.identity is not None:
            out["identity"] = self.identity.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Position:
        f = Fields(data, where)
        position = f.integer("position")
        if position < 1:
            raise RecordError("positions are numbered from 1", field=f.at("position"))
        state = f.check("state", _state)
        reason = f.optional_text("reason", blank=False)
        if state == "measured" and reason is not None:
            raise RecordError("a measured position states no reason", field=f.at("reason"))
        if state != "measured" and reason is None:
            raise RecordError(f"a {state} position states why", field=f.at("reason"))
        points = f.objects("points", Point.from_json)
        if state == "skipped" and points:
            raise RecordError("a skipped position has no points", field=f.at("points"))
        if state == "measured" and not points:
            raise RecordError("must not be empty", field=f.at("points"))
        return cls(
            position=position,
            instrument=PositionInstrument.from_json(f.required("instrument"), f.at("instrument")),
            state=state,
            reason=reason,
            points=points,
            checks=f.objects("checks", Check.from_json) if f.given("checks") else (),
            identity=_identity(f),
        )


def _identity(f: Fields) -> MeterIdentity | None:
    """The position's identity read, which names the serial its instrument has."""
    if not f.given("identity"):
        return None
    identity = MeterIdentity.from_json(f.data["identity"], f.at("identity"))
    serial = (f.data.get("instrument") or {}).get("serial")
    if identity.serial != serial:
        raise RecordError(
            f"the meter read states serial {identity.serial}, the position's instrument is "
            f"{serial}",
            field=f"{f.at('identity')}.serial",
        )
    return identity


def _protocol(value: Any) -> str:
    if value not in METER_PROTOCOLS:
        raise ValueError(f"must be one of {', '.join(METER_PROTOCOLS)}, got {value!r}")
    return str(value)


def _state(value: Any) -> str:
    if value not in POSITION_STATES:
        raise ValueError(f"must be one of {', '.join(POSITION_STATES)}, got {value!r}")
    return str(value)
