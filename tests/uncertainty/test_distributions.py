"""The input distributions of JCGM 101 6.4 as the engine draws them.

Large-sample checks use 2 * 10**6 draws with fixed seeds. Their tolerances
are five standard errors: the mean's is ``sigma/sqrt(N)`` (7.1e-4 sigma); the
variance's is ``sigma**2 sqrt((kurtosis - 1)/N)``, at most ``sqrt(2/N)`` =
0.10 % for the trapezoids (kurtosis between the rectangle's 1.8 and the
triangle's 2.4, below the normal's 3), and larger for a t-distribution, whose
kurtosis ``3 + 6/(nu - 4)`` is stated where it is used.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import stdtrit

from uncertainty.cli import evaluate
from uncertainty.errors import ModelError
from uncertainty.gum import evaluate_gum
from uncertainty.model import load_model, parse_model
from uncertainty.montecarlo import (
    _curvilinear_quantile,
    _trapezoid_quantile,
    draw_inputs,
    evaluate_mc,
    validate_gum,
)

N = 2_000_000
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


def one_input(spec: dict[str, object], *, p: float = 0.95) -> dict[str, object]:
    return {"outputs": {"y": "x"}, "quantities": {"x": spec}, "coverage_probability": p}


def draws(spec: dict[str, object], seed: int) -> np.ndarray:
    model = parse_model(one_input(spec))
    drawn: np.ndarray = draw_inputs(model, np.random.default_rng(seed), N)[0]
    return drawn


# ------------------------------------------------------ trapezoidal, JCGM 101 6.4.4


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.7, 1.0])
def test_trapezoidal_sample_has_the_mean_and_variance_of_6_4_4_3(beta):
    """JCGM 101 6.4.4.3: E = (a + b)/2, V = (b - a)**2 (1 + beta**2)/24.

    Here a = 9.8, b = 10.2 (value 10, half_width 0.2); beta = 0 is the
    triangle (6.4.5), beta = 1 the rectangle (6.4.2).
    """
    spec = {"value": 10.0, "distribution": "trapezoidal", "half_width": 0.2, "beta": beta}
    variance = 0.4**2 * (1 + beta**2) / 24
    x = draws(spec, seed=64 + int(10 * beta))
    sigma = math.sqrt(variance)
    assert x.mean() == pytest.approx(10.0, abs=5 * sigma / math.sqrt(N))
    assert x.var(ddof=1) == pytest.approx(variance, rel=5 * math.sqrt(2 / N))
    assert x.min() >= 9.8
    assert x.max() <= 10.2
    # the top is flat: the density over [-beta a, beta a] is 1/((1 + beta) a) (6.4.4.2)
    if beta >= 0.3:
        top = np.count_nonzero(np.abs(x - 10.0) <= beta * 0.2) / N
        expected = 2 * beta / (1 + beta)
        assert top == pytest.approx(expected, abs=5 * math.sqrt(expected * (1 - expected) / N))
    # and its GUM standard uncertainty is the same formula (6.4.4.3)
    assert parse_model(one_input(spec)).quantities[0].u == pytest.approx(sigma, rel=1e-12)


def test_trapezoid_ends_reduce_to_the_triangle_and_the_rectangle():
    """6.4.4.1: beta = 0 gives the triangular u = a/sqrt(6), beta = 1 the rectangular a/sqrt(3)."""

    def u(beta: float) -> float:
        spec = {"value": 0, "distribution": "trapezoidal", "half_width": 3.0, "beta": beta}
        return parse_model(one_input(spec)).quantities[0].u

    assert u(0.0) == pytest.approx(3.0 / math.sqrt(6.0))
    assert u(1.0) == pytest.approx(3.0 / math.sqrt(3.0))


# --------------------------------------- curvilinear trapezoidal, JCGM 101 6.4.3


@pytest.mark.parametrize("d", [0.0, 0.05, 0.1, 0.2])
def test_curvilinear_trapezoid_sample_has_the_mean_and_variance_of_6_4_3_3(d):
    """JCGM 101 6.4.3.3: E = (a + b)/2, V = (b - a)**2/12 + d**2/9.

    A rectangle of half-width 0.2 about 10 whose limits are each known only to
    within +- d; d = 0 is the rectangle itself, d = 0.2 the widest allowed.
    """
    spec = {
        "value": 10.0,
        "distribution": "curvilinear_trapezoidal",
        "half_width": 0.2,
        "limit_half_width": d,
    }
    variance = 0.4**2 / 12 + d**2 / 9
    x = draws(spec, seed=63 + int(100 * d))
    sigma = math.sqrt(variance)
    assert x.mean() == pytest.approx(10.0, abs=5 * sigma / math.sqrt(N))
    # kurtosis below 3 for these shapes (the widest, d = a, has 2.45)
    assert x.var(ddof=1) == pytest.approx(variance, rel=5 * math.sqrt(2 / N))
    assert x.min() >= 10.0 - 0.2 - d
    assert x.max() <= 10.0 + 0.2 + d
    assert parse_model(one_input(spec)).quantities[0].u == pytest.approx(sigma, rel=1e-12)


def test_curvilinear_trapezoid_density_matches_6_4_3_2():
    """JCGM 101 6.4.3.2: the density at distance t from the centre is
    ln((a + d)/max(t, a - d))/(4d), flat for t <= a - d. With a = 1, d = 0.5 the
    flat part holds P(|X| <= 0.5) = 2 * 0.5 * ln(3)/2 = ln(3)/2."""
    spec = {
        "value": 0.0,
        "distribution": "curvilinear_trapezoidal",
        "half_width": 1.0,
        "limit_half_width": 0.5,
    }
    x = draws(spec, seed=632)
    inside = np.count_nonzero(np.abs(x) <= 0.5) / N
    expected = math.log(3.0) / 2.0
    assert inside == pytest.approx(expected, abs=5 * math.sqrt(expected * (1 - expected) / N))


@pytest.mark.parametrize(
    ("quantile", "variance"),
    [
        (lambda r: _trapezoid_quantile(r, 0.0), 1 / 6),
        (lambda r: _trapezoid_quantile(r, 0.4), (1 + 0.16) / 6),
        (lambda r: _trapezoid_quantile(r, 1.0), 1 / 3),
        (lambda r: _curvilinear_quantile(r, 1.0, 0.3), 1 / 3 + 0.09 / 9),
        (lambda r: _curvilinear_quantile(r, 1.0, 1.0), 1 / 3 + 1 / 9),
        (lambda r: _curvilinear_quantile(r, 1.0, 0.0), 1 / 3),
    ],
)
def test_inverse_distribution_functions_used_for_correlated_inputs(quantile, variance):
    """The inverse distribution functions (the Gaussian copula's map for a
    correlated input) integrate to the moments of 6.4.4.3 and 6.4.3.3: a
    deterministic midpoint rule over 10**6 probabilities, so the tolerance is
    that of the rule and the tabulated inverse, not of sampling."""
    r = (np.arange(1_000_000) + 0.5) / 1_000_000
    x = quantile(r)
    assert np.all(np.diff(x) >= 0)
    assert x.mean() == pytest.approx(0.0, abs=1e-9)
    assert float(np.mean(x**2)) == pytest.approx(variance, rel=2e-4)


def two_trapezoids(half_width: float, d: float) -> dict[str, object]:
    """y = x + w: x trapezoidal (beta 0.5), w curvilinear trapezoidal (limits +- d)."""
    return {
        "outputs": {"y": "x + w"},
        "quantities": {
            "x": {"value": 0, "distribution": "trapezoidal", "half_width": half_width, "beta": 0.5},
            "w": {"value": 0, "distribution": "curvilinear_trapezoidal",
                  "half_width": half_width, "limit_half_width": d},
        },
    }  # fmt: skip


def test_a_correlated_trapezoidal_input_keeps_its_own_distribution():
    """6.4.8 does not cover non-Gaussian correlated inputs: the engine's
    Gaussian copula keeps each marginal, so the trapezoid's variance and
    bounds hold while the two inputs are correlated."""
    model = parse_model({**two_trapezoids(1.0, 0.4), "correlations": [["x", "w", 0.8]]})
    x, w = draw_inputs(model, np.random.default_rng(648), N)
    assert x.var() == pytest.approx(1.25 / 6, rel=0.002)  # kurtosis < 3: 5 SE < 0.16 %
    assert w.var() == pytest.approx(1 / 3 + 0.16 / 9, rel=0.002)
    assert np.abs(x).max() <= 1.0
    assert np.abs(w).max() <= 1.4
    assert np.corrcoef(x, w)[0, 1] == pytest.approx(0.8, abs=0.02)


# ---------------------------------------------------- t inputs, JCGM 101 6.4.9.7


@pytest.mark.parametrize(("form", "u"), [({"u": 0.3}, 0.3), ({"U": 0.6, "k": 2}, 0.3)])
def test_a_value_with_u_and_dof_is_a_scaled_and_shifted_t(form, u):
    """JCGM 101 6.4.9.7: x with u and nu = 6 is drawn from t_6(x, u**2): its
    variance is u**2 nu/(nu - 2) = 1.5 u**2 (kurtosis 6, so 5 SE of the
    variance is 5 sqrt(5/N) = 0.8 %), and its 97.5 % quantile is x + t_6 u."""
    x = draws({"value": 1.0, "dof": 6, **form}, seed=6497)
    assert x.var(ddof=1) == pytest.approx(1.5 * u**2, rel=5 * math.sqrt(5 / N))
    assert np.quantile(x, 0.975) == pytest.approx(1.0 + 2.447 * u, rel=2e-3)


def test_a_single_t_input_gives_the_same_interval_by_both_methods():
    """The contract (after 6.4.9.7): a single input with u and a finite dof gives
    x +- t_(nu,p) u by both methods, so JCGM 101 §8 validates the GUM interval.
    Drawn from a normal distribution instead, the Monte Carlo interval would
    be x +- 1.96 u and the GUM's x +- 2.57 u would fail (d = 0.61 u)."""
    model = parse_model(one_input({"value": 5.0, "u": 0.1, "dof": 5}))
    gum = evaluate_gum(model)
    mc = evaluate_mc(model, rng=np.random.default_rng(1))
    half = float(stdtrit(5, 0.975)) * 0.1
    assert gum["y"].interval == pytest.approx((5.0 - half, 5.0 + half), rel=1e-12)
    assert mc["y"].interval == pytest.approx((5.0 - half, 5.0 + half), abs=0.004)
    assert validate_gum(gum, mc)["y"].valid
    assert mc["y"].warnings == ()


