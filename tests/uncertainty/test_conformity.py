"""Tests of decision rules and conformity statements (uncertainty.conformity).

Sources of the examples:

* JCGM 106:2012 7.4 example: y = 13.6, u = 1.8, T_L = 12.5, T_U = 16.3 (as
  quoted by H. Liedberg, "Conformity to specification – calculating risk and
  implementing a decision rule in Excel or Calc", metrologyrules.com, 2022).
  The published probability itself could not be read in a stored copy, so the
  expected p_c is derived analytically here with math.erf, independently of
  the scipy code under test.
* ILAC G8:09/2019 4.2.1 to 4.2.3 (text read in the stored copy of pages 8 to
  10): w = TL − AL; simple acceptance AL = TL; binary with guard band
  AL = TL − w; non-binary pass / conditional pass [TL − w, TL] /
  conditional fail [TL, TL + w] / fail.
* Laboratories' statements of the G8 rules (SGS/TLA decision-rule page):
  simple acceptance has a probability of false acceptance up to 50 %; a
  guard band w = U (U at 95 %) keeps it below 2.5 %. Both are derived below.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uncertainty.conformity import (
    DecisionRule,
    Statement,
    check_uncertainty_ratio,
    decide_conformity,
    measurement_capability_index,
    probability_of_conformity,
)
from uncertainty.errors import ModelError


def phi(z: float) -> float:
    """Standard normal CDF from math.erf, independent of scipy."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def test_it_computes_the_probability_of_conformity_of_the_jcgm_106_example() -> None:
    """JCGM 106:2012 7.4 data (y = 13.6, u = 1.8, T_L = 12.5, T_U = 16.3):
    p_c = Φ((16.3 − 13.6)/1.8) − Φ((12.5 − 13.6)/1.8) = Φ(1.5) − Φ(−0.611),
    about 0.663 (derived; the published figure was not read)."""
    expected = phi((16.3 - 13.6) / 1.8) - phi((12.5 - 13.6) / 1.8)
    p_c = probability_of_conformity(13.6, 1.8, lower_limit=12.5, upper_limit=16.3)
    assert p_c == pytest.approx(expected, rel=1e-12)
    assert round(p_c, 3) == pytest.approx(0.663)


def test_it_computes_the_capability_index_of_the_jcgm_106_example() -> None:
    """C_m = (T_U − T_L)/(4u) = 3.8 / 7.2 for the JCGM 106 7.4 data."""
    c_m = measurement_capability_index(1.8, lower_limit=12.5, upper_limit=16.3)
    assert c_m == pytest.approx(3.8 / 7.2, rel=1e-12)


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [
        (None, 16.3, phi((16.3 - 13.6) / 1.8)),
        (12.5, None, 1.0 - phi((12.5 - 13.6) / 1.8)),
    ],
)
def test_it_uses_the_one_sided_forms_for_a_single_limit(
    lower: float | None, upper: float | None, expected: float
) -> None:
    p_c = probability_of_conformity(13.6, 1.8, lower_limit=lower, upper_limit=upper)
    assert p_c == pytest.approx(expected, rel=1e-12)


def test_a_value_on_the_limit_passes_simple_acceptance_with_half_probability() -> None:
    """ILAC G8 4.2.1 (AL = TL): a value exactly on the limit is accepted here
    (closed intervals, |E| ≤ MPE) and is conforming with probability 0.5, the
    "up to 50 %" false-acceptance risk laboratories quote for this rule."""
    decision = decide_conformity(
        16.3, lower_limit=12.5, upper_limit=16.3, expanded_uncertainty=0.4, coverage_factor=2.0
    )
    assert decision.conforming
    assert decision.statement is Statement.PASS
    assert decision.acceptance_upper == 16.3
    assert decision.guard_band == 0.0
    assert decision.probability_of_conformity == pytest.approx(0.5, abs=1e-6)


def test_a_guard_band_of_u_keeps_false_acceptance_below_2_5_percent() -> None:
    """ILAC G8 4.2.2 with w = U (k = 2): a value on the acceptance limit
    T_U − U is 2u inside the tolerance, so p_c = Φ(2) ≈ 0.977 and the specific
    probability of false acceptance 1 − Φ(2) ≈ 2.3 % < 2.5 % (derived)."""
    decision = decide_conformity(
        9.0,
        upper_limit=10.0,
        expanded_uncertainty=1.0,
        coverage_factor=2.0,
        rule=DecisionRule.GUARDED_ACCEPTANCE,
    )
    assert decision.guard_band == 1.0
    assert decision.acceptance_upper == 9.0
    assert decision.conforming
    assert decision.probability_of_conformity == pytest.approx(phi(2.0), rel=1e-12)
    assert 1.0 - decision.probability_of_conformity < 0.025


