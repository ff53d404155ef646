"""The published worked examples of JCGM 100:2008 (GUM) and JCGM 101:2008.

Each test states the clause and the published figures; tolerances are those
of the published rounding (GUM) or of Monte Carlo noise at 10^6 trials.
The model files are the ones shipped in ``examples/models``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from uncertainty.cli import evaluate
from uncertainty.gum import evaluate_gum
from uncertainty.model import load_model, parse_model
from uncertainty.montecarlo import evaluate_mc, validate_gum

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


@pytest.fixture(scope="module")
def end_gauge():
    return load_model(EXAMPLES / "gum-h1-end-gauge.json")


@pytest.fixture(scope="module")
def impedance():
    return load_model(EXAMPLES / "gum-h2-impedance.json")


@pytest.fixture(scope="module")
def mass():
    return load_model(EXAMPLES / "jcgm101-mass-calibration.json")


# ---------------------------------------------------------------- GUM H.1


def test_gum_h1_end_gauge_first_order(end_gauge):
    """GUM H.1.5-H.1.6: l = 50.000 838 mm, u_c = 32 nm, nu_eff = 16, k = 2.92, U99 = 93 nm.

    Table H.1 gives the contributions 25 nm (l_s), 9.7 nm (d), 2.9 nm
    (delta_alpha), 16.6 nm (delta_theta) and zero for alpha_s and theta.
    """
    result = evaluate_gum(end_gauge)["l"]
    assert result.value == pytest.approx(50.000838, abs=5e-7)
    assert result.u == pytest.approx(32e-6, abs=0.5e-6)
    assert math.floor(result.dof) == 16
    assert result.k == pytest.approx(2.92, abs=0.005)
    assert result.U == pytest.approx(93e-6, abs=1e-6)
    contributions = {line.quantity: line.contribution for line in result.budget}
    assert contributions["l_s"] == pytest.approx(25e-6)
    assert contributions["d"] == pytest.approx(9.7e-6)
    assert contributions["delta_alpha"] == pytest.approx(2.9e-6, abs=0.05e-6)
    assert contributions["delta_theta"] == pytest.approx(16.6e-6, abs=0.05e-6)
    assert contributions["alpha_s"] == 0.0
    assert contributions["theta"] == 0.0
    sensitivities = {line.quantity: line.sensitivity for line in result.budget}
    # Table H.1: c(delta_alpha) = -l_s theta = 5 mm/K... in mm per (1/K)
    assert sensitivities["delta_alpha"] == pytest.approx(-50.000623 * -0.1)
    assert sensitivities["delta_theta"] == pytest.approx(-50.000623 * 11.5e-6)


def test_gum_h1_end_gauge_second_order(end_gauge):
    """GUM H.1.7: with the second-order terms u_c(l) = 34 nm."""
    result = evaluate_gum(end_gauge, second_order=True)["l"]
    assert result.u == pytest.approx(34e-6, abs=0.5e-6)
    assert result.second_order_variance == pytest.approx(
        (50.000623 * 0.41 * 1e-6 / math.sqrt(3)) ** 2
        + (50.000623 * 2e-6 / math.sqrt(3) * 0.05 / math.sqrt(3)) ** 2,
        rel=1e-9,
    )


def test_gum_h1_through_the_command_line_json(end_gauge, tmp_path, capsys):
    """The CLI prints the JSON object of measurement-model.md for H.1."""
    from uncertainty.cli import main

    assert main(["evaluate", str(EXAMPLES / "gum-h1-end-gauge.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["method"] == "gum"
    out = printed["outputs"]["l"]
    assert out["value"] == pytest.approx(50.000838, abs=5e-7)
    assert out["u"] == pytest.approx(32e-6, abs=0.5e-6)
    assert out["dof"] == pytest.approx(16.7, abs=0.1)
    assert out["k"] == pytest.approx(2.92, abs=0.005)
    assert out["U"] == pytest.approx(93e-6, abs=1e-6)
    assert out["coverage_probability"] == 0.99
    assert out["interval"] == pytest.approx([out["value"] - out["U"], out["value"] + out["U"]])
    assert [line["quantity"] for line in out["budget"]][:2] == ["l_s", "d"]
    assert printed["correlation"] == {"l": {"l": 1.0}}


@pytest.mark.parametrize(
    ("dof", "p", "k"),
    [
        (1, 0.6827, 1.84),
        (2, 0.95, 4.30),
        (4, 0.9545, 2.87),
        (10, 0.99, 3.17),
        (16, 0.99, 2.92),
        (16.9, 0.99, 2.92),  # truncated to the next lower integer (G.6.4)
        (30, 0.9973, 3.27),
        (math.inf, 0.9545, 2.00),
        (math.inf, 0.95, 1.96),
        (math.inf, 0.99, 2.576),
    ],
)
def test_coverage_factors_match_gum_table_g2(dof, p, k):
    """JCGM 100 Table G.2: t_p(nu) for the coverage probabilities it lists."""
    from uncertainty.gum import coverage_factor

    assert coverage_factor(dof, p) == pytest.approx(k, abs=0.005)


# ---------------------------------------------------------------- GUM H.2


def test_gum_h2_three_correlated_outputs(impedance):
    """GUM H.2, Table H.4 (approach 1).

    R = 127.732 ohm, u = 0.071 ohm; X = 219.847 ohm, u = 0.295 ohm;
    Z = 254.260 ohm, u = 0.236 ohm; r(R,X) = -0.588, r(R,Z) = -0.485,
    r(X,Z) = 0.993. The GUM's own figures carry its round-off (the last digit
    of u(X) differs by one, as other implementations also find).
    """
    result = evaluate_gum(impedance)
    published = {"R": (127.732, 0.071), "X": (219.847, 0.295), "Z": (254.260, 0.236)}
    for name, (value, u) in published.items():
        assert result[name].value == pytest.approx(value, abs=0.0006)
        assert result[name].u == pytest.approx(u, abs=0.0011)
    r = result.correlation
    assert r[0, 1] == pytest.approx(-0.588, abs=0.0006)
    assert r[0, 2] == pytest.approx(-0.485, abs=0.0006)
    assert r[1, 2] == pytest.approx(0.993, abs=0.0006)
    # Every input has 4 degrees of freedom and they are all correlated:
    # Willink's formula gives 4 for each output.
    for name in published:
        assert result[name].dof_method == "willink"
        assert result[name].dof == pytest.approx(4.0)
        assert result[name].k == pytest.approx(2.87, abs=0.005)  # GUM Table G.2, nu = 4


def test_gum_h2_covariance_is_symmetric_and_reported_in_json(impedance):
    printed = evaluate(impedance)
    cov = printed["covariance"]
    assert cov["R"]["X"] == pytest.approx(cov["X"]["R"])
    assert cov["R"]["R"] == pytest.approx(printed["outputs"]["R"]["u"] ** 2)


def test_gum_h2_monte_carlo_agrees(impedance):
    """GUM H.2 by Monte Carlo: the means and standard deviations agree with Table H.4.

    Inputs are Type A from five samples, drawn from the multivariate t with
    4 degrees of freedom (JCGM 101 6.4.9), whose standard deviations are
    sqrt(4/2) times the GUM u: the MC u is that much larger.
    """
    mc = evaluate_mc(impedance, rng=np.random.default_rng(20080907), trials=400_000)
    widen = math.sqrt(4 / 2)
    assert mc["R"].value == pytest.approx(127.732, abs=0.002)
    assert mc["Z"].u == pytest.approx(0.236 * widen, rel=0.02)
    assert mc["X"].u == pytest.approx(0.2956 * widen, rel=0.02)
    assert mc.correlation[1, 2] == pytest.approx(0.993, abs=0.002)


# ---------------------------------------------------------------- JCGM 101 9.2


def _additive(distribution: str, widths: tuple[float, ...]) -> dict[str, object]:
    quantities: dict[str, object] = {}
    for i, w in enumerate(widths, start=1):
        if distribution == "normal":
            quantities[f"X{i}"] = {"value": 0.0, "u": w}
        else:
            quantities[f"X{i}"] = {"value": 0.0, "distribution": "rectangular", "half_width": w}
    return {
        "outputs": {"Y": " + ".join(quantities)},
        "quantities": quantities,
        "coverage_probability": 0.95,
    }


def test_jcgm101_9_2_2_additive_model_normal_inputs():
    """JCGM 101 9.2.2, Table 2: GUM and MCM give y = 0.00, u = 2.00, [-3.92, 3.92]."""
    model = parse_model(_additive("normal", (1.0, 1.0, 1.0, 1.0)))
    gum = evaluate_gum(model)["Y"]
    assert gum.u == pytest.approx(2.00)
    assert gum.interval == pytest.approx((-3.92, 3.92), abs=0.005)
    mc = evaluate_mc(model, rng=np.random.default_rng(1))["Y"]
    assert mc.value == pytest.approx(0.0, abs=0.005)
    assert mc.u == pytest.approx(2.00, abs=0.005)
    # an endpoint of a 10^6-trial interval scatters by about 0.005 here (3 sigma)
    assert mc.interval == pytest.approx((-3.92, 3.92), abs=0.016)


def test_jcgm101_9_2_3_additive_model_rectangular_inputs():
    """JCGM 101 9.2.3, Table 3: rectangular inputs with u = 1.

    GUM: u = 2.00, [-3.92, 3.92]; MCM: u = 2.00, [-3.88, 3.88].
    """
    model = parse_model(_additive("rectangular", (math.sqrt(3.0),) * 4))
    gum = evaluate_gum(model)["Y"]
    assert gum.interval == pytest.approx((-3.92, 3.92), abs=0.005)
    mc = evaluate_mc(model, rng=np.random.default_rng(2))["Y"]
    assert mc.u == pytest.approx(2.00, abs=0.005)
    # an endpoint of a 10^6-trial interval scatters by about 0.005 here (3 sigma)
    assert mc.interval == pytest.approx((-3.88, 3.88), abs=0.016)


def test_jcgm101_9_2_4_additive_model_dominant_rectangular_input():
    """JCGM 101 9.2.4: X4 rectangular with u = 10, the others u = 1.

    The output PDF is far from Gaussian. Rather than a remembered table, the
    expected 97.5 % quantile is computed here from the exact density, the
    convolution of the four rectangular densities, on a fine grid.
    """
    a = math.sqrt(3.0)
    model = parse_model(_additive("rectangular", (a, a, a, 10 * a)))
    gum = evaluate_gum(model)["Y"]
    assert gum.u == pytest.approx(math.sqrt(103.0))
    step = 1e-3
    grid = np.arange(-20 * a, 20 * a + step, step)
    small = np.where(np.abs(np.arange(-a, a + step, step)) <= a, 1.0, 0.0)
    density = np.where(np.abs(grid) <= 10 * a, 1.0, 0.0)
    for _ in range(3):
        density = np.convolve(density, small, mode="same")
    cdf = np.cumsum(density) / density.sum()
    exact_high = float(grid[np.searchsorted(cdf, 0.975)])
    mc = evaluate_mc(model, rng=np.random.default_rng(3))["Y"]
    assert mc.interval[1] == pytest.approx(exact_high, abs=0.03)
    assert mc.interval[0] == pytest.approx(-exact_high, abs=0.03)
    # The GUM interval (k = 1.96) is wider than the true one here.
    assert gum.interval[1] > exact_high + 2.0


# ---------------------------------------------------------------- JCGM 101 9.3


def test_jcgm101_9_3_mass_calibration_gum(mass):
    """JCGM 101 9.3, Table 5: GUF first order 1.2340 mg, u = 0.0539 mg,
    [1.1285, 1.3395] mg; second order u = 0.0750 mg, [1.0870, 1.3810] mg."""
    first = evaluate_gum(mass)["delta_m"]
    assert first.value == pytest.approx(1.2340, abs=5e-5)
    assert first.u == pytest.approx(0.0539, abs=5e-5)
    assert first.interval == pytest.approx((1.1285, 1.3395), abs=5e-5)
    second = evaluate_gum(mass, second_order=True)["delta_m"]
    assert second.u == pytest.approx(0.0750, abs=5e-5)
    # the published interval is y -/+ 1.96 u with u rounded to 0.0750
    assert second.interval == pytest.approx((1.0870, 1.3810), abs=1e-4)


def test_jcgm101_9_3_mass_calibration_monte_carlo(mass):
    """JCGM 101 9.3, Table 5: MCM 1.2341 mg, u = 0.0754 mg, shortest 95 %
    interval [1.0834, 1.3825] mg (10^6 trials: the endpoints scatter by about
    6e-4 mg from seed to seed, the published ones too)."""
    mc = evaluate_mc(mass, rng=np.random.default_rng(7), interval="shortest")["delta_m"]
    assert mc.interval_type == "shortest"
    assert mc.value == pytest.approx(1.2341, abs=3e-4)
    assert mc.u == pytest.approx(0.0754, abs=3e-4)
    assert mc.interval == pytest.approx((1.0834, 1.3825), abs=2e-3)


def test_jcgm101_9_3_validation_of_the_gum_results(mass):
    """JCGM 101 9.3: with delta = 0.005 (one significant digit of u), the
    first-order GUF is not validated (d_low ~ 0.045, d_high ~ 0.043) and the
    second-order GUF is."""
    mc = evaluate_mc(mass, rng=np.random.default_rng(11))
    first = validate_gum(evaluate_gum(mass), mc, ndig=1)["delta_m"]
    assert first.tolerance == pytest.approx(0.005)
    assert not first.valid
    assert first.d_low == pytest.approx(0.045, abs=0.003)
    assert first.d_high == pytest.approx(0.043, abs=0.003)
    second = validate_gum(evaluate_gum(mass, second_order=True), mc, ndig=1)["delta_m"]
    assert second.valid


def test_jcgm101_adaptive_monte_carlo_stabilises(mass):
    """JCGM 101 7.9: the adaptive procedure stops when twice the standard
    deviation of each batch result is within delta, and uses whole batches of
    max(100/(1-p), 10^4) trials."""
    mc = evaluate_mc(mass, rng=np.random.default_rng(5), adaptive=True, ndig=1)
    assert mc.adaptive
    assert mc.trials % 10_000 == 0
    assert mc["delta_m"].u == pytest.approx(0.0754, abs=0.002)


def test_monte_carlo_is_reproducible_from_its_seed(end_gauge):
    a = evaluate(end_gauge, method="mc", trials=20_000, seed=42)
    b = evaluate(end_gauge, method="mc", trials=20_000, seed=42)
    assert a == b
    assert a["seed"] == 42


# ---------------------------------------------------------------- JCGM 101 9.5


def test_jcgm101_9_5_gauge_block_monte_carlo():
    """JCGM 101 9.5: the GUM H.1 end gauge with the full model and the PDFs
    JCGM 101 assigns: t-distributions for l_s and the three parts of d
    (6.4.9.7), a normal mean plus an arcsine cycle for the bench temperature,
    and curvilinear trapezoids for delta_alpha (limits known to 10 %) and
    delta_theta (50 %) (6.4.3). The published MCM result is 838 nm,
    u = 36 nm, 99 % interval [745, 932] nm; tolerances: the published
    rounding (0.5 nm) plus five standard errors of 10**6 trials (mean 0.04 nm,
    u 0.1 nm, an end of the interval 0.2 nm)."""
    model = load_model(EXAMPLES / "jcgm101-gauge-block.json")
    mc = evaluate_mc(model, rng=np.random.default_rng(95))["delta_l"]
    nm = 1e-6  # mm
    assert mc.value == pytest.approx(838 * nm, abs=0.7 * nm)
    assert mc.u == pytest.approx(36 * nm, abs=1.0 * nm)
    assert mc.interval == pytest.approx((745 * nm, 932 * nm), abs=1.5 * nm)
    assert mc.warnings == ()
