"""A run: its header (who ran which procedure for which job, with which standards, in
what environment), its points, the checks and curves derived from them, the raw I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from procedures.record.derived import Check, Curve, curves_from_json
from procedures.record.points import Point
from procedures.record.positions import Position, SharedPoint
from procedures.record.reader import Fields, RecordError, finite_number, instant, uuid_text

__all__ = ["STANDARD_ROLES", "ProcedureRef", "RunHeader", "RunRecord", "StandardUsed"]

STANDARD_ROLES = ("reference", "source", "environment")
"""The roles a run names its standards in. A procedure role of another name (``weights``,
``readout``) is named ``reference``."""

_HASH = re.compile(r"[0-9a-f]{64}")
# Who ran what, for which job, from when: the first keys of a header and of a payload.
_WHO = ("run_id", "job", "procedure", "operator", "software_version", "started_at")


@dataclass(frozen=True, slots=True)
class ProcedureRef:
    """The procedure a run carried out: its id, version and content hash."""

    KEYS: ClassVar[tuple[str, ...]] = ("id", "version", "hash")
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    id: str
    version: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.hash}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> ProcedureRef:
        f = Fields(data, where)
        return cls(id=f.text("id"), version=f.text("version"), hash=f.check("hash", _sha256))


@dataclass(frozen=True, slots=True)
class StandardUsed:
    """A reference standard the run used: in which role, for which function, over which
    range (``low`` to ``high`` in ``unit``)."""

    KEYS: ClassVar[tuple[str, ...]] = ("asset_id", "role", "function", "unit", "range")
    REQUIRED: ClassVar[tuple[str, ...]] = KEYS

    asset_id: str
    role: str
    function: str
    unit: str
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "role": self.role,
            "function": self.function,
            "unit": self.unit,
            "range": [self.low, self.high],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> StandardUsed:
        f = Fields(data, where)
        low, high = f.check("range", _range)
        return cls(
            asset_id=f.text("asset_id"),
            role=f.check("role", _standard_role),
            function=f.text("function"),
            unit=f.text("unit"),
            low=low,
            high=high,
        )


@dataclass(frozen=True, slots=True)
class RunHeader:
    """What a run states before its first point: its id (a UUID the agent chose), the
    job, the procedure, the operator (a username), the agent's software, when it started,
    the environment as read (quantity → value, unit, raw text, time; None when not
    stated), the standards used, and the rejected run it supersedes."""

    KEYS: ClassVar[tuple[str, ...]] = (*_WHO, "environment", "standards", "supersedes")
    REQUIRED: ClassVar[tuple[str, ...]] = (*_WHO, "standards")

    run_id: str
    job: str
    procedure: ProcedureRef
    operator: str
    software_version: str
    started_at: str
    standards: tuple[StandardUsed, ...]
    environment: Mapping[str, Any] | None = None
    supersedes: str | None = None

    @property
    def started(self) -> datetime:
        return instant(self.started_at)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "job": self.job,
            "procedure": self.procedure.to_json(),
            "operator": self.operator,
            "software_version": self.software_version,
            "started_at": self.started_at,
        }
        if self.environment is not None:
            out["environment"] = self.environment
        out["standards"] = [s.to_json() for s in self.standards]
        if self.supersedes is not None:
            out["supersedes"] = self.supersedes
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> RunHeader:
        f = Fields(data, where)
        return cls(
            run_id=f.uuid("run_id"),
            job=f.text("job"),
            procedure=ProcedureRef.from_json(f.required("procedure"), f.at("procedure")),
            operator=f.text("operator"),
            software_version=f.text("software_version"),
            started_at=f.time("started_at"),
            environment=f.mapping("environment") if f.has("environment") else None,
            standards=f.objects("standards", StandardUsed.from_json),
            supersedes=f.optional("supersedes", uuid_text),
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as an agent submits it and the LIMS receives it (the run payload).

    ``to_json`` is the payload, its keys in the one order the agent sends them;
    ``from_json`` reads a payload and names the field at fault when it refuses one.
    """

    KEYS: ClassVar[tuple[str, ...]] = (
        *_WHO,
        "finished_at",
        "environment",
        "standards",
        "points",
        "shared",
        "positions",
        "checks",
        "curves",
        "raw_io",
        "supersedes",
    )
    REQUIRED: ClassVar[tuple[str, ...]] = (*RunHeader.REQUIRED, "finished_at", "points")

    header: RunHeader
    finished_at: str
    points: tuple[Point, ...]
    checks: tuple[Check, ...] = ()
    curves: Mapping[str, Curve] | None = None
    raw_io: tuple[Mapping[str, Any], ...] = ()
    shared: tuple[SharedPoint, ...] = ()
    positions: tuple[Position, ...] = ()
    """A multi-position run's parts (:mod:`procedures.record.positions`): the readings
    taken once for all positions, and each position; its ``points`` are then empty. A
    single-position run has neither, and its JSON has neither key."""

    @property
    def finished(self) -> datetime:
        return instant(self.finished_at)

    def to_json(self) -> dict[str, Any]:
        """The payload; ``checks``, ``curves``, ``shared`` and ``positions`` only when
        there are some."""
        parts = {
            **self.header.to_json(),
            "finished_at": self.finished_at,
            "points": [p.to_json() for p in self.points],
            "raw_io": [dict(e) for e in self.raw_io],
        }
        if self.positions:
            parts["shared"] = [s.to_json() for s in self.shared]
            parts["positions"] = [p.to_json() for p in self.positions]
        if self.checks:
            parts["checks"] = [c.to_json() for c in self.checks]
        if self.curves:
            parts["curves"] = {k: c.to_json() for k, c in self.curves.items()}
        return {key: parts[key] for key in self.KEYS if key in parts}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> RunRecord:
        f = Fields(data, where)
        header = RunHeader.from_json(data, where)
        positions = f.objects("positions", Position.from_json) if f.given("positions") else ()
        record = cls(
            header=header,
            finished_at=f.time("finished_at"),
            points=f.objects("points", Point.from_json, empty=bool(positions)),
            shared=f.objects("shared", SharedPoint.from_json, empty=False) if positions else (),
            positions=positions,
            checks=f.objects("checks", Check.from_json) if f.given("checks") else (),
            curves=curves_from_json(f.data["curves"], f.at("curves"))
            if f.given("curves")
            else None,
            raw_io=f.objects("raw_io", _entry) if f.given("raw_io") else (),
        )
        record.check_consistent(where)
        return record

    def check_consistent(self, where: str = "") -> None:
        """What a whole run must hold: a standard used (a run's header may be started
        without, the run cannot be sent so), the run finishing after it starts, each point
        index once, each check naming points of the run."""

        def at(key: str) -> str:
            return f"{where}.{key}" if where else key

        if not self.header.standards:
            raise RecordError("must not be empty", field=at("standards"))
        if self.finished < self.header.started:
            raise RecordError("is before started_at", field=at("finished_at"))
        if self.positions:
            self._check_positions(at)
            return
        indexes = [p.index for p in self.points]
        if len(set(indexes)) != len(indexes):
            raise RecordError("point indexes must be unique", field=at("points"))
        known = set(indexes)
        for i, check in enumerate(self.checks):
            unknown = [p for p in check.points if p not in known]
            if unknown:
                raise RecordError(
                    f"no point {unknown[0]} in the run", field=at(f"checks[{i}].points")
                )

    def _check_positions(self, at: Callable[[str], str]) -> None:
        """What a multi-position run must hold: no points nor checks of its own (each
        position has them), each shared index once, each position numbered once, its
        points those of the sequence (a measured one: all of them) and its checks naming
        its own points."""
        if self.points:
            raise RecordError(
                "a multi-position run keeps its points by position", field=at("points")
            )
        if self.checks:
            raise RecordError(
                "a multi-position run keeps its checks by position", field=at("checks")
            )
        sequence = {s.index: s.test for s in self.shared}
        if len(sequence) != len(self.shared):
            raise RecordError("point indexes must be unique", field=at("shared"))
        numbers: set[int] = set()
        for i, position in enumerate(self.positions):
            where = at(f"positions[{i}]")
            if position.position in numbers:
                raise RecordError(
                    f"position {position.position} is given twice", field=f"{where}.position"
                )
            numbers.add(position.position)
            indexes = [p.index for p in position.points]
            if len(set(indexes)) != len(indexes):
                raise RecordError("point indexes must be unique", field=f"{where}.points")
            for j, p in enumerate(position.points):
                if sequence.get(p.index) != p.test:
                    raise RecordError(
                        f"no point {p.index} of test {p.test} in the shared sequence",
                        field=f"{where}.points[{j}].index",
                    )
            if position.state == "measured" and set(indexes) != set(sequence):
                missing = sorted(set(sequence) - set(indexes))
                raise RecordError(
                    f"a measured position lacks point {missing[0]}", field=f"{where}.points"
                )
            for j, check in enumerate(position.checks):
                unknown = [p for p in check.points if p not in indexes]
                if unknown:
                    raise RecordError(
                        f"no point {unknown[0]} at the position",
                        field=f"{where}.checks[{j}].points",
                    )


def _sha256(value: Any) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise ValueError("must be 64 lowercase hexadecimal digits (SHA-256)")
    return value


def _standard_role(value: Any) -> str:
    if value not in STANDARD_ROLES:
        raise ValueError(f"must be one of {', '.join(STANDARD_ROLES)}, got {value!r}")
    return str(value)


def _range(value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError("must be [low, high]")
    low, high = (finite_number(v) for v in value)
    if low > high:
        raise ValueError("low must not exceed high")
    return low, high


def _entry(value: Any, where: str) -> Mapping[str, Any]:
    return Fields(value, where).data