def test_guarded_acceptance_shrinks_both_limits_by_the_guard_band() -> None:
    """A micrometer-like case: MPE ±0.003 mm, U = 0.0010 mm → AL = ±0.002 mm."""
    rule = DecisionRule.GUARDED_ACCEPTANCE
    inside = decide_conformity(
        0.0017, lower_limit=-0.003, upper_limit=0.003, expanded_uncertainty=0.001, rule=rule
    )
    assert inside.acceptance_lower == pytest.approx(-0.002)
    assert inside.acceptance_upper == pytest.approx(0.002)
    assert inside.conforming
    in_band = decide_conformity(
        0.0025, lower_limit=-0.003, upper_limit=0.003, expanded_uncertainty=0.001, rule=rule
    )
    assert not in_band.conforming
    assert in_band.statement is Statement.FAIL
    low_in_band = decide_conformity(
        -0.0025, lower_limit=-0.003, upper_limit=0.003, expanded_uncertainty=0.001, rule=rule
    )
    assert not low_in_band.conforming


def test_guarded_rejection_widens_the_acceptance_interval() -> None:
    """JCGM 106 §8 guarded rejection: A_U = T_U + w; a value just beyond T_U but
    inside T_U + w is accepted (reject only when non-conformity is likely)."""
    decision = decide_conformity(
        10.5,
        lower_limit=0.0,
        upper_limit=10.0,
        expanded_uncertainty=1.0,
        rule=DecisionRule.GUARDED_REJECTION,
    )
    assert decision.acceptance_lower == -1.0
    assert decision.acceptance_upper == 11.0
    assert decision.conforming
    assert decision.statement is Statement.PASS
    assert decision.probability_of_conformity < 0.5


@pytest.mark.parametrize(
    ("measured", "statement", "accepted_guarded", "accepted_rejection"),
    [
        (8.0, Statement.PASS, True, True),
        (9.0, Statement.PASS, True, True),  # on A_U = T_U − w
        (9.5, Statement.CONDITIONAL_PASS, False, True),
        (10.0, Statement.CONDITIONAL_PASS, False, True),  # on T_U
        (10.5, Statement.CONDITIONAL_FAIL, False, True),
        (11.0, Statement.CONDITIONAL_FAIL, False, True),  # on T_U + w
        (11.5, Statement.FAIL, False, False),
        (0.5, Statement.CONDITIONAL_PASS, False, True),  # lower side, mirrored
        (-0.5, Statement.CONDITIONAL_FAIL, False, True),
        (-2.0, Statement.FAIL, False, False),
    ],
)
def test_it_makes_the_four_non_binary_statements_of_ilac_g8(
    measured: float, statement: Statement, accepted_guarded: bool, accepted_rejection: bool
) -> None:
    """ILAC G8 4.2.3 with w = U = 1 around T_L = 0 and T_U = 10; the binary
    outcome stays that of the rule."""
    for rule, accepted in (
        (DecisionRule.GUARDED_ACCEPTANCE, accepted_guarded),
        (DecisionRule.GUARDED_REJECTION, accepted_rejection),
    ):
        decision = decide_conformity(
            measured,
            lower_limit=0.0,
            upper_limit=10.0,
            expanded_uncertainty=1.0,
            rule=rule,
            non_binary=True,
        )
        assert decision.statement is statement
        assert decision.conforming is accepted


def test_it_accepts_the_uncertainty_as_standard_uncertainty_and_k() -> None:
    decision = decide_conformity(
        5.0, upper_limit=10.0, standard_uncertainty=0.5, coverage_factor=2.5
    )
    assert decision.expanded_uncertainty == pytest.approx(1.25)
    assert decision.standard_uncertainty == 0.5
    assert decision.coverage_factor == 2.5


