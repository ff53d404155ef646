"""Legal-metrology rules of issue 16, each test citing the clause it proves.

* OIML R 49-1:2013 temperature classes T30/130 and T30/180 (and the MPE that follows each
  point's water temperature: MID Annex III MI-001, class 2, ±2 % up to 30 °C, ±3 % above);
* OIML R 76-1:2006 A.4.4.1, the number and choice of the weighing test's loads;
* OIML R 76-1:2006 A.4.4.3, the method of eliminating the indication's rounding error and
  the statement a certificate prints about it;
* the references of the shipped procedures: only those confirmed in a source are printed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from procedures.acceptance import check_plan, limits_for
from procedures.definition import DefinitionError, library, load_definition, parse_definition
from procedures.errors import OutOfRangeError, PlanError, ProcedureError
from procedures.mpe import (
    RoundingMethod,
    WaterMeter,
    error_before_rounding,
    rounding_method,
    tables,
)
from procedures.references import (
    Reference,
    parse_reference,
    printable_references,
    verified_references,
)

D = Decimal

# -- OIML R 49-1:2013: temperature classes and the MPE at each point's temperature -----------


@pytest.mark.parametrize("temperature_class", ["T30/130", "T30/180"])
def test_hot_water_classes_take_water_from_30_c_to_their_upper_limit(
    temperature_class: str,
) -> None:
    """R 49-1:2013 temperature classes T30/130 (30 °C to 130 °C) and T30/180 (30 °C to
    180 °C) [the class table is recalled, unverified]; MID MI-001 class 2: upper zone
    ±3 % above 30 °C, lower zone ±5 % at any temperature (verified)."""
    meter = WaterMeter(2, q3=D(4), ratio=D(160), temperature_class=temperature_class)
    upper = int(temperature_class.split("/")[1])
    q3 = D(4)
    q1 = q3 / 160
    assert meter.mpe(q3, water_temperature=D(30)) == 2  # 30 °C is still "up to 30 °C"
    assert meter.mpe(q3, water_temperature=D("30.1")) == 3
    assert meter.mpe(q3, water_temperature=D(upper)) == 3
    assert meter.mpe(q1, water_temperature=D(upper)) == 5
    for outside in (D("29.9"), D(upper) + D("0.1")):
        with pytest.raises(OutOfRangeError) as caught:
            meter.mpe(q3, water_temperature=outside)
        assert caught.value.argument == "water_temperature"
        assert temperature_class in caught.value.message


def test_the_mpe_of_a_meter_follows_the_water_temperature_of_each_point() -> None:
    """MID MI-001 (R 49-1:2013): the same T50 meter at the same flow rate has the cold-water
    MPE at 20 °C and the warm-water one at 45 °C; the rule takes the point's temperature."""
    spec = {
        "rule": "water_meter",
        "accuracy_class": 2,
        "q3": 4,
        "ratio": 160,
        "flow_rate": 3.8,  # 0.95 Q3: upper zone
        "water_temperature": "water_temperature",
        "temperature_class": "T50",
    }
    cold = limits_for(spec, {"water_temperature": 20}, where="tests[0].mpe")
    warm = limits_for(spec, {"water_temperature": 45}, where="tests[0].mpe")
    assert (cold.mpe, warm.mpe) == (2.0, 3.0)


def test_a_water_meter_plan_refuses_a_point_outside_its_temperature_class() -> None:
    """R 49-1:2013 temperature class T30 (0.1 °C to 30 °C): a cold-water meter tested
    with 50 °C water has no MPE, refused before the run naming the point."""
    spec = {
        "plan": "water_meter_temperatures",
        "accuracy_class": 2,
        "q3": 4,
        "ratio": 160,
        "temperature_class": "temperature_class",
    }
    points = [{"nominal": 20, "water_temperature": 50}] * 3
    with pytest.raises(PlanError) as caught:
        check_plan(spec, {"temperature_class": "T30"}, points, where="tests[flow-rates].plan")
    assert caught.value.argument == "tests[flow-rates].plan.temperatures[0]"
    assert "outside the temperature class T30 (0.1 °C to 30 °C" in caught.value.message
    summary = check_plan(
        spec, {"temperature_class": "T30/180"}, points, where="tests[flow-rates].plan"
    )
    assert summary["points"] == [{"water_temperature": "50", "upper_zone_mpe": "3"}] * 3


