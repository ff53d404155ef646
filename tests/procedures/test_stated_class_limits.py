"""Electricity-meter classes whose limits a center states in its own procedure
(``class_limits:``, the rule ``electricity_meter_stated``, :mod:`procedures.mpe.stated`).

Every table here is the TEST FIXTURE of :mod:`tests.support.electricity` (class ``T1``,
made-up limits of a made-up document), never the values of IEC 62053-21/-22: caltrace
ships none of them. The definition refuses an incomplete or inconsistent table naming the
key at fault; the rule applies a stated limit only inside a stated range, at a stated
power factor, its bounds included or not as the table writes them; the run on the
simulated bench keeps the transcription's citation with every point, and the stored
definition (what the LIMS registers) sets the same limits again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import yaml

from procedures.acceptance import limits_for
from procedures.definition import (
    DefinitionError,
    ProcedureDefinition,
    canonical_hash,
    definition_from_data,
    parse_definition,
)
from procedures.errors import OutOfRangeError, ProcedureError, UnknownClassError
from procedures.evaluation import PointRules, evaluate_point
from procedures.mpe.stated import StatedClass
from procedures.record import Point
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.electricity import (
    STATED_METER,
    SYNTHETIC_CLASS_LIMITS,
    OneMeter,
    electricity_runner,
    one_meter_roles,
    stated_data,
    stated_definition,
)

TODAY = date(2026, 12, 6)
CITATION = (
    "TEST-FIXTURE 0001:2026 Table T, as transcribed in procedure "
    "electricity-meter-stated-test 1.0.0 by Tester Transcriber, checked by Tester Checker"
)


def refused(change: Callable[[dict[str, Any]], object]) -> DefinitionError:
    """The refusal of the stated procedure once ``change`` has altered its data."""
    data = stated_data(copy.deepcopy(SYNTHETIC_CLASS_LIMITS))
    change(data)
    with pytest.raises(DefinitionError) as refusal:
        definition_from_data(data)
    return refusal.value


def ranges(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = data["class_limits"]["T1"]["ranges"]
    return rows


# ------------------------------------------------------------------ the definition


def test_the_stored_definition_is_as_written_and_carries_the_table_apart() -> None:
    definition = stated_definition()
    data = stated_data()
    assert definition.data == data
    assert definition.content_hash == canonical_hash(data)
    json.dumps(definition.data)  # plain data: what the LIMS stores
    assert definition.class_limits is not None
    t1 = definition.class_limits.of("T1")
    assert t1.citation == CITATION
    assert t1.citation_in("vi") == (
        "TEST-FIXTURE 0001:2026 Table T, do Tester Transcriber chép lại trong quy trình "
        "electricity-meter-stated-test 1.0.0, Tester Checker kiểm tra"
    )
    assert [r.text for r in t1.ranges] == [
        "0.05 i_ref ≤ I < 0.1 i_ref",
        "0.1 i_ref ≤ I ≤ i_max",
        "0.1 i_ref ≤ I < i_ref",
        "i_ref ≤ I ≤ i_max",
        "0.1 i_ref ≤ I ≤ i_max",
    ]


def test_overlapping_ranges_are_refused() -> None:
    error = refused(lambda d: ranges(d)[1].update(current="0.08 i_ref <= I <= i_max"))
    assert error.key == "class_limits.T1.ranges[1].current"
    assert "overlaps the one before, range [0] (0.05 i_ref ≤ I < 0.1 i_ref)" in error.reason


def test_a_bound_in_both_ranges_is_an_overlap() -> None:
    error = refused(lambda d: ranges(d)[0].update(current="0.05 i_ref <= I <= 0.1 i_ref"))
    assert error.key == "class_limits.T1.ranges[1].current"
    assert "overlaps range [0]" in error.reason
    assert "both include 0.1 i_ref" in error.reason


def test_gapped_ranges_are_refused() -> None:
    error = refused(lambda d: ranges(d)[1].update(current="0.2 i_ref <= I <= i_max"))
    assert error.key == "class_limits.T1.ranges[1].current"
    assert "leaves a gap after the one before" in error.reason
    exclusive = refused(lambda d: ranges(d)[1].update(current="0.1 i_ref < I <= i_max"))
    assert exclusive.key == "class_limits.T1.ranges[1].current"
    assert "leave a gap: neither includes 0.1 i_ref" in exclusive.reason


def test_ranges_that_do_not_meet_at_one_bound_are_refused() -> None:
    error = refused(lambda d: ranges(d)[1].update(current="i_tr <= I <= i_max"))
    assert error.key == "class_limits.T1.ranges[1].current"
    assert "does not start where the one before ends" in error.reason


def test_a_missing_power_factor_is_refused() -> None:
    error = refused(lambda d: ranges(d).pop())
    assert error.key == "class_limits.T1.ranges"
    assert "no range at power factor 0.8 capacitive" in error.reason


def test_a_range_without_its_power_factor_is_refused() -> None:
    error = refused(lambda d: ranges(d)[2].pop("power_factor"))
    assert error.key == "class_limits.T1.ranges[2].power_factor"
    assert error.reason == "is required"
    kindless = refused(lambda d: ranges(d)[2].update(power_factor=0.5))
    assert kindless.key == "class_limits.T1.ranges[2].power_factor"
    assert "say whether 0.5 is inductive or capacitive" in kindless.reason


@pytest.mark.parametrize("limit", [0, -1.5])
def test_a_non_positive_limit_is_refused(limit: float) -> None:
    error = refused(lambda d: ranges(d)[2].update(limit=limit))
    assert error.key == "class_limits.T1.ranges[2].limit"
    assert "a limit is a positive percentage" in error.reason


def test_a_limit_written_as_text_is_refused() -> None:
    error = refused(lambda d: ranges(d)[2].update(limit="1.5 %"))
    assert error.key == "class_limits.T1.ranges[2].limit"
    assert "expected a number" in error.reason


@pytest.mark.parametrize("name", ["A", "B", "C", "b"])
def test_a_class_of_the_encoded_mid_table_cannot_be_stated(name: str) -> None:
    error = refused(lambda d: d["class_limits"].update({name: d["class_limits"]["T1"]}))
    assert error.key == f"class_limits.{name}"
    assert "MID Annex V Table 2's, encoded in caltrace" in error.reason
    assert "cannot redefine it" in error.reason


def source_changed(**changes: str | None) -> Callable[[dict[str, Any]], None]:
    """A change of the T1 table's source: each field given its value, or left out (None)."""

    def change(data: dict[str, Any]) -> None:
        source = {**data["class_limits"]["T1"]["source"], **changes}
        data["class_limits"]["T1"]["source"] = {k: v for k, v in source.items() if v is not None}

    return change


