"""Procedure definitions: a malformed file is refused at load with its file, line and key;
the stored (JSON) form is the same definition as the YAML file."""

from __future__ import annotations

import json

import pytest

from procedures.definition import (
    DefinitionError,
    definition_from_data,
    library,
    load_definition,
    parse_definition,
)

SOURCE = "library/test-proc.yaml"

BASE = """\
id: test-proc
version: 1.0.0
title: {en: Test, vi: Thử}
kind: calibration
field: electrical
instrument_type: dmm
references: [JCGM 100:2008]
instrument: [max_capacity]
roles:
  source:
    standard: true
    needs: [{function: dcv, direction: source}]
  uut:
    needs: [{function: dcv}]
tests:
  - id: dcv
    title: {en: DC voltage, vi: Điện áp một chiều}
    readings: 5
    params: {unit: V}
    points:
      - {nominal: 1, range: 1}
      - {nominal: 10, range: 10}
    steps:
      - set: {role: source, quantity: voltage, value: nominal}
      - read: {role: uut, function: dcv, range: range, as: x}
    model:
      outputs:
        E: {expression: x - V_s, unit: V}
      quantities:
        x: {readings: x, unit: V}
        V_s: {certificate: source, quantity: dcv, at: nominal, unit: V}
    output: E
    mpe:
      rule: spec
      reading: nominal
      range: range
      percent_of_reading: 0.004
      percent_of_range: 0.0007
"""


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``fragment``."""
    found = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return found[occurrence - 1]


def refused(text: str) -> DefinitionError:
    with pytest.raises(DefinitionError) as err:
        parse_definition(text, source=SOURCE)
    assert err.value.source == SOURCE
    assert str(err.value).startswith(f"{SOURCE}:{err.value.line}: ")
    return err.value


def changed(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_base_definition_loads() -> None:
    definition = parse_definition(BASE, source=SOURCE)
    assert [p.nominal for p in definition.points] == [1.0, 10.0]


def test_it_refuses_an_unknown_top_level_key() -> None:
    text = BASE + "colour: blue\n"
    err = refused(text)
    assert (err.key, err.line) == ("colour", line_of(text, "colour: blue"))
    assert "unknown key" in err.message


def test_it_refuses_a_misspelt_name_in_an_expression_with_its_line() -> None:
    text = changed("quantity: voltage, value: nominal}", "quantity: voltage, value: nominl}")
    err = refused(text)
    assert err.key == "tests[0].steps[0].set.value"
    assert err.line == line_of(text, "value: nominl")
    assert "nominl" in err.message


def test_it_refuses_a_read_step_naming_an_unknown_role() -> None:
    text = changed("read: {role: uut,", "read: {role: dvm,")
    err = refused(text)
    assert err.key == "tests[0].steps[1].read.role"
    assert err.line == line_of(text, "role: dvm")
    assert "'dvm'" in err.message


def test_it_refuses_a_quantity_bound_to_readings_never_taken() -> None:
    text = changed("x: {readings: x, unit: V}", "x: {readings: y, unit: V}")
    err = refused(text)
    assert err.key == "tests[0].model.quantities.x.readings"
    assert err.line == line_of(text, "readings: y")
    assert str(err).endswith(": no step reads 'y'")


def test_it_refuses_an_mpe_rule_with_a_missing_argument() -> None:
    text = changed("      percent_of_range: 0.0007\n", "")
    err = refused(text)
    assert err.key == "tests[0].mpe.percent_of_range"
    assert err.line == line_of(text, "    mpe:")  # the rule's line: the key is absent
    assert str(err).endswith(": is required")


def test_it_refuses_a_key_given_twice() -> None:
    text = changed("kind: calibration\n", "kind: calibration\nkind: verification\n")
    err = refused(text)
    assert (err.key, err.line) == ("kind", line_of(text, "kind: verification"))
    assert str(err).endswith(": given twice")


def test_it_refuses_a_date_value() -> None:
    text = changed("references: [JCGM 100:2008]", "references: [2008-09-01]")
    err = refused(text)
    assert err.key == "references[0]"
    assert err.line == line_of(text, "2008-09-01")
    assert "a date is not allowed here: quote it" in err.message


def test_it_refuses_points_with_different_keys() -> None:
    text = changed("- {nominal: 10, range: 10}", "- {nominal: 10, rng: 10}")
    err = refused(text)
    assert err.key == "tests[0].points[1]"
    assert err.line == line_of(text, "rng: 10")
    assert "the same keys (nominal, range, unit)" in err.message


def test_it_refuses_a_misspelt_name_in_a_nominal_expression() -> None:
    text = changed("- {nominal: 10, range: 10}", "- {nominal: max_capacty / 2, range: 10}")
    err = refused(text)
    assert err.key == "tests[0].points[1].nominal"
    assert err.line == line_of(text, "max_capacty")


def test_a_nominal_may_be_an_expression_of_the_instrument() -> None:
    text = changed("- {nominal: 10, range: 10}", "- {nominal: max_capacity / 2, range: 10}")
    point = parse_definition(text, source=SOURCE).points[1]
    assert point.nominal_expression == "max_capacity / 2"


def test_it_refuses_an_unknown_check_and_a_check_without_its_arguments() -> None:
    text = BASE + "    checks:\n      - {check: linearity}\n"
    err = refused(text)
    assert err.key == "tests[0].checks[0].check"
    assert err.line == line_of(text, "check: linearity")
    text = BASE + "    checks:\n      - {check: hysteresis, span: 10, unit: V}\n"
    err = refused(text)
    assert err.key == "tests[0].checks[0].accuracy_class"
    assert str(err).endswith(": is required")


def test_repeated_steps_may_read_and_later_tests_may_use_the_pooled_deviation() -> None:
    text = changed(
        "      - read: {role: uut, function: dcv, range: range, as: x}\n",
        "      - repeat:\n"
        "          times: readings\n"
        "          steps:\n"
        "            - read: {role: uut, function: dcv, range: range, as: x, count: 1}\n",
    )
    second = BASE[BASE.index("  - id: dcv") :].replace("id: dcv", "id: dcv-2")
    second = second.replace("{readings: x, unit: V}", "{readings: x, unit: V, pooled_sd: sd_dcv}")
    definition = parse_definition(text + second, source=SOURCE)
    assert "repeat" in definition.tests[0].steps[1]
    # ... but a test cannot use its own (or a later test's) deviation.
    err = refused(text.replace("{readings: x, unit: V}", "{readings: x, pooled_sd: sd_dcv}"))
    assert err.key == "tests[0].model.quantities.x.pooled_sd"


def test_it_refuses_the_same_readings_taken_inside_and_outside_a_repeat() -> None:
    text = changed(
        "      - read: {role: uut, function: dcv, range: range, as: x}\n",
        "      - read: {role: uut, function: dcv, range: range, as: x}\n"
        "      - repeat:\n"
        "          times: 2\n"
        "          steps:\n"
        "            - read: {role: uut, function: dcv, as: x}\n",
    )
    err = refused(text)
    assert err.key == "tests[0].steps[2].repeat"
    assert "taken twice" in err.message


@pytest.mark.parametrize("name", sorted(library()))
def test_every_shipped_definition_loads_and_its_stored_form_has_the_same_hash(name: str) -> None:
    definition = load_definition(library()[name])
    assert definition.id == name
    stored = json.loads(json.dumps(definition.data))
    again = definition_from_data(stored)
    assert again.content_hash == definition.content_hash
    assert again.points == definition.points or all(
        (a.index, a.params, a.nominal_expression) == (b.index, b.params, b.nominal_expression)
        for a, b in zip(again.points, definition.points, strict=True)
    )


def test_the_library_has_the_three_procedures() -> None:
    assert {"dmm-dcv", "nawi-r76", "pressure-gauge-r101"} <= set(library())