def test_the_hot_water_procedure_takes_the_class_from_the_meter() -> None:
    definition = load_definition(library()["water-meter-r49-hot"])
    assert "temperature_class" in definition.instrument_parameters
    test = definition.test("flow-rates")
    assert {p.params["water_temperature"] for p in test.points} == {50}
    assert test.plan is not None
    assert test.plan["plan"] == "water_meter_temperatures"
    cold = load_definition(library()["water-meter-r49"]).test("flow-rates")
    assert {p.params["water_temperature"] for p in cold.points} == {20}


# -- OIML R 76-1:2006 A.4.4.1: the weighing test's loads -------------------------------------

# Class III, Max 15 kg, e = 5 g: Min = 20 e = 100 g (Table 3); the MPE changes at 500 e =
# 2500 g and 2000 e = 10 kg (Table 6).
UP = [D(m) for m in (100, 1000, 2500, 5000, 7500, 10000, 11250, 12500, 13750, 15000)]
PLAN = {
    "plan": "nawi_weighing_test",
    "accuracy_class": "III",
    "max_capacity": 15000,
    "e": 5,
    "unit": "g",
}
SCOPE: dict[str, object] = {}
NO_MIN = [D(1000), D(1500), *UP[2:]]  # 10 loads, none of them Min
WHERE = "tests[weighing].plan"


def _points(loads: list[Decimal]) -> list[dict[str, object]]:
    return [{"nominal": float(load)} for load in loads]


def test_ten_loads_with_min_max_and_the_change_points_up_and_back_are_accepted() -> None:
    """R 76-1:2006 A.4.4.1: at least 10 different loads, Max, Min and the loads where the
    MPE changes, loaded up to Max and unloaded back."""
    summary = check_plan(PLAN, SCOPE, _points(UP + UP[-2::-1]), where=WHERE)
    assert summary["different_loads"] == 10
    assert summary["rule"] == "OIML R 76-1:2006 A.4.4.1"


@pytest.mark.parametrize(
    ("loads", "words"),
    [
        ([*UP[:1], *UP[2:]], "9 different loads; OIML R 76-1:2006 A.4.4.1 asks for at least 10"),
        ([*UP[:-1], D(14000), *UP[-3::-1]], "does not load Max = 15000 g"),
        ([*NO_MIN, *NO_MIN[-2::-1]], "does not load Min = 100 g"),
        (
            [D(m) for m in (100, 1000, 2000, 3000, 5000, 7500, 10000, 12000, 13750, 15000, 100)],
            "the MPE change point(s) 2500 g",
        ),
        (UP, "does not unload back to its first load 100 g"),
        ([*UP[:3], D(2000), *UP[3:], *UP[-2::-1]], "the increasing loads are not in order"),
    ],
)
def test_a_weighing_test_that_a_4_4_1_does_not_allow_is_refused(
    loads: list[Decimal], words: str
) -> None:
    with pytest.raises(PlanError) as caught:
        check_plan(PLAN, SCOPE, _points(loads), where=WHERE)
    assert caught.value.argument == f"{WHERE}.loads"
    assert words in caught.value.message
    assert "A.4.4.1" in caught.value.message