def test_it_keeps_everything_needed_to_recompute_the_verdict() -> None:
    decision = decide_conformity(
        3.0,
        lower_limit=1.0,
        upper_limit=4.0,
        expanded_uncertainty=0.6,
        coverage_factor=2.0,
        rule=DecisionRule.GUARDED_ACCEPTANCE,
        guard_band=0.5,
    )
    assert (decision.measured_value, decision.lower_limit, decision.upper_limit) == (3.0, 1.0, 4.0)
    assert decision.rule is DecisionRule.GUARDED_ACCEPTANCE
    assert decision.guard_band == 0.5
    assert (decision.acceptance_lower, decision.acceptance_upper) == (1.5, 3.5)
    assert decision.standard_uncertainty == pytest.approx(0.3)


def test_a_one_sided_tolerance_has_one_acceptance_limit() -> None:
    decision = decide_conformity(
        -3.0, lower_limit=-5.0, expanded_uncertainty=1.0, rule=DecisionRule.GUARDED_ACCEPTANCE
    )
    assert decision.acceptance_upper is None
    assert decision.acceptance_lower == -4.0
    assert decision.conforming


def test_it_refuses_a_guard_band_that_leaves_no_acceptance_interval() -> None:
    """Guard band larger than half the tolerance: the rule could accept nothing.
    Decided: refuse (the measurement is not capable of the tolerance), do not
    return an always-fail verdict."""
    with pytest.raises(ModelError, match="no acceptance interval") as raised:
        decide_conformity(
            5.0,
            lower_limit=0.0,
            upper_limit=10.0,
            expanded_uncertainty=6.0,
            rule=DecisionRule.GUARDED_ACCEPTANCE,
        )
    assert raised.value.where == "guard_band"


def test_guarded_rejection_accepts_a_guard_band_wider_than_the_tolerance() -> None:
    decision = decide_conformity(
        5.0,
        lower_limit=0.0,
        upper_limit=10.0,
        expanded_uncertainty=6.0,
        rule=DecisionRule.GUARDED_REJECTION,
    )
    assert decision.conforming


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"expanded_uncertainty": -1.0, "upper_limit": 10.0}, "expanded_uncertainty"),
        ({"expanded_uncertainty": 0.0, "upper_limit": 10.0}, "expanded_uncertainty"),
        ({"standard_uncertainty": math.nan, "upper_limit": 10.0}, "standard_uncertainty"),
        (
            {"expanded_uncertainty": 1.0, "standard_uncertainty": 0.5, "upper_limit": 10.0},
            "expanded_uncertainty",
        ),
        ({"upper_limit": 10.0}, "expanded_uncertainty"),
        ({"expanded_uncertainty": 1.0}, "upper_limit"),
        ({"expanded_uncertainty": 1.0, "lower_limit": 10.0, "upper_limit": 0.0}, "lower_limit"),
        ({"expanded_uncertainty": 1.0, "lower_limit": 3.0, "upper_limit": 3.0}, "lower_limit"),
        ({"expanded_uncertainty": 1.0, "upper_limit": math.inf}, "upper_limit"),
        (
            {"expanded_uncertainty": 1.0, "upper_limit": 10.0, "coverage_factor": 0.0},
            "coverage_factor",
        ),
        ({"expanded_uncertainty": 1.0, "upper_limit": 10.0, "guard_band": 0.5}, "guard_band"),
        ({"expanded_uncertainty": 1.0, "upper_limit": 10.0, "non_binary": True}, "non_binary"),
        (
            {
                "expanded_uncertainty": 1.0,
                "upper_limit": 10.0,
                "guard_band": -0.1,
                "rule": DecisionRule.GUARDED_ACCEPTANCE,
            },
            "guard_band",
        ),
    ],
)
def test_it_refuses_invalid_input(kwargs: dict[str, object], where: str) -> None:
    with pytest.raises(ModelError) as raised:
        decide_conformity(5.0, **kwargs)  # type: ignore[arg-type]
    assert raised.value.where == where


def test_it_refuses_a_non_finite_measured_value() -> None:
    with pytest.raises(ModelError) as raised:
        decide_conformity(math.nan, upper_limit=1.0, expanded_uncertainty=0.1)
    assert raised.value.where == "measured_value"


def test_it_meets_the_one_third_rule_exactly_at_one_third() -> None:
    """ĐLVN 10:2013 (fuel dispensers, as noted in legal-metrology.md): standard
    vessels of 0.1 % for a 0.3 % MPE, i.e. exactly 1/3; the comparison must not
    fail on the binary float 0.1/0.3 = 0.33333333333333337."""
    check = check_uncertainty_ratio(0.1, 0.3)
    assert check.met
    assert check.ratio == pytest.approx(1 / 3)
    assert check.max_ratio == pytest.approx(1 / 3)


