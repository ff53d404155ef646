"""Water meters, OIML R 49-1 / MID MI-001 / ĐLVN 17:2017 (procedures.mpe.water).

Expected values:

* class 2: upper zone ±2 % (≤ 30 °C), ±3 % (> 30 °C); lower zone ±5 % —
  MID Annex III MI-001 (Czech NV 120/2016, UK SI 2016/1153 Sch 1C), verified.
* Q4 = 1.25 Q3, R = Q3/Q1 (B Meters' FAQ: Q3 = 2.5 m³/h, R100 → Q1 = 25 L/h).
* class 1 (±1 %, ±2 %, ±3 %), Q2/Q1 = 1.6 and the temperature classes:
  [unverified] (R 49-1:2013, recalled).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from procedures.errors import OutOfRangeError, UnknownClassError
from procedures.mpe import WaterMeter, water_meter_error

D = Decimal


def meter(accuracy_class: int = 2, temperature_class: str = "T50") -> WaterMeter:
    return WaterMeter(
        accuracy_class, q3=D("2.5"), ratio=D(100), temperature_class=temperature_class
    )


def test_it_derives_the_flow_rates_from_q3_and_r() -> None:
    m = meter()
    assert m.q1 == D("0.025")  # 25 L/h (B Meters' FAQ)
    assert m.q2 == D("0.04")  # 1.6 Q1 [unverified ratio]
    assert m.q4 == D("3.125")  # 1.25 Q3
    assert m.test_flow_rates() == {"Q1": D("0.025"), "Q2": D("0.04"), "Q3": D("2.5")}


def test_the_zones_meet_at_q2_which_belongs_to_the_upper_zone() -> None:
    m = meter()
    assert m.zone(D("0.025")) == "lower"  # Q1
    assert m.zone(D("0.0399")) == "lower"
    assert m.zone(D("0.04")) == "upper"  # Q2
    assert m.zone(D("3.125")) == "upper"  # Q4


def test_class_2_mpes_by_zone_and_temperature() -> None:
    m = meter()
    assert m.mpe(D("0.025"), water_temperature=D(20)) == D(5)
    assert m.mpe(D("0.025"), water_temperature=D(50)) == D(5)  # lower zone: any temperature
    assert m.mpe(D("0.04"), water_temperature=D(30)) == D(2)  # 30 °C: the cold value
    assert m.mpe(D("0.04"), water_temperature=D("30.1")) == D(3)
    assert m.mpe(D("2.5"), water_temperature=D(20)) == D(2)


def test_class_1_mpes_are_encoded_and_marked_unverified() -> None:
    # [unverified] R 49-1:2013 3.3.1, recalled: lower 3 %, upper 1 % / 2 %.
    m = meter(1)
    assert m.mpe(D("0.025"), water_temperature=D(20)) == D(3)
    assert m.mpe(D("2.5"), water_temperature=D(20)) == D(1)
    assert m.mpe(D("2.5"), water_temperature=D(40)) == D(2)


def test_it_refuses_flow_rates_outside_q1_to_q4_and_temperatures_outside_the_class() -> None:
    m = meter()
    with pytest.raises(
        OutOfRangeError, match=r"^flow_rate: flow rate 0.0249 m³/h is outside Q1..Q4"
    ):
        m.mpe(D("0.0249"), water_temperature=D(20))
    with pytest.raises(OutOfRangeError, match=r"^flow_rate: .* outside Q1..Q4 = 0.025..3.125"):
        m.mpe(D("3.126"), water_temperature=D(20))
    with pytest.raises(OutOfRangeError, match=r"^water_temperature: 40 °C is outside .* T30"):
        meter(temperature_class="T30").mpe(D("2.5"), water_temperature=D(40))


def test_it_refuses_unknown_classes_and_an_r_that_puts_q2_above_q3() -> None:
    with pytest.raises(UnknownClassError, match=r"^accuracy_class: unknown water meter class 3"):
        WaterMeter(3, q3=D("2.5"), ratio=D(100))
    with pytest.raises(UnknownClassError, match=r"^temperature_class: unknown"):
        WaterMeter(2, q3=D("2.5"), ratio=D(100), temperature_class="T40")
    with pytest.raises(OutOfRangeError, match=r"^ratio: R = 1.6 would put Q2"):
        WaterMeter(2, q3=D("2.5"), ratio=D("1.6"))


def test_zones_are_decided_exactly_when_q1_does_not_end() -> None:
    # R = 315: Q1 = 2.5/315 m³/h does not end; Q·R is compared with Q3 exactly.
    m = WaterMeter(2, q3=D("2.5"), ratio=D(315))
    with pytest.raises(OutOfRangeError):
        m.zone(D("0.0079365"))  # 0.0079365 × 315 = 2.4999975 < 2.5
    assert m.zone(D("0.0079366")) == "lower"


def test_a_test_point_passes_at_the_mpe_and_fails_beyond() -> None:
    m = meter()
    at = m.check_point(
        D("2.5"), water_temperature=D(20), indicated_volume=D(102), actual_volume=D(100)
    )
    assert at.passed
    assert at.value == D(2)
    assert at.limit == D(2)
    assert at.unit == "%"
    beyond = m.check_point(
        D("2.5"), water_temperature=D(20), indicated_volume=D("102.001"), actual_volume=D(100)
    )
    assert not beyond.passed
    # Exact verdict with a quotient that does not end: 100·|V_i − V_a| vs MPE·V_a.
    third = m.check_point(
        D("0.025"), water_temperature=D(20), indicated_volume=D(315), actual_volume=D(300)
    )
    assert third.passed
    assert third.limit == D(5)
    assert water_meter_error(D("98"), D("100")) == D(-2)


@given(q=st.decimals(min_value=D("0.025"), max_value=D("3.125"), places=4))
def test_the_mpe_never_grows_with_the_flow_rate(q: Decimal) -> None:
    m = meter()
    assert m.mpe(q, water_temperature=D(20)) >= m.mpe(D("3.125"), water_temperature=D(20))
