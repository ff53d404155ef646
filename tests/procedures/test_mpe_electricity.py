"""Static active-energy meters, OIML R 46 classes A, B, C (procedures.mpe.electricity).

Expected values, each from the text it was read in:

* MID Annex V (MI-003) Table 2, single-phase meter or polyphase meter with balanced
  loads, confirmed in Directive 2014/32/EU Annex V (legislation.gov.uk): one test per
  row of the table (a current range of a class), each checking its four operating
  temperature columns.
* MID Annex V 2: the power-factor range, at least 0.5 inductive to 0.8 capacitive.
* IEC 62053-21 / IEC 62053-22, test of no-load condition: 115 % of the reference voltage,
  the current circuit open, no more than one pulse.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from procedures.acceptance import limits_for
from procedures.errors import InvalidValueError, OutOfRangeError, ProcedureError, UnknownClassError
from procedures.mpe import (
    ElectricityMeter,
    RuleCheck,
    check_no_load,
    no_load_test_voltage,
    pulse_error,
    tables,
)

D = Decimal

# A direct-connected single-phase meter, 0.25–5(60) A: Imin 0.25 A, Itr 0.5 A, Imax 60 A.
CURRENTS = {"i_min": D("0.25"), "i_tr": D("0.5"), "i_max": D(60)}
IN_LOWER_RANGE = D("0.25")  # Imin
IN_UPPER_RANGE = D(5)

# One temperature inside each column of MID Table 2, both sides of the reference band:
# +5…+30 °C; −10…+5 / +30…+40 °C; −25…−10 / +40…+55 °C; −40…−25 / +55…+70 °C.
COLUMNS = ((D(23), D(5)), (D(-5), D(35)), (D(-20), D(50)), (D(-30), D(65)))


def meter(accuracy_class: str) -> ElectricityMeter:
    return ElectricityMeter(accuracy_class, **CURRENTS)


def row(accuracy_class: str, current: Decimal) -> list[Decimal]:
    """The MPEs of one row of MID Table 2, column by column (both sides of each band)."""
    m = meter(accuracy_class)
    out = []
    for cold, warm in COLUMNS:
        at_cold = m.mpe(current, power_factor=D(1), temperature=cold)
        assert m.mpe(current, power_factor=D(1), temperature=warm) == at_cold
        out.append(at_cold)
    return out


def test_mid_table_2_class_a_from_imin_to_itr() -> None:
    """MID Annex V Table 2, class A, Imin ≤ I < Itr: 3.5, 5, 7, 9 %."""
    assert row("A", IN_LOWER_RANGE) == [D("3.5"), D(5), D(7), D(9)]


def test_mid_table_2_class_a_from_itr_to_imax() -> None:
    """MID Annex V Table 2, class A, Itr ≤ I ≤ Imax: 3.5, 4.5, 7, 9 %."""
    assert row("A", IN_UPPER_RANGE) == [D("3.5"), D("4.5"), D(7), D(9)]


def test_mid_table_2_class_b_from_imin_to_itr() -> None:
    """MID Annex V Table 2, class B, Imin ≤ I < Itr: 2, 2.5, 3.5, 4 %."""
    assert row("B", IN_LOWER_RANGE) == [D(2), D("2.5"), D("3.5"), D(4)]


def test_mid_table_2_class_b_from_itr_to_imax() -> None:
    """MID Annex V Table 2, class B, Itr ≤ I ≤ Imax: 2, 2.5, 3.5, 4 %."""
    assert row("B", IN_UPPER_RANGE) == [D(2), D("2.5"), D("3.5"), D(4)]


def test_mid_table_2_class_c_from_imin_to_itr() -> None:
    """MID Annex V Table 2, class C, Imin ≤ I < Itr: 1, 1.3, 1.7, 2 %."""
    assert row("C", IN_LOWER_RANGE) == [D(1), D("1.3"), D("1.7"), D(2)]


def test_mid_table_2_class_c_from_itr_to_imax() -> None:
    """MID Annex V Table 2, class C, Itr ≤ I ≤ Imax: 0.7, 1, 1.3, 1.5 %."""
    assert row("C", IN_UPPER_RANGE) == [D("0.7"), D(1), D("1.3"), D("1.5")]


def test_the_current_ranges_meet_at_itr_which_belongs_to_the_upper_range() -> None:
    m = meter("C")
    assert m.current_range(D("0.25")) == "Imin..Itr"
    assert m.current_range(D("0.4999")) == "Imin..Itr"
    assert m.current_range(D("0.5")) == "Itr..Imax"
    assert m.current_range(D(60)) == "Itr..Imax"
    assert m.mpe(D("0.4999"), power_factor=D(1)) == D(1)
    assert m.mpe(D("0.5"), power_factor=D(1)) == D("0.7")


def test_a_temperature_on_the_edge_of_two_columns_is_in_the_inner_one() -> None:
    m = meter("C")
    at = {t: m.mpe(D(5), power_factor=D(1), temperature=D(t)) for t in (5, 30, 40, 55, 70)}
    assert at == {5: D("0.7"), 30: D("0.7"), 40: D(1), 55: D("1.3"), 70: D("1.5")}
    assert m.mpe(D(5), power_factor=D(1), temperature=D(-40)) == D("1.5")
    with pytest.raises(OutOfRangeError, match=r"^temperature: 70.1 °C is outside"):
        m.mpe(D(5), power_factor=D(1), temperature=D("70.1"))
    with pytest.raises(OutOfRangeError, match=r"^temperature: -40.1 °C"):
        m.mpe(D(5), power_factor=D(1), temperature=D("-40.1"))


def test_the_mpe_holds_from_0_5_inductive_to_0_8_capacitive_mid_annex_v_2() -> None:
    """MID Annex V 2: power factor range at least cos φ = 0.5 inductive to 0.8 capacitive."""
    m = meter("B")
    assert m.mpe(D(5), power_factor=D("0.5"), load_kind="inductive") == D(2)
    assert m.mpe(D(5), power_factor=D("0.8"), load_kind="capacitive") == D(2)
    with pytest.raises(OutOfRangeError, match=r"^power_factor: power factor 0.49 inductive"):
        m.mpe(D(5), power_factor=D("0.49"), load_kind="inductive")
    with pytest.raises(OutOfRangeError, match=r"^power_factor: power factor 0.5 capacitive"):
        m.mpe(D(5), power_factor=D("0.5"), load_kind="capacitive")
    with pytest.raises(InvalidValueError, match=r"^power_factor: a power factor is at most 1"):
        m.mpe(D(5), power_factor=D("1.01"))
    with pytest.raises(InvalidValueError, match=r"^load_kind: expected 'inductive'"):
        m.mpe(D(5), power_factor=D("0.9"), load_kind="resistive")  # type: ignore[arg-type]


def test_it_refuses_currents_outside_imin_to_imax_and_disordered_currents() -> None:
    m = meter("A")
    with pytest.raises(OutOfRangeError, match=r"^current: current 0.2 A is outside Imin..Imax"):
        m.mpe(D("0.2"), power_factor=D(1))
    with pytest.raises(OutOfRangeError, match=r"^current: current 61 A .* 0.25..60 A"):
        m.mpe(D(61), power_factor=D(1))
    with pytest.raises(OutOfRangeError, match=r"^i_tr: Itr = 0.25 A must exceed Imin"):
        ElectricityMeter("A", i_min=D("0.25"), i_tr=D("0.25"), i_max=D(60))
    with pytest.raises(OutOfRangeError, match=r"^i_max: Imax = 0.4 A must be at least Itr"):
        ElectricityMeter("A", i_min=D("0.25"), i_tr=D("0.5"), i_max=D("0.4"))
    with pytest.raises(UnknownClassError, match=r"^accuracy_class: unknown electricity meter"):
        ElectricityMeter("1", **CURRENTS)
    with pytest.raises(InvalidValueError, match=r"^i_min: must be a Decimal, not float"):
        ElectricityMeter("A", i_min=0.25, i_tr=D("0.5"), i_max=D(60))  # type: ignore[arg-type]


def test_the_error_is_computed_from_the_pulses_the_constant_and_the_reference_energy() -> None:
    # 1000 imp/kWh, 0.5 kWh measured by the reference: 500 pulses is no error.
    assert pulse_error(500, D(1000), D("0.5")) == D(0)
    assert pulse_error(501, D(1000), D("0.5")) == D("0.2")
    assert pulse_error(495, D(1000), D("0.5")) == D(-1)


def test_a_missing_constant_or_an_impossible_pulse_count_is_refused_by_name() -> None:
    with pytest.raises(InvalidValueError, match=r"^constant: must be positive, not 0"):
        pulse_error(500, D(0), D("0.5"))
    with pytest.raises(InvalidValueError, match=r"^pulses: must be zero or positive, not -1"):
        pulse_error(-1, D(1000), D("0.5"))
    with pytest.raises(InvalidValueError, match=r"^pulses: a pulse count is a whole number"):
        pulse_error(D("500.5"), D(1000), D("0.5"))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^reference_energy: must be positive"):
        pulse_error(500, D(1000), D(0))


def test_a_point_passes_on_the_mpe_and_fails_beyond_it_exactly() -> None:
    m = meter("B")  # 2 % from Itr

    def point(pulses: int) -> RuleCheck:  # 1000 imp/kWh, 0.5 kWh by the reference
        return m.check_point(
            D(5), power_factor=D(1), pulses=pulses, constant=D(1000), reference_energy=D("0.5")
        )

    passed = point(510)
    assert passed.passed
    assert passed.value == D(2)
    assert passed.limit == D(2)
    assert passed.rule == "MID Annex V (MI-003) Table 2; OIML R 46-1:2012 class B"
    failed = point(511)
    assert not failed.passed
    assert failed.value == D("2.2")


def test_the_no_load_test_applies_115_percent_of_the_reference_voltage_and_allows_one_pulse() -> (
    None
):
    """IEC 62053-21/-22, test of no-load condition: 1.15 Uref, no more than one pulse."""
    assert no_load_test_voltage(D(230)) == D("264.50")
    assert check_no_load(0).passed
    assert check_no_load(1).passed
    assert not check_no_load(2).passed
    assert check_no_load(2).unit == "pulses"
    with pytest.raises(InvalidValueError, match=r"^pulses: must be zero or positive"):
        check_no_load(-1)


def test_the_acceptance_rule_gives_the_table_2_limits_at_a_point() -> None:
    spec = {
        "rule": "electricity_meter",
        "accuracy_class": "accuracy_class",
        "i_min": "i_min",
        "i_tr": "i_tr",
        "i_max": "i_max",
        "current": "current",
        "power_factor": 0.5,
        "load_kind": "inductive",
    }
    scope = {"accuracy_class": "C", "i_min": 0.25, "i_tr": 0.5, "i_max": 60, "current": 0.25}
    limits = limits_for(spec, scope, where="tests[0].mpe")
    assert (limits.lower, limits.upper, limits.mpe) == (-1.0, 1.0, 1.0)
    assert limits.document == (
        "OIML R 46 accuracy classes A, B, C (MPE by current range and temperature)"
    )
    at_40 = limits_for({**spec, "temperature": 40}, {**scope, "current": 5}, where="t")
    assert at_40.mpe == 1.0
    with pytest.raises(ProcedureError, match=r"^tests\[0\].mpe.power_factor: power factor 0.4"):
        limits_for({**spec, "power_factor": 0.4}, scope, where="tests[0].mpe")


def test_the_table_is_published_with_its_sources_and_what_was_left_out() -> None:
    table = tables()["oiml-r46-electricity-meters"]
    assert isinstance(table, dict)
    mpe = table["mpe_percent"]
    assert isinstance(mpe, dict)
    class_c = mpe["C"]
    assert isinstance(class_c, list)
    assert class_c[0] == {
        "temperature_c": ["5", "30"],
        "imin_to_itr": "1",
        "itr_to_imax": "0.7",
    }
    left_out = table["left_out"]
    assert isinstance(left_out, list)
    assert "IEC 62053-22 classes 0.5S and 0.2S (percentage error limits)" in left_out


def test_the_no_load_rule_accepts_at_most_one_pulse_at_a_point() -> None:
    """IEC 62053-21/-22, test of no-load condition: the point's result is the pulse count."""
    limits = limits_for({"rule": "electricity_no_load"}, {}, where="tests[0].mpe")
    assert (limits.lower, limits.upper, limits.mpe) == (-1.0, 1.0, 1.0)
    assert limits.document.startswith("IEC 62053-21, test of no-load")


def test_the_starting_rule_allows_the_test_s_duration_in_whole_seconds() -> None:
    """IEC 62053-21/-22, test of starting current: a first pulse within the test's duration,
    the limit rounded down to whole seconds (never looser than the test)."""
    spec = {"rule": "electricity_starting", "duration": "tau"}
    limits = limits_for(spec, {"tau": 93.913}, where="tests[1].mpe")
    assert (limits.lower, limits.upper, limits.mpe) == (-93.0, 93.0, 93.0)
    assert limits.document.startswith("IEC 62053-21, test of starting current")
    with pytest.raises(
        ProcedureError, match=r"^tests\[1\]\.mpe\.duration: a starting test of 0\.5 s"
    ):
        limits_for(spec, {"tau": 0.5}, where="tests[1].mpe")