def test_the_same_person_cannot_transcribe_and_check() -> None:
    error = refused(source_changed(checked_by="tester  TRANSCRIBER"))
    assert error.key == "class_limits.T1.source.checked_by"
    assert "transcribed the table: another person checks it" in error.reason


@pytest.mark.parametrize(
    "field", ["document", "edition", "table", "transcribed_by", "checked_by", "date"]
)
def test_each_part_of_the_source_is_required(field: str) -> None:
    error = refused(source_changed(**{field: None}))
    assert error.key == f"class_limits.T1.source.{field}"


def test_a_date_that_is_not_a_date_and_a_semicolon_are_refused() -> None:
    error = refused(source_changed(date="30/11/2026"))
    assert error.key == "class_limits.T1.source.date"
    assert "expected an ISO date" in error.reason
    assert refused(source_changed(table="Table 3; Table 4")).key == ("class_limits.T1.source.table")


def test_a_bound_names_a_current_of_the_instrument() -> None:
    error = refused(lambda d: ranges(d)[0].update(current="0.05 i_b <= I < 0.1 i_ref"))
    assert error.key == "class_limits.T1.ranges[0].current"
    assert "'i_b' is not an instrument parameter of the procedure" in error.reason
    written = refused(lambda d: ranges(d)[0].update(current="from 0.05 to 0.1 i_ref"))
    assert written.key == "class_limits.T1.ranges[0].current"
    assert "expected 'LOW <= I < HIGH'" in written.reason


def test_the_rule_needs_the_table_and_the_table_a_rule() -> None:
    error = refused(lambda d: d.pop("class_limits"))
    assert error.key == "tests[2].mpe.rule"
    assert "the procedure states none" in error.reason

    def unused(data: dict[str, Any]) -> None:
        for test in data["tests"]:
            if test.get("mpe", {}).get("rule") == "electricity_meter_stated":
                test["mpe"] = {
                    "rule": "electricity_meter",
                    **{k: v for k, v in test["mpe"].items() if k != "rule"},
                    "i_min": "i_min",
                    "i_tr": "i_tr",
                    "i_max": "i_max",
                }

    error = refused(unused)
    assert (error.key, error.reason) == (
        "class_limits",
        "no test applies it (rule electricity_meter_stated)",
    )