def test_other_weighing_tests_may_use_five_loads_but_never_fewer() -> None:
    """R 76-1:2006 A.4.4.1: at least 5 loads for the weighing tests other than the
    initial intrinsic error; a plan asking for fewer is itself refused."""
    five = [D(100), D(2500), D(10000), D(12500), D(15000)]
    summary = check_plan({**PLAN, "min_loads": 5}, SCOPE, _points(five + five[-2::-1]), where=WHERE)
    assert summary["required"] == 5
    with pytest.raises(ProcedureError) as caught:
        check_plan({**PLAN, "min_loads": 4}, SCOPE, _points(five + five[-2::-1]), where=WHERE)
    assert caught.value.argument == f"{WHERE}.required"


def test_the_shipped_procedure_declares_the_plan_and_ten_loads_up() -> None:
    test = load_definition(library()["nawi-r76"]).test("weighing")
    assert test.plan is not None
    assert test.plan["plan"] == "nawi_weighing_test"
    assert "min_loads" not in test.plan  # the verification's 10 (A.4.4.1)
    assert len(test.points) == 19  # 10 up to Max, 9 back to Min


# -- OIML R 76-1:2006 A.4.4.3: eliminating the rounding error --------------------------------


def test_the_changepoint_method_gives_the_error_before_rounding() -> None:
    """R 76-1:2006 A.4.4.3: P = I + e/2 − ΔL, E = P − L. With e = 5 g, L = 2500 g shown as
    I = 2500 g and stepping up after ΔL = 1.5 g (three 0.1 e weights), P = 2501 g and
    E = +1 g: an error the rounded indication (E = 0) hides."""
    assert error_before_rounding(D(2500), D(2500), D("1.5"), D(5)) == D(1)
    method = rounding_method("changepoint", e=D(5))
    assert method["document"] == "OIML R 76-1:2006 A.4.4.3"
    assert "interval" not in method
    statement = RoundingMethod.CHANGEPOINT.statement
    assert "P = I + ½e − ΔL" in statement["en"]
    assert "P = I + ½e − ΔL" in statement["vi"]
    assert "A.4.4.3" in statement["en"]
    assert "A.4.4.3" in statement["vi"]


def test_a_fine_display_must_read_to_e_over_5() -> None:
    """R 76-1:2006 A.4.4.3 [the e/5 limit's clause unverified]: a test-mode interval of
    e/5 is accepted, anything coarser refused with the changepoint method named."""
    assert rounding_method("fine_display", e=D(5), interval=D(1))["interval"] == "1"
    with pytest.raises(OutOfRangeError) as caught:
        rounding_method("fine_display", e=D(5), interval=D("1.5"))
    assert caught.value.argument == "interval"
    assert "use the changepoint method" in caught.value.message
    with pytest.raises(ProcedureError) as missing:
        rounding_method("fine_display", e=D(5))
    assert missing.value.argument == "interval"


def test_the_procedure_states_its_method_in_both_languages() -> None:
    definition = load_definition(library()["nawi-r76"])
    assert definition.rounding_error == {"method": "fine_display", "e": "e", "interval": "d_T"}
    assert definition.rounding_statement == RoundingMethod.FINE_DISPLAY.statement
    assert definition.rounding_statement is not None
    assert set(definition.rounding_statement) == {"en", "vi"}
    assert all(text.strip() for text in definition.rounding_statement.values())
    # procedures that read no rounded indication against an MPE in e state none
    assert load_definition(library()["dmm-dcv"]).rounding_statement is None


