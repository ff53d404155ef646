"""Bad model files get one clear error that names the quantity, output or key."""

from __future__ import annotations

import copy
import json
import math

import pytest

from uncertainty.errors import (
    CorrelationError,
    EvaluationError,
    ExpressionError,
    ModelError,
    UnitError,
)
from uncertainty.model import load_model, loads_model, parse_model

BASE = {
    "outputs": {"y": "a + b*c"},
    "quantities": {
        "a": {"value": 1.0, "u": 0.1, "unit": "V"},
        "b": {"value": 2.0, "U": 0.2, "k": 2, "unit": "V"},
        "c": {"value": 3.0, "distribution": "rectangular", "half_width": 0.5},
    },
}


def model_with(**changes: object) -> dict[str, object]:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target: dict[str, object] = data
        for key in parents:
            target = target[key]  # type: ignore[assignment]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


DELETE = object()


def refused(data: object, error: type[Exception] = ModelError) -> str:
    with pytest.raises(error) as caught:
        parse_model(data)
    return str(caught.value)


def test_the_base_model_is_valid():
    model = parse_model(BASE)
    assert model.names == ("a", "b", "c")
    assert model.quantities[1].u == pytest.approx(0.1)
    assert model.quantities[2].u == pytest.approx(0.5 / math.sqrt(3))


def test_it_refuses_an_unknown_distribution():
    message = refused(model_with(quantities__c__distribution="uniformish"))
    assert message.startswith("quantities.c.distribution: unknown distribution 'uniformish'")


def test_it_refuses_a_missing_uncertainty():
    message = refused(model_with(quantities__a__u=DELETE))
    assert message.startswith("quantities.a.u: an uncertainty is required")


def test_it_refuses_a_negative_uncertainty():
    assert refused(model_with(quantities__a__u=-0.1)) == "quantities.a.u: must be >= 0 (got -0.1)"


def test_it_refuses_a_negative_half_width():
    assert refused(model_with(quantities__c__half_width=-1)).startswith(
        "quantities.c.half_width: must be >= 0"
    )


@pytest.mark.parametrize("dof", [0, -3])
def test_it_refuses_non_positive_degrees_of_freedom(dof):
    message = refused(model_with(quantities__a__dof=dof))
    assert message == f"quantities.a.dof: must be > 0 (got {dof})"


def test_it_accepts_infinite_degrees_of_freedom_written_as_text():
    model = parse_model(model_with(quantities__a__dof="inf"))
    assert math.isinf(model.quantities[0].dof)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_it_refuses_nan_and_infinity_in_values(bad):
    message = refused(model_with(quantities__a__value=bad))
    assert message.startswith("quantities.a.value: must be a finite number")


def test_it_refuses_nan_in_a_json_file():
    text = json.dumps(BASE).replace('"value": 1.0', '"value": NaN')
    with pytest.raises(ModelError, match="NaN is not allowed"):
        loads_model(text)


def test_it_refuses_nan_among_samples():
    data = model_with(quantities__a={"samples": [1.0, math.nan, 1.1]})
    assert refused(data).startswith("quantities.a.samples[1]: must be a finite number")


def test_it_refuses_a_boolean_as_a_number():
    assert refused(model_with(quantities__a__u=True)).startswith(
        "quantities.a.u: must be a number (got bool)"
    )


def test_it_refuses_both_u_and_expanded_u():
    message = refused(model_with(quantities__a__U=0.2))
    assert message.startswith("quantities.a.U: 'U' does not go with 'u'")


def test_it_requires_k_with_an_expanded_uncertainty():
    assert refused(model_with(quantities__b__k=DELETE)).startswith(
        "quantities.b.k: 'k' is required"
    )


def test_it_refuses_a_zero_coverage_factor():
    assert refused(model_with(quantities__b__k=0)) == "quantities.b.k: must be > 0 (got 0)"


def test_student_t_needs_more_than_two_degrees_of_freedom():
    data = model_with(quantities__a={"value": 1, "u": 0.1, "distribution": "student_t", "dof": 2})
    assert refused(data).startswith("quantities.a.dof: must be > 2 for a student_t distribution")