def test_the_table_cannot_be_slipped_into_a_rule() -> None:
    def slipped(data: dict[str, Any]) -> None:
        data["tests"][2]["mpe"]["class_limits"] = {"T1": {}}

    error = refused(slipped)
    assert error.key == "tests[2].mpe.class_limits"
    assert error.reason.startswith("unknown key")


def test_a_refusal_in_the_file_names_its_line() -> None:
    data = stated_data(copy.deepcopy(SYNTHETIC_CLASS_LIMITS))
    ranges(data)[3]["limit"] = 0
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(DefinitionError) as refusal:
        parse_definition(text, source="center.yaml")
    line = next(
        n for n, row in enumerate(text.splitlines(), 1) if row.strip().startswith("limit: 0")
    )
    assert refusal.value.key == "class_limits.T1.ranges[3].limit"
    assert refusal.value.line == line
    assert str(refusal.value).startswith(f"center.yaml:{line}: class_limits.T1.ranges[3].limit")


# ------------------------------------------------------------------ the rule at a point

CURRENTS = {"i_ref": Decimal(5), "i_max": Decimal(60)}


@pytest.fixture(scope="module")
def t1() -> StatedClass:
    limits = stated_definition().class_limits
    assert limits is not None
    return limits.of("T1")


def at(t1: StatedClass, current: str, pf: str = "1", load_kind: str = "inductive") -> Decimal:
    return t1.mpe(
        Decimal(current), power_factor=Decimal(pf), load_kind=load_kind, currents=CURRENTS
    )


def test_each_bound_is_included_or_not_as_the_table_writes_it(t1: StatedClass) -> None:
    # 0.05 i_ref ≤ I < 0.1 i_ref: 2.5 %; 0.1 i_ref ≤ I ≤ i_max: 1.5 % (i_ref = 5 A).
    assert at(t1, "0.25") == Decimal("2.5")  # the lower bound is in the range
    assert at(t1, "0.4999") == Decimal("2.5")
    assert at(t1, "0.5") == Decimal("1.5")  # 0.1 i_ref: out of the first, in the second
    assert at(t1, "60") == Decimal("1.5")  # i_max, included
    # 0.5 inductive: 0.1 i_ref ≤ I < i_ref 2.25 %, i_ref ≤ I ≤ i_max 1.75 %.
    assert at(t1, "4.999", "0.5") == Decimal("2.25")
    assert at(t1, "5", "0.5") == Decimal("1.75")
    assert at(t1, "5", "0.8", "capacitive") == Decimal(2)
    assert at(t1, "5", "1.0", "capacitive") == Decimal("1.5")  # at 1 the kind is moot


@pytest.mark.parametrize("current", ["0.2499", "60.001"])
def test_a_current_outside_every_stated_range_is_refused(t1: StatedClass, current: str) -> None:
    with pytest.raises(OutOfRangeError) as refusal:
        at(t1, current)
    assert refusal.value.argument == "current"
    assert "outside every range class T1 states at power factor 1" in refusal.value.message
    assert "(0.05 i_ref = 0.25 A to i_max = 60 A); no limit is defined there" in str(refusal.value)


def test_a_power_factor_the_table_does_not_state_is_refused(t1: StatedClass) -> None:
    for pf, kind in (("0.9", "inductive"), ("0.5", "capacitive"), ("0.8", "inductive")):
        with pytest.raises(OutOfRangeError) as refusal:
            at(t1, "5", pf, kind)
        assert refusal.value.argument == "power_factor"
        assert f"class T1 states no limit at power factor {pf} {kind}" in refusal.value.message


def test_an_exclusive_upper_bound_leaves_the_bound_out() -> None:
    limits = copy.deepcopy(SYNTHETIC_CLASS_LIMITS)
    limits["T1"]["ranges"][1]["current"] = "0.1 i_ref <= I < i_max"
    stated = definition_from_data(stated_data(limits)).class_limits
    assert stated is not None
    with pytest.raises(OutOfRangeError):
        at(stated.of("T1"), "60")
    assert at(stated.of("T1"), "59.999") == Decimal("1.5")