def _definition_text(**replacements: str) -> str:
    text = library()["nawi-r76"].read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "rounding_error: {method: fine_display, e: e, interval: d_T}",
            "rounding_error: {method: guess, e: e}",
            "rounding_error.method",
        ),
        (
            "rounding_error: {method: fine_display, e: e, interval: d_T}",
            "rounding_error: {method: fine_display, e: e}",
            "rounding_error.interval",
        ),
        (
            "rounding_error: {method: fine_display, e: e, interval: d_T}",
            "rounding_error: {method: changepoint, e: e, interval: d_T}",
            "rounding_error.interval",
        ),
        ("plan: nawi_weighing_test", "plan: nawi_loads", "tests[2].plan.plan"),
    ],
)
def test_a_malformed_rounding_or_plan_is_refused_at_load_naming_the_key(
    old: str, new: str, key: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(_definition_text(**{old: new}), source="nawi-r76.yaml")
    assert caught.value.key == key


# -- references: only what a source confirms is printed --------------------------------------


def test_every_shipped_procedure_cites_only_confirmed_documents() -> None:
    """Issue 16: "nothing unconfirmed is printed": every printable reference has the
    source it was read in; unverified ones (ĐLVN 17:2017, OIML R 49-2:2013, DKD-R 5-1)
    and sources of values that are not the method (Eichordnung, MID) stay unprinted."""
    printed: dict[str, tuple[str, ...]] = {}
    for procedure_id, path in library().items():
        definition = load_definition(path)
        assert definition.references, procedure_id
        for reference in verified_references(definition.references):
            assert reference.source.startswith("http"), (procedure_id, reference)
        printed[procedure_id] = printable_references(definition.references)
        assert printed[procedure_id], procedure_id
    every = [citation for citations in printed.values() for citation in citations]
    assert not [c for c in every if "unverified" in c.lower() or "[" in c]
    for absent in ("ĐLVN", "R 49-2", "DKD-R", "Eichordnung", "2014/32/EU", "Keysight"):
        assert not [c for c in every if absent in c], absent
    assert printed["nawi-r76"][0].startswith("OIML R 76-1:2006, Non-automatic weighing")
    assert printed["pressure-gauge-r101"][0].startswith("OIML R 101:1991, ")


def test_tables_report_the_unverified_references() -> None:
    report: Any = tables()["procedure-references"]  # plain JSON data
    assert "water-meter-r49: ĐLVN 17:2017" in report["unverified"]
    assert "thermometer-bath: DKD-R 5-1" in report["unverified"]
    entries = report["procedures"]["pressure-gauge-r101"]
    eichordnung = next(e for e in entries if e["document"].startswith("Eichordnung"))
    assert (eichordnung["verified"], eichordnung["printed"]) == (True, False)


def test_a_reference_written_as_text_loads_as_unverified_and_prints_nothing() -> None:
    """Definitions stored before structured references keep loading; what they cite was
    never confirmed, so none of it reaches a certificate."""
    legacy = parse_reference("OIML R 101:1991 [unverified]", where="references[0]")
    assert legacy == Reference(
        "OIML R 101:1991 [unverified]",
        "",
        "",
        note="written as plain text: not confirmed in a source",
    )
    assert printable_references([legacy]) == ()


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        (
            {"document": "OIML R 76-1", "edition": "2006", "title": "NAWI", "verified": True},
            "source",
        ),
        ({"document": "OIML R 76-1", "edition": "2006", "verified": False}, "title"),
        ({"document": "OIML R 76-1", "title": "NAWI", "verified": "yes"}, "verified"),
        ({"document": "OIML R 76-1", "title": "NAWI", "year": 2006}, ""),
    ],
)
def test_a_malformed_reference_is_refused_naming_its_key(
    entry: dict[str, object], key: str
) -> None:
    with pytest.raises(ProcedureError) as caught:
        parse_reference(entry, where="references[1]")
    assert caught.value.argument == ("references[1]" + (f".{key}" if key else ""))


def test_an_edition_is_cited_as_its_publisher_does() -> None:
    assert (
        parse_reference(
            {"document": "OIML R 111-1", "edition": 2004, "title": "Weights"}
        ).identifier
        == "OIML R 111-1:2004"
    )
    assert (
        parse_reference(
            {"document": "EURAMET cg-15", "edition": "v3.0 (02/2015)", "title": "DMMs"}
        ).identifier
        == "EURAMET cg-15 v3.0 (02/2015)"
    )
