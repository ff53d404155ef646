"""Electricity-meter classes whose limits the verification center states in its procedure.

caltrace encodes only what it could read in a stored copy of the text (classes A, B and C
of MID Annex V Table 2, :mod:`procedures.mpe.electricity`). The percentage error limits
of IEC 62053-21 (classes 0,5, 1 and 2) and IEC 62053-22 (classes 0,2 S and 0,5 S) are in
copyrighted texts that no stored source holds, so caltrace ships none of them. A center
that holds a licensed copy transcribes the table it applies into its own version of the
electricity procedure (``class_limits:``), names the document, its edition, the table
(and clause), who transcribed it and who checked it (two different people), and the
date; the rule ``electricity_meter_stated`` then applies those limits at the bench and
in the LIMS exactly as it applies an encoded table, and the certificate cites the table
as the center's transcription (:attr:`StatedClass.citation`).

The form, one entry per class (a class name is text: quote ``"1"``)::

    class_limits:
      T1:                                   # the class as the meter's plate marks it
        source:
          document: IEC 62053-21            # as its publisher writes it
          edition: "2020"
          table: Table 3
          clause: "..."                     # optional
          transcribed_by: <name>
          checked_by: <another name>
          date: "2026-11-30"                # ISO date of the check, quoted
        ranges:
          - {power_factor: 1, current: "0.05 i_b <= I < 0.1 i_b", limit: ...}
          - {power_factor: 1, current: "0.1 i_b <= I <= i_max", limit: ...}
          - {power_factor: 0.5 inductive, current: ..., limit: ...}
          - {power_factor: 0.8 capacitive, current: ..., limit: ...}

A range's ``current`` is ``LOW OP I OP HIGH`` with each ``OP`` ``<`` or ``<=`` (as the
standard writes it: whether the bound belongs to the range) and each bound a current of
the meter (an instrument parameter of the procedure, ``i_max``) or a multiple of one
(``0.05 i_b``, ``0.05*i_b``). ``limit`` is the percentage error limit (± %, of the
energy) at that power factor in that range. Every class states ranges at each power
factor of :data:`REQUIRED_POWER_FACTORS` (it may state others); the ranges of one power
factor are written in increasing order, each starting where the one before ends, the
shared bound in exactly one of them: no gap, no overlap. What can only be known with a
meter's currents (that ``0.1 i_b`` is below ``i_max``) is checked at the point.

The rule applies a limit at a point of exactly a stated power factor (and load kind) and
a current inside one stated range; anything else is refused, never extrapolated or
clamped. The limits hold at the reference conditions the center's table states: the
procedure's environment limits keep the bench there (no temperature argument).

Currents are Decimals in A, limits in % of the energy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from procedures.errors import InvalidValueError, OutOfRangeError, UnknownClassError
from procedures.mpe._values import Json, exact, plain, positive
from procedures.mpe.electricity import _power_factor as checked_power_factor
from procedures.references import Reference

__all__ = [
    "ENCODED_CLASSES",
    "REQUIRED_POWER_FACTORS",
    "Bound",
    "PowerFactor",
    "StatedClass",
    "StatedClassLimits",
    "StatedRange",
    "parse_class_limits",
]

ENCODED_CLASSES: Final = ("A", "B", "C")
"""The classes of MID Annex V Table 2 caltrace encodes: a stated table cannot redefine them."""

_SOURCE_KEYS: Final = (
    "document",
    "edition",
    "table",
    "clause",
    "transcribed_by",
    "checked_by",
    "date",
)
_CLASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,_ -]{0,19}")
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_BOUND = re.compile(rf"\s*(?:(?P<factor>{_NUMBER})\s*\*?\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*")
_RANGE = re.compile(r"(?P<low>[^<]+)(?P<lop><=?)\s*I\s*(?P<hop><=?)(?P<high>[^<]+)")
_POWER_FACTOR = re.compile(rf"\s*(?P<value>{_NUMBER})\s*(?P<kind>inductive|capacitive)?\s*")


@dataclass(frozen=True, slots=True)
class PowerFactor:
    """A power factor of the table: ``cos φ`` and, below 1, whether the load is
    ``inductive`` or ``capacitive`` (``""`` at 1)."""

    value: Decimal
    load_kind: str

    def __str__(self) -> str:
        return plain(self.value) if not self.load_kind else f"{plain(self.value)} {self.load_kind}"

    def matches(self, value: Decimal, load_kind: str) -> bool:
        """Whether a point at ``value`` (cos φ) with ``load_kind`` is at this power factor."""
        return value == self.value and (self.value == 1 or load_kind == self.load_kind)


REQUIRED_POWER_FACTORS: Final = (
    PowerFactor(Decimal(1), ""),
    PowerFactor(Decimal("0.5"), "inductive"),
    PowerFactor(Decimal("0.8"), "capacitive"),
)
"""The power factors every stated class gives its limits at (1; 0.5 inductive; 0.8
capacitive), the points of the electricity procedure's accuracy tests."""


