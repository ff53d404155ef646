"""How the certificate writes numbers, units, dates and verdicts (shared by the PDF,
its chart and the label sheet).

Numbers are rounded for what they mean by :mod:`uncertainty.display`, the one
formatting module the PDF, the DCC, the LIMS's pages and the agent share: a value that
has an expanded uncertainty is rounded to the decimal place of ``U`` (itself rounded to
two significant digits, ILAC P14); an indication or a check value to the resolution it
was read to; a fitted coefficient to its own uncertainty; a value given rather than
measured is printed as the decimal number it was written as (the shortest ``repr`` of
the float), never cut to a guessed resolution. Units print as SI symbols
(:func:`uncertainty.display.unit_symbol`).
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from certificates.document import Bilingual, Conformity, Location
from certificates.errors import DocumentError
from uncertainty.display import as_decimal, datetime_text, number_text, unit_symbol
from uncertainty.errors import ModelError

__all__ = [
    "CONFORMITY_TEXT",
    "LOCATION_TEXT",
    "ROLE_TEXT",
    "coverage_factor_text",
    "date_text",
    "datetime_text",
    "decimal_of",
    "nfc",
    "percent_text",
    "plain",
    "quantized",
    "unit_symbol",
]

CONFORMITY_TEXT: Final[dict[Conformity, Bilingual]] = {
    Conformity.PASS: Bilingual("Đạt", "Pass"),
    Conformity.FAIL: Bilingual("Không đạt", "Fail"),
    Conformity.CONDITIONAL_PASS: Bilingual("Đạt có điều kiện", "Conditional pass"),
    Conformity.CONDITIONAL_FAIL: Bilingual("Không đạt có điều kiện", "Conditional fail"),
    Conformity.NO_PASS: Bilingual("Không thể kết luận đạt", "No pass"),
    Conformity.NO_FAIL: Bilingual("Không thể kết luận không đạt", "No fail"),
}

LOCATION_TEXT: Final[dict[Location, Bilingual]] = {
    Location.LABORATORY: Bilingual("Tại phòng thí nghiệm", "At the laboratory"),
    Location.CUSTOMER: Bilingual("Tại cơ sở của khách hàng", "At the customer's site"),
    Location.LABORATORY_BRANCH: Bilingual(
        "Tại chi nhánh của phòng thí nghiệm", "At a branch of the laboratory"
    ),
    Location.CUSTOMER_BRANCH: Bilingual(
        "Tại chi nhánh của khách hàng", "At a branch of the customer"
    ),
    Location.OTHER: Bilingual("Địa điểm khác", "Elsewhere"),
}

ROLE_TEXT: Final[dict[str, Bilingual]] = {
    "performed": Bilingual("Người thực hiện", "Performed by"),
    "checked": Bilingual("Người soát xét", "Checked by"),
    "authorized": Bilingual("Người phê duyệt", "Authorized by"),
}


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C: Vietnamese letters as the font's precomposed glyphs."""
    return unicodedata.normalize("NFC", text)


def decimal_of(value: float, field: str) -> Decimal:
    """The decimal number a float was written as (its shortest ``repr``).

    Raises:
        DocumentError: ``value`` is not finite (``field`` names it).
    """
    try:
        return as_decimal(float(value), field)
    except ModelError:
        raise DocumentError(f"not a finite number: {value}", field=field) from None


def _text(number: Decimal) -> str:
    # Never print "-0" or an exponent.
    if number.is_zero():
        number = number.copy_abs()
    return format(number, "f")


def plain(value: float, field: str) -> str:
    """``value`` as written, in fixed-point notation (``0.5``, ``-1.2``, ``15000``)."""
    decimal_of(value, field)
    return number_text(float(value), where=field)


def quantized(value: float, exponent: int, field: str) -> str:
    """``value`` rounded (nearest, a tie away from zero) to the decimal place ``10**exponent``.

    Used to write a value to the decimal place of its rounded expanded
    uncertainty (ILAC P14).
    """
    number = decimal_of(value, field)
    return _text(number.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP))


def coverage_factor_text(k: float, field: str) -> str:
    """The coverage factor with two decimals (``2.00``), as ILAC P14 prints it."""
    number = decimal_of(k, field)
    if number <= 0:
        raise DocumentError(f"a coverage factor must be positive, not {k}", field=field)
    return _text(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def percent_text(probability: float, field: str) -> str:
    """A coverage probability (a fraction) as a percentage: ``0.9545`` → ``95``.

    A whole percentage unless that would read 100 (``0.9973`` → ``99.7``).

    Raises:
        DocumentError: not strictly between 0 and 1.
    """
    p = decimal_of(probability, field)
    if not 0 < p < 1:
        raise DocumentError(f"must be a fraction between 0 and 1, not {probability}", field=field)
    percent = p * 100
    places = 0
    while True:
        shown = percent.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if 0 < shown < 100:
            return _text(shown)
        places += 1


def date_text(day: date) -> str:
    """A date in ISO 8601 (``2026-11-20``): unambiguous in both languages."""
    return day.isoformat()
