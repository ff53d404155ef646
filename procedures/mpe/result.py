"""The outcome of one acceptance rule, with what it was based on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from procedures.mpe._values import Json, plain


@dataclass(frozen=True)
class RuleCheck:
    """One comparison of a verification: a value against the limit a rule sets.

    Simple acceptance, as legal verification applies it: ``passed`` is
    ``value <= limit`` (closed: a value equal to the limit passes, "shall not
    exceed"). Every input needed to recompute the verdict is kept.

    Attributes:
        test: what was checked (``"repeatability"``, ``"eccentricity"``,
            ``"weighing test, increasing"``, ``"error"``, ``"hysteresis"``...).
        rule: the document and clause the limit comes from.
        value: the quantity compared, as a magnitude (the spread of the
            indications, ``|error|``...), in ``unit``.
        limit: the largest value the rule accepts, in ``unit``.
        unit: the unit of ``value`` and ``limit`` (``"kg"``, ``"%"``, ``"kPa"``...).
        passed: ``value <= limit``.
        load: the load, flow rate or pressure the limit was taken at, in
            ``at_unit`` (``None`` where the rule has no such point).
        at_unit: the unit of ``load``.
    """

    test: str
    rule: str
    value: Decimal
    limit: Decimal
    unit: str
    passed: bool
    load: Decimal | None = None
    at_unit: str | None = None

    def as_dict(self) -> dict[str, Json]:
        """The check as plain data (numbers as decimal strings), for a record or the API."""
        return {
            "test": self.test,
            "rule": self.rule,
            "value": plain(self.value),
            "limit": plain(self.limit),
            "unit": self.unit,
            "passed": self.passed,
            "at": None if self.load is None else plain(self.load),
            "at_unit": self.at_unit,
        }


def compare(
    test: str,
    rule: str,
    value: Decimal,
    limit: Decimal,
    unit: str,
    *,
    load: Decimal | None = None,
    at_unit: str | None = None,
) -> RuleCheck:
    """A :class:`RuleCheck` of ``value <= limit`` (both magnitudes in ``unit``)."""
    return RuleCheck(test, rule, value, limit, unit, value <= limit, load, at_unit)