@dataclass(frozen=True, slots=True)
class Bound:
    """A bound of a current range: ``factor`` × the meter's current ``current`` (an
    instrument parameter, A)."""

    factor: Decimal
    current: str

    def __str__(self) -> str:
        return self.current if self.factor == 1 else f"{plain(self.factor)} {self.current}"

    def at(self, currents: Mapping[str, Decimal]) -> Decimal:
        """The bound in A for a meter whose currents are ``currents``."""
        return self.factor * currents[self.current]


@dataclass(frozen=True, slots=True)
class StatedRange:
    """One row of a stated table: at ``power_factor``, for ``low (<|<=) I (<|<=) high``,
    the limit ``limit`` (± %)."""

    power_factor: PowerFactor
    low: Bound
    low_included: bool
    high: Bound
    high_included: bool
    limit: Decimal

    @property
    def text(self) -> str:
        """The range as the table writes it: ``0.05 i_b ≤ I < 0.1 i_b``."""
        lop = "≤" if self.low_included else "<"
        hop = "≤" if self.high_included else "<"
        return f"{self.low} {lop} I {hop} {self.high}"

    def holds(self, current: Decimal, currents: Mapping[str, Decimal]) -> bool:
        """Whether ``current`` (A) is inside the range for a meter of ``currents``."""
        low, high = self.low.at(currents), self.high.at(currents)
        above = low <= current if self.low_included else low < current
        below = current <= high if self.high_included else current < high
        return above and below

    def as_dict(self) -> dict[str, Json]:
        return {
            "power_factor": str(self.power_factor),
            "current": self.text,
            "limit_percent": plain(self.limit),
        }


