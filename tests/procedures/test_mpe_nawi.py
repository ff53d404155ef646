"""Non-automatic weighing instruments, OIML R 76-1:2006 (procedures.mpe.nawi).

Expected values:

* MPE bands: R 76-1:2006 3.5.1 Table 6 (read in the stored table copy scribd
  314749659 and India's 1987 rules 10k, which transcribe it): ±0.5 e,
  ±1.0 e, ±1.5 e; upper bounds inclusive.
* In service: twice the initial MPE (NAWI Annex I 4.2, UK SI 1995/1907 Sch 2
  para 4.2).
* Classes: R 76-1 Table 3 (same sources).
* Repeatability and eccentricity: R 76-1 3.6.1 and 3.6.2, wording read in
  India's rules 10k(7); the clause numbers are [unverified].
* Changepoint error and discrimination: [unverified] (recalled R 76-1 A.4.4.3,
  3.8); these tests pin the behaviour, not the standard.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from procedures.errors import (
    InvalidValueError,
    OutOfRangeError,
    ProcedureError,
    UnknownClassError,
)
from procedures.mpe import NawiClass, WeighingInstrument, error_before_rounding, nawi_mpe_in_e

D = Decimal


def class_iii() -> WeighingInstrument:
    """A class III counter scale: Max 15 kg, e = 5 g, n = 3 000."""
    return WeighingInstrument("III", D("15"), D("0.005"), unit="kg")


# R 76-1:2006 Table 6, each band edge and the next load above it.
@pytest.mark.parametrize(
    ("accuracy_class", "load_in_e", "mpe_in_e"),
    [
        ("I", "0", "0.5"),
        ("I", "50000", "0.5"),
        ("I", "50001", "1.0"),
        ("I", "200000", "1.0"),
        ("I", "200001", "1.5"),
        ("I", "5000000", "1.5"),
        ("II", "5000", "0.5"),
        ("II", "5001", "1.0"),
        ("II", "20000", "1.0"),
        ("II", "20001", "1.5"),
        ("II", "100000", "1.5"),
        ("III", "0", "0.5"),
        ("III", "500", "0.5"),
        ("III", "500.1", "1.0"),
        ("III", "501", "1.0"),
        ("III", "2000", "1.0"),
        ("III", "2001", "1.5"),
        ("III", "10000", "1.5"),
        ("IIII", "50", "0.5"),
        ("IIII", "51", "1.0"),
        ("IIII", "200", "1.0"),
        ("IIII", "201", "1.5"),
        ("IIII", "1000", "1.5"),
    ],
)
def test_it_reads_the_mpe_bands_of_table_6_with_inclusive_upper_edges(
    accuracy_class: str, load_in_e: str, mpe_in_e: str
) -> None:
    assert nawi_mpe_in_e(accuracy_class, D(load_in_e)) == D(mpe_in_e)


@pytest.mark.parametrize(
    ("accuracy_class", "top"), [("II", 100000), ("III", 10000), ("IIII", 1000)]
)
def test_it_refuses_a_load_beyond_the_last_band_of_the_class(accuracy_class: str, top: int) -> None:
    with pytest.raises(OutOfRangeError, match=r"load_in_e: a load of .* is above the last band"):
        nawi_mpe_in_e(accuracy_class, D(top + 1))


def test_the_mpe_in_service_is_twice_the_initial_one() -> None:
    # NAWI Annex I 4.2: class III 500 e → 0.5 e initial, 1.0 e in service; 2001 e → 3.0 e.
    assert nawi_mpe_in_e(NawiClass.III, D(500), in_service=True) == D("1.0")
    assert nawi_mpe_in_e(NawiClass.III, D(2001), in_service=True) == D("3.0")


def test_an_instrument_gives_its_mpe_in_its_own_unit_at_the_band_edges() -> None:
    scale = class_iii()
    # 500 e = 2.5 kg: still ±0.5 e = 2.5 g; 500 e + e = 2.505 kg: ±1 e = 5 g (Table 6).
    assert scale.mpe(D("2.5")) == D("0.0025")
    assert scale.mpe(D("2.505")) == D("0.005")
    # 2 000 e = 10 kg: ±1 e; 2 000 e + e: ±1.5 e = 7.5 g; Max 15 kg (3 000 e): ±1.5 e.
    assert scale.mpe(D("10")) == D("0.005")
    assert scale.mpe(D("10.005")) == D("0.0075")
    assert scale.mpe(D("15")) == D("0.0075")
    # In service (NAWI Annex I 4.2): twice.
    assert scale.mpe(D("2.5"), in_service=True) == D("0.005")
    assert scale.mpe(D("15"), in_service=True) == D("0.015")


def test_it_refuses_a_load_above_max_and_a_negative_load() -> None:
    scale = class_iii()
    with pytest.raises(OutOfRangeError, match=r"^load: 15.005 kg is above Max = 15 kg"):
        scale.mpe(D("15.005"))
    with pytest.raises(InvalidValueError, match=r"^load: must be zero or positive"):
        scale.mpe(D("-0.005"))


def test_it_refuses_floats_and_unknown_classes() -> None:
    scale = class_iii()
    with pytest.raises(InvalidValueError, match=r"load: must be a Decimal, not float"):
        scale.mpe(0.1)  # type: ignore[arg-type]
    with pytest.raises(UnknownClassError, match=r"accuracy_class: unknown accuracy class 'IV'"):
        WeighingInstrument("IV", D(15), D("0.005"), unit="kg")
    with pytest.raises(UnknownClassError):
        nawi_mpe_in_e("3", D(1))
    with pytest.raises(InvalidValueError, match=r"unit: must be one of"):
        WeighingInstrument("III", D(15), D("0.005"), unit="lb")  # type: ignore[arg-type]


def test_the_errors_are_value_errors_of_the_procedures_package() -> None:
    with pytest.raises(ValueError, match=r"^load: 16 kg is above Max") as caught:
        class_iii().mpe(D(16))
    assert isinstance(caught.value, ProcedureError)
    assert caught.value.argument == "load"


def test_it_derives_n_and_min_from_table_3() -> None:
    scale = class_iii()
    assert scale.n == 3000
    assert scale.min_capacity == D("0.100")  # class III: Min = 20 e (Table 3)
    assert WeighingInstrument("II", D(100), D("0.001"), unit="g").min_capacity == D("0.020")
    assert WeighingInstrument("II", D(6000), D("0.1"), unit="g").min_capacity == D("5.0")
    assert WeighingInstrument("I", D(220), D("0.001"), unit="g").min_capacity == D("0.100")
    assert WeighingInstrument("IIII", D(500), D("0.5"), unit="kg").min_capacity == D("5.0")


@pytest.mark.parametrize(
    ("accuracy_class", "max_capacity", "e", "unit", "argument", "message"),
    [
        # Table 3: class III with e ≥ 5 g needs n ≥ 500 (2 kg / 5 g = 400).
        ("III", "2", "0.005", "kg", "max_capacity", r"n = Max/e = 400 is outside 500 ≤ n ≤ 10000"),
        # Table 3: class III with 0.1 g ≤ e ≤ 2 g: n ≤ 10 000 (30 kg / 2 g = 15 000).
        ("III", "30", "0.002", "kg", "max_capacity", r"n = Max/e = 15000 is outside 100 ≤ n"),
        # Table 3: class III needs e ≥ 0.1 g.
        ("III", "3", "0.05", "g", "e", r"e = 0.05 g is not allowed in class III"),
        # Table 3: class IIII needs e ≥ 5 g.
        ("IIII", "100", "2", "g", "e", r"e = 2 g is not allowed in class IIII"),
        # Table 3: class I needs n ≥ 50 000.
        ("I", "20", "0.001", "g", "max_capacity", r"n = Max/e = 20000 is outside 50000 ≤ n"),
        # e is 1, 2 or 5 × 10^k (UK SI 1995/1907 Sch 2).
        ("III", "15", "0.003", "kg", "e", r"must be 1, 2 or 5 × 10\^k kg"),
        ("III", "15.002", "0.005", "kg", "max_capacity", r"not a whole number of e"),
    ],
)
def test_it_refuses_an_instrument_its_class_does_not_allow(
    accuracy_class: str, max_capacity: str, e: str, unit: str, argument: str, message: str
) -> None:
    with pytest.raises(ProcedureError, match=message) as caught:
        WeighingInstrument(accuracy_class, D(max_capacity), D(e), unit=unit)  # type: ignore[arg-type]
    assert caught.value.argument == argument


def test_the_change_points_are_the_band_edges_below_max() -> None:
    assert class_iii().mpe_change_points() == (D("2.5"), D("10"))
    small = WeighingInstrument("III", D("1.5"), D("0.0005"), unit="kg")  # n = 3 000, e = 0.5 g
    assert small.mpe_change_points() == (D("0.25"), D("1"))


def test_repeatability_passes_when_the_spread_equals_the_mpe_and_fails_beyond() -> None:
    scale = class_iii()
    # R 76-1 3.6.1: max − min ≤ |MPE| at 12 kg (±1.5 e = 7.5 g).
    ok = scale.check_repeatability(D(12), [D("12.000"), D("12.0075"), D("12.005")])
    assert ok.passed
    assert ok.value == D("0.0075")
    assert ok.limit == D("0.0075")
    bad = scale.check_repeatability(D(12), [D("12.000"), D("12.010")])
    assert not bad.passed
    # In service the limit doubles.
    assert scale.check_repeatability(D(12), [D("12.000"), D("12.010")], in_service=True).passed
    with pytest.raises(InvalidValueError, match=r"^indications: repeatability needs at least two"):
        scale.check_repeatability(D(12), [D(12)])
    with pytest.raises(InvalidValueError, match=r"^indications\[1\]: must be a Decimal"):
        scale.check_repeatability(D(12), [D(12), 12.0])  # type: ignore[list-item]


def test_eccentricity_uses_a_third_of_max_and_the_mpe_of_the_applied_load() -> None:
    scale = class_iii()
    assert scale.eccentricity_test_load() == D(5)  # R 76-1 3.6.2: Max/3
    assert scale.eccentricity_test_load(supports=6) == D(3)  # Max/(n − 1) for n > 4 supports
    # Max/3 = 3.333… kg does not end: nearest multiple of e (stated choice).
    assert WeighingInstrument("III", D(10), D("0.005"), unit="kg").eccentricity_test_load() == D(
        "3.335"
    )
    # 5 kg = 1 000 e: MPE ±1 e = 5 g at every position.
    check = scale.check_eccentricity(D(5), [D("0.005"), D("-0.005"), D(0), D("0.0025")])
    assert check.passed
    assert check.limit == D("0.005")
    assert check.value == D("0.005")
    assert not scale.check_eccentricity(D(5), [D("0.0075")]).passed
    with pytest.raises(InvalidValueError, match=r"^errors: no position"):
        scale.check_eccentricity(D(5), [])
    with pytest.raises(InvalidValueError, match=r"^supports:"):
        scale.eccentricity_test_load(supports=0)


def test_the_weighing_test_checks_increasing_and_decreasing_loads() -> None:
    scale = class_iii()
    up = [
        (D("0.1"), D(0)),
        (D("2.5"), D("0.0025")),
        (D("2.505"), D("-0.005")),
        (D(15), D("0.0075")),
    ]
    down = [(D(10), D("0.005")), (D("0.1"), D(0))]
    checks = scale.check_weighing_test(up, down)
    assert [c.test for c in checks] == ["weighing test, increasing"] * 4 + [
        "weighing test, decreasing"
    ] * 2
    assert all(c.passed for c in checks)
    assert [c.limit for c in checks] == [
        D("0.0025"),
        D("0.0025"),
        D("0.005"),
        D("0.0075"),
        D("0.005"),
        D("0.0025"),
    ]
    failing = scale.check_weighing_test([(D("2.5"), D("0.003"))], [(D("2.5"), D("0.0025"))])
    assert [c.passed for c in failing] == [False, True]
    assert checks[0].as_dict()["rule"] == "OIML R 76-1:2006 3.5.1 Table 6"


def test_the_weighing_test_refuses_loads_in_the_wrong_order_or_missing() -> None:
    scale = class_iii()
    with pytest.raises(InvalidValueError, match=r"^decreasing: the weighing test needs"):
        scale.check_weighing_test([(D(1), D(0))], [])
    with pytest.raises(InvalidValueError, match=r"^increasing\[1\]: load 1 kg does not rise"):
        scale.check_weighing_test([(D(2), D(0)), (D(1), D(0))], [(D(1), D(0))])
    with pytest.raises(InvalidValueError, match=r"^decreasing\[1\]: load 2 kg does not fall"):
        scale.check_weighing_test([(D(1), D(0))], [(D(1), D(0)), (D(2), D(0))])
    with pytest.raises(OutOfRangeError, match=r"^increasing\[0\]: 16 kg is above Max"):
        scale.check_weighing_test([(D(16), D(0))], [(D(1), D(0))])


def test_the_changepoint_method_gives_the_error_before_rounding() -> None:
    # [unverified clause R 76-1 A.4.4.3] L = 1 000 g, I = 1 000 g, e = 5 g, the
    # indication steps up after ΔL = 1.5 g: P = 1000 + 2.5 − 1.5 = 1001, E = +1 g.
    assert error_before_rounding(D(1000), D(1000), D("1.5"), D(5)) == D(1)
    with pytest.raises(OutOfRangeError, match=r"^additional_load: ΔL = 6 is more than one"):
        error_before_rounding(D(1000), D(1000), D(6), D(5))


def test_discrimination_helpers_are_marked_unverified() -> None:
    # [unverified] R 76-1 3.8 / A.4.8: loads Min, Max/2, Max and an extra 1.4 d.
    scale = class_iii()
    assert scale.discrimination_loads() == (D("0.100"), D("7.5"), D(15))
    assert scale.discrimination_extra_load() == D("0.0070")
    assert "[unverified]" in (WeighingInstrument.discrimination_loads.__doc__ or "")


@given(
    accuracy_class=st.sampled_from(["I", "II", "III", "IIII"]),
    a=st.decimals(min_value=0, max_value=1000, places=1),
    b=st.decimals(min_value=0, max_value=1000, places=1),
    in_service=st.booleans(),
)
def test_the_mpe_never_decreases_as_the_load_grows(
    accuracy_class: str, a: Decimal, b: Decimal, in_service: bool
) -> None:
    low, high = sorted((a, b))
    assert nawi_mpe_in_e(accuracy_class, low, in_service=in_service) <= nawi_mpe_in_e(
        accuracy_class, high, in_service=in_service
    )


@given(load=st.integers(min_value=0, max_value=3000))
def test_the_in_service_mpe_is_always_twice_the_initial_one(load: int) -> None:
    scale = class_iii()
    mass = load * scale.e
    assert scale.mpe(mass, in_service=True) == 2 * scale.mpe(mass)
