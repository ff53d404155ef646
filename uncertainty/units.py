"""Unit consistency of a model, checked with Pint where it can parse the units.

Units in a model file are free text for display; where Pint understands every
unit an expression touches, the expression is checked:

* terms that are added or subtracted have the same dimension *and the same
  scale* (``l_s + d`` with ``l_s`` in mm and ``d`` in µm is refused: the
  numbers would be added as they stand);
* the arguments of ``exp``, ``log``, ``log10`` and inverse trigonometric
  functions are dimensionless; those of ``sin``, ``cos``, ``tan`` are
  dimensionless or radians (degrees are refused: the functions take radians);
* the dimension of an output agrees with its declared unit (only the
  dimension: a numeric factor in the expression may convert the scale).

A quantity with no unit or a unit Pint does not know (``division``,
``scale interval``) makes the expressions that use it unchecked; that is not
an error. Temperatures in °C/°F are taken as temperature differences, as they
appear in coefficients (``alpha*(t - 20)``).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from .display import unit_symbol
from .errors import UnitError
from .expressions import Add, Call, Const, Div, Mul, Neg, Node, Pow, Sub, Var
from .model import Model

_OFFSET_ALIASES = {
    "°C": "delta_degC",
    "℃": "delta_degC",
    "degC": "delta_degC",
    "celsius": "delta_degC",
    "°F": "delta_degF",
    "degF": "delta_degF",
    "fahrenheit": "delta_degF",
}


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint  # heavy: only models with units pay for it

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=False)


@lru_cache(maxsize=512)
def _parse_unit(text: str) -> Any | None:
    """A Pint quantity of magnitude 1 in ``text``, or None when Pint cannot parse it."""
    ureg = _registry()
    cleaned = _OFFSET_ALIASES.get(text.strip(), text.strip())
    try:
        quantity = ureg.Quantity(1.0, cleaned)
    except Exception:  # any parse failure means: not a unit we can check
        return None
    if not quantity._ok_for_muldiv():
        return None
    return quantity


def conversion_factor(unit: str, to: str) -> Decimal | None:
    """The exact decimal factor that turns a value in ``unit`` into ``to`` (``Pa`` → ``kPa``:
    0.001; ``m3`` → ``L``: 1000), or None when the two are not the same kind of quantity
    or Pint does not know one of them. Temperatures convert only to themselves: °C to K
    is an offset, not a factor. ASCII spellings are read as their symbols (``m3``,
    ``degC``, ``uV``)."""
    if unit_symbol(unit) == unit_symbol(to):
        return Decimal(1)
    a, b = _parse_unit(unit_symbol(unit)), _parse_unit(unit_symbol(to))
    if a is None or b is None or a.dimensionality != b.dimensionality:
        return None
    if "[temperature]" in dict(a.dimensionality):
        return None
    # Pint's float arithmetic leaves noise in the last digits (m³ → L: 999.9999999999999);
    # every factor between units is a short decimal
    return Decimal(f"{float((a / b).to('dimensionless').magnitude):.12g}")


class _Wildcard:
    """A bare number: compatible with any unit in a sum, dimensionless in a product."""


_NUMBER = _Wildcard()


def check_model_units(model: Model) -> None:
    """Raise :class:`UnitError` if the units of ``model`` are inconsistent."""
    units = [q.unit for q in model.quantities]
    if not any(units) and not any(o.unit for o in model.outputs):
        return
    parsed = [_parse_unit(u) if u else None for u in units]
    for output in model.outputs:
        where = f"outputs.{output.name}"
        result = _Checker(parsed, model, where).unit_of(output.tree)
        if result is None or output.unit is None:
            continue
        declared = _parse_unit(output.unit)
        if declared is None:
            continue
        if isinstance(result, _Wildcard):
            continue
        if result.dimensionality != declared.dimensionality:
            raise UnitError(
                f"the expression gives {_describe(result)} but the output is declared "
                f"in {output.unit!r}",
                where=f"{where}.unit",
            )


def _describe(quantity: Any) -> str:
    return f"'{quantity.units:~P}'" if str(quantity.units) else "a dimensionless number"


class _Checker:
    def __init__(self, parsed: list[Any | None], model: Model, where: str) -> None:
        self.parsed = parsed
        self.model = model
        self.where = where

    def unit_of(self, node: Node) -> Any | None:
        """The unit of ``node``; None when some unit in it is unknown."""

        match node:
            case Const():
                return _NUMBER
            case Var(index=i):
                return self.parsed[i]
            case Add(left=a, right=b) | Sub(left=a, right=b):
                return self._sum(node, self.unit_of(a), self.unit_of(b))
            case Mul(left=a, right=b):
                ua, ub = self.unit_of(a), self.unit_of(b)
                if ua is None or ub is None:
                    return None
                return _as_quantity(ua) * _as_quantity(ub)
            case Div(left=a, right=b):
                ua, ub = self.unit_of(a), self.unit_of(b)
                if ua is None or ub is None:
                    return None
                return _as_quantity(ua) / _as_quantity(ub)
            case Neg(operand=a):
                return self.unit_of(a)
            case Pow(base=a, exponent=b):
                ua, ub = self.unit_of(a), self.unit_of(b)
                if ua is None or ub is None:
                    return None
                self._require_dimensionless(ub, "an exponent")
                if isinstance(ua, _Wildcard) or _is_dimensionless(ua):
                    return ua
                if not isinstance(b, Const):
                    raise UnitError(
                        f"{_describe(ua)} raised to a power that is not a number", where=self.where
                    )
                return ua**b.value
            case Call(function=f, args=args):
                units = [self.unit_of(a) for a in args]
                if any(u is None for u in units):
                    return None
                return self._call(f, units)
        raise AssertionError(f"no unit rule for {node!r}")  # pragma: no cover

    def _sum(self, node: Node, ua: Any | None, ub: Any | None) -> Any | None:
        if ua is None or ub is None:
            return None
        if isinstance(ua, _Wildcard):
            return ub
        if isinstance(ub, _Wildcard):
            return ua
        if ua.dimensionality != ub.dimensionality:
            op = "add" if isinstance(node, Add) else "subtract"
            raise UnitError(f"cannot {op} {_describe(ua)} and {_describe(ub)}", where=self.where)
        factor = (ua / ub).to("dimensionless").magnitude
        if abs(factor - 1.0) > 1e-12:
            raise UnitError(
                f"adds {_describe(ua)} to {_describe(ub)} as bare numbers: "
                "convert one of them first (state both in the same unit)",
                where=self.where,
            )
        return ua

    def _require_dimensionless(self, unit: Any, what: str) -> None:
        if isinstance(unit, _Wildcard) or _is_dimensionless(unit):
            return
        raise UnitError(f"{what} must be dimensionless, not {_describe(unit)}", where=self.where)

    def _call(self, function: str, units: list[Any]) -> Any:
        ureg = _registry()
        if function in ("sin", "cos", "tan"):
            (u,) = units
            if not isinstance(u, _Wildcard) and not _is_radians(u):
                raise UnitError(
                    f"{function}() takes radians or a dimensionless number, not {_describe(u)}",
                    where=self.where,
                )
            return _NUMBER
        if function in ("exp", "log", "log10", "asin", "acos", "atan"):
            self._require_dimensionless(units[0], f"the argument of {function}()")
            return ureg.Quantity(1.0, "radian") if function.startswith("a") else _NUMBER
        if function == "sqrt":
            (u,) = units
            return u if isinstance(u, _Wildcard) else u**0.5
        if function == "abs":
            return units[0]
        if function == "atan2":
            self._sum(Sub(Const(0), Const(0)), units[0], units[1])
            return ureg.Quantity(1.0, "radian")
        if function == "cvd_t":
            # cvd_t(R, R0, A, B, C): R and R0 in one unit (only their ratio counts); the
            # temperature is in the unit A is per (A in 1/°C gives °C).
            r, r0 = units[0], units[1]
            if not isinstance(r, _Wildcard) and not isinstance(r0, _Wildcard):
                ratio = (r / r0).to_reduced_units()
                if not _is_dimensionless(ratio):
                    raise UnitError(
                        f"cvd_t() takes R and R0 in one unit, not {_describe(r)} and "
                        f"{_describe(r0)}",
                        where=self.where,
                    )
            a = units[2]
            return a if isinstance(a, _Wildcard) else 1 / a
        raise AssertionError(f"no unit rule for {function}")  # pragma: no cover


def _as_quantity(unit: Any) -> Any:
    return _registry().Quantity(1.0, "dimensionless") if isinstance(unit, _Wildcard) else unit


def _is_dimensionless(unit: Any) -> bool:
    if not unit.dimensionless:
        return False
    return bool(abs(unit.to("dimensionless").magnitude - 1.0) < 1e-12)


def _is_radians(unit: Any) -> bool:
    return _is_dimensionless(unit)
