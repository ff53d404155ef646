"""Monte Carlo outputs without a finite variance (measurement-model contract, JCGM 101 6.4.9.7).

The contract names the cases: a t input with nu <= 2 (a Type A quantity from
3 readings is one) and a division by an input whose distribution reaches
zero. The output then carries ``warnings`` naming the input, and its coverage
interval is still reported. The cases are found from the model, so these
tests mostly need no Monte Carlo run at all.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections.abc import Mapping

import numpy as np
import pytest
from scipy.special import stdtrit

from uncertainty.cli import evaluate, main
from uncertainty.model import parse_model
from uncertainty.montecarlo import evaluate_mc
from uncertainty.variance import input_range, quantity_range, variance_warnings


def warnings_of(
    outputs: dict[str, str], quantities: Mapping[str, object]
) -> dict[str, tuple[str, ...]]:
    return variance_warnings(parse_model({"outputs": outputs, "quantities": quantities}))


THREE_READINGS = {"samples": [10.01, 10.03, 10.02], "unit": "V"}


def test_a_type_a_input_from_three_readings_has_no_variance():
    """Contract: 'A Type A quantity from 3 samples (nu = 2) is such an input'."""
    found = warnings_of({"y": "2*v + 1"}, {"v": THREE_READINGS})["y"]
    assert len(found) == 1
    assert "input v" in found[0]
    assert "2 degrees of freedom" in found[0]
    assert "3 readings" in found[0]
    assert "6.4.9.7" in found[0]
    assert "not meaningful" in found[0]


def test_four_readings_are_enough():
    """nu = 3 > 2: the t-distribution has the variance 3 u**2 (6.4.9.3)."""
    quantities = {"v": {"samples": [10.01, 10.03, 10.02, 10.04]}}
    assert warnings_of({"y": "v"}, quantities) == {"y": ()}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"value": 1.0, "u": 0.1, "dof": 2}, "its standard uncertainty is stated"),
        ({"value": 1.0, "U": 0.2, "k": 2, "dof": 1.5}, "1.5 degrees of freedom"),
        ({"samples": [1.0, 1.1]}, "mean does not exist either"),  # nu = 1: Cauchy
        ({"samples": [1.0, 1.1], "pooled_sd": 0.05, "pooled_dof": 2}, "2 degrees"),
    ],
)
def test_every_form_of_a_t_input_with_two_or_fewer_dof_is_found(spec, says):
    found = warnings_of({"y": "x"}, {"x": spec})["y"]
    assert len(found) == 1
    assert says in found[0]


def test_a_rectangular_input_with_few_dof_is_drawn_rectangular_and_has_a_variance():
    """Contract: a rectangular quantity is drawn from its own distribution
    whatever its dof (GUM H.1's delta_theta has dof = 2)."""
    spec = {"value": 0, "distribution": "rectangular", "half_width": 0.05, "dof": 2}
    assert warnings_of({"y": "1 + x"}, {"x": spec}) == {"y": ()}


def test_a_heavy_tailed_input_inside_a_bounded_function_leaves_every_moment():
    """sin, cos and atan are bounded, so their outputs have every moment."""
    quantities = {"x": {"value": 0.3, "u": 0.1, "dof": 2}, "w": {"value": 1.0, "u": 0.01}}
    found = warnings_of({"a": "w*sin(x)", "b": "w + atan(x)", "c": "w*x"}, quantities)
    assert found["a"] == ()
    assert found["b"] == ()
    assert len(found["c"]) == 1
    assert "input x" in found["c"][0]


def test_only_the_outputs_that_use_the_input_are_warned_about():
    quantities = {"v": THREE_READINGS, "r": {"value": 100.0, "u": 0.01}}
    found = warnings_of({"p": "v**2/r", "q": "2*r"}, quantities)
    assert len(found["p"]) == 1
    assert found["q"] == ()


@pytest.mark.parametrize(
    ("expression", "reaches"),
    [
        ("1/x", True),  # rectangular on [0, 2]: its support reaches zero
        ("1/(x - 0.5)", True),
        ("1/(x + 0.1)", False),  # [0.1, 2.1]
        ("(x + 3)**-1", False),
        ("(x - 0.5)**-2", True),  # a negative power is a division too
        ("sqrt(x + 1)/(x + 1)", False),
        ("1/sin(x + 1)", False),  # sin on [1, 3] stays above 0.14
        ("1/cos(x)", True),  # cos on [0, 2] crosses zero at pi/2
        ("1/exp(x - 10)", False),
    ],
)
def test_a_division_by_a_bounded_input_reaching_zero_is_found(expression, reaches):
    """Contract: 'a division by an input whose distribution reaches zero'."""
    quantities = {"x": {"value": 1.0, "distribution": "rectangular", "half_width": 1.0}}
    found = warnings_of({"y": expression}, quantities)["y"]
    assert bool(found) is reaches
    if reaches:
        assert "input x" in found[0]
        assert "reaches zero" in found[0]


def test_a_division_by_a_normal_input_warns_where_the_trials_can_reach_zero():
    """A normal input 3 standard uncertainties from zero is reached in a
    sample of 10**6 (about 1350 draws beyond 3 u); one 100 u away never is.
    The range given to an unbounded input holds all but 10**-9 of it: about
    6.1 u for a normal one."""
    near = {"i": {"value": 0.3, "u": 0.1, "unit": "A"}, "v": {"value": 1.0, "u": 0.01}}
    far = {"i": {"value": 10.0, "u": 0.1, "unit": "A"}, "v": {"value": 1.0, "u": 0.01}}
    found = warnings_of({"r": "v/i"}, near)["r"]
    assert len(found) == 1
    assert found[0].startswith("r divides by the input i, whose distribution")
    assert warnings_of({"r": "v/i"}, far) == {"r": ()}
    low, high = quantity_range(
        parse_model({"outputs": {"r": "i"}, "quantities": far}).quantities[0]
    )
    assert high - 10.0 == pytest.approx(0.1 * 6.109, rel=1e-3)
    assert low == pytest.approx(20.0 - high)


def test_the_range_of_a_t_input_uses_its_own_quantile():
    """A t_4 input (5 readings) reaches much further than a normal one: its
    range is x +- t_4(1 - 5e-10) u (6.4.9)."""
    model = parse_model(
        {"outputs": {"y": "x"}, "quantities": {"x": {"value": 0, "u": 1, "dof": 4}}}
    )
    _low, high = input_range(model, model.outputs[0].tree)
    assert high == pytest.approx(float(stdtrit(4, 1 - 5e-10)))
    assert high > 250  # against 6.1 for a normal input


def test_the_interval_is_still_reported_and_right_for_three_readings():
    """Y = X with X Type A from 3 readings: the output is t_2 scaled by s/sqrt(3),
    whose 95 % interval is x +- 4.303 u (JCGM 100 Table G.2, nu = 2). The GUM
    gives that same interval, so JCGM 101 §8 validates it (at one significant
    digit: the t_2 density is so low at the ends that 10**6 trials place them
    to about 0.015 u, one standard error, more than the two-digit tolerance of
    0.009 u); the Monte Carlo result carries the warning."""
    readings = [10.01, 10.03, 10.02]
    model = parse_model(
        {"outputs": {"y": "x"}, "quantities": {"x": {"samples": readings}},
         "coverage_probability": 0.95}
    )  # fmt: skip
    u = float(np.std(readings, ddof=1) / math.sqrt(3))
    result = evaluate(model, method="both", seed=3, ndig=1)
    mc = result["mc"]["outputs"]["y"]
    assert mc["warnings"]
    assert "input x" in mc["warnings"][0]
    assert mc["interval"] == pytest.approx(
        [10.02 - 4.303 * u, 10.02 + 4.303 * u], abs=0.075 * u
    )  # 5 SE
    assert result["validation"]["y"]["valid"]
    assert result["gum"]["outputs"]["y"]["k"] == pytest.approx(4.30, abs=0.005)
    assert "warnings" not in result["gum"]["outputs"]["y"]  # the GUM's u is the stated one


def test_the_adaptive_procedure_stops_on_an_output_without_variance():
    """JCGM 101 7.9 judges the mean and u too; they do not settle when the
    variance does not exist, so only the interval's ends are judged: the
    procedure stops well before its limit of 10**8 trials."""
    model = parse_model(
        {"outputs": {"y": "x"}, "quantities": {"x": {"samples": [1.0, 1.3, 1.1]}},
         "coverage_probability": 0.95}
    )  # fmt: skip
    mc = evaluate_mc(model, rng=np.random.default_rng(79), adaptive=True, ndig=1)
    assert mc.trials <= 2_000_000
    assert mc["y"].warnings
    assert not mc["y"].has_variance
    u = float(np.std([1.0, 1.3, 1.1], ddof=1) / math.sqrt(3))
    assert mc["y"].interval[1] - 1.1333333 == pytest.approx(4.303 * u, rel=0.05)


def test_the_command_line_shows_the_warnings_in_text_and_json(tmp_path):
    """What a metrologist reads: the JSON 'warnings' list and, in the text
    form, no standard deviation but the warning sentence itself."""
    path = tmp_path / "three.json"
    path.write_text(
        json.dumps(
            {
                "name": "Voltage from three readings",
                "outputs": {"p": {"expression": "v**2/r", "unit": "W"}},
                "quantities": {
                    "v": THREE_READINGS,
                    "r": {"value": 100.0, "u": 0.02, "unit": "ohm"},
                },
            }
        )
    )

    common = [str(path), "--method", "mc", "--trials", "20000", "--seed", "1"]
    # JSON in this process (the same main() the command runs)...
    buffer = io.StringIO()
    assert main(["evaluate", *common], stdout=buffer) == 0
    printed = json.loads(buffer.getvalue())
    (warning,) = printed["outputs"]["p"]["warnings"]
    assert "input v" in warning
    assert len(printed["outputs"]["p"]["interval"]) == 2
    # ... and the text form as a user runs it
    done = subprocess.run(
        [sys.executable, "-m", "uncertainty", "evaluate", *common, "--format", "text"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "u: not meaningful (no finite variance, see the warnings)" in text
    assert f"warning: {warning}" in text
    assert "u = " not in text
