"""A multi-position run's parts: the readings the positions share, and each position.

A bench with N positions (N meters in series against one reference) measures the shared
part once at each point of the test sequence (the reference's readings: a
:class:`SharedPoint`) and each position's instrument separately (a :class:`Position`:
the instrument's identity, its own points with their results and verdicts, and its
state). A position is ``measured``, ``skipped`` (never measured: not mounted, broken)
or ``removed`` (taken out of the run, by the operator or after a fault, with the points
measured before): skipped and removed positions state why. A position that fails or is
removed does not invalidate the others: each carries its own points and verdict.

A single-position run carries neither (its JSON is what it always was).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from procedures.record.derived import Check
from procedures.record.points import Point, Reading
from procedures.record.reader import Fields, RecordError

__all__ = ["POSITION_STATES", "Position", "PositionInstrument", "SharedPoint"]

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
    )
    REQUIRED: ClassVar[tuple[str, ...]] = ("position", "instrument", "state", "points")

    position: int
    instrument: PositionInstrument
    state: str = "measured"
    reason: str | None = None
    points: tuple[Point, ...] = ()
    checks: tuple[Check, ...] = ()

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
        )


def _state(value: Any) -> str:
    if value not in POSITION_STATES:
        raise ValueError(f"must be one of {', '.join(POSITION_STATES)}, got {value!r}")
    return str(value)
