"""Pressure gauges, class % of span (procedures.mpe.pressure).

Expected values: Eichordnung Anlage 16 (Germany) 3.1, 3.3, 3.4, read in the
stored copy: verification MPE = class % of span; in service 0.15, 0.4, 0.9,
1.5, 2.4, 3.8, 6.0 %; hysteresis ≤ the verification MPE. That R 101 uses
the same rule is [unverified].
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from procedures.errors import InvalidValueError, UnknownClassError
from procedures.mpe import check_hysteresis, check_pressure_point, pressure_gauge_mpe

D = Decimal


@pytest.mark.parametrize(
    ("accuracy_class", "initial", "in_service"),
    [
        ("0.1", "0.1", "0.15"),
        ("0.25", "0.25", "0.4"),
        ("0.6", "0.6", "0.9"),
        ("1", "1.0", "1.5"),
        ("1.6", "1.6", "2.4"),
        ("2.5", "2.5", "3.8"),
        ("4", "4.0", "6.0"),
    ],
)
def test_the_mpe_is_the_class_percent_of_the_span_and_the_in_service_column(
    accuracy_class: str, initial: str, in_service: str
) -> None:
    span = D(1000)  # a 0 … 1 000 kPa gauge
    assert pressure_gauge_mpe(D(accuracy_class), span) == D(initial) * 10
    assert pressure_gauge_mpe(D(accuracy_class), span, in_service=True) == D(in_service) * 10


def test_it_refuses_an_unknown_class_and_a_bad_span() -> None:
    with pytest.raises(
        UnknownClassError, match=r"^accuracy_class: unknown pressure gauge class 1.5"
    ):
        pressure_gauge_mpe(D("1.5"), D(10))
    with pytest.raises(InvalidValueError, match=r"^span: must be positive"):
        pressure_gauge_mpe(D("1.6"), D(0))
    with pytest.raises(InvalidValueError, match=r"^accuracy_class: must be a Decimal, not str"):
        pressure_gauge_mpe("1.6", D(10))  # type: ignore[arg-type]


def test_a_point_passes_at_the_mpe_and_fails_beyond() -> None:
    # Class 1.6, span 1 600 kPa: MPE 25.6 kPa on verification, 38.4 kPa in service.
    at = check_pressure_point(D("1.6"), D(1600), pressure=D(800), error=D("-25.6"), unit="kPa")
    assert at.passed
    assert at.limit == D("25.6")
    assert at.unit == "kPa"
    assert not check_pressure_point(
        D("1.6"), D(1600), pressure=D(800), error=D("25.7"), unit="kPa"
    ).passed
    assert check_pressure_point(
        D("1.6"), D(1600), pressure=D(800), error=D("38.4"), unit="kPa", in_service=True
    ).passed


def test_hysteresis_is_limited_by_the_verification_mpe() -> None:
    # Anlage 16 3.4: |falling − rising| ≤ 25.6 kPa for class 1.6 over 1 600 kPa.
    ok = check_hysteresis(
        D("1.6"), D(1600), pressure=D(800), rising=D(790), falling=D("815.6"), unit="kPa"
    )
    assert ok.passed
    assert ok.value == D("25.6")
    bad = check_hysteresis(
        D("1.6"), D(1600), pressure=D(800), rising=D(790), falling=D(816), unit="kPa"
    )
    assert not bad.passed
    assert bad.test == "hysteresis"
