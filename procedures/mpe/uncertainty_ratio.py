"""Whether the verification equipment is good enough: ``U ≤ MPE/3``.

The rule itself lives in :func:`uncertainty.conformity.check_uncertainty_ratio`
(OIML R 60-2 states it for load cells: "less than 1/3 times the MPE"; R 76 and
R 111 use "≤ 1/3", **[unverified wording]**). This module only lets the
procedures call it with Decimals and get their own typed errors.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from procedures.errors import InvalidValueError
from procedures.mpe._values import positive

if TYPE_CHECKING:
    from uncertainty.conformity import UncertaintyRatioCheck

__all__ = ["check_verification_uncertainty"]


def check_verification_uncertainty(
    expanded_uncertainty: Decimal,
    mpe: Decimal,
    *,
    max_ratio: Fraction = Fraction(1, 3),
    inclusive: bool = True,
) -> UncertaintyRatioCheck:
    """Check ``U ≤ max_ratio · MPE`` for the standard used at one point.

    ``expanded_uncertainty`` ``U`` (k = 2) and ``mpe`` (the magnitude of the
    instrument's MPE at the point) are Decimals in the same unit; ``max_ratio``
    is 1/3 unless the procedure states another (1/4). ``inclusive=False``
    makes it strict (R 60-2's "less than"). Returns
    :class:`uncertainty.conformity.UncertaintyRatioCheck`; the comparison is
    exact on the decimal values.
    """
    # uncertainty.conformity imports scipy: only the callers of this rule pay for it.
    from uncertainty.conformity import check_uncertainty_ratio

    U = _as_float(positive(expanded_uncertainty, "expanded_uncertainty"), "expanded_uncertainty")
    limit = _as_float(positive(mpe, "mpe"), "mpe")
    if not isinstance(max_ratio, Fraction) or not 0 < max_ratio <= 1:
        raise InvalidValueError(
            f"must be a Fraction in (0, 1], not {max_ratio!r}", argument="max_ratio"
        )
    return check_uncertainty_ratio(U, limit, max_ratio=max_ratio, inclusive=inclusive)


def _as_float(value: Decimal, argument: str) -> float:
    # check_uncertainty_ratio takes floats and compares their shortest decimal
    # form exactly; a Decimal survives that only if its float prints it back.
    number = float(value)
    if Decimal(repr(number)) != value:
        raise InvalidValueError(
            f"{value} has more significant digits than the ratio check keeps exactly (15)",
            argument=argument,
        )
    return number
