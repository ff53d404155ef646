"""caltrace unit symbols in the D-SI notation of a DCC (D-SI 2.1.0, ``si:unit``).

caltrace writes units as plain ASCII symbols (``V``, ``mV``, ``kPa``, ``degC``,
``m3/h``, ``%RH``); a DCC writes them in the Digital SI notation: each unit and
prefix a backslash keyword, powers as ``\\tothe{n}`` (``\\kilo\\pascal``,
``\\metre\\tothe{3}\\hour\\tothe{-1}``). :func:`dsi_unit` translates one into the
other and refuses, naming the field, any symbol it does not know: a certificate
stating a wrong unit is worse than one that is not produced, so nothing is
guessed.

A caltrace symbol is a product of *atoms*, each with an optional whole-number
power written after it (``m3``, ``degC2``), joined by ``*`` or ``.``, with at
most one ``/`` after which every atom is in the denominator (``L/h``,
``1/degC2``). ``1`` alone is the unit one (a ratio, a curve coefficient).
``%RH`` stands alone: D-SI has no relative-humidity unit, so it is written
``\\percent`` and :func:`unit_note` gives the words ("relative humidity") that
the DCC puts in the value's label.

What was confirmed, and where:

* D-SI's unit table (PTB, xsd-d-si wiki ``UnitSystem.md``, read from a stored
  copy): ``\\metre``, ``\\kilogram`` (never with a prefix: a milligram is
  ``\\milli\\gram``), ``\\second``, ``\\ampere``, ``\\kelvin``, ``\\hour``,
  ``\\minute``, ``\\gram``, ``\\hertz``, ``\\newton``, ``\\pascal``, ``\\watt``,
  ``\\volt``, ``\\ohm``, and powers as ``\\tothe{n}`` with a negative ``n`` for a
  denominator (the table's own base-unit expressions, ``\\metre\\tothe{-1}``).
  The rows of that table for non-SI units and prefixes were not in the stored
  copy.
* Every string this module can produce for the symbols listed in
  ``_ATOMS`` (including ``\\degreecelsius``, ``\\litre``, ``\\bar``,
  ``\\percent``, ``\\one``, ``\\milli``, ``\\micro``, ``\\kilo``, ``\\mega``,
  ``\\hecto``) was parsed as valid by PTB's own D-SI parser (the ``dsiUnits``
  package, version 3.1.3) when this module was written; caltrace does not
  depend on that package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from certificates.errors import DccError

__all__ = ["DSI_UNITS", "dsi_unit", "unit_note"]

# The atoms of a caltrace unit symbol and their D-SI form. Prefixed units are
# listed whole (``kPa``), never decomposed, so that ``Pa`` with a stray letter
# is refused rather than read as some prefix.
_ATOMS: dict[str, str] = {
    # dimensionless
    "1": r"\one",
    "%": r"\percent",
    # electricity
    "V": r"\volt",
    "mV": r"\milli\volt",
    "uV": r"\micro\volt",
    "kV": r"\kilo\volt",
    "A": r"\ampere",
    "mA": r"\milli\ampere",
    "uA": r"\micro\ampere",
    "Ohm": r"\ohm",
    "ohm": r"\ohm",
    "mOhm": r"\milli\ohm",
    "kOhm": r"\kilo\ohm",
    "MOhm": r"\mega\ohm",
    "W": r"\watt",
    "kW": r"\kilo\watt",
    # temperature
    "degC": r"\degreecelsius",
    "K": r"\kelvin",
    "mK": r"\milli\kelvin",
    # pressure
    "Pa": r"\pascal",
    "hPa": r"\hecto\pascal",
    "kPa": r"\kilo\pascal",
    "MPa": r"\mega\pascal",
    "bar": r"\bar",
    "mbar": r"\milli\bar",
    # mass and force
    "mg": r"\milli\gram",
    "g": r"\gram",
    # The kilogram is an SI base unit in D-SI and never takes a prefix.
    "kg": r"\kilogram",
    "N": r"\newton",
    "kN": r"\kilo\newton",
    # length and volume
    "mm": r"\milli\metre",
    "m": r"\metre",
    "mL": r"\milli\litre",
    "L": r"\litre",
    # time and frequency
    "s": r"\second",
    "ms": r"\milli\second",
    "min": r"\minute",
    "h": r"\hour",
    "Hz": r"\hertz",
    "kHz": r"\kilo\hertz",
    "MHz": r"\mega\hertz",
}

#: The atoms caltrace knows, by symbol, and their D-SI form (read-only).
DSI_UNITS: Mapping[str, str] = MappingProxyType(_ATOMS)

# Symbols that stand alone and are written as another D-SI unit with words.
_WITH_NOTE: dict[str, tuple[str, str]] = {
    "%RH": (r"\percent", "relative humidity"),
}

_FACTOR = re.compile(r"(?P<atom>[A-Za-z%]+|1)(?P<power>-?[0-9]+)?")


def _factor(text: str, sign: int, unit: str, field: str) -> str:
    match = _FACTOR.fullmatch(text)
    if match is None or match["atom"] not in _ATOMS:
        raise DccError(f"unknown unit {unit!r} (no D-SI form for {text!r})", field=field)
    atom = match["atom"]
    power = sign * int(match["power"]) if match["power"] else sign
    if atom == "1":
        if match["power"]:
            raise DccError(f"the unit one takes no power in {unit!r}", field=field)
        return ""
    if power == 0:
        raise DccError(f"a power of zero in {unit!r}", field=field)
    return _ATOMS[atom] + ("" if power == 1 else rf"\tothe{{{power}}}")


def dsi_unit(unit: str, *, field: str = "unit") -> str:
    """The D-SI form of the caltrace unit symbol ``unit`` (e.g. ``kPa`` -> ``\\kilo\\pascal``).

    ``field`` names where the symbol comes from (``results[0].rows[2].unit``)
    and is the field of the error.

    Raises:
        DccError: an empty or unknown symbol, or one D-SI cannot write.
    """
    if not isinstance(unit, str) or not unit.strip():
        raise DccError("a quantity needs a unit (``1`` for a ratio)", field=field)
    if unit in _WITH_NOTE:
        return _WITH_NOTE[unit][0]
    if unit.count("/") > 1:
        raise DccError(f"unknown unit {unit!r} (more than one '/')", field=field)
    numerator, _, denominator = unit.partition("/")
    if "/" in unit and not denominator:
        raise DccError(f"unknown unit {unit!r} (nothing after '/')", field=field)
    parts: list[str] = []
    for text, sign in ((numerator, 1), (denominator, -1)):
        if not text:
            continue
        for factor in re.split(r"[*.]", text):
            parts.append(_factor(factor, sign, unit, field))
    written = "".join(parts)
    # ``1`` alone, or only ones multiplied together, is the unit one.
    return written or r"\one"


def unit_note(unit: str) -> str | None:
    """Words that must accompany the D-SI unit of ``unit`` (``%RH``: "relative humidity").

    None for a symbol that D-SI writes exactly.
    """
    note = _WITH_NOTE.get(unit)
    return note[1] if note else None