def test_infinite_dof_still_draws_a_normal_distribution():
    """JCGM 101 6.4.7: without dof the quantity is Gaussian (kurtosis 3)."""
    x = draws({"value": 0.0, "u": 1.0}, seed=647)
    kurtosis = float(np.mean(x**4) / np.mean(x**2) ** 2)
    assert kurtosis == pytest.approx(
        3.0, abs=5 * math.sqrt(96 / N)
    )  # SE of kurtosis ~ sqrt(24/N)*2


def test_correlated_inputs_with_the_same_dof_are_drawn_from_the_multivariate_t():
    """6.4.9.7 with correlation: two inputs stated with nu = 8 and r = 0.6 keep
    the variance u**2 nu/(nu - 2) each and the correlation 0.6 exactly (one
    shared chi-square draw)."""
    model = parse_model(
        {
            "outputs": {"y": "a + b"},
            "quantities": {
                "a": {"value": 0, "u": 1.0, "dof": 8},
                "b": {"value": 0, "U": 4.0, "k": 2, "dof": 8},
            },
            "correlations": [["a", "b", 0.6]],
        }
    )
    a, b = draw_inputs(model, np.random.default_rng(6498), N)
    # kurtosis 3 + 6/4 = 4.5: 5 SE of the variance = 5 sqrt(3.5/N) = 0.66 %
    assert a.var() == pytest.approx(8 / 6, rel=0.0066)
    assert b.var() == pytest.approx(4 * 8 / 6, rel=0.0066)
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(0.6, abs=0.003)