@dataclass(frozen=True, slots=True)
class StatedClass:
    """A class whose limits a procedure states, with the transcription's source."""

    name: str
    document: str
    edition: str
    table: str
    clause: str
    transcribed_by: str
    checked_by: str
    date: str
    procedure: str
    """The procedure's id and version (``electricity-meter-iec 1.0.0``)."""
    ranges: tuple[StatedRange, ...]

    @property
    def source(self) -> str:
        """``IEC 62053-21:2020 Table 3`` (with the clause, where stated)."""
        identifier = Reference(self.document, self.edition, "").identifier
        text = f"{identifier} {self.table}"
        return f"{text} ({self.clause})" if self.clause else text

    @property
    def citation(self) -> str:
        """The table as the run keeps it and a certificate prints it (English): the
        document, edition and table, the procedure and version that transcribe it, who
        transcribed and who checked it."""
        return self.citation_in("en")

    def citation_in(self, language: str) -> str:
        """:attr:`citation` in ``language`` (``en`` or ``vi``)."""
        if language == "vi":
            return (
                f"{self.source}, do {self.transcribed_by} chép lại trong quy trình "
                f"{self.procedure}, {self.checked_by} kiểm tra"
            )
        return (
            f"{self.source}, as transcribed in procedure {self.procedure} by "
            f"{self.transcribed_by}, checked by {self.checked_by}"
        )

    @property
    def currents(self) -> frozenset[str]:
        """The meter's currents the ranges are stated in."""
        return frozenset(b.current for r in self.ranges for b in (r.low, r.high))

    def mpe(
        self,
        current: object,
        *,
        power_factor: object,
        load_kind: str,
        currents: Mapping[str, object],
    ) -> Decimal:
        """The stated limit (± %) at ``current`` (A), ``power_factor`` and ``load_kind``,
        for a meter whose currents (A, by name) are ``currents``.

        Refused (:class:`~procedures.errors.OutOfRangeError`): a power factor the class
        states no range at, a current outside every range of that power factor, a
        meter whose currents make a stated range empty.
        """
        i = positive(current, "current")
        pf = checked_power_factor(power_factor, load_kind)
        rows = [r for r in self.ranges if r.power_factor.matches(pf, load_kind)]
        if not rows:
            stated = ", ".join(sorted({str(r.power_factor) for r in self.ranges}))
            shown = plain(pf) if pf == 1 else f"{plain(pf)} {load_kind}"
            raise OutOfRangeError(
                f"class {self.name} states no limit at power factor {shown} ({self.source}, "
                f"as transcribed, states {stated})",
                argument="power_factor",
            )
        amperes = {name: positive(currents.get(name), name) for name in self.currents}
        for row in rows:
            low, high = row.low.at(amperes), row.high.at(amperes)
            if low > high or (low == high and not (row.low_included and row.high_included)):
                raise OutOfRangeError(
                    f"the range {row.text} of class {self.name} is empty for this meter "
                    f"({row.low} = {_amperes(low)} A, {row.high} = {_amperes(high)} A)",
                    argument="current",
                )
        for row in rows:
            if row.holds(i, amperes):
                return row.limit
        first, last = rows[0], rows[-1]
        raise OutOfRangeError(
            f"current {_amperes(i)} A is outside every range class {self.name} states at power "
            f"factor {rows[0].power_factor} ({first.low} = {_amperes(first.low.at(amperes))} A "
            f"to {last.high} = {_amperes(last.high.at(amperes))} A); no limit is defined there",
            argument="current",
        )

    def as_dict(self) -> dict[str, Json]:
        """The class, its source and its ranges as plain data (% of the energy)."""
        return {
            "class": self.name,
            "document": self.document,
            "edition": self.edition,
            "table": self.table,
            "clause": self.clause,
            "transcribed_by": self.transcribed_by,
            "checked_by": self.checked_by,
            "date": self.date,
            "procedure": self.procedure,
            "citation": self.citation,
            "unit": "%",
            "ranges": [r.as_dict() for r in self.ranges],
        }


@dataclass(frozen=True, slots=True)
class StatedClassLimits:
    """The classes a procedure states (``class_limits:``), by name."""

    classes: Mapping[str, StatedClass]

    def of(self, accuracy_class: str) -> StatedClass:
        """The stated class ``accuracy_class``; an unknown one is refused, naming those
        the procedure states."""
        try:
            return self.classes[accuracy_class]
        except KeyError:
            raise UnknownClassError(
                f"class {accuracy_class!r} is not in the procedure's class_limits (it states "
                f"{', '.join(self.classes)}); classes A, B and C are the rule "
                "electricity_meter's",
                argument="accuracy_class",
            ) from None

    def as_dict(self) -> dict[str, Json]:
        return {name: stated.as_dict() for name, stated in self.classes.items()}


# ------------------------------------------------------------------ reading the table