def test_a_meter_whose_currents_empty_a_range_is_refused(t1: StatedClass) -> None:
    with pytest.raises(OutOfRangeError) as refusal:
        t1.mpe(
            Decimal("0.3"),
            power_factor=Decimal(1),
            load_kind="inductive",
            currents={"i_ref": Decimal(5), "i_max": Decimal("0.4")},
        )
    assert "the range 0.1 i_ref ≤ I ≤ i_max of class T1 is empty for this meter" in str(
        refusal.value
    )


def test_limits_for_names_the_rule_the_citation_and_the_argument_at_fault() -> None:
    definition = stated_definition()
    test = definition.test("accuracy-pf1")
    assert test.mpe is not None
    scope = {**STATED_METER, "nominal": 0.5, "power_factor": 1}
    limits = limits_for(test.mpe, scope, where="tests[2].mpe")
    assert (limits.lower, limits.upper, limits.mpe) == (-1.5, 1.5, 1.5)
    assert (limits.rule, limits.document) == ("electricity_meter_stated", CITATION)
    with pytest.raises(ProcedureError) as refusal:
        limits_for(test.mpe, {**scope, "accuracy_class": "B"}, where="tests[2].mpe")
    assert refusal.value.argument == "tests[2].mpe.accuracy_class"
    assert "class 'B' is not in the procedure's class_limits (it states T1)" in str(refusal.value)
    assert definition.class_limits is not None
    with pytest.raises(UnknownClassError):
        definition.class_limits.of("1")  # a class it does not state
    with pytest.raises(ProcedureError) as far:
        limits_for(test.mpe, {**scope, "nominal": 61}, where="tests[2].mpe")
    assert far.value.argument == "tests[2].mpe.current"


# ------------------------------------------------------------------ at the bench


def run_stated(error: float) -> Iterator[tuple[ProcedureDefinition, list[Point], Any]]:
    definition = stated_definition()
    with SimulatedBench(one_meter_roles(error), SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(
            bench, OneMeter(), [], on=TODAY, instrument=STATED_METER, definition=definition
        )
        runner.preflight()
        points = runner.run()
    yield definition, points, runner


@pytest.fixture(scope="module")
def high() -> Iterator[tuple[ProcedureDefinition, list[Point], Any]]:
    """A T1 meter reading +1.8 % on the bench: inside 2.5 %, 2.25 % and 2 %, outside
    1.5 % and 1.75 %."""
    yield from run_stated(1.8)


def test_the_bench_applies_the_stated_limits_and_keeps_their_citation(
    high: tuple[ProcedureDefinition, list[Point], Any],
) -> None:
    _, points, _ = high
    judged = [
        (p.test, p.nominal, p.acceptance.mpe if p.acceptance else None, p.conformity)
        for p in points[2:]
    ]
    assert judged == [
        ("accuracy-pf1", 0.25, 2.5, "pass"),
        ("accuracy-pf1", 0.5, 1.5, "fail"),
        ("accuracy-pf1", 5.0, 1.5, "fail"),
        ("accuracy-pf1", 60.0, 1.5, "fail"),
        ("accuracy-pf05-inductive", 0.5, 2.25, "pass"),
        ("accuracy-pf05-inductive", 5.0, 1.75, "fail"),
        ("accuracy-pf08-capacitive", 0.5, 2.0, "pass"),
        ("accuracy-pf08-capacitive", 5.0, 2.0, "pass"),
        ("register", 60.0, 1.5, "fail"),  # its register errs as its test output does
    ]
    for point in points[2:]:
        assert point.acceptance is not None
        assert point.acceptance.rule == "electricity_meter_stated"
        assert point.acceptance.document == CITATION
        assert point.to_json()["acceptance"]["document"] == CITATION


def test_the_stored_definition_sets_the_same_limits_as_the_bench(
    high: tuple[ProcedureDefinition, list[Point], Any],
) -> None:
    """What the LIMS does with the definition it registered: the JSON read again, the
    same table, the same limits and statements, number for number."""
    definition, points, runner = high
    stored = definition_from_data(json.loads(json.dumps(definition.data)), source="stored")
    assert stored.content_hash == definition.content_hash
    for point in points:
        test = stored.test(point.test)
        spec = stored.point(point.index)
        scope = runner._point_scope(test, spec, {}, where="test") | STATED_METER
        again = evaluate_point(
            point.model,
            point.output,
            PointRules.of(stored, test, scope, where="mpe"),
            unit=point.unit,
        )
        assert again.to_json() == runner.evaluations[point.index].to_json()