def test_a_strict_less_than_one_third_requirement_fails_at_equality() -> None:
    """OIML R 60-2 asks for U "less than 1/3" of the MPE: inclusive=False."""
    assert not check_uncertainty_ratio(0.1, 0.3, inclusive=False).met
    assert check_uncertainty_ratio(0.099, 0.3, inclusive=False).met


@pytest.mark.parametrize(
    ("U", "mpe", "max_ratio", "met"),
    [
        (0.5, 2.0, Fraction(1, 4), True),
        (0.51, 2.0, Fraction(1, 4), False),
        (0.5, 2.0, 0.25, True),
        (0.34, 1.0, Fraction(1, 3), False),
    ],
)
def test_the_ratio_is_configurable(U: float, mpe: float, max_ratio: float, met: bool) -> None:
    check = check_uncertainty_ratio(U, mpe, max_ratio=max_ratio)
    assert check.met is met
    assert check.ratio == pytest.approx(U / mpe)


@pytest.mark.parametrize(
    ("U", "mpe", "max_ratio", "where"),
    [
        (-0.1, 0.3, Fraction(1, 3), "expanded_uncertainty"),
        (0.0, 0.3, Fraction(1, 3), "expanded_uncertainty"),
        (0.1, 0.0, Fraction(1, 3), "mpe"),
        (0.1, -0.3, Fraction(1, 3), "mpe"),
        (0.1, 0.3, 1.5, "max_ratio"),
        (0.1, 0.3, Fraction(0), "max_ratio"),
        (0.1, math.nan, Fraction(1, 3), "mpe"),
    ],
)
def test_the_ratio_check_refuses_invalid_input(
    U: float, mpe: float, max_ratio: float, where: str
) -> None:
    with pytest.raises(ModelError) as raised:
        check_uncertainty_ratio(U, mpe, max_ratio=max_ratio)
    assert raised.value.where == where


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(y=finite, u=positive, low=finite, width=positive)
def test_the_probability_of_conformity_is_a_probability_bounded_by_each_side(
    y: float, u: float, low: float, width: float
) -> None:
    high = low + width
    both = probability_of_conformity(y, u, lower_limit=low, upper_limit=high)
    upper_only = probability_of_conformity(y, u, upper_limit=high)
    lower_only = probability_of_conformity(y, u, lower_limit=low)
    assert 0.0 <= both <= 1.0
    assert both <= upper_only + 1e-12
    assert both <= lower_only + 1e-12
    assert both == pytest.approx(upper_only + lower_only - 1.0, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(y=finite, U=positive, low=finite, width=positive)
def test_guarded_acceptance_accepts_less_and_guarded_rejection_more_than_simple(
    y: float, U: float, low: float, width: float
) -> None:
    high = low + width
    simple = decide_conformity(y, lower_limit=low, upper_limit=high, expanded_uncertainty=U)
    widened = decide_conformity(
        y,
        lower_limit=low,
        upper_limit=high,
        expanded_uncertainty=U,
        rule=DecisionRule.GUARDED_REJECTION,
    )
    assert not simple.conforming or widened.conforming
    if width > 2 * U:
        shrunk = decide_conformity(
            y,
            lower_limit=low,
            upper_limit=high,
            expanded_uncertainty=U,
            rule=DecisionRule.GUARDED_ACCEPTANCE,
        )
        assert not shrunk.conforming or simple.conforming


@settings(max_examples=100, deadline=None)
@given(offset=st.floats(min_value=-5, max_value=5, allow_nan=False), u=positive)
def test_the_probability_of_conformity_is_symmetric_about_the_middle(
    offset: float, u: float
) -> None:
    left = probability_of_conformity(-offset, u, lower_limit=-1.0, upper_limit=1.0)
    right = probability_of_conformity(offset, u, lower_limit=-1.0, upper_limit=1.0)
    assert left == pytest.approx(right, abs=1e-12)


def test_a_small_probability_of_conformity_keeps_its_digits() -> None:
    """Ten standard uncertainties below a lower limit p_c = Φ(−10) ≈ 7.6e-24, not 0."""
    p_c = probability_of_conformity(0.0, 1.0, lower_limit=10.0)
    assert p_c == pytest.approx(7.619853024160527e-24, rel=1e-9)