def parse_class_limits(
    data: object, *, procedure: str, currents: Sequence[str], where: str = "class_limits"
) -> StatedClassLimits:
    """The ``class_limits:`` of procedure ``procedure`` (``"<id> <version>"``), whose
    bounds may name the instrument parameters ``currents``.

    Raises :class:`~procedures.errors.InvalidValueError` naming the key at fault
    (``class_limits.T1.ranges[2].limit``).
    """
    if not isinstance(data, Mapping) or not data:
        raise InvalidValueError("expected a mapping of class name to its table", argument=where)
    classes: dict[str, StatedClass] = {}
    for name, entry in data.items():
        key = f"{where}.{name}"
        if not isinstance(name, str) or not _CLASS_NAME.fullmatch(name):
            raise InvalidValueError(
                "a class name is 1 to 20 letters, digits and . , _ - (quote a number: '\"1\"')",
                argument=key,
            )
        if name.strip().upper() in ENCODED_CLASSES:
            raise InvalidValueError(
                f"class {name.strip()} is MID Annex V Table 2's, encoded in caltrace (rule "
                "electricity_meter): a stated table cannot redefine it",
                argument=key,
            )
        classes[name] = _stated_class(name, entry, key, procedure, frozenset(currents))
    return StatedClassLimits(classes)


def _mapping(value: object, key: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"expected a mapping of {', '.join(allowed)}", argument=key)
    for name in value:
        if name not in allowed:
            raise InvalidValueError(
                f"unknown key (expected one of: {', '.join(allowed)})", argument=f"{key}.{name}"
            )
    return value


def _source_text(source: Mapping[str, Any], name: str, key: str, *, required: bool) -> str:
    value = source.get(name, "")
    if name == "edition" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a year written without quotes
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidValueError("expected a non-empty text", argument=f"{key}.{name}")
    if ";" in value:
        raise InvalidValueError(
            "a ';' separates the documents a certificate cites: write it without one",
            argument=f"{key}.{name}",
        )
    return " ".join(value.split())


def _stated_class(
    name: str, entry: object, key: str, procedure: str, currents: frozenset[str]
) -> StatedClass:
    spec = _mapping(entry, key, ("source", "ranges"))
    if "source" not in spec:
        raise InvalidValueError("is required", argument=f"{key}.source")
    skey = f"{key}.source"
    source = _mapping(spec["source"], skey, _SOURCE_KEYS)
    texts = {
        field: _source_text(source, field, skey, required=field != "clause")
        for field in _SOURCE_KEYS
    }
    if texts["transcribed_by"].casefold() == texts["checked_by"].casefold():
        raise InvalidValueError(
            f"{texts['checked_by']} transcribed the table: another person checks it",
            argument=f"{skey}.checked_by",
        )
    try:
        date.fromisoformat(texts["date"])
    except ValueError:
        raise InvalidValueError(
            f"expected an ISO date (2026-11-30), not {texts['date']!r}", argument=f"{skey}.date"
        ) from None
    rows = spec.get("ranges")
    if not isinstance(rows, list) or not rows:
        raise InvalidValueError("expected a non-empty list of ranges", argument=f"{key}.ranges")
    ranges = tuple(_stated_range(row, f"{key}.ranges[{i}]", currents) for i, row in enumerate(rows))
    _check_ranges(ranges, f"{key}.ranges")
    return StatedClass(name=name, **texts, procedure=procedure, ranges=ranges)


def _power_factor(value: object, key: str) -> PowerFactor:
    text = plain(Decimal(repr(value))) if isinstance(value, int | float) else value
    match = _POWER_FACTOR.fullmatch(text) if isinstance(text, str) else None
    if isinstance(value, bool) or match is None:
        raise InvalidValueError(
            f"expected 1, or a power factor with its load (0.5 inductive, 0.8 capacitive), "
            f"not {value!r}",
            argument=key,
        )
    pf = Decimal(match["value"])
    kind = match["kind"] or ""
    if not 0 < pf <= 1:
        raise InvalidValueError(f"a power factor is above 0 and at most 1, not {pf}", argument=key)
    if pf < 1 and not kind:
        raise InvalidValueError(f"say whether {plain(pf)} is inductive or capacitive", argument=key)
    if pf == 1 and kind:
        raise InvalidValueError(
            "a power factor of 1 is neither inductive nor capacitive", argument=key
        )
    return PowerFactor(pf, kind)


