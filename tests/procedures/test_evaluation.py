"""The one evaluator of a point: the GUM, the procedure's limits, the verdict, U/MPE, the budget."""

from __future__ import annotations

from typing import Any

import pytest

from procedures.evaluation import (
    Budget,
    LimitsRule,
    PointNotEvaluated,
    PointRules,
    bind_readings,
    evaluate_point,
)
from procedures.record import Acceptance, UncertaintyRatio
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

READINGS = [10.000081, 10.000085, 10.000083, 10.000079, 10.000084]
MODEL: dict[str, Any] = {
    "name": "DCV error at 10 V",
    "outputs": {"E": {"expression": "x + d_res - V_s", "unit": "V"}},
    "quantities": {
        "x": {"samples": READINGS, "unit": "V"},
        "d_res": {"value": 0.0, "distribution": "rectangular", "half_width": 5e-7, "unit": "V"},
        "V_s": {"value": 10.000002, "U": 4e-6, "k": 2.0, "unit": "V"},
    },
}
# The 34465A's 10 V range, 1 year: 0.0035 % of the reading + 0.0005 % of the range.
SPEC = {
    "rule": "spec",
    "reading": "nominal",
    "range": "range",
    "full_scale": "range * 1.2",
    "percent_of_reading": 0.0035,
    "percent_of_range": 0.0005,
}
SCOPE = {"nominal": 10.0, "range": 10.0}


def rules(**changes: Any) -> PointRules:
    given: dict[str, Any] = {
        "decision_rule": "simple acceptance",
        "max_uncertainty_ratio": "1/3",
        "limits": LimitsRule(SPEC, SCOPE, "tests[dcv].mpe"),
    }
    given.update(changes)
    return PointRules(**given)


def test_the_result_is_the_gum_s_and_the_verdict_the_procedure_s() -> None:
    evaluation = evaluate_point(MODEL, "E", rules(), unit="V")
    gum = evaluate_gum(parse_model(MODEL))["E"]
    assert evaluation.result.to_json() == {
        "value": gum.value,
        "u": gum.u,
        "U": gum.U,
        "k": gum.k,
        "dof": gum.dof,
    }
    assert evaluation.limits is not None
    assert evaluation.limits.mpe == pytest.approx(400e-6, rel=1e-12)
    assert evaluation.conformity == "pass"
    assert evaluation.ratio == UncertaintyRatio(gum.U / evaluation.limits.mpe, "1/3", True)
    kept = evaluation.to_json()
    assert kept["acceptance"] == Acceptance.of(evaluation.limits).to_json()
    assert kept["decision_rule"] == "simple acceptance"
    assert kept["uncertainty_ratio"] == evaluation.ratio.to_json()
    assert kept["unit"] == "V"


def test_limits_that_depend_on_the_result_follow_the_evaluated_result() -> None:
    spec = {**SPEC, "reading": "result + nominal"}
    evaluation = evaluate_point(MODEL, "E", rules(limits=LimitsRule(spec, SCOPE, "mpe")))
    gum = evaluate_gum(parse_model(MODEL))["E"]
    expected = 0.0035 / 100 * (gum.value + 10.0) + 0.0005 / 100 * 10.0
    assert evaluation.limits is not None
    assert evaluation.limits.mpe == pytest.approx(expected, rel=1e-12)


def test_without_a_rule_the_point_s_own_band_is_judged_and_nothing_is_set() -> None:
    stated = Acceptance(lower=-1e-5, upper=1e-5, mpe=1e-5)
    evaluation = evaluate_point(MODEL, "E", rules(limits=None, stated=stated))
    assert evaluation.limits is None
    assert evaluation.conformity == "fail"  # E ≈ 80 µV
    assert "acceptance" not in evaluation.to_json()
    bare = evaluate_point(MODEL, "E")
    assert bare.conformity == ""
    assert bare.ratio is None
    assert set(bare.to_json()) == {"value", "u", "U", "k", "dof", "coverage_probability", "unit"}


def test_the_budget_is_the_gum_s_and_reads_back_as_kept() -> None:
    evaluation = evaluate_point(MODEL, "E", rules())
    budget = evaluation.budget
    gum = evaluate_gum(parse_model(MODEL))["E"]
    assert budget.lines == gum.budget
    assert (budget.value, budget.u, budget.k, budget.U) == (gum.value, gum.u, gum.k, gum.U)
    assert budget.correlated is False
    assert Budget.from_json(budget.to_json()) == budget


@pytest.mark.parametrize(
    ("point", "stage", "argument"),
    [
        ({"samples": [*READINGS[:4], 10.0]}, "readings", "model.quantities.x.samples"),
        ({"unit": "mV"}, "readings", "model.quantities.x.unit"),
        ({"samples": READINGS, "unit": "V", "distribution": "cauchy"}, "model", None),
    ],
)
def test_a_model_not_built_on_the_readings_is_refused_at_binding(
    point: dict[str, Any], stage: str, argument: str | None
) -> None:
    model = {
        **MODEL,
        "quantities": {**MODEL["quantities"], "x": {**MODEL["quantities"]["x"], **point}},
    }
    data = {
        "model": model,
        "output": "E",
        "readings_quantity": "x",
        "readings": [{"value": v, "unit": "V"} for v in READINGS],
    }
    with pytest.raises(PointNotEvaluated) as refused:
        bind_readings(data)
    assert refused.value.stage == stage
    if argument is not None:
        assert refused.value.argument == argument
    else:
        assert str(refused.value.argument).startswith("model.")
    assert isinstance(bind_readings({**data, "model": MODEL}), type(parse_model(MODEL)))


def test_each_step_that_refuses_is_named() -> None:
    with pytest.raises(PointNotEvaluated) as refused:
        evaluate_point(
            MODEL, "E", rules(limits=LimitsRule({**SPEC, "range": "nowhere"}, SCOPE, "mpe"))
        )
    assert refused.value.stage == "limits"
    assert str(refused.value) == str(refused.value.cause)
    with pytest.raises(PointNotEvaluated) as refused:
        evaluate_point(MODEL, "E", rules(decision_rule="no such rule"))
    assert (refused.value.stage, refused.value.argument) == ("decision", "acceptance")
    with pytest.raises(PointNotEvaluated) as refused:
        evaluate_point(MODEL, "F", rules())
    assert (refused.value.stage, refused.value.argument) == ("model", "output")
    # valid at parsing, but not differentiable at the estimates: the GUM refuses
    kinked = {
        **MODEL,
        "outputs": {"E": {"expression": "x + sqrt(d_res) * V_s - V_s", "unit": "V"}},
        "quantities": {
            **MODEL["quantities"],
            "d_res": {"value": 0.0, "distribution": "rectangular", "half_width": 5e-7},
        },
    }
    with pytest.raises(PointNotEvaluated) as refused:
        evaluate_point(kinked, "E")
    assert (refused.value.stage, refused.value.argument) == ("gum", "model.outputs.E")
    assert "sensitivity to d_res is not finite" in str(refused.value)
