"""Tests of calibration curves (uncertainty.curves)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uncertainty.curves import CalibrationCurve, fit_line, fit_polynomial
from uncertainty.errors import EvaluationError, ModelError

# JCGM 100:2008 (GUM) Annex H.3, Table H.6: thermometer readings t_k and observed
# corrections b_k = t_R,k - t_k, both in °C; t0 = 20 °C. Transcribed from the
# GUM_H3 examples of MSLNZ/GTC and sandialabs/suncal (test/test_curvefit.py),
# which both reproduce the published results quoted in the test below.
H3_T = (21.521, 22.012, 22.512, 23.003, 23.507, 23.999, 24.513, 25.002, 25.503, 26.010, 26.511)
H3_B = (-0.171, -0.169, -0.166, -0.159, -0.164, -0.165, -0.156, -0.157, -0.159, -0.161, -0.160)


@pytest.fixture
def thermometer() -> CalibrationCurve:
    return fit_line(H3_T, H3_B, x0=20.0)


def test_it_reproduces_the_gum_h3_thermometer_calibration(thermometer: CalibrationCurve) -> None:
    """JCGM 100:2008 H.3.3: y1 = −0.1712 °C, s(y1) = 0.0029 °C, y2 = 0.00218,
    s(y2) = 0.00067, r(y1, y2) = −0.930, s = 0.0035 °C on 11 − 2 = 9 degrees
    of freedom. Published values as reproduced by GTC (docs/API/GUM_H3.rst:
    "Intercept: -0.1712(29), Slope: 0.00218(67), Correlation: -0.93") and
    suncal (test_linefitgum, r = −0.930 and s = 0.0035 "in H.3.3").
    """
    y1, y2 = thermometer.coefficients
    s_y1, s_y2 = np.sqrt(np.diag(thermometer.covariance))
    assert round(y1, 4) == pytest.approx(-0.1712)
    assert round(s_y1, 4) == pytest.approx(0.0029)
    assert round(y2, 5) == pytest.approx(0.00218)
    assert round(s_y2, 5) == pytest.approx(0.00067)
    assert round(thermometer.correlation[0, 1], 3) == pytest.approx(-0.930)
    assert round(thermometer.residual_sd, 4) == pytest.approx(0.0035)
    assert thermometer.dof == 9
    assert not thermometer.weighted
    assert thermometer.chi_square is None


def test_it_predicts_the_gum_h3_correction_at_30_degrees(thermometer: CalibrationCurve) -> None:
    """JCGM 100:2008 H.3.4: b(30 °C) = −0.1494 °C with u = 0.0041 °C, from the
    parameter covariance alone (GTC: "Correction at 30 C: -0.1494(41)")."""
    assert round(thermometer.value_at(30.0), 4) == pytest.approx(-0.1494)
    assert round(thermometer.u_value_at(30.0), 4) == pytest.approx(0.0041)


def test_the_prediction_uncertainty_combines_the_parameter_covariance(
    thermometer: CalibrationCurve,
) -> None:
    """GUM H.3.4 writes u²[b(t)] = u²(y1) + (t − t0)² u²(y2) + 2 (t − t0) u(y1) u(y2) r."""
    v = thermometer.covariance
    dt = 30.0 - 20.0
    expected = math.sqrt(v[0, 0] + dt**2 * v[1, 1] + 2 * dt * v[0, 1])
    assert thermometer.u_value_at(30.0) == pytest.approx(expected, rel=1e-12)


def test_a_new_single_observation_adds_the_residual_sd(thermometer: CalibrationCurve) -> None:
    curve_only = thermometer.u_value_at(24.0)
    with_scatter = thermometer.u_value_at(24.0, include_residual_sd=True)
    assert with_scatter == pytest.approx(math.hypot(curve_only, thermometer.residual_sd))


def test_the_residuals_are_the_data_minus_the_curve(thermometer: CalibrationCurve) -> None:
    expected = [b - thermometer.value_at(t) for t, b in zip(H3_T, H3_B, strict=True)]
    assert thermometer.residuals == pytest.approx(expected, abs=1e-15)
    assert thermometer.residual_sd == pytest.approx(
        math.sqrt(sum(r * r for r in expected) / 9), rel=1e-12
    )


def test_the_result_cannot_be_changed_through_its_arrays(thermometer: CalibrationCurve) -> None:
    with pytest.raises(ValueError, match="read-only"):
        thermometer.coefficients[0] = 1.0


def test_it_reads_x_back_from_the_curve_with_both_uncertainties(
    thermometer: CalibrationCurve,
) -> None:
    """For a line the read-back is x = x0 + (y − y1)/y2 and, by the GUM law of
    propagation, u²(x) = (u_y² + u²(f at x)) / y2²: derived, not published."""
    y1, y2 = thermometer.coefficients
    reading = thermometer.x_for(-0.162, 0.001)
    expected_x = 20.0 + (-0.162 - y1) / y2
    assert reading.x == pytest.approx(expected_x, rel=1e-12)
    assert reading.u_from_y == pytest.approx(0.001 / abs(y2), rel=1e-12)
    assert reading.u_from_curve == pytest.approx(
        thermometer.u_value_at(expected_x) / abs(y2), rel=1e-9
    )
    assert reading.u == pytest.approx(math.hypot(reading.u_from_y, reading.u_from_curve))


def test_a_read_back_agrees_with_a_numerical_propagation(thermometer: CalibrationCurve) -> None:
    """Check the implicit-function sensitivities against finite differences of a
    line solved for x, c = (y1, y2): x = x0 + (y − c1)/c2."""
    c = np.array(thermometer.coefficients)
    y, u_y = -0.163, 0.0005

    def solve(y_: float, c_: np.ndarray) -> float:
        return 20.0 + (y_ - float(c_[0])) / float(c_[1])

    step = 1e-7
    gradient_c = np.array(
        [(solve(y, c + step * e) - solve(y, c - step * e)) / (2 * step) for e in np.eye(2)]
    )
    gradient_y = (solve(y + step, c) - solve(y - step, c)) / (2 * step)
    variance = gradient_y**2 * u_y**2 + gradient_c @ thermometer.covariance @ gradient_c
    assert thermometer.x_for(y, u_y).u == pytest.approx(math.sqrt(variance), rel=1e-6)


def test_it_reads_x_back_from_a_monotonic_polynomial() -> None:
    x = np.linspace(0.0, 10.0, 11)
    rng = np.random.default_rng(20240611)
    y = 0.5 + 1.2 * x + 0.03 * x**2 + rng.normal(0.0, 0.01, x.size)
    curve = fit_polynomial(x, y, 2, x0=5.0)
    reading = curve.x_for(curve.value_at(7.25), 0.01)
    assert reading.x == pytest.approx(7.25, abs=1e-9)
    slope = curve.coefficients[1] + 2 * curve.coefficients[2] * (7.25 - 5.0)
    assert reading.u_from_y == pytest.approx(0.01 / slope, rel=1e-9)


def test_it_refuses_to_read_x_outside_the_fitted_range(thermometer: CalibrationCurve) -> None:
    with pytest.raises(ModelError, match="outside") as raised:
        thermometer.x_for(-0.100, 0.001)
    assert raised.value.where == "y"


def test_it_refuses_to_read_x_where_the_curve_is_not_monotonic() -> None:
    x = np.linspace(-2.0, 2.0, 9)
    curve = fit_polynomial(x, x**2 + 1.0, 2)
    with pytest.raises(EvaluationError, match="not monotonic") as raised:
        curve.x_for(2.0, 0.1)
    assert raised.value.where == "curve"


def test_it_refuses_to_read_x_from_a_flat_line() -> None:
    curve = fit_line([1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0])
    with pytest.raises(EvaluationError, match="flat"):
        curve.x_for(5.0, 0.1)


def test_a_slope_at_the_rounding_of_the_values_is_flat_too() -> None:
    # One unit in the last place of 5.0 on the last point: a slope of about 3e-16, the
    # size a machine's linear algebra leaves on constant data. Reading x from it would
    # divide by rounding noise: it is refused as flat, on every machine.
    curve = fit_line([1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, math.nextafter(5.0, 6.0)])
    assert curve.coefficients[1] != 0.0
    with pytest.raises(EvaluationError, match="flat"):
        curve.x_for(5.0, 0.1)


def test_it_refuses_a_negative_uncertainty_of_the_measured_y(
    thermometer: CalibrationCurve,
) -> None:
    with pytest.raises(ModelError, match="negative") as raised:
        thermometer.x_for(-0.162, -0.001)
    assert raised.value.where == "u_y"


def test_a_weighted_fit_does_not_rescale_the_covariance_by_the_scatter() -> None:
    """With known u_y the covariance is (AᵀWA)⁻¹; for a line with equal u_y = σ
    that is σ² (AᵀA)⁻¹, so u(slope) = σ / sqrt(Σ(x − x̄)²), whatever the scatter
    (derived from the normal equations)."""
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = np.array([2.1, 3.9, 6.2, 7.8, 10.1, 12.0])
    curve = fit_line(x, y, u_y=0.5)
    assert curve.weighted
    assert math.sqrt(curve.covariance[1, 1]) == pytest.approx(
        0.5 / math.sqrt(np.sum((x - x.mean()) ** 2)), rel=1e-12
    )
    assert curve.chi_square == pytest.approx(float(np.sum((curve.residuals / 0.5) ** 2)))
    assert curve.dof == 4


def test_a_weighted_fit_matches_the_ordinary_one_scaled_when_weights_are_equal() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([0.1, 0.9, 2.2, 2.8, 4.1])
    ordinary = fit_line(x, y)
    weighted = fit_line(x, y, u_y=[0.2] * 5)
    assert weighted.coefficients == pytest.approx(ordinary.coefficients, rel=1e-12)
    assert weighted.covariance * ordinary.residual_sd**2 / 0.2**2 == pytest.approx(
        ordinary.covariance, rel=1e-10
    )
    assert weighted.correlation == pytest.approx(ordinary.correlation, rel=1e-12)


def test_the_weights_follow_the_stated_uncertainties() -> None:
    """A point with a huge u_y barely pulls the line: an outlier given
    u = 1000 leaves the line through the other, exact, points."""
    x = [0.0, 1.0, 2.0, 3.0, 4.0]
    y = [1.0, 3.0, 5.0, 7.0, 100.0]
    curve = fit_line(x, y, u_y=[0.01, 0.01, 0.01, 0.01, 1000.0])
    assert curve.coefficients == pytest.approx([1.0, 2.0], abs=1e-6)


def test_the_offset_x0_changes_the_parameters_not_the_curve(
    thermometer: CalibrationCurve,
) -> None:
    shifted = fit_line(H3_T, H3_B, x0=0.0)
    for t in (21.0, 24.0, 30.0):
        assert shifted.value_at(t) == pytest.approx(thermometer.value_at(t), abs=1e-12)
        assert shifted.u_value_at(t) == pytest.approx(thermometer.u_value_at(t), rel=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    coefficients=st.lists(
        st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False),
        min_size=2,
        max_size=5,
    ),
    x0=st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False),
    extra_points=st.integers(min_value=1, max_value=6),
)
def test_it_recovers_the_coefficients_of_exact_polynomial_data(
    coefficients: list[float], x0: float, extra_points: int
) -> None:
    degree = len(coefficients) - 1
    x = np.linspace(x0 - 3.0, x0 + 4.0, degree + 1 + extra_points)
    y = np.polynomial.polynomial.polyval(x - x0, coefficients)
    curve = fit_polynomial(x, y, degree, x0=x0)
    scale = max(1.0, float(np.max(np.abs(y))))
    assert curve.coefficients == pytest.approx(coefficients, abs=1e-8 * scale)
    assert curve.residual_sd == pytest.approx(0.0, abs=1e-9 * scale)
    assert np.all(np.isfinite(curve.correlation))


@settings(max_examples=40, deadline=None)
@given(
    intercept=st.floats(min_value=-10, max_value=10, allow_nan=False),
    slope=st.floats(min_value=0.1, max_value=10, allow_nan=False),
    fraction=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_reading_back_the_value_of_a_line_returns_its_x(
    intercept: float, slope: float, fraction: float
) -> None:
    x = np.linspace(1.0, 9.0, 7)
    noise = np.array([0.01, -0.02, 0.015, 0.0, -0.01, 0.02, -0.015])
    curve = fit_line(x, intercept + slope * x + noise)
    target = 1.0 + 8.0 * fraction
    assert curve.x_for(curve.value_at(target), 0.0).x == pytest.approx(target, abs=1e-9)


@pytest.mark.parametrize(
    ("x", "y", "degree", "where", "message"),
    [
        ([1.0, 2.0], [1.0, 2.0], 1, "x", "at least 3 points"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 2, "x", "at least 4 points"),
        ([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], 1, "x", "distinct"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], 1, "y", "3 points but y has 2"),
        ([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], 1, "x", "finite"),
        ([1.0, 2.0, 3.0], [1.0, math.inf, 3.0], 1, "y", "finite"),
        ([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], 1, "x", "one-dimensional"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 0, "degree", "at least 1"),
    ],
)
def test_it_refuses_bad_data(
    x: list[float], y: list[float], degree: int, where: str, message: str
) -> None:
    with pytest.raises(ModelError, match=message) as raised:
        fit_polynomial(x, y, degree)
    assert raised.value.where == where


@pytest.mark.parametrize("u_y", [0.0, -0.1, math.nan, [0.1, 0.1], [0.1, 0.0, 0.1]])
def test_it_refuses_non_positive_or_mismatched_uncertainties_of_y(
    u_y: float | list[float],
) -> None:
    with pytest.raises(ModelError) as raised:
        fit_line([1.0, 2.0, 3.0], [1.0, 2.0, 3.5], u_y=u_y)
    assert raised.value.where == "u_y"


def test_it_refuses_a_non_finite_offset() -> None:
    with pytest.raises(ModelError) as raised:
        fit_line([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], x0=math.inf)
    assert raised.value.where == "x0"


def test_it_refuses_a_numerically_singular_fit() -> None:
    """x values a few parts in 10¹⁶ apart cannot support a cubic: the design
    matrix is singular to working precision."""
    x = 1.0 + np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]) * 2.220446049250313e-16
    with pytest.raises(EvaluationError, match="singular") as raised:
        fit_polynomial(x, np.arange(6.0), 3)
    assert raised.value.where == "x"


def test_a_wide_polynomial_fit_stays_well_conditioned_with_an_offset() -> None:
    """A quartic over x = 1000..1010 (think °C of a furnace) is ill-conditioned in
    raw powers of x; in powers of x − x0 with column scaling it keeps its digits."""
    x = np.linspace(1000.0, 1010.0, 12)
    coefficients = [2.0, -0.3, 0.02, -0.001, 5e-5]
    y = np.polynomial.polynomial.polyval(x - 1005.0, coefficients)
    curve = fit_polynomial(x, y, 4, x0=1005.0)
    assert curve.coefficients == pytest.approx(coefficients, rel=1e-8, abs=1e-12)


# ------------------------------------------------- generalized least squares (correlated y)


def _shared_case() -> tuple[np.ndarray, np.ndarray, float, float, float]:
    x = np.array([-40.0, -20.0, 0.0, 20.0, 40.0, 60.0, 80.0])
    y = -0.12 - 0.0015 * x + np.array([3, -2, 1, 0, -4, 2, 1]) * 1e-3
    return x, y, 0.01, 0.004, 5e-5


def test_a_shared_offset_and_gain_enter_the_line_exactly() -> None:
    """ISO/TS 28037:2010 clause 7 (generalized least squares with a covariance matrix of
    y), on a case with a known analytical answer: independent errors of variance σ² per
    point, plus an offset error of variance s0² common to every point and a gain error of
    variance s1² seen as s1·x_i by point i, i.e. V = σ²I + s0²·11ᵀ + s1²·xxᵀ. Both 1 and x
    are columns of the design A, so (Kruskal) the GLS estimate is the ordinary one and
    its covariance is σ²(AᵀA)⁻¹ plus s0² on the intercept and s1² on the slope — what a
    common offset and gain must add, and what the independent fit leaves out."""
    x, y, sigma, s0, s1 = _shared_case()
    v = sigma**2 * np.eye(x.size) + s0**2 * np.ones((x.size, x.size)) + s1**2 * np.outer(x, x)
    curve = fit_line(x, y, covariance_y=v)
    design = np.column_stack([np.ones_like(x), x])
    ordinary = np.linalg.lstsq(design, y, rcond=None)[0]
    expected = sigma**2 * np.linalg.inv(design.T @ design) + np.diag([s0**2, s1**2])
    assert curve.generalized
    assert curve.weighted
    assert curve.coefficients == pytest.approx(ordinary, rel=1e-10)
    assert curve.covariance == pytest.approx(expected, rel=1e-9)
    # The chi-square is rᵀV⁻¹r on n − 2 degrees of freedom.
    r = y - design @ ordinary
    assert curve.chi_square == pytest.approx(float(r @ np.linalg.solve(v, r)), rel=1e-9)
    assert curve.dof == 5
    # The independent (diagonal) fit understates u(c0) (here by a fifth and more).
    diagonal = fit_line(x, y, u_y=np.sqrt(np.diag(v)))
    assert curve.u_value_at(0.0) > 1.2 * diagonal.u_value_at(0.0)


def test_a_diagonal_covariance_is_the_weighted_fit() -> None:
    """V = diag(u²) is the weighted fit of the same u (ISO/TS 28037 clause 6 as the special
    case of clause 7)."""
    x, y, *_ = _shared_case()
    u = np.linspace(0.01, 0.02, x.size)
    generalized = fit_polynomial(x, y, 2, x0=20.0, covariance_y=np.diag(u**2))
    weighted = fit_polynomial(x, y, 2, x0=20.0, u_y=u)
    assert generalized.coefficients == pytest.approx(weighted.coefficients, rel=1e-10)
    assert generalized.covariance == pytest.approx(weighted.covariance, rel=1e-9)
    assert generalized.chi_square == pytest.approx(weighted.chi_square, rel=1e-9)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.eye(3), "must be 7×7 for 7 points, not 3×3"),
        (np.eye(7) + np.triu(np.ones((7, 7)), 1) * 0.1, r"must be symmetric; element \[0\]\[1\]"),
        (np.ones((7, 7)), "must be positive definite"),
        (np.full((7, 7), np.nan), "must hold finite numbers"),
    ],
)
def test_a_bad_covariance_of_y_is_refused_by_name(matrix: np.ndarray, message: str) -> None:
    x, y, *_ = _shared_case()
    with pytest.raises(ModelError, match=message) as err:
        fit_line(x, y, covariance_y=matrix)
    assert err.value.where == "covariance_y"


def test_weights_and_a_covariance_are_not_both_taken() -> None:
    x, y, *_ = _shared_case()
    with pytest.raises(ModelError, match="give u_y or covariance_y, not both"):
        fit_line(x, y, u_y=0.01, covariance_y=np.eye(x.size) * 1e-4)


def test_it_reproduces_the_iso_ts_28037_weighted_example_through_the_covariance() -> None:
    """ISO/TS 28037:2010 clause 6 (p. 13): six points x = 1..6, y with u(y) = 0.5 each,
    given to the generalized fit as V = 0.25·I. Published results, as reproduced by GTC
    (docs/API/straight_line_functions.rst: "Intercept: 1.87, u=0.47", "Slope: 1.76,
    u=0.12", "Correlation: -0.9", "Sum of the squared residuals: 1.66476")."""
    x = [1, 2, 3, 4, 5, 6]
    y = [3.3, 5.6, 7.1, 9.3, 10.7, 12.1]
    curve = fit_line(x, y, covariance_y=np.eye(6) * 0.5**2)
    a, b = curve.coefficients
    u_a, u_b = np.sqrt(np.diag(curve.covariance))
    assert (round(a, 2), round(u_a, 2)) == (1.87, 0.47)
    assert (round(b, 2), round(u_b, 2)) == (1.76, 0.12)
    assert round(float(curve.correlation[0, 1]), 1) == -0.9
    assert curve.chi_square == pytest.approx(1.66476, abs=5e-6)
