"""Rounding and formatting a measurement result for a certificate.

What the documents say (read from stored copies of the text; clause numbers
as quoted there):

* JCGM 100:2008 (GUM) 7.2.6: "It usually suffices to quote u_c(y) and U ... to
  at most two significant digits ... In reporting final results, it may
  sometimes be appropriate to round uncertainties up rather than to the
  nearest digit. For example, u_c(y) = 10,47 mΩ might be rounded up to 11 mΩ.
  However, common sense should prevail and a value such as u(x_i) = 28,05 kHz
  should be rounded down to 28 kHz. Output and input estimates should be
  rounded to be consistent with their uncertainties; for example, if
  y = 10,057 62 Ω with u_c(y) = 27 mΩ, y should be rounded to 10,058 Ω."
* ILAC P14 (quoted from the 01/2013 edition, 6.3 b; the 09/2020 edition keeps
  the rule that U is given to at most two significant digits and the value
  is rounded to the same decimal place): "For the process of rounding, the
  usual rules for rounding of numbers shall be used, subject to the guidance
  on rounding provided i.e. in Section 7 of the GUM."

Hence the default here: ``U`` to two significant digits by the usual rule
(nearest, a tie rounds away from zero), with rounding up available as a
policy (GUM 7.2.6) and a third policy, round to nearest unless that lowers
``U`` by more than 5 %, then up, which is recalled from EA-4/02 but could not
be confirmed in a stored copy of that document.

All arithmetic is done in :class:`decimal.Decimal`, starting from the shortest
decimal representation of a float (``repr``), so ``0.00035`` is rounded as
the decimal number it reads as, not as the binary number
0.000349999999999999974... that stores it.

Output format (documented because certificates and tests depend on it):

* ``format_result``: ``"50.000838 ± 0.000093 mm (k = 2.92, p ≈ 99 %)"``,
  the value and ``U`` in the same unit, ``.`` as the decimal separator, no
  digit grouping, fixed-point notation (never an exponent) unless
  ``scientific=True``, which gives ``"(5.0000838 ± 0.0000093) × 10^1 mm ..."``.
  ``k`` has two decimals; ``p`` is a whole percentage unless that would read
  100 %, then as many decimals as needed (``99.7 %``).
* ``format_concise``: ``"50.000838(93) mm"``, the digits in parentheses being
  ``U`` in units of the last digit of the value (GUM 7.2.2, second form);
  ``"56800(1200) Pa"`` when ``U`` is 1200 Pa.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from uncertainty.errors import ModelError

__all__ = [
    "RoundedResult",
    "RoundingPolicy",
    "format_concise",
    "format_result",
    "round_result",
    "round_to_uncertainty",
    "round_uncertainty",
]

Number = float | int | Decimal


class RoundingPolicy(StrEnum):
    """How an uncertainty is rounded to its significant digits."""

    NEAREST = "nearest"
    """The usual rule (ILAC P14, GUM 7.2.6): to the nearest, a tie away from zero. Default."""

    UP = "up"
    """Always up, never understating the uncertainty (allowed by GUM 7.2.6)."""

    NEAREST_UNLESS_DOWN_MORE_THAN_5_PERCENT = "nearest unless down more than 5 %"
    """To the nearest, but up when the nearest is more than 5 % below the unrounded value.

    Recalled from EA-4/02 (not confirmed in a stored copy). With two
    significant digits rounding to the nearest never lowers a value by more
    than 5 %, so this only differs from ``NEAREST`` with one digit.
    """


@dataclass(frozen=True)
class RoundedResult:
    """A value and its expanded uncertainty rounded for a certificate.

    ``expanded_uncertainty`` has the requested significant digits (trailing
    zeros kept: ``0.10``); ``value`` is rounded to the same decimal place.
    Both are in the unit of the measurand.
    """

    value: Decimal
    expanded_uncertainty: Decimal

    @property
    def value_text(self) -> str:
        """The value in fixed-point notation, e.g. ``"50.000838"``."""
        return _fixed(self.value)

    @property
    def uncertainty_text(self) -> str:
        """The expanded uncertainty in fixed-point notation, e.g. ``"0.000093"``."""
        return _fixed(self.expanded_uncertainty)


def _decimal(value: Number, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, float | int | Decimal):
        raise ModelError(f"must be a number, not {value!r}", where=where)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ModelError(f"must be a finite number, not {value!r}", where=where)
        # The shortest repr is the decimal number the float was written as.
        return Decimal(repr(value))
    number = Decimal(value)
    if not number.is_finite():
        raise ModelError(f"must be a finite number, not {value!r}", where=where)
    return number


def _exponent(number: Decimal) -> int:
    """The decimal place of the last digit of a finite Decimal (-2 for 0.10)."""
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ModelError(f"must be a finite number, not {number!r}", where="value")
    return exponent


def _uncertainty(value: Number) -> Decimal:
    number = _decimal(value, "expanded_uncertainty")
    if number < 0:
        raise ModelError(
            f"an uncertainty cannot be negative ({value!r})", where="expanded_uncertainty"
        )
    if number == 0:
        raise ModelError(
            "a certificate never states U = 0; a measurement always has an uncertainty",
            where="expanded_uncertainty",
        )
    return number


def _digits(digits: int) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ModelError(f"must be a whole number of at least 1, not {digits!r}", where="digits")
    return digits


def _quantize(number: Decimal, exponent: int, rounding: str) -> Decimal:
    # Enough precision that quantizing never fails however far apart the
    # magnitude of the number and the decimal place are.
    needed = max(number.adjusted(), exponent) - exponent + 3
    with localcontext() as context:
        context.prec = max(28, needed)
        return number.quantize(Decimal(1).scaleb(exponent), rounding=rounding)


def _to_significant(number: Decimal, digits: int, rounding: str) -> Decimal:
    exponent = number.adjusted() - (digits - 1)
    rounded = _quantize(number, exponent, rounding)
    if rounded.adjusted() > number.adjusted():
        # A carry (0.0996 -> 0.100) added a digit; the new last digit is 0, so
        # dropping it is exact.
        rounded = _quantize(rounded, exponent + 1, rounding)
    return rounded


def round_uncertainty(
    expanded_uncertainty: Number,
    *,
    digits: int = 2,
    policy: RoundingPolicy = RoundingPolicy.NEAREST,
) -> Decimal:
    """Round an (expanded) uncertainty to ``digits`` significant digits.

    Returns a :class:`~decimal.Decimal` in the unit given, carrying exactly
    ``digits`` significant digits (``0.0996`` with two digits is ``0.10``).
    ILAC P14 requires at most two significant digits on a certificate. Refuses
    zero, negative and non-finite values.
    """
    number = _uncertainty(expanded_uncertainty)
    digits = _digits(digits)
    policy = RoundingPolicy(policy)
    if policy is RoundingPolicy.UP:
        return _to_significant(number, digits, ROUND_CEILING)
    nearest = _to_significant(number, digits, ROUND_HALF_UP)
    if policy is RoundingPolicy.NEAREST_UNLESS_DOWN_MORE_THAN_5_PERCENT and (
        number - nearest
    ) > number * Decimal("0.05"):
        return _to_significant(number, digits, ROUND_CEILING)
    return nearest


def round_to_uncertainty(value: Number, rounded_uncertainty: Decimal) -> Decimal:
    """Round ``value`` to the decimal place of the last digit of ``rounded_uncertainty``.

    ``rounded_uncertainty`` is the result of :func:`round_uncertainty`; its
    exponent fixes the decimal place (``0.10`` rounds the value to
    hundredths). Nearest, a tie away from zero; a value that rounds to zero is
    returned as ``0``, never ``-0``. Same unit as the inputs.
    """
    number = _decimal(value, "value")
    if not isinstance(rounded_uncertainty, Decimal) or not rounded_uncertainty.is_finite():
        raise ModelError(
            "must be the finite Decimal returned by round_uncertainty",
            where="rounded_uncertainty",
        )
    rounded = _quantize(number, _exponent(rounded_uncertainty), ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def round_result(
    value: Number,
    expanded_uncertainty: Number,
    *,
    digits: int = 2,
    policy: RoundingPolicy = RoundingPolicy.NEAREST,
) -> RoundedResult:
    """Round a result for a certificate: ``U`` to ``digits`` significant digits, the value to match.

    ILAC P14: the expanded uncertainty to at most two significant digits and
    the value to the same decimal place. ``value`` and
    ``expanded_uncertainty`` share a unit.
    """
    rounded_uncertainty = round_uncertainty(expanded_uncertainty, digits=digits, policy=policy)
    return RoundedResult(
        value=round_to_uncertainty(value, rounded_uncertainty),
        expanded_uncertainty=rounded_uncertainty,
    )


def _fixed(number: Decimal) -> str:
    return format(number, "f")


def _with_unit(text: str, unit: str) -> str:
    if not isinstance(unit, str):
        raise ModelError(f"must be text, not {unit!r}", where="unit")
    return f"{text} {unit}" if unit.strip() else text


def _certificate_digits(digits: int) -> int:
    digits = _digits(digits)
    if digits > 2:
        raise ModelError(
            "ILAC P14 allows at most two significant digits for U on a certificate",
            where="digits",
        )
    return digits


def _scale(result: RoundedResult) -> tuple[Decimal, Decimal, int]:
    leading = result.value if not result.value.is_zero() else result.expanded_uncertainty
    power = leading.adjusted()
    return result.value.scaleb(-power), result.expanded_uncertainty.scaleb(-power), power


def _coverage_factor_text(k: Number) -> str:
    number = _decimal(k, "k")
    if number <= 0:
        raise ModelError(f"a coverage factor must be positive, not {k!r}", where="k")
    return _fixed(_quantize(number, -2, ROUND_HALF_UP))


def _percent_text(coverage_probability: Number) -> str:
    p = _decimal(coverage_probability, "coverage_probability")
    if not 0 < p < 1:
        raise ModelError(
            f"must be a fraction between 0 and 1, not {coverage_probability!r}",
            where="coverage_probability",
        )
    percent = p * 100
    places = 0
    while True:
        shown = _quantize(percent, -places, ROUND_HALF_UP)
        # A probability below 1 is never printed as 100 %; show as many
        # decimals as it takes (0.9973 -> 99.7 %).
        if shown < 100 and not shown.is_zero():
            return _fixed(shown)
        places += 1


def format_result(
    value: Number,
    expanded_uncertainty: Number,
    unit: str = "",
    *,
    k: Number,
    coverage_probability: Number,
    digits: int = 2,
    policy: RoundingPolicy = RoundingPolicy.NEAREST,
    scientific: bool = False,
) -> str:
    """Format a result line ``"value ± U unit (k = 2.00, p ≈ 95 %)"`` for a certificate.

    ``value`` and ``expanded_uncertainty`` are in ``unit`` (free text, may be
    empty); ``k`` is the coverage factor and ``coverage_probability`` a
    fraction (0.9545 prints as 95 %). Rounding follows :func:`round_result`.
    Fixed-point notation unless ``scientific=True``, which factors out the
    power of ten of the value: ``"(5.0000838 ± 0.0000093) × 10^1 mm (...)"``.
    """
    result = round_result(
        value, expanded_uncertainty, digits=_certificate_digits(digits), policy=policy
    )
    suffix = f"(k = {_coverage_factor_text(k)}, p ≈ {_percent_text(coverage_probability)} %)"
    if scientific:
        mantissa, u_mantissa, power = _scale(result)
        body = f"({_fixed(mantissa)} ± {_fixed(u_mantissa)}) × 10^{power}"
    else:
        body = f"{result.value_text} ± {result.uncertainty_text}"
    return f"{_with_unit(body, unit)} {suffix}"


def format_concise(
    value: Number,
    expanded_uncertainty: Number,
    unit: str = "",
    *,
    digits: int = 2,
    policy: RoundingPolicy = RoundingPolicy.NEAREST,
    scientific: bool = False,
) -> str:
    """Format ``"value(U) unit"``, the uncertainty in units of the value's last digit.

    GUM 7.2.2 (second form): ``50.000838(93) mm`` means ``U = 0.000093 mm``.
    The coverage factor is not part of this form; state it beside it.
    ``scientific=True`` gives ``"5.0000838(93) × 10^1 mm"``. Rounding follows
    :func:`round_result`.
    """
    result = round_result(
        value, expanded_uncertainty, digits=_certificate_digits(digits), policy=policy
    )
    number, uncertainty, power = (
        _scale(result) if scientific else (result.value, result.expanded_uncertainty, 0)
    )
    last_place = _exponent(number)
    # A value printed in fixed point ends at the units digit at the latest.
    in_last_digits = uncertainty.scaleb(-min(last_place, 0))
    body = f"{_fixed(number)}({_fixed(in_last_digits)})"
    if scientific:
        body += f" × 10^{power}"
    return _with_unit(body, unit)