# ------------------------------------------------- the H.1 example, before/after


def test_gum_h1_monte_carlo_draws_l_s_and_d_from_their_t_distributions():
    """JCGM 100 H.1 states l_s (nu = 18) and d (nu = 25.6) with finite dof:
    drawn from t (6.4.9.7), their variances are u**2 nu/(nu - 2), so the Monte
    Carlo variance of l is the sum below (the product terms are exact for
    independent zero-mean factors; the variation of l_s as a factor, 5e-7
    relative, is negligible). Drawn from normals, u(l) was 33.8 nm."""
    model = load_model(EXAMPLES / "gum-h1-end-gauge.json")
    ls = 50.000623
    variance = (
        25e-6**2 * 18 / 16
        + 9.7e-6**2 * 25.6 / 23.6
        + ls**2 * (1e-6**2 / 3) * (0.41**2 + 0.1**2)  # delta_alpha * theta
        + ls**2 * (11.5e-6**2 + 2e-6**2 / 3) * (0.05**2 / 3)  # alpha_s * delta_theta
    )
    mc = evaluate_mc(model, rng=np.random.default_rng(1))
    # 10**6 trials, kurtosis about 3.2: 5 SE of u is 5 sqrt(2.2/10**6)/2 = 0.37 %
    assert mc["l"].u == pytest.approx(math.sqrt(variance), rel=0.004)
    # JCGM 101 §8 at two significant digits: the ends now differ by about
    # 0.7 nm (tolerance 0.5 nm) where the normal draws gave 5.6 nm.
    check = validate_gum(evaluate_gum(model), mc)["l"]
    assert check.d_low < 1.2e-6
    assert check.d_high < 1.2e-6


