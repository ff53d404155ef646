"""A manufacturer's specification: ±(a % of reading + b % of range + c).

Not legal metrology: the accuracy specification of an instrument's data sheet
(a DMM's "±(0.0030 % of reading + 0.0005 % of range)" for one range and
calibration interval), against which a calibration states conformity when the
customer asked for it. The numbers come from the data sheet the procedure
cites, never from here.
"""

from __future__ import annotations

from decimal import Decimal

from procedures.errors import OutOfRangeError
from procedures.mpe._values import Json, exact, non_negative, plain, positive

__all__ = ["spec_rule", "spec_tolerance"]


def spec_tolerance(
    reading: Decimal,
    *,
    range_: Decimal,
    percent_of_reading: Decimal,
    percent_of_range: Decimal,
    offset: Decimal = Decimal(0),
    full_scale: Decimal | None = None,
) -> Decimal:
    """The tolerance ``|reading|·a/100 + range·b/100 + c``, as a magnitude in the reading's unit.

    ``reading`` (signed), ``range_`` (the nominal range, e.g. 10 for the 10 V
    range), ``offset`` ``c`` and ``full_scale`` are in the unit of the reading
    (V, Ω, A...); ``percent_of_reading`` ``a`` and ``percent_of_range`` ``b``
    are in %. ``full_scale`` is the largest reading the specification covers
    on that range (a DMM's 10 V range reads to 12 V: pass 12); it defaults to
    ``range_``. A reading beyond it is refused
    (:class:`~procedures.errors.OutOfRangeError`), not extrapolated.
    """
    value = exact(reading, "reading")
    nominal = positive(range_, "range_")
    a = non_negative(percent_of_reading, "percent_of_reading")
    b = non_negative(percent_of_range, "percent_of_range")
    c = non_negative(offset, "offset")
    top = nominal if full_scale is None else positive(full_scale, "full_scale")
    if abs(value) > top:
        raise OutOfRangeError(
            f"|{plain(value)}| is beyond the {plain(top)} the specification covers on the "
            f"{plain(nominal)} range",
            argument="reading",
        )
    return abs(value) * a / 100 + nominal * b / 100 + c


def spec_rule() -> dict[str, Json]:
    """The form of the specification rule as plain data, for a record of which rule applied."""
    return {
        "id": "manufacturer-specification",
        "title": "Manufacturer's accuracy specification",
        "document": "the instrument's data sheet, cited by the procedure",
        "rules": {
            "tolerance": "±(a % of |reading| + b % of range + c), for readings up to full scale",
        },
        "unit": "unit of the reading",
    }
