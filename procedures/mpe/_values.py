"""Checks of the values given to the rules, shared by the rule modules.

Every rule takes and returns :class:`decimal.Decimal`: the tables are decimal
numbers and a verdict on a band edge (500 e, Q2, 30 °C) must not depend on a
binary rounding. Integers are accepted as exact; floats are refused, because
``0.1`` as a float is not one tenth.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal, TypeAlias

from procedures.errors import InvalidValueError

Json: TypeAlias = str | int | bool | list["Json"] | dict[str, "Json"] | None
"""A value that :func:`json.dumps` writes as it is (the tables' plain-data form)."""

MassUnit: TypeAlias = Literal["mg", "g", "kg"]
"""The mass units the weighing rules accept."""

MILLIGRAMS_PER: Final[dict[str, Decimal]] = {
    "mg": Decimal(1),
    "g": Decimal(1000),
    "kg": Decimal(1000000),
}


def exact(value: object, argument: str) -> Decimal:
    """``value`` as a finite Decimal; an int is exact; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        kind = type(value).__name__
        hint = " (pass Decimal('…') so that the value stays exact)" if kind == "float" else ""
        raise InvalidValueError(f"must be a Decimal, not {kind} {value!r}{hint}", argument=argument)
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidValueError(f"must be a finite number, not {number}", argument=argument)
    return number


def non_negative(value: object, argument: str) -> Decimal:
    """``value`` as a finite Decimal ≥ 0."""
    number = exact(value, argument)
    if number < 0:
        raise InvalidValueError(f"must be zero or positive, not {number}", argument=argument)
    return number


def positive(value: object, argument: str) -> Decimal:
    """``value`` as a finite Decimal > 0."""
    number = exact(value, argument)
    if number <= 0:
        raise InvalidValueError(f"must be positive, not {number}", argument=argument)
    return number


def mass_unit(unit: object, argument: str = "unit") -> MassUnit:
    """``unit`` if it is one of ``mg``, ``g``, ``kg``."""
    if unit == "mg" or unit == "g" or unit == "kg":
        return unit
    raise InvalidValueError(f"must be one of 'mg', 'g', 'kg', not {unit!r}", argument=argument)


def plain(number: Decimal) -> str:
    """``number`` written without an exponent (``1000``, not ``1E+3``), for the plain data."""
    return format(number, "f")