def _bound(text: str, key: str, currents: frozenset[str]) -> Bound:
    match = _BOUND.fullmatch(text)
    if match is None:
        raise InvalidValueError(
            f"{text.strip()!r} is not a current of the meter or a multiple of one (0.1 i_b)",
            argument=key,
        )
    if match["name"] not in currents:
        raise InvalidValueError(
            f"{match['name']!r} is not an instrument parameter of the procedure "
            f"({', '.join(sorted(currents)) or 'none'})",
            argument=key,
        )
    factor = Decimal(match["factor"]) if match["factor"] else Decimal(1)
    if factor <= 0:
        raise InvalidValueError(f"a bound is a positive multiple, not {text.strip()}", argument=key)
    return Bound(factor.normalize(), match["name"])


def _stated_range(row: object, key: str, currents: frozenset[str]) -> StatedRange:
    spec = _mapping(row, key, ("power_factor", "current", "limit"))
    for name in ("power_factor", "current", "limit"):
        if name not in spec or spec[name] is None:
            raise InvalidValueError("is required", argument=f"{key}.{name}")
    power_factor = _power_factor(spec["power_factor"], f"{key}.power_factor")
    written = spec["current"]
    match = _RANGE.fullmatch(written) if isinstance(written, str) else None
    if match is None:
        raise InvalidValueError(
            f"expected 'LOW <= I < HIGH' (each < or <=), not {written!r}",
            argument=f"{key}.current",
        )
    low = _bound(match["low"], f"{key}.current", currents)
    high = _bound(match["high"], f"{key}.current", currents)
    if low.current == high.current and (
        low.factor > high.factor
        or (low.factor == high.factor and not (match["lop"] == match["hop"] == "<="))
    ):
        raise InvalidValueError(
            f"the range {written!r} holds no current", argument=f"{key}.current"
        )
    raw = spec["limit"]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidValueError(f"expected a number (%), not {raw!r}", argument=f"{key}.limit")
    limit = exact(Decimal(repr(raw)) if isinstance(raw, float) else raw, f"{key}.limit")
    if limit <= 0:
        raise InvalidValueError(
            f"a limit is a positive percentage, not {plain(limit)}", argument=f"{key}.limit"
        )
    return StatedRange(
        power_factor,
        low,
        match["lop"] == "<=",
        high,
        match["hop"] == "<=",
        limit,
    )


def _check_ranges(ranges: Sequence[StatedRange], key: str) -> None:
    """The ranges of each power factor follow each other, no gap and no overlap; every
    required power factor has its ranges."""
    last: dict[PowerFactor, int] = {}
    for i, row in enumerate(ranges):
        where = f"{key}[{i}].current"
        before = last.get(row.power_factor)
        last[row.power_factor] = i
        if before is None:
            continue
        previous = ranges[before]
        if row.low != previous.high:
            if row.low.current != previous.high.current:
                what = "does not start where the one before ends"
            elif row.low.factor < previous.high.factor:
                what = "overlaps the one before"
            else:
                what = "leaves a gap after the one before"
            raise InvalidValueError(
                f"at power factor {row.power_factor} this range ({row.text}) {what}, "
                f"range [{before}] ({previous.text}): it starts at {previous.high}",
                argument=where,
            )
        if row.low_included and previous.high_included:
            raise InvalidValueError(
                f"at power factor {row.power_factor} this range overlaps range [{before}] "
                f"({previous.text}): both include {row.low}",
                argument=where,
            )
        if not row.low_included and not previous.high_included:
            raise InvalidValueError(
                f"at power factor {row.power_factor} this range and range [{before}] "
                f"({previous.text}) leave a gap: neither includes {row.low}",
                argument=where,
            )
    for required in REQUIRED_POWER_FACTORS:
        if required not in last:
            raise InvalidValueError(
                f"no range at power factor {required} (a class states its limits at "
                f"{', '.join(map(str, REQUIRED_POWER_FACTORS))})",
                argument=key,
            )


def _amperes(current: Decimal) -> str:
    """A current for a message, without trailing zeros (``0.25``, ``60``)."""
    return plain(current.normalize())