def test_it_refuses_a_single_sample_without_a_pooled_standard_deviation():
    data = model_with(quantities__a={"samples": [1.0]})
    assert refused(data).startswith("quantities.a.samples: at least 2 samples are needed")


def test_a_type_a_quantity_takes_its_value_from_the_samples_only():
    data = model_with(quantities__a={"samples": [1.0, 2.0], "value": 1.5})
    assert refused(data).startswith("quantities.a.value: 'value' does not go with samples")


def test_type_a_from_samples_and_from_a_pooled_standard_deviation():
    data = model_with(
        quantities__a={"samples": [1.0, 1.2, 1.4, 1.6]},
        quantities__b={"samples": [2.0, 2.2], "pooled_sd": 0.3, "pooled_dof": 20},
    )
    model = parse_model(data)
    a, b = model.quantities[0], model.quantities[1]
    assert a.value == pytest.approx(1.3)
    assert a.u == pytest.approx(math.sqrt(0.2 / 3) / 2)
    assert a.dof == 3
    assert b.value == pytest.approx(2.1)
    assert b.u == pytest.approx(0.3 / math.sqrt(2))
    assert b.dof == 20


def test_it_names_an_unknown_key_of_a_quantity():
    message = refused(model_with(quantities__a__uu=0.1))
    assert message.startswith("quantities.a.uu: unknown key 'uu'")


def test_it_names_an_unknown_top_level_key():
    assert refused(model_with(outptus={})).startswith("outptus: unknown key 'outptus'")


def test_it_refuses_a_quantity_named_like_a_function():
    data = model_with(quantities__exp={"value": 1, "u": 0})
    assert refused(data).startswith("quantities.exp: 'exp' is the name of a function")


def test_it_names_an_unknown_name_in_an_expression():
    message = refused(model_with(outputs={"y": "a + bb"}), ExpressionError)
    assert message.startswith("outputs.y: unknown name 'bb' (quantities: a, b, c) at column 5")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("__import__('os')", "function '__import__' is not allowed"),
        ("__import__('os').system('true')", "is not an allowed function"),
        ("a.real", "'a.real' is not allowed"),
        ("a ^ 2", "operator ^ (write powers as **) is not allowed"),
        ("a if b else c", "'a if b else c' is not allowed"),
        ("[a, b]", "'[a, b]' is not allowed"),
        ("lambda: a", "is not allowed"),
        ("a < b", "'a < b' is not allowed"),
        ("'text'", "'text'\" is not a number"),
        ("sqrt(a, b)", "sqrt() takes 1 argument, got 2"),
        ("atan2(a)", "atan2() takes 2 arguments, got 1"),
        ("exp", "function 'exp' must be called"),
        ("sqrt(x=a)", "sqrt() takes no keyword arguments"),
        ("a +", "syntax error"),
        ("1e999 * a", "is not finite"),
    ],
)
def test_it_refuses_what_an_expression_may_not_contain(expression, fragment):
    message = refused(model_with(outputs={"y": expression}), ExpressionError)
    assert message.startswith("outputs.y: ")
    assert fragment in message


def test_it_refuses_a_correlation_outside_minus_one_to_one():
    message = refused(model_with(correlations=[["a", "b", 1.5]]), CorrelationError)
    assert message == "correlations[0]: r must be between -1 and 1 (got 1.5)"


def test_it_refuses_a_correlation_with_an_unknown_quantity():
    message = refused(model_with(correlations=[["a", "z", 0.5]]), CorrelationError)
    assert message == "correlations[0]: unknown quantity 'z'"


def test_it_refuses_a_correlation_matrix_that_is_not_positive_semidefinite():
    data = model_with(correlations=[["a", "b", 0.9], ["b", "c", 0.9], ["a", "c", -0.9]])
    message = refused(data, CorrelationError)
    assert message.startswith("correlations: the correlation matrix is not positive semi-definite")
    for name in ("a", "b", "c"):
        assert name in message


def test_it_accepts_a_fully_correlated_pair():
    model = parse_model(model_with(correlations=[["a", "b", 1.0]]))
    assert model.correlations() == [("a", "b", 1.0)]


