"""``python -m uncertainty evaluate`` as a user runs it: a separate process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uncertainty", "evaluate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_prints_one_json_object_for_gum_h1():
    done = run(str(EXAMPLES / "gum-h1-end-gauge.json"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert done.stdout.count("\n") == 1
    assert result["outputs"]["l"]["k"] == pytest.approx(2.92, abs=0.005)


def test_both_methods_with_validation_and_second_order_for_the_mass_example():
    done = run(
        str(EXAMPLES / "jcgm101-mass-calibration.json"),
        "--method", "both", "--seed", "3", "--second-order", "--ndig", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"method", "gum", "mc", "validation"}
    assert result["gum"]["outputs"]["delta_m"]["u"] == pytest.approx(0.0750, abs=5e-5)
    assert result["mc"]["seed"] == 3
    assert result["mc"]["trials"] == 1_000_000
    assert result["validation"]["delta_m"]["valid"] is True
    assert result["validation"]["delta_m"]["tolerance"] == pytest.approx(0.005)


def test_monte_carlo_with_a_shortest_interval_and_a_number_of_trials():
    done = run(
        str(EXAMPLES / "jcgm101-mass-calibration.json"),
        "--method", "mc", "--trials", "50000", "--interval", "shortest", "--seed", "9",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)["outputs"]["delta_m"]
    assert out["interval_type"] == "shortest"
    assert out["trials"] == 50_000
    assert "k" not in out
    assert "dof" not in out


def test_a_seed_is_chosen_and_reported_when_none_is_given():
    done = run(str(EXAMPLES / "gum-h1-end-gauge.json"), "--method", "mc", "--trials", "1000")
    assert isinstance(json.loads(done.stdout)["seed"], int)


def test_adaptive_monte_carlo():
    done = run(str(EXAMPLES / "gum-h1-end-gauge.json"), "--method", "mc", "--adaptive")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["adaptive"] is True


def test_infinite_degrees_of_freedom_are_written_as_inf_in_strict_json(tmp_path):
    model = tmp_path / "m.json"
    model.write_text(
        json.dumps({"outputs": {"y": "2*x"}, "quantities": {"x": {"value": 1, "u": 1}}})
    )
    done = run(str(model))
    assert json.loads(done.stdout)["outputs"]["y"]["dof"] == "inf"
    assert "Infinity" not in done.stdout


def test_text_format_shows_a_budget_table():
    done = run(str(EXAMPLES / "gum-h1-end-gauge.json"), "--format", "text")
    assert done.returncode == 0, done.stderr
    assert "Uncertainty budget of l" in done.stdout
    for name in ("l_s", "d", "alpha_s", "theta", "delta_alpha", "delta_theta"):
        assert f"\n{name} " in done.stdout


def test_a_bad_model_exits_non_zero_with_one_line_naming_the_key(tmp_path):
    model = tmp_path / "bad.json"
    model.write_text(
        json.dumps({"outputs": {"y": "x"}, "quantities": {"x": {"value": 1, "u": -2}}})
    )
    done = run(str(model))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "error: quantities.x.u: must be >= 0 (got -2)\n"


def test_a_model_the_monte_carlo_method_cannot_evaluate_exits_3(tmp_path):
    model = tmp_path / "log.json"
    model.write_text(
        json.dumps({"outputs": {"y": "log(x)"}, "quantities": {"x": {"value": 0.1, "u": 1}}})
    )
    done = run(str(model), "--method", "mc", "--trials", "10000", "--seed", "1")
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.startswith("error: outputs.y: the model is not finite in ")
    assert done.stderr.count("\n") == 1


def test_trials_and_adaptive_are_exclusive():
    done = run(str(EXAMPLES / "gum-h1-end-gauge.json"), "--trials", "10", "--adaptive")
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr
