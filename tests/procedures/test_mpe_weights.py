"""Weights, OIML R 111-1:2004 Table 1 (procedures.mpe.weights).

Expected values: R 111-1:2004 Table 1 as read in the stored copies
abcdocz 214925 (the whole table, 1 mg to 5 000 kg, all nine classes) and
en.kern-lab.com (1 mg to 5 kg), and scribd 314749659 (2 000 kg and 5 000 kg,
F1 to M2). The rules U ≤ δm/3 (5.2) and |m_c − m_0| ≤ δm − U (5.3) are
[unverified wording].
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from procedures.errors import InvalidValueError, OutOfRangeError, UnknownClassError
from procedures.mpe import WEIGHT_CLASSES, check_weight, weight_mpe
from procedures.mpe._values import MassUnit
from procedures.mpe.weights import weights_table

D = Decimal


@pytest.mark.parametrize(
    ("nominal", "unit", "weight_class", "mpe_mg"),
    [
        ("1", "mg", "E1", "0.003"),  # Table 1, first row
        ("5", "mg", "M1", "0.20"),  # Kern prints 0.02: a misprint (abcdocz and the pattern: 0.20)
        ("500", "mg", "F1", "0.08"),
        ("1", "g", "M3", "10"),  # M3 starts at 1 g
        ("100", "mg", "M2", "1.6"),  # M2 starts at 100 mg
        ("200", "g", "F2", "3.0"),
        ("1", "kg", "E2", "1.6"),
        ("1", "kg", "F1", "5.0"),
        ("1", "kg", "M1", "50"),
        ("5", "kg", "M3", "2500"),
        ("10", "kg", "F1", "50"),  # ≥ 10 kg rows: abcdocz only
        ("20", "kg", "M1", "1000"),
        ("50", "kg", "E1", "25"),  # E1 ends at 50 kg
        ("50", "kg", "M1-2", "5000"),  # M1–2 and M2–3 start at 50 kg
        ("50", "kg", "M2-3", "16000"),
        ("1000", "kg", "E2", "1600"),  # E2 ends at 1 000 kg
        ("2000", "kg", "F1", "10000"),  # scribd 314749659 too
        ("2000", "kg", "M1-2", "200000"),
        ("5000", "kg", "M2", "800000"),
        ("5000", "kg", "M3", "2500000"),
    ],
)
def test_it_reads_table_1(nominal: str, unit: MassUnit, weight_class: str, mpe_mg: str) -> None:
    in_mg = {"mg": 1, "g": 1000, "kg": 1000000}[unit]
    assert weight_mpe(D(nominal), weight_class, unit=unit) * in_mg == D(mpe_mg)


def test_it_returns_the_mpe_in_the_unit_of_the_nominal_value() -> None:
    assert weight_mpe(D(1), "F1", unit="kg") == D("0.000005")
    assert weight_mpe(D(1000), "F1", unit="g") == D("0.005")
    assert weight_mpe(D(1000000), "F1", unit="mg") == D("5.0")


def test_it_refuses_a_weight_its_class_or_the_table_does_not_have() -> None:
    with pytest.raises(
        OutOfRangeError, match=r"^nominal_value: .* has no class E1 weight of 100 kg"
    ):
        weight_mpe(D(100), "E1", unit="kg")
    with pytest.raises(OutOfRangeError, match=r"has no class M3 weight of 500 mg"):
        weight_mpe(D(500), "M3", unit="mg")
    with pytest.raises(OutOfRangeError, match=r"3 g is not a nominal value"):
        weight_mpe(D(3), "F1", unit="g")
    with pytest.raises(OutOfRangeError, match=r"10000 kg is not a nominal value"):
        weight_mpe(D(10000), "M1", unit="kg")
    with pytest.raises(UnknownClassError, match=r"^weight_class: unknown weight class 'F3'"):
        weight_mpe(D(1), "F3", unit="kg")
    with pytest.raises(InvalidValueError, match=r"^nominal_value: must be positive"):
        weight_mpe(D(0), "F1", unit="kg")


def test_each_class_is_looser_than_the_one_above_and_grows_with_the_nominal_value() -> None:
    # The table's pattern (≈ 3× per class, non-decreasing along 1-2-5): a check of
    # the transcription, not a rule of R 111.
    table = weights_table()["mpe_mg"]
    assert isinstance(table, dict)
    nominals = sorted(
        {D(n) for column in table.values() if isinstance(column, dict) for n in column}
    )
    assert len(nominals) == 30  # 1 mg … 5 000 kg
    for cls in WEIGHT_CLASSES:
        column = table[cls]
        assert isinstance(column, dict)
        values = [D(str(column[n])) for n in sorted(column, key=D)]
        assert values == sorted(values), cls
    for nominal in nominals:
        present = [
            D(str(col[k]))
            for cls in WEIGHT_CLASSES
            if isinstance(col := table[cls], dict)
            for k in col
            if D(k) == nominal
        ]
        assert present == sorted(present), nominal
        assert len(set(present)) == len(present), nominal


def test_a_weight_passes_when_u_is_a_third_of_the_mpe_and_the_deviation_fits() -> None:
    # [unverified wording] R 111-1 5.2 and 5.3: F1 1 kg, δm = 5 mg.
    result = check_weight(
        D(1000), "F1", conventional_mass=D("1000.0035"), expanded_uncertainty=D("0.0015"), unit="g"
    )
    assert result.mpe == D("0.005")
    assert result.uncertainty.passed  # U = 1.5 mg ≤ 5/3 mg
    assert result.deviation.passed
    assert result.deviation.limit == D("0.0035")
    assert result.passed


def test_a_weight_fails_on_u_above_a_third_or_a_deviation_beyond_mpe_minus_u() -> None:
    too_uncertain = check_weight(
        D(1000), "F1", conventional_mass=D(1000), expanded_uncertainty=D("0.0017"), unit="g"
    )
    assert not too_uncertain.uncertainty.passed
    assert not too_uncertain.passed
    off = check_weight(
        D(1000), "F1", conventional_mass=D("1000.0036"), expanded_uncertainty=D("0.0015"), unit="g"
    )
    assert off.uncertainty.passed
    assert not off.deviation.passed
    assert not off.passed
    # U exactly a third of δm passes ("≤"): F2 200 g, δm = 3.0 mg, U = 1 mg.
    exact_third = check_weight(
        D(200), "F2", conventional_mass=D(200), expanded_uncertainty=D("0.001"), unit="g"
    )
    assert exact_third.uncertainty.passed


def test_the_weights_table_names_its_sources_and_what_is_unverified() -> None:
    table = weights_table()
    assert table["document"] == "OIML R 111-1:2004"
    assert table["unit"] == "mg"
    assert any("abcdocz" in str(url) for url in table["confirmed_in"])  # type: ignore[union-attr]
    assert "the wording of 5.2 and 5.3" in table["unverified"]  # type: ignore[operator]
