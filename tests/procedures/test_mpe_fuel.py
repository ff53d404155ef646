"""Fuel dispensers, OIML R 117-1:2007 / MID MI-005 (procedures.mpe.fuel).

Expected values, each read in MID Annex VII (MI-005) as transposed in UK SI 2006/1270
Schedule 1 paragraph 36 (https://legislation.gov.uk/uksi/2006/1270/schedule/1/paragraph/36/made):

* 2.1 Table 2 (V ≥ 2 L): class 0.3 A 0.3 % B 0.2 %; class 0.5 A 0.5 % B 0.3 %; class 1.0
  A 1.0 % B 0.6 %;
* 2.2 Table 3 (V < 2 L): the factors 4 / 4 / 2 / 2 / 1 and the volumes 0.1 L, 0.4 L, 2 L
  they are applied to;
* 2.3: the MPE is the greater of the table value and E_min;
* 2.4: MMQ ≥ 2 L: E_min = 2·MMQ·A/100 and E_min ≥ 2 R; MMQ < 2 L: twice Table 3, line A.

The E_min of a class 0.5 system at each MMQ band is also the verification column of the
Irish NSAI's table for truck-mounted fuel meters (4 mL, 4 %, 8 mL, 2 %, 20 mL, 1 %):
https://nsai.ie/legal-metrology/enforcement-information/inspection-types/truck-mounted-fuel-meters
The clause numbers of R 117-1:2007 itself are [unverified].
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from procedures.acceptance import limits_for
from procedures.errors import (
    InvalidValueError,
    OutOfRangeError,
    PlanError,
    ProcedureError,
    UnknownClassError,
)
from procedures.mpe import FuelMeasuringSystem, fuel_volume_error, tables

D = Decimal


def dispenser(mmq: str = "5", accuracy_class: object = "0.5") -> FuelMeasuringSystem:
    return FuelMeasuringSystem(accuracy_class, mmq=D(mmq), scale_interval=D("0.01"))


@pytest.mark.parametrize(
    ("accuracy_class", "line_a", "line_b"),
    [("0.3", "0.3", "0.2"), ("0.5", "0.5", "0.3"), ("1.0", "1.0", "0.6")],
)
def test_table_2_gives_the_system_and_the_meter_mpe_by_class(
    accuracy_class: str, line_a: str, line_b: str
) -> None:
    system = dispenser(accuracy_class=accuracy_class)
    assert system.percent("A") == D(line_a)  # MI-005 2.1 Table 2, line A
    assert system.percent("B") == D(line_b)  # line B
    # V ≥ 2 L: the value in % of V
    assert system.table_mpe(D(20), "A") == D(line_a) * D("0.2")


def test_a_class_written_as_a_number_is_the_same_class() -> None:
    assert dispenser(accuracy_class=0.5).accuracy_class == "0.5"
    assert dispenser(accuracy_class=D("0.50")).accuracy_class == "0.5"
    assert dispenser(accuracy_class=1).accuracy_class == "1.0"


@pytest.mark.parametrize("accuracy_class", ["1.5", "2.5", "0.2", True, "class"])
def test_classes_not_encoded_are_refused(accuracy_class: object) -> None:
    with pytest.raises(UnknownClassError) as caught:
        dispenser(accuracy_class=accuracy_class)
    assert caught.value.argument == "accuracy_class"


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        ("0.05", "0.002"),  # V < 0.1 L: 4 × 0.5 % applied to 0.1 L
        ("0.1", "0.002"),  # 0.1 ≤ V < 0.2: 4 × 0.5 % of V
        ("0.15", "0.003"),
        ("0.2", "0.004"),  # 0.2 ≤ V < 0.4: 2 × 0.5 % applied to 0.4 L
        ("0.3", "0.004"),
        ("0.4", "0.004"),  # 0.4 ≤ V < 1: 2 × 0.5 % of V
        ("0.5", "0.005"),
        ("1", "0.01"),  # 1 ≤ V < 2: 0.5 % applied to 2 L
        ("1.5", "0.01"),
        ("2", "0.01"),  # V ≥ 2: 0.5 % of V
        ("20", "0.1"),
    ],
)
def test_table_3_sets_the_mpe_of_small_volumes(volume: str, expected: str) -> None:
    assert dispenser().table_mpe(D(volume), "A") == D(expected)


@pytest.mark.parametrize(
    ("mmq", "e_min"),
    [
        ("0.05", "0.004"),  # NSAI: MMQ < 0.1 L, ±4 mL
        ("0.15", "0.006"),  # NSAI: 0.1 ≤ MMQ < 0.2 L, ±4 % of the MMQ
        ("0.3", "0.008"),  # NSAI: 0.2 ≤ MMQ < 0.4 L, ±8 mL
        ("0.5", "0.01"),  # NSAI: 0.4 ≤ MMQ < 1 L, ±2 %
        ("1", "0.02"),  # NSAI: 1 ≤ MMQ < 2 L, ±20 mL
        ("2", "0.02"),  # MMQ ≥ 2 L: 2·MMQ·0.5/100, NSAI ±1 %
        ("5", "0.05"),
    ],
)
def test_e_min_of_a_class_0_5_system_by_its_mmq(mmq: str, e_min: str) -> None:
    assert FuelMeasuringSystem("0.5", mmq=D(mmq), scale_interval=D("0.001")).e_min == D(e_min)


def test_the_mpe_is_the_greater_of_the_table_and_e_min() -> None:
    system = dispenser("5")  # E_min = 0.05 L
    assert system.mpe(D(5)) == D("0.05")  # table 0.025 L < E_min: ±1 % at the MMQ
    assert system.mpe_percent(D(5)) == D(1)
    assert system.mpe(D(10)) == D("0.05")  # table 0.05 L = E_min
    assert system.mpe(D(20)) == D("0.1")  # table 0.1 L > E_min
    assert system.mpe_percent(D(20)) == D("0.5")
    assert system.mpe_percent(D(20), "B") == D("0.3")


def test_a_volume_below_the_mmq_has_no_mpe() -> None:
    with pytest.raises(OutOfRangeError) as caught:
        dispenser("5").mpe(D("4.99"))
    assert caught.value.argument == "volume"
    assert "4.99 L" in caught.value.message


def test_an_indication_too_coarse_for_the_mmq_is_refused() -> None:
    # MI-005 2.4 condition 1: E_min ≥ 2 R. MMQ 2 L, class 0.5: E_min 0.02 L, so R ≤ 0.01 L.
    FuelMeasuringSystem("0.5", mmq=D(2), scale_interval=D("0.01"))
    with pytest.raises(InvalidValueError) as caught:
        FuelMeasuringSystem("0.5", mmq=D(2), scale_interval=D("0.02"))
    assert caught.value.argument == "scale_interval"


def test_floats_are_refused() -> None:
    with pytest.raises(InvalidValueError) as caught:
        FuelMeasuringSystem("0.5", mmq=5.0, scale_interval=D("0.01"))  # type: ignore[arg-type]
    assert caught.value.argument == "mmq"


def test_the_verdict_on_the_edge_is_exact() -> None:
    system = dispenser("5")
    inside = system.check_point(indicated_volume=D("20.1"), actual_volume=D(20))
    assert inside.passed
    assert inside.value == D("0.5")
    assert inside.limit == D("0.5")
    outside = system.check_point(indicated_volume=D("19.899"), actual_volume=D(20))
    assert not outside.passed
    assert fuel_volume_error(D("20.05"), D(20)) == D("0.25")


def test_the_acceptance_rule_gives_the_band_in_percent_of_the_volume() -> None:
    spec = {
        "rule": "fuel_dispenser",
        "accuracy_class": "accuracy_class",
        "mmq": "mmq",
        "scale_interval": 0.01,
        "volume": "nominal",
    }
    scope = {"accuracy_class": 0.5, "mmq": 5.0, "nominal": 20.0}
    limits = limits_for(spec, scope, where="tests[0].mpe")
    assert (limits.lower, limits.upper, limits.rule) == (-0.5, 0.5, "fuel_dispenser")
    at_mmq = limits_for(spec, {**scope, "nominal": 5.0}, where="tests[1].mpe")
    assert at_mmq.mpe == 1.0
    with pytest.raises(ProcedureError, match=r"tests\[1\]\.mpe\.volume"):
        limits_for(spec, {**scope, "nominal": 2.0}, where="tests[1].mpe")


def test_the_table_is_published_with_its_sources() -> None:
    table: Any = tables()["oiml-r117-1-fuel"]  # plain JSON data
    assert table["mpe_percent"] == {
        "0.3": {"A": "0.3", "B": "0.2"},
        "0.5": {"A": "0.5", "B": "0.3"},
        "1.0": {"A": "1.0", "B": "0.6"},
    }
    assert any("2006/1270" in url for url in table["confirmed_in"])


def test_the_plan_gives_each_test_volumes_mpe_and_refuses_one_below_the_mmq() -> None:
    summary = dispenser("5").check_test_volumes([D(20), D(5)])
    assert summary["e_min"] == "0.05"
    assert summary["points"] == [
        {"volume": "20", "mpe": "0.1", "mpe_percent": "0.5"},
        {"volume": "5", "mpe": "0.05", "mpe_percent": "1.00"},
    ]
    with pytest.raises(PlanError) as caught:
        dispenser("5").check_test_volumes([D(20), D(2)])
    assert caught.value.argument == "volumes[1]"
