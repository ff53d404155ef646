"""An energy register read through a meter's optical port: its resolution and its checks.

The register (constant) test of an electricity meter reads the meter's active-energy
register (OBIS 1.8.0) before and after the bench applies a known energy. What the
register resolves is taken from the digits the meter wrote, never assumed:

* an IEC 62056-21 data set ``1.8.0(001234.56*kWh)`` resolves one unit of its last
  written digit (0.01 kWh);
* a DLMS/COSEM register ``value 123456, scaler 1, unit 30`` (value × 10^scaler Wh)
  resolves 10^scaler Wh, here 0.01 kWh.

Both forms are the ``raw`` text the optical drivers keep with each reading
(:mod:`drivers.optical.driver`), so the bench and the LIMS find the same resolution in the
same run record. :func:`register_advance_problem` states why two readings of a register and
the energy applied cannot give a register error (a register that went backwards, or
advanced by more or less than any meter could register); :func:`resolution_share` the
share of the expanded uncertainty the register's resolution alone takes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from procedures.errors import ProcedureError

__all__ = [
    "COVERAGE_FACTOR",
    "register_advance_problem",
    "register_quantity",
    "register_resolution",
    "resolution_of_readings",
    "resolution_share",
]

COVERAGE_FACTOR: Final = 2.0
"""The coverage factor the resolution's share of U is stated with (the points' k for a
coverage probability of 95.45 % with infinitely many degrees of freedom)."""

_IEC = re.compile(r"^[^(]*\((?P<value>[0-9]+(?:\.[0-9]+)?)\*(?P<unit>[^)]+)\)")
_DLMS = re.compile(r"^value (?P<value>[0-9]+), scaler (?P<scaler>-?[0-9]+), unit (?P<unit>[0-9]+)$")
_DLMS_WH: Final = 30
"""DLMS/COSEM unit code of the watt-hour (IEC 62056-6-2 unit enumeration)."""


def register_resolution(raw: str, unit: str) -> Decimal:
    """The resolution of a register reading whose meter wrote ``raw`` and whose value is
    in ``unit`` (``kWh`` or ``Wh``): one unit of its last digit, in ``unit``.

    ProcedureError, quoting the text, when ``raw`` is neither an IEC 62056-21 data set
    with a value and a unit nor a DLMS register in Wh."""
    text = raw.strip()
    iec = _IEC.match(text)
    if iec is not None:
        if iec["unit"] != unit:
            raise ProcedureError(
                f"the register {text!r} is in {iec['unit']}, its reading in {unit}",
                argument="raw",
            )
        return Decimal(1).scaleb(_exponent(Decimal(iec["value"])))
    dlms = _DLMS.match(text)
    if dlms is not None and int(dlms["unit"]) == _DLMS_WH:
        wh = Decimal(1).scaleb(int(dlms["scaler"]))
        if unit == "kWh":
            return wh.scaleb(-3)
        if unit == "Wh":
            return wh
    raise ProcedureError(
        f"the register's resolution cannot be read from {text!r} "
        "(an IEC 62056-21 data set with its unit, or a DLMS register in Wh)",
        argument="raw",
    )


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number parsed from digits
    return exponent


def resolution_of_readings(readings: Sequence[tuple[str, str]], names: Sequence[str]) -> Decimal:
    """The one resolution of the register readings ``readings`` (each its ``(raw, unit)``;
    taken as ``names``, for the message); ProcedureError when they state different
    resolutions (the display changed between them: not one register) or none was taken."""
    if not readings:
        raise ProcedureError(f"no register reading {', '.join(names)} was taken")
    found = {register_resolution(raw, unit) for raw, unit in readings}
    if len(found) > 1:
        listed = ", ".join(format(r, "f") for r in sorted(found))
        raise ProcedureError(
            f"the register readings {', '.join(names)} state different resolutions ({listed})"
        )
    return found.pop()


def register_quantity(
    names: Sequence[str], readings: Sequence[tuple[str, str]], unit: str | None
) -> dict[str, Any]:
    """The model quantity ``{resolution_of_readings: names}`` binds: the effect of the
    resolution r of the register read as ``names`` (their ``readings``, ``(raw, unit)``
    each) on the model, in ``unit``. Two readings (R2 − R1): triangular of half-width r
    (:func:`resolution_share` says why); one reading: rectangular of half-width r/2 (GUM
    F.2.2.1). The bench binds it and the LIMS binds it again from the same readings."""
    resolution = float(resolution_of_readings(readings, names))
    two = len(names) == 2
    return {
        "value": 0.0,
        "distribution": "triangular" if two else "rectangular",
        "half_width": resolution if two else resolution / 2,
        **({"unit": unit} if unit is not None else {}),
    }


def resolution_share(resolution: float, energy: float) -> float:
    """The share of the expanded uncertainty of a register error, %, that the register's
    resolution alone takes, over ``energy`` (in the register's unit).

    Two readings of a register of resolution r each lie anywhere within ±r/2 of what the
    register counted (GUM F.2.2.1: the resolution of a digital indication, a rectangular
    distribution, GUM 4.3.7); their difference R2 − R1 is then off by the difference of
    two independent rectangular errors of half-width r/2: a triangular distribution of
    half-width r, standard uncertainty r/√6 (GUM 4.3.9 gives u = a/√6 for a triangular
    distribution of half-width a). Its share of U is k·(r/√6)/W × 100 %, k =
    :data:`COVERAGE_FACTOR`.
    """
    return COVERAGE_FACTOR * resolution / math.sqrt(6) / energy * 100.0


def register_advance_problem(
    before: float, after: float, energy: float, plausible_error: float
) -> str | None:
    """Why a register that read ``before`` and then ``after`` while the reference meter
    measured ``energy`` (all three in the register's unit) cannot be judged, or None.

    A register that went backwards, or whose advance differs from the energy applied by
    more than ``plausible_error`` % (a bound no meter's error reaches: the procedure's), is
    a fault of the reading (a wrong register, a reading of another meter), not the
    meter's error."""
    if after < before:
        return f"the register went backwards, from {before!r} to {after!r}"
    if not energy > 0:
        return f"the reference energy {energy!r} is not positive"
    error = ((after - before) / energy - 1) * 100
    if abs(error) > plausible_error:
        return (
            f"the register advanced {after - before:.6g} where the reference meter "
            f"measured {energy:.6g} ({error:+.3g} %, beyond the plausible "
            f"±{plausible_error:g} %)"
        )
    return None
