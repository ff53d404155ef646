"""The Callendar–Van Dusen function of IEC 60751:2008 and its inverse (uncertainty.cvd),
and its use in a measurement model (the expression function ``cvd_t``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uncertainty import cvd
from uncertainty.cvd import A_IEC, B_IEC, C_IEC, cvd_resistance, cvd_slope, cvd_temperature
from uncertainty.errors import EvaluationError, ModelError
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model
from uncertainty.montecarlo import evaluate_mc, make_rng

# IEC 60751:2008 Table 1, Pt100 (R0 = 100 Ω), resistance in Ω rounded to 0.01 Ω, as the
# standard's reference tables print it (e.g. 18.52 Ω at −200 °C, 84.27 Ω at −40 °C,
# 138.51 Ω at 100 °C, 390.48 Ω at 850 °C).
TABLE = [
    (-200.0, 18.52),
    (-100.0, 60.26),
    (-40.0, 84.27),
    (0.0, 100.00),
    (100.0, 138.51),
    (200.0, 175.86),
    (850.0, 390.48),
]


@pytest.mark.parametrize(("celsius", "ohms"), TABLE)
def test_the_function_reproduces_the_standards_table(celsius: float, ohms: float) -> None:
    # The table rounds to 0.01 Ω: the function must be within half of that.
    assert cvd_resistance(celsius) == pytest.approx(ohms, abs=0.005)


@pytest.mark.parametrize(("celsius", "ohms"), TABLE)
def test_the_inverse_gives_back_the_temperature_to_a_microkelvin(
    celsius: float, ohms: float
) -> None:
    assert cvd_temperature(cvd_resistance(celsius)) == pytest.approx(celsius, abs=1e-6)
    # The table's own (rounded) resistance reads within the rounding's worth of kelvin.
    assert cvd_temperature(ohms) == pytest.approx(
        celsius, abs=0.005 / 100 / float(cvd_slope(celsius, A_IEC, B_IEC, C_IEC))
    )


def test_the_inverse_is_exact_over_the_whole_range_and_on_arrays() -> None:
    """Every 0.25 °C from −200 to 850 °C, a thermometer's own coefficients, as an array (the
    Monte Carlo path): back to within 1 µK on both branches."""
    t = np.arange(-200.0, 850.25, 0.25)
    r0, a, b, c = 100.0152, 3.90802e-3, -5.7801e-7, -4.2e-12
    back = cvd_temperature(cvd_resistance(t, r0, a, b, c), r0, a, b, c)
    assert np.max(np.abs(back - t)) < 1e-6


def test_below_zero_the_quadratic_alone_is_not_the_inverse() -> None:
    """The error the quadratic inverse (C ignored) makes, which the full inverse removes:
    −9.5 mK at −40 °C, −0.21 K at −100 °C (IEC 60751 4.2: C acts below 0 °C)."""
    for celsius, error in ((-40.0, -0.0095), (-100.0, -0.208)):
        w = cvd_resistance(celsius) / 100.0
        quadratic = (-A_IEC + math.sqrt(A_IEC**2 - 4 * B_IEC * (1 - w))) / (2 * B_IEC)
        assert quadratic - celsius == pytest.approx(error, abs=0.0005)
        assert cvd_temperature(100.0 * w) == pytest.approx(celsius, abs=1e-9)


@pytest.mark.parametrize("ohms", [18.0, 391.0, float("nan")])
def test_a_resistance_outside_the_standards_range_is_refused_by_value(ohms: float) -> None:
    with pytest.raises(EvaluationError, match=rf"R = {ohms!r} Ω with R0 = 100.0 Ω is outside") as e:
        cvd_temperature(ohms)
    assert e.value.where == "R"
    assert "-200 °C to 850 °C" in str(e.value)


def test_the_iteration_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # One Newton step cannot reach 1e-9 K from the quadratic's start at −150 °C: refused
    # with the resistance named, not looped over.
    monkeypatch.setattr(cvd, "MAX_ITERATIONS", 1)
    with pytest.raises(EvaluationError, match=r"did not converge in 1 steps for R = "):
        cvd_temperature(cvd_resistance(-150.0))


@pytest.mark.parametrize("celsius", [-150.0, -40.0, -1e-3, 1e-3, 40.0, 600.0])
def test_the_slope_is_the_derivative_of_its_branch(celsius: float) -> None:
    h = 1e-4
    numeric = (cvd_resistance(celsius + h) - cvd_resistance(celsius - h)) / (2 * h) / 100.0
    assert cvd_slope(celsius, A_IEC, B_IEC, C_IEC) == pytest.approx(numeric, rel=1e-8)


def _prt_model(ohms: float) -> dict[str, object]:
    return {
        "outputs": {"t": {"expression": "cvd_t(R, R0, A, B, C)", "unit": "degC"}},
        "quantities": {
            "R": {"value": ohms, "u": 0.001, "unit": "ohm"},
            "R0": {"value": 100.0152, "u": 0.0004, "unit": "ohm"},
            "A": {"value": 3.90802e-3, "u": 2e-7, "unit": "1/degC"},
            "B": {"value": -5.7801e-7, "u": 2e-9, "unit": "1/degC2"},
            "C": {"value": -4.183e-12, "u": 2e-13, "unit": "1/degC4"},
        },
    }


@pytest.mark.parametrize("celsius", [-40.0, -20.0, 20.0, 80.0])
def test_the_model_function_has_the_sensitivities_of_its_branch(celsius: float) -> None:
    """GUM 5.1.3: the sensitivity coefficients of t = cvd_t(R, R0, A, B, C) are the exact
    partial derivatives on the branch the reading is on; checked against central
    differences of the inverse (C's is zero above 0 °C)."""
    values = {"R0": 100.0152, "A": 3.90802e-3, "B": -5.7801e-7, "C": -4.183e-12}
    ohms = float(cvd_resistance(celsius, values["R0"], values["A"], values["B"], values["C"]))
    result = evaluate_gum(parse_model(_prt_model(ohms)))["t"]
    assert result.value == pytest.approx(celsius, abs=1e-9)
    point = {"R": ohms, **values}

    def t_of(p: dict[str, float]) -> float:
        return float(cvd_temperature(p["R"], p["R0"], p["A"], p["B"], p["C"]))

    for line in result.budget:
        step = abs(point[line.quantity]) * 1e-4
        up, down = dict(point), dict(point)
        up[line.quantity] += step
        down[line.quantity] -= step
        numeric = (t_of(up) - t_of(down)) / (2 * step)
        assert line.sensitivity == pytest.approx(numeric, rel=1e-5, abs=1e-300)
    c_line = next(line for line in result.budget if line.quantity == "C")
    assert (c_line.sensitivity == 0.0) is (celsius > 0)


def test_the_model_function_takes_five_arguments() -> None:
    model = _prt_model(100.0)
    model["outputs"] = {"t": {"expression": "cvd_t(R, R0, A, B)", "unit": "degC"}}
    with pytest.raises(ModelError, match=r"cvd_t\(\) takes 5 arguments, got 4"):
        parse_model(model)


def test_the_model_function_checks_its_units() -> None:
    """R and R0 share a unit; the result is in the unit A is per (°C for A in 1/°C). B and
    C are given in Pint's spelling here (the checker cannot read 1/degC2 and leaves such
    a model unchecked)."""
    model = _prt_model(100.0)
    quantities = model["quantities"]
    assert isinstance(quantities, dict)
    quantities["B"]["unit"] = "1/delta_degC**2"
    quantities["C"]["unit"] = "1/delta_degC**4"
    parse_model(model)  # consistent: ohm, ohm, 1/degC → degC
    quantities["R0"]["unit"] = "degC"
    with pytest.raises(ModelError, match=r"cvd_t\(\) takes R and R0 in one unit, not 'Ω'"):
        parse_model(model)
    quantities["R0"]["unit"] = "ohm"
    model["outputs"] = {"t": {"expression": "cvd_t(R, R0, A, B, C)", "unit": "ohm"}}
    with pytest.raises(ModelError, match="gives 'Δ°C' but the output is declared in 'ohm'"):
        parse_model(model)


def test_the_model_function_serves_the_monte_carlo_method() -> None:
    """JCGM 101 7.4: the same expression evaluated over 10⁵ draws of every input (arrays
    of R, R0, A, B and C at once) below 0 °C; its mean and standard deviation agree with
    the GUM's value and u to the Monte Carlo's own resolution (the model is close to
    linear over these uncertainties)."""
    ohms = float(cvd_resistance(-40.0, 100.0152, 3.90802e-3, -5.7801e-7))
    model = parse_model(_prt_model(ohms))
    gum = evaluate_gum(model)["t"]
    mc = evaluate_mc(model, rng=make_rng(60751), trials=100_000)["t"]
    assert mc.value == pytest.approx(gum.value, abs=3 * gum.u / math.sqrt(100_000) + 1e-9)
    assert mc.u == pytest.approx(gum.u, rel=0.01)