def test_it_refuses_a_model_not_finite_at_the_estimates():
    data = model_with(outputs={"y": "log(a - 1)"})
    with pytest.raises(EvaluationError, match=r"^outputs.y: the model is not finite"):
        parse_model(data)


def test_it_refuses_a_coverage_probability_of_one():
    assert refused(model_with(coverage_probability=1)).startswith("coverage_probability: must be")


def test_it_refuses_adding_volts_and_kelvins():
    data = model_with(quantities__c__unit="K", outputs={"y": "a + c"})
    message = refused(data, UnitError)
    assert message.startswith("outputs.y: cannot add 'V' and 'K'")


def test_it_refuses_adding_millimetres_to_micrometres_as_bare_numbers():
    data = model_with(quantities__a__unit="mm", quantities__b__unit="µm", outputs={"y": "a + b"})
    assert "as bare numbers" in refused(data, UnitError)


def test_it_refuses_an_output_declared_in_the_wrong_dimension():
    data = model_with(outputs={"y": {"expression": "a*b", "unit": "V"}})
    message = refused(data, UnitError)
    assert message.startswith("outputs.y.unit: the expression gives 'V²'")


def test_it_refuses_a_sine_of_degrees():
    data = model_with(quantities__c__unit="degree", outputs={"y": "a*sin(c)"})
    assert "sin() takes radians" in refused(data, UnitError)


def test_units_it_cannot_parse_are_not_checked():
    data = model_with(quantities__c__unit="scale divisions", outputs={"y": "a + c"})
    parse_model(data)


def test_temperature_coefficients_in_celsius_are_consistent():
    data = {
        "outputs": {"L": {"expression": "L0*(1 + alpha*(t - t0))", "unit": "m"}},
        "quantities": {
            "L0": {"value": 1.0, "u": 1e-6, "unit": "m"},
            "alpha": {"value": 11.5e-6, "u": 1e-6, "unit": "1/K"},
            "t": {"value": 21.0, "u": 0.1, "unit": "°C"},
            "t0": {"value": 20.0, "u": 0.0, "unit": "°C"},
        },
    }
    parse_model(data)


def test_yaml_models_are_read_with_their_line_numbers_on_error(tmp_path):
    good = tmp_path / "model.yaml"
    good.write_text("outputs:\n  y: a*2\nquantities:\n  a: {value: 1, u: 0.1}\n")
    assert load_model(good).outputs[0].expression == "a*2"
    bad = tmp_path / "bad.yaml"
    bad.write_text("outputs:\n  y: a*2\nquantities:\n  a: {value: 1, u: [0.1\n")
    with pytest.raises(ModelError, match=r"bad.yaml line \d+ column \d+: not valid YAML"):
        load_model(bad)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ModelError, match="cannot read the model file"):
        load_model(tmp_path / "nope.json")


def test_it_refuses_an_expression_nested_too_deeply():
    deep = "(" * 5000 + "a" + ")" * 5000
    message = refused(model_with(outputs={"y": deep}), ExpressionError)
    assert message.startswith("outputs.y: ")


def test_gum_refuses_a_kink_at_the_estimate_and_names_the_quantity():
    from uncertainty.gum import evaluate_gum

    model = parse_model(model_with(quantities__a__value=0.0, outputs={"y": "abs(a) + b"}))
    with pytest.raises(EvaluationError, match=r"^outputs.y: the sensitivity to a is not finite"):
        evaluate_gum(model)


def test_second_order_terms_are_refused_for_correlated_inputs():
    from uncertainty.gum import evaluate_gum

    model = parse_model(model_with(correlations=[["a", "b", 0.5]]))
    with pytest.raises(ModelError, match="uncorrelated inputs only"):
        evaluate_gum(model, second_order=True)


def test_dof_is_not_defined_when_correlated_inputs_have_different_dof():
    from uncertainty.gum import evaluate_gum

    data = model_with(quantities__a__dof=5, quantities__b__dof=9, correlations=[["a", "b", 0.5]])
    result = evaluate_gum(parse_model(data))["y"]
    assert result.dof_method == "not-defined"
    assert math.isinf(result.dof)