# --------------------------------------------------------- model-file validation


@pytest.mark.parametrize(
    ("spec", "where", "says"),
    [
        ({"distribution": "trapezoidal", "half_width": 1}, "quantities.x.beta", "required"),
        ({"distribution": "trapezoidal", "half_width": 1, "beta": 1.5}, "quantities.x.beta",
         "between 0"),
        ({"distribution": "trapezoidal", "half_width": 1, "beta": "wide"}, "quantities.x.beta",
         "number"),
        ({"distribution": "trapezoidal", "beta": 0.5}, "quantities.x.half_width", "required"),
        ({"distribution": "trapezoidal", "half_width": 1, "beta": 0.5, "u": 1},
         "quantities.x.u", "does not go with"),
        ({"distribution": "rectangular", "half_width": 1, "beta": 0.5}, "quantities.x.beta",
         "goes with a trapezoidal"),
        ({"distribution": "curvilinear_trapezoidal", "half_width": 1},
         "quantities.x.limit_half_width", "required"),
        ({"distribution": "curvilinear_trapezoidal", "half_width": 1, "limit_half_width": 2},
         "quantities.x.limit_half_width", "must not exceed half_width"),
        ({"distribution": "curvilinear_trapezoidal", "half_width": 1, "limit_half_width": -1},
         "quantities.x.limit_half_width", ">= 0"),
        ({"distribution": "trapezoidal", "half_width": 1, "limit_half_width": 0.1, "beta": 0},
         "quantities.x.limit_half_width", "goes with a curvilinear_trapezoidal"),
        ({"u": 1, "beta": 0.2}, "quantities.x.beta", "not a normal one"),
    ],
)  # fmt: skip
def test_bad_trapezoid_keys_name_the_input_and_the_key(spec, where, says):
    with pytest.raises(ModelError) as caught:
        parse_model(one_input({"value": 0.0, **spec}))
    assert caught.value.where == where
    assert says in str(caught.value)


def test_the_command_line_reports_the_trapezoids_in_the_budget():
    """The GUM budget names the form of each input (the certificate's 'kind')."""
    model = parse_model(two_trapezoids(0.3, 0.1))
    result = evaluate(model, method="gum")
    kinds = [line["distribution"] for line in result["outputs"]["y"]["budget"]]
    assert sorted(kinds) == ["curvilinear_trapezoidal", "trapezoidal"]
