"""Conformity decisions: decision rules (ILAC G8:09/2019, JCGM 106:2012) and legal checks.

Vocabulary (JCGM 106 §3, ILAC G8 §4):

* **tolerance limits** ``T_L``/``T_U``: the specified limits of the permissible
  values of the measurand (in legal verification: nominal ∓ MPE). One or both
  may be given (one-sided or two-sided tolerance).
* **guard band** ``w``: the distance between a tolerance limit and the
  corresponding **acceptance limit** ``A_L``/``A_U``.
* **simple acceptance** (G8 4.2.1, ``w = 0``): accept when the measured value
  lies within the tolerance interval.
* **guarded acceptance** (G8 4.2.2; JCGM 106 §8): the acceptance interval is
  the tolerance interval shrunk by ``w`` at each limit; default ``w = U``.
* **guarded rejection** (JCGM 106 §8): the acceptance interval is the
  tolerance interval widened by ``w`` at each limit; default ``w = U``.

Decisions made here, where the documents leave room:

* Intervals are **closed**: a measured value exactly on an acceptance limit is
  accepted. This matches the legal-metrology reading "the error shall not
  exceed the MPE" (``|E| ≤ MPE`` passes).
* A guard band that leaves **no acceptance interval** (two-sided guarded
  acceptance with ``2w ≥ T_U − T_L``) is refused with a
  :class:`~uncertainty.errors.ModelError`: such a rule could never accept
  anything, which is a sign of a measurement not fit for the tolerance, not a
  verdict on the item.
* A zero or negative uncertainty is refused: the probability of conformity is
  not defined for it, and a result without uncertainty cannot be assessed
  against a rule that takes uncertainty into account.

All values, limits, guard bands and uncertainties are in the unit of the
measurand; probabilities are fractions in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from scipy.special import ndtr

from uncertainty.errors import ModelError

__all__ = [
    "ConformityDecision",
    "DecisionRule",
    "Statement",
    "UncertaintyRatioCheck",
    "check_uncertainty_ratio",
    "decide_conformity",
    "measurement_capability_index",
    "probability_of_conformity",
]


class DecisionRule(StrEnum):
    """How the acceptance interval is derived from the tolerance interval."""

    SIMPLE_ACCEPTANCE = "simple acceptance"
    """ILAC G8 4.2.1: acceptance limits are the tolerance limits (``w = 0``)."""

    GUARDED_ACCEPTANCE = "guarded acceptance"
    """ILAC G8 4.2.2, JCGM 106 §8: acceptance limits are ``T_L + w`` and ``T_U − w``."""

    GUARDED_REJECTION = "guarded rejection"
    """JCGM 106 §8: acceptance limits are ``T_L − w`` and ``T_U + w``."""


class Statement(StrEnum):
    """The statement of conformity printed on the report (ILAC G8 4.2)."""

    PASS = "pass"
    FAIL = "fail"
    CONDITIONAL_PASS = "conditional pass"
    """G8 4.2.3: inside the tolerance interval but within the guard band of a limit."""
    CONDITIONAL_FAIL = "conditional fail"
    """G8 4.2.3: outside the tolerance interval by no more than the guard band."""


@dataclass(frozen=True)
class ConformityDecision:
    """The outcome of a decision rule for one measured value, with what it was based on.

    Every input needed to recompute the verdict is kept (ISO/IEC 17025 7.8.6,
    ILAC G8 §3): the measured value, its uncertainty, the limits, the rule and
    the guard band.

    Attributes:
        measured_value: the measured value ``y``.
        standard_uncertainty: ``u``.
        expanded_uncertainty: ``U = k·u``.
        coverage_factor: ``k``.
        lower_limit: ``T_L`` (``None`` for an upper limit only).
        upper_limit: ``T_U`` (``None`` for a lower limit only).
        rule: the decision rule applied.
        guard_band: ``w`` (0 for simple acceptance).
        acceptance_lower: ``A_L`` (``None`` without a lower limit).
        acceptance_upper: ``A_U`` (``None`` without an upper limit).
        conforming: whether the rule accepts the item (``y`` within the
            closed acceptance interval).
        statement: the statement for the report: "pass"/"fail", or one of
            G8 4.2.3's four non-binary statements when they were asked for.
        probability_of_conformity: ``p_c`` for a normal PDF of the measurand
            with expectation ``y`` and standard deviation ``u`` (JCGM 106 §7).
    """

    measured_value: float
    standard_uncertainty: float
    expanded_uncertainty: float
    coverage_factor: float
    lower_limit: float | None
    upper_limit: float | None
    rule: DecisionRule
    guard_band: float
    acceptance_lower: float | None
    acceptance_upper: float | None
    conforming: bool
    statement: Statement
    probability_of_conformity: float


@dataclass(frozen=True)
class UncertaintyRatioCheck:
    """Whether an expanded uncertainty is small enough for a maximum permissible error.

    Attributes:
        expanded_uncertainty: ``U`` (unit of the measurand).
        mpe: the maximum permissible error, as a positive magnitude (same unit).
        ratio: ``U / MPE``.
        max_ratio: the largest permitted ratio (1/3 by default).
        inclusive: whether ``ratio == max_ratio`` meets the requirement.
        met: whether the requirement is met.
    """

    expanded_uncertainty: float
    mpe: float
    ratio: float
    max_ratio: float
    inclusive: bool
    met: bool


def _finite(value: float, where: str) -> float:
    if isinstance(value, bool):
        raise ModelError(f"must be a number, not {value!r}", where=where)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"must be a number, not {value!r}", where=where) from exc
    if not math.isfinite(number):
        raise ModelError(f"must be a finite number, not {number!r}", where=where)
    return number


def _positive(value: float, where: str, what: str) -> float:
    number = _finite(value, where)
    if number <= 0:
        raise ModelError(f"{what} must be positive, not {number!r}", where=where)
    return number


def _limits(lower: float | None, upper: float | None) -> tuple[float | None, float | None]:
    if lower is None and upper is None:
        raise ModelError("give a lower limit, an upper limit or both", where="upper_limit")
    low = None if lower is None else _finite(lower, "lower_limit")
    high = None if upper is None else _finite(upper, "upper_limit")
    if low is not None and high is not None and not low < high:
        raise ModelError(
            f"the lower limit {low!r} must be below the upper limit {high!r}", where="lower_limit"
        )
    return low, high


def probability_of_conformity(
    measured_value: float,
    standard_uncertainty: float,
    *,
    lower_limit: float | None = None,
    upper_limit: float | None = None,
) -> float:
    """Probability that the measurand lies within the tolerance limits, for a normal PDF.

    JCGM 106 §7, with the PDF of the measurand normal with expectation ``y``
    (the measured value) and standard deviation ``u``::

        two-sided:   p_c = Φ((T_U − y)/u) − Φ((T_L − y)/u)
        upper only:  p_c = Φ((T_U − y)/u)
        lower only:  p_c = 1 − Φ((T_L − y)/u) = Φ((y − T_L)/u)

    Values and limits share the unit of the measurand; returns a fraction in
    [0, 1].
    """
    y = _finite(measured_value, "measured_value")
    u = _positive(standard_uncertainty, "standard_uncertainty", "a standard uncertainty")
    low, high = _limits(lower_limit, upper_limit)
    return _probability(y, u, low, high)


def _probability(y: float, u: float, low: float | None, high: float | None) -> float:
    # Each form takes Φ from the tail it needs, so a small p_c keeps its digits
    # instead of being lost as 1 − (a number close to 1).
    if low is None:
        return 1.0 if high is None else float(ndtr((high - y) / u))
    if high is None:
        return float(ndtr((y - low) / u))
    if y > (low + high) / 2:
        # Above the middle, Φ((T_U−y)/u) − Φ((T_L−y)/u) = Φ((y−T_L)/u) − Φ((y−T_U)/u).
        return float(ndtr((y - low) / u)) - float(ndtr((y - high) / u))
    return float(ndtr((high - y) / u)) - float(ndtr((low - y) / u))


def measurement_capability_index(
    standard_uncertainty: float, *, lower_limit: float, upper_limit: float
) -> float:
    """The measurement capability index ``C_m = (T_U − T_L) / (4u)`` of JCGM 106.

    ``C_m`` compares the width of a two-sided tolerance interval with the
    length ``4u`` (about a 95 % coverage interval for a normal PDF); larger is
    better. Limits and ``u`` share the unit of the measurand; dimensionless.
    """
    u = _positive(standard_uncertainty, "standard_uncertainty", "a standard uncertainty")
    _limits(lower_limit, upper_limit)
    return (float(upper_limit) - float(lower_limit)) / (4.0 * u)


def decide_conformity(
    measured_value: float,
    *,
    lower_limit: float | None = None,
    upper_limit: float | None = None,
    expanded_uncertainty: float | None = None,
    standard_uncertainty: float | None = None,
    coverage_factor: float = 2.0,
    rule: DecisionRule = DecisionRule.SIMPLE_ACCEPTANCE,
    guard_band: float | None = None,
    non_binary: bool = False,
) -> ConformityDecision:
    """Apply a decision rule to one measured value and state conformity.

    Give the uncertainty either as ``expanded_uncertainty`` ``U`` or as
    ``standard_uncertainty`` ``u``, with the coverage factor ``k`` relating
    them (``U = k·u``, default ``k = 2``). Give one or both tolerance limits.

    ``guard_band`` ``w`` is the distance from each tolerance limit to its
    acceptance limit; it defaults to ``U`` for the guarded rules (the ILAC G8
    4.2.2 choice, which for a normal PDF and ``k = 2`` keeps the specific
    probability of false acceptance below 2.5 %) and must be zero or omitted
    for simple acceptance.

    With ``non_binary=True`` the statement is one of ILAC G8 4.2.3's four
    (pass, conditional pass, conditional fail, fail), judged with the guard
    band ``w`` around each tolerance limit; ``conforming`` remains the binary
    outcome of ``rule`` (so a conditional pass is not conforming under guarded
    acceptance, and a conditional fail is conforming under guarded rejection).
    Non-binary statements need a guard band, so they are refused with simple
    acceptance.

    All values are in the unit of the measurand. Invalid input (non-finite
    numbers, a non-positive uncertainty or ``k``, a negative guard band,
    ``T_L ≥ T_U``, both or neither uncertainty, a guard band that leaves no
    acceptance interval) raises :class:`~uncertainty.errors.ModelError`
    naming the argument.
    """
    y = _finite(measured_value, "measured_value")
    low, high = _limits(lower_limit, upper_limit)
    k = _positive(coverage_factor, "coverage_factor", "the coverage factor")
    if expanded_uncertainty is not None and standard_uncertainty is None:
        U = _positive(expanded_uncertainty, "expanded_uncertainty", "an expanded uncertainty")
        u = U / k
    elif standard_uncertainty is not None and expanded_uncertainty is None:
        u = _positive(standard_uncertainty, "standard_uncertainty", "a standard uncertainty")
        U = k * u
    else:
        raise ModelError(
            "give exactly one of expanded_uncertainty (U) and standard_uncertainty (u)",
            where="expanded_uncertainty",
        )

    rule = DecisionRule(rule)
    if rule is DecisionRule.SIMPLE_ACCEPTANCE:
        if guard_band is not None and _finite(guard_band, "guard_band") != 0:
            raise ModelError(
                "simple acceptance has no guard band (w = 0); choose guarded acceptance or "
                "guarded rejection to use one",
                where="guard_band",
            )
        if non_binary:
            raise ModelError(
                "non-binary statements (ILAC G8 4.2.3) need a guard band; choose guarded "
                "acceptance or guarded rejection",
                where="non_binary",
            )
        w = 0.0
    else:
        w = U if guard_band is None else _finite(guard_band, "guard_band")
        if w < 0:
            raise ModelError(f"a guard band cannot be negative ({w!r})", where="guard_band")

    # Shrink (guarded acceptance) or widen (guarded rejection) the tolerance interval.
    sign = {
        DecisionRule.SIMPLE_ACCEPTANCE: 0.0,
        DecisionRule.GUARDED_ACCEPTANCE: 1.0,
        DecisionRule.GUARDED_REJECTION: -1.0,
    }[rule]
    accept_low = None if low is None else low + sign * w
    accept_high = None if high is None else high - sign * w
    if accept_low is not None and accept_high is not None and not accept_low < accept_high:
        raise ModelError(
            f"the guard band {w!r} leaves no acceptance interval within the tolerance "
            f"[{low!r}, {high!r}] (it must be less than half its width); the measurement "
            "is not capable of this tolerance",
            where="guard_band",
        )

    conforming = (accept_low is None or y >= accept_low) and (
        accept_high is None or y <= accept_high
    )
    if non_binary:
        statement = _non_binary_statement(y, low, high, w)
    else:
        statement = Statement.PASS if conforming else Statement.FAIL

    return ConformityDecision(
        measured_value=y,
        standard_uncertainty=u,
        expanded_uncertainty=U,
        coverage_factor=k,
        lower_limit=low,
        upper_limit=high,
        rule=rule,
        guard_band=w,
        acceptance_lower=accept_low,
        acceptance_upper=accept_high,
        conforming=conforming,
        statement=statement,
        probability_of_conformity=_probability(y, u, low, high),
    )


def _non_binary_statement(y: float, low: float | None, high: float | None, w: float) -> Statement:
    # ILAC G8 4.2.3, mirrored for a lower limit; closed intervals as everywhere here.
    within_tolerance = (low is None or y >= low) and (high is None or y <= high)
    if within_tolerance:
        clear_of_band = (low is None or y >= low + w) and (high is None or y <= high - w)
        return Statement.PASS if clear_of_band else Statement.CONDITIONAL_PASS
    within_band = (low is None or y >= low - w) and (high is None or y <= high + w)
    return Statement.CONDITIONAL_FAIL if within_band else Statement.FAIL


def _exact(value: float | Fraction) -> Fraction:
    # Through the shortest decimal repr, so 0.1 and 0.3 compare as 1/10 and 3/10
    # and U = MPE/3 written in decimals meets a 1/3 limit exactly.
    if isinstance(value, Fraction):
        return value
    return Fraction(Decimal(repr(float(value))))


def check_uncertainty_ratio(
    expanded_uncertainty: float,
    mpe: float,
    *,
    max_ratio: float | Fraction = Fraction(1, 3),
    inclusive: bool = True,
) -> UncertaintyRatioCheck:
    """Check ``U ≤ max_ratio · MPE``, the legal-metrology requirement on verification equipment.

    OIML Recommendations limit the expanded uncertainty (``k = 2``) of the
    standards used in verification to a fraction of the maximum permissible
    error of the instrument under test, usually one third (OIML R 111 and
    R 76 state "≤ 1/3"; OIML R 60-2 states "less than 1/3": pass
    ``inclusive=False`` for such a strict requirement). Some procedures use
    1/4: pass ``max_ratio=Fraction(1, 4)``.

    ``expanded_uncertainty`` and ``mpe`` share the unit of the measurand;
    ``mpe`` is the magnitude of the MPE (positive). The comparison is exact
    on the decimal values given, so ``U = 0.1`` meets ``MPE = 0.3`` at 1/3.
    Returns the ratio ``U/MPE`` and whether the requirement is met.
    """
    U = _positive(expanded_uncertainty, "expanded_uncertainty", "an expanded uncertainty")
    limit = _positive(mpe, "mpe", "the maximum permissible error")
    if isinstance(max_ratio, Fraction):
        if not 0 < max_ratio <= 1:
            raise ModelError(f"must be in (0, 1], not {max_ratio}", where="max_ratio")
        ratio_limit = max_ratio
    else:
        ratio_value = _positive(max_ratio, "max_ratio", "the maximum ratio")
        if ratio_value > 1:
            raise ModelError(f"must be in (0, 1], not {ratio_value!r}", where="max_ratio")
        ratio_limit = _exact(ratio_value)
    exact_ratio = _exact(U) / _exact(limit)
    met = exact_ratio <= ratio_limit if inclusive else exact_ratio < ratio_limit
    return UncertaintyRatioCheck(
        expanded_uncertainty=U,
        mpe=limit,
        ratio=U / limit,
        max_ratio=float(ratio_limit),
        inclusive=inclusive,
        met=met,
    )
