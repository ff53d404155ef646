"""Properties that hold for every model, checked on generated ones (hypothesis).

* For a linear model the law of propagation is exact: u^2 = c' V c.
* Sensitivities agree with an independent first-order propagation
  (the ``uncertainties`` package) on nonlinear models.
* Symbolic derivatives agree with central finite differences.
* Monte Carlo converges to the GUM result for a linear model with normal inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from uncertainty.expressions import compile_node, derivative, parse_expression
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model
from uncertainty.montecarlo import evaluate_mc

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e2, allow_nan=False, allow_infinity=False)


@st.composite
def linear_models(draw: st.DrawFn) -> tuple[dict[str, object], np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=6))
    coefficients = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    values = draw(st.lists(finite, min_size=n, max_size=n))
    u = np.array(draw(st.lists(positive, min_size=n, max_size=n)))
    # a valid correlation matrix from random factors
    factors = np.array(draw(st.lists(finite, min_size=n * n, max_size=n * n))).reshape(n, n)
    gram = factors @ factors.T + np.eye(n)
    d = np.sqrt(np.diag(gram))
    r = gram / np.outer(d, d)
    names = [f"x{i}" for i in range(n)]
    expression = " + ".join(
        f"({float(c)!r})*{name}" for c, name in zip(coefficients, names, strict=True)
    )
    correlations = [[names[i], names[j], float(r[i, j])] for i in range(n) for j in range(i + 1, n)]
    model = {
        "outputs": {"y": expression},
        "quantities": {
            name: {"value": v, "u": float(s)} for name, v, s in zip(names, values, u, strict=True)
        },
        "correlations": correlations,
    }
    return model, coefficients, u, r


@settings(max_examples=60, deadline=None)
@given(linear_models())
def test_for_a_linear_model_the_gum_result_is_exact(case):
    data, c, u, r = case
    result = evaluate_gum(parse_model(data, check_units=False))["y"]
    exact = math.sqrt(float((c * u) @ r @ (c * u)))
    assert result.u == pytest.approx(exact, rel=1e-9, abs=1e-12)
    for line, coefficient in zip(result.budget, c, strict=True):
        assert line.sensitivity == pytest.approx(coefficient, rel=1e-12, abs=1e-12)


FUNCTIONS = ["a*b", "a/b", "exp(a/10)", "log(b)", "sqrt(b)", "sin(a)*cos(b)", "atan2(a, b)",
             "b**a", "a**3", "tan(a/10)", "log10(b)", "asin(a/2000)", "acos(a/2000)",
             "atan(a)", "abs(a)"]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.sampled_from(FUNCTIONS),
    st.floats(min_value=-5, max_value=5),
    st.floats(min_value=0.5, max_value=5),
)
def test_symbolic_derivatives_match_finite_differences(expression, a, b):
    assume(abs(a) > 1e-3)
    tree = parse_expression(expression, {"a": 0, "b": 1}, where="test")
    for index in (0, 1):
        slope = compile_node(derivative(tree, index))
        f = compile_node(tree)
        h = 1e-6 * max(1.0, abs((a, b)[index]))
        up, down = [a, b], [a, b]
        up[index] += h
        down[index] -= h
        numeric = (float(f(up)) - float(f(down))) / (2 * h)
        assert float(slope([a, b])) == pytest.approx(numeric, rel=1e-5, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["a*b + c", "a/b*c", "exp(a/10)*b - c**2", "sqrt(b)*sin(a) + c", "log(b)*a/c"]),
    st.lists(st.floats(min_value=0.5, max_value=4), min_size=3, max_size=3),
    st.lists(st.floats(min_value=1e-4, max_value=0.1), min_size=3, max_size=3),
)
def test_gum_agrees_with_an_independent_first_order_propagation(expression, values, us):
    import uncertainties
    from uncertainties import umath

    data = {
        "outputs": {"y": expression},
        "quantities": {n: {"value": v, "u": s} for n, v, s in zip("abc", values, us, strict=True)},
    }
    ours = evaluate_gum(parse_model(data))["y"]
    env = {n: uncertainties.ufloat(v, s) for n, v, s in zip("abc", values, us, strict=True)}
    env.update(exp=umath.exp, sqrt=umath.sqrt, sin=umath.sin, log=umath.log)
    theirs = eval(expression, {"__builtins__": {}}, env)  # trusted, test-only expressions
    assert ours.value == pytest.approx(theirs.nominal_value, rel=1e-12)
    assert ours.u == pytest.approx(theirs.std_dev, rel=1e-9)


@settings(max_examples=8, deadline=None)
@given(linear_models(), st.integers(min_value=0, max_value=2**32))
def test_monte_carlo_converges_to_the_gum_result_for_a_linear_gaussian_model(case, seed):
    data, *_ = case
    model = parse_model(data, check_units=False)
    gum = evaluate_gum(model)["y"]
    assume(gum.u > 0)
    mc = evaluate_mc(model, rng=np.random.default_rng(seed), trials=200_000)["y"]
    # standard error of the mean u/sqrt(M); of the standard deviation u/sqrt(2M)
    assert mc.value == pytest.approx(gum.value, abs=5 * gum.u / math.sqrt(200_000) + 1e-9)
    assert mc.u == pytest.approx(gum.u, rel=5 / math.sqrt(2 * 200_000))
    low, high = gum.interval
    width = high - low
    assert mc.interval[0] == pytest.approx(low, abs=0.02 * width)
    assert mc.interval[1] == pytest.approx(high, abs=0.02 * width)
