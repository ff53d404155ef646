"""Every number a person reads, rounded for what it means.

One module so that the certificate (PDF and the DCC's human-readable parts), the
LIMS's run pages and the agent's display write a number the same way; it lives in
the lowest package (``uncertainty``) so that every other one may import it.

What a number means decides how it is rounded:

* a **result and its expanded uncertainty**: ``U`` to two significant digits and
  the value to the same decimal place (ILAC P14 6.3 b, GUM 7.2.6;
  :func:`result_texts`, built on :mod:`uncertainty.reporting`);
* an **indication** (what the instrument showed, or the mean of what it showed):
  to the instrument's resolution — the scale interval ``d`` (or ``d_T`` in a test
  mode), the verification scale interval ``e``, the dial's division. A mean of
  readings has no more meaning on paper than one reading: 450.4 kPa is not a value
  a gauge with 2 kPa divisions shows (:func:`indication_text`);
* a **result read as it is** with its own ``U`` (a time to a meter's first pulse
  against its limit): to the coarser of its resolution and ``U``'s last digit
  (:func:`observed_text`);
* a **check value** (repeatability, eccentricity, hysteresis): a difference or a
  spread of indications, so to the resolution of what was read (the same
  :func:`indication_text`);
* a **fitted parameter or residual**: to two significant digits of its own
  standard uncertainty, the value to the same place (GUM 7.2.6, "output and input
  estimates should be rounded to be consistent with their uncertainties";
  :func:`parameter_text`);
* **degrees of freedom**: a whole number, truncated (GUM G.4.1 note 1), and ``∞``
  for an infinite or practically infinite ν (above 10⁶: a t-quantile then differs
  from the normal one in its seventh digit), never "2.99 × 10¹⁴"
  (:func:`dof_text`);
* a number **given, not measured** (a nominal value, an MPE, a limit, a setting):
  as it was written, the shortest decimal of the float (:func:`number_text`);
* a **time**: to the minute with its UTC offset, ``2026-12-06 14:05 UTC+07:00``
  (:func:`datetime_text`), so that a certificate's signature block and the page
  showing the same signature cannot disagree about the day.

All arithmetic is decimal, from the shortest ``repr`` of a float, so 0.35 rounds as
the 0.35 it reads as. Fixed-point notation, ``.`` as the decimal separator, never
an exponent, never ``-0``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from typing import Final

from uncertainty.errors import ModelError
from uncertainty.reporting import round_result, round_to_uncertainty, round_uncertainty

__all__ = [
    "INFINITE_DOF",
    "as_decimal",
    "datetime_text",
    "dof_text",
    "indication_text",
    "number_text",
    "observed_text",
    "observed_value",
    "parameter_text",
    "result_texts",
    "to_resolution",
    "uncertainty_text",
    "unit_symbol",
]

#: Above this, degrees of freedom are written ∞.
INFINITE_DOF: Final = 1e6

Number = float | int | Decimal

# caltrace's ASCII unit atoms → the SI symbols a reader expects (SI Brochure, 9th ed.,
# 5.4: °C, Ω, µ as the micro prefix; powers as superscripts).
_ATOMS: Final[dict[str, str]] = {
    "degC": "°C",
    "degF": "°F",
    "Ohm": "Ω",
    "ohm": "Ω",
    "kOhm": "kΩ",
    "kohm": "kΩ",
    "MOhm": "MΩ",
    "Mohm": "MΩ",
    "mOhm": "mΩ",
    "mohm": "mΩ",
    "uV": "µV",
    "uA": "µA",
    "um": "µm",
    "ug": "µg",
    "us": "µs",
    "uK": "µK",
}
_SUPERSCRIPT: Final = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_FACTOR: Final = re.compile(r"(?P<atom>[A-Za-z%°Ωµ]+|1)(?P<power>-?[0-9]+)?")


def _symbol_factor(text: str, sign: int) -> str:
    match = _FACTOR.fullmatch(text)
    if match is None:
        return text
    atom = _ATOMS.get(match["atom"], match["atom"])
    power = sign * int(match["power"] or 1)
    if atom == "1":
        return ""
    return atom if power == 1 else atom + str(power).translate(_SUPERSCRIPT)


def unit_symbol(unit: str) -> str:
    """The printed SI symbol of a caltrace unit: ``degC`` → ``°C``, ``ohm`` → ``Ω``,
    ``m3/h`` → ``m³/h``, ``1/degC2`` → ``°C⁻²``, ``uV`` → ``µV``.

    A symbol already written for print, or one without an ASCII stand-in (``V``, ``kPa``,
    ``%``, ``%RH``), is returned as it is; ``1`` (the unit one) stays ``1``.
    """
    text = unit.strip()
    if not text or text == "1" or text.startswith("%"):
        return text
    numerator, slash, denominator = text.partition("/")
    if "/" in denominator:
        return text
    top = [_symbol_factor(f, 1) for f in re.split(r"[*.·]", numerator) if f]
    top = [f for f in top if f]
    if not slash:
        return "·".join(top) or "1"
    bottom_factors = [f for f in re.split(r"[*.·]", denominator) if f]
    if not top:
        # 1/degC2 → °C⁻²: a pure reciprocal is written with negative powers.
        return "·".join(_symbol_factor(f, -1) for f in bottom_factors)
    bottom = "·".join(_symbol_factor(f, 1) for f in bottom_factors)
    return f"{'·'.join(top)}/{bottom}"


def as_decimal(value: Number, where: str = "value") -> Decimal:
    """The decimal number ``value`` was written as (a float's shortest ``repr``).

    Raises:
        ModelError: not a finite number (``where`` names it).
    """
    if isinstance(value, bool) or not isinstance(value, float | int | Decimal):
        raise ModelError(f"must be a number, not {value!r}", where=where)
    # float(): a numpy float64 is a float whose repr is "np.float64(...)".
    number = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ModelError(f"must be a finite number, not {value!r}", where=where)
    return number


def _fixed(number: Decimal) -> str:
    if number.is_zero():
        number = number.copy_abs()
    return format(number, "f")


def number_text(value: Number, *, where: str = "value") -> str:
    """A number given rather than measured (nominal, MPE, limit), as it was written.

    ``15000.0`` reads ``15000``, ``0.1`` reads ``0.1``; never an exponent.

    Raises:
        ModelError: not a finite number (``where`` names it).
    """
    number = as_decimal(value, where)
    if number == number.to_integral_value():
        # 15000.0 is the float of "15000"; normalize() would write it 1.5E+4.
        return _fixed(number.quantize(Decimal(1)))
    return _fixed(number.normalize())


def to_resolution(value: Number, resolution: Number, *, where: str = "value") -> Decimal:
    """``value`` rounded to the nearest multiple of ``resolution`` (a tie away from zero),
    written with as many decimals as ``resolution`` has (``0.5`` → one, ``2`` → none).

    Same unit for both. ``450.4`` with a resolution of ``2`` is ``450``; ``5000.1``
    with ``5`` is ``5000``; ``5000.16`` with ``0.5`` is ``5000.0``.

    Raises:
        ModelError: a value that is not finite, or a resolution that is not positive.
    """
    number = as_decimal(value, where)
    step = as_decimal(resolution, f"{where}.resolution")
    if step <= 0:
        raise ModelError(
            f"a resolution is positive, not {resolution!r}", where=f"{where}.resolution"
        )
    # A resolution computed in binary (2 × a half-width) carries noise in its 17th digit:
    # no instrument's resolution has more than ten significant digits.
    with localcontext() as context:
        context.prec = 10
        step = (+step).normalize()
    places = max(0, -int(step.as_tuple().exponent))
    with localcontext() as context:
        context.prec = max(28, number.adjusted() - step.adjusted() + 10)
        steps = (number / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        rounded = (steps * step).quantize(Decimal(1).scaleb(-places))
    return rounded.copy_abs() if rounded.is_zero() else rounded


def indication_text(value: Number, resolution: Number | None, *, where: str = "value") -> str:
    """An indication, or a check value made of indications, to the instrument's resolution.

    With no resolution on record the number is written as measured
    (:func:`number_text`): the resolution is never guessed.
    """
    if resolution is None:
        return number_text(value, where=where)
    return _fixed(to_resolution(value, resolution, where=where))


def observed_value(
    value: Number,
    resolution: Number | None,
    expanded_uncertainty: Number | None,
    *,
    where: str = "value",
) -> Decimal:
    """A result read directly and reported with its own ``U`` (a time to a meter's first
    pulse, read off the bench's timer, against its limit): to the coarser of the
    resolution it was read to and the last digit of ``U`` rounded (ILAC P14 6.3 b: the
    value to ``U``'s decimal place; never finer than what was read). ``76.3521`` s read to
    0.01 s with ``U = 0.0058`` s is ``76.35``; with ``U = 0.12`` s it is ``76.35`` too, and
    with ``U = 1.2`` s ``76.4``. Without ``U``, to the resolution; without either, as
    measured.

    Raises:
        ModelError: a value that is not finite, a resolution or ``U`` not positive.
    """
    if expanded_uncertainty is None:
        if resolution is None:
            return as_decimal(value, where)
        return to_resolution(value, resolution, where=where)
    rounded = round_uncertainty(expanded_uncertainty)
    place = Decimal(1).scaleb(int(rounded.as_tuple().exponent))
    if resolution is None or as_decimal(resolution, f"{where}.resolution") < place:
        return round_to_uncertainty(value, rounded)
    return to_resolution(value, resolution, where=where)


def observed_text(
    value: Number,
    resolution: Number | None,
    expanded_uncertainty: Number | None,
    *,
    where: str = "value",
) -> str:
    """:func:`observed_value` as text: fixed point, never ``-0``."""
    return _fixed(observed_value(value, resolution, expanded_uncertainty, where=where))


def uncertainty_text(expanded_uncertainty: Number) -> str:
    """An expanded uncertainty to two significant digits (ILAC P14): ``0.0000023``."""
    return _fixed(round_uncertainty(expanded_uncertainty))


def result_texts(value: Number, expanded_uncertainty: Number) -> tuple[str, str]:
    """A result and its expanded uncertainty as a certificate writes them (ILAC P14):
    ``U`` to two significant digits, the value to the same decimal place."""
    rounded = round_result(value, expanded_uncertainty)
    return rounded.value_text, rounded.uncertainty_text


def parameter_text(value: Number, standard_uncertainty: Number) -> tuple[str, str]:
    """A fitted parameter (a curve coefficient, a residual standard deviation) and its
    standard uncertainty: ``u`` to two significant digits, the value to the same place.

    ``-0.05333508562714375`` with ``u = 0.0107`` reads ``-0.053`` and ``0.011``.
    """
    return result_texts(value, standard_uncertainty)


def dof_text(dof: Number | str | None) -> str:
    """Degrees of freedom: ``∞`` when infinite or above :data:`INFINITE_DOF`, else the
    whole number below (GUM G.4.1: ν_eff is truncated, never rounded up).

    ``"inf"`` (how a model file writes infinity) is ∞ too; ``None`` is an empty text.

    Raises:
        ModelError: a negative or non-numeric ν.
    """
    if dof is None:
        return ""
    if isinstance(dof, str):
        if dof.strip().lower() in ("inf", "infinity", "∞"):
            return "∞"
        raise ModelError(f"degrees of freedom are a number, not {dof!r}", where="dof")
    if isinstance(dof, float) and math.isinf(dof) and dof > 0:
        return "∞"
    number = as_decimal(dof, "dof")
    if number < 0:
        raise ModelError(f"degrees of freedom are not negative ({dof!r})", where="dof")
    if number > Decimal(repr(INFINITE_DOF)):
        return "∞"
    return _fixed(number.quantize(Decimal(1), rounding=ROUND_FLOOR))


def datetime_text(moment: datetime, *, seconds: bool = False) -> str:
    """A time to the minute (or the second) with its UTC offset: ``2026-11-20 09:30 UTC``,
    ``2026-12-06 14:05 UTC+07:00``.

    The caller puts the time in the zone the reader is to read it in (the issuing
    organization's); the offset is printed so the reader need not know that zone. The
    digits are the same in every language. A time without a zone is printed without
    one: the zone is never guessed. ``seconds`` is for records whose order within a
    minute matters to the reader (the audit trail).
    """
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    if not offset:
        return f"{text} UTC"
    zone = moment.strftime("%z")
    return f"{text} UTC{zone[:3]}:{zone[3:5]}"
