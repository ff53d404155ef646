"""How every number a person reads is written (uncertainty.display, issue 16).

The expected texts are worked by hand from the rules the module cites: ILAC P14 6.3 b
and GUM 7.2.6 for results and fitted parameters, GUM G.4.1 for degrees of freedom, and
the instrument's resolution for indications. The defects they guard against are the
ones issue 16 found on signed certificates.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from uncertainty.display import (
    dof_text,
    indication_text,
    number_text,
    observed_text,
    parameter_text,
    result_texts,
    to_resolution,
    unit_symbol,
)
from uncertainty.errors import ModelError


@pytest.mark.parametrize(
    ("value", "resolution", "text"),
    [
        # A gauge with 2 kPa divisions never shows 450.4 kPa.
        (450.4, 2, "450"),
        (451.2, 2, "452"),
        # A scale with e = 5 g never shows 5000.10 g.
        (5000.1, 5, "5000"),
        (5003.0, 5, "5005"),
        # Read in a test mode to d_T = 0.5 g: one decimal, in steps of 0.5.
        (5000.1666, 0.5, "5000.0"),
        (5000.3, 0.5, "5000.5"),
        # Check values from issue 16, to the resolution of what was read.
        (1.9547419999999818, 2, "2"),
        (0.06099999999969441, 0.5, "0.0"),
        (0.0123, 0.01, "0.01"),
        # Never "-0".
        (-0.0001, 0.01, "0.00"),
    ],
)
def test_an_indication_is_written_to_the_resolution_it_was_read_to(value, resolution, text):
    assert indication_text(value, resolution) == text


def test_without_a_resolution_an_indication_is_written_as_measured_never_guessed():
    assert indication_text(450.4, None) == "450.4"


def test_a_resolution_must_be_positive():
    with pytest.raises(ModelError, match="positive"):
        to_resolution(1.0, 0)


def test_to_resolution_keeps_the_decimals_of_the_resolution():
    assert to_resolution(12.344, 0.01) == Decimal("12.34")
    assert str(to_resolution(12.0, 0.5)) == "12.0"


def test_results_follow_ilac_p14():
    # GUM 7.2.6's own example: y = 10.05762 Ω with U = 0.027 Ω reads 10.058 Ω.
    assert result_texts(10.05762, 0.027) == ("10.058", "0.027")


def test_fitted_parameters_are_rounded_to_their_own_uncertainty():
    # The curve coefficient of issue 16, with a standard uncertainty of 0.0107.
    assert parameter_text(-0.05333508562714375, 0.0107) == ("-0.053", "0.011")
    # A residual standard deviation with its own uncertainty.
    assert parameter_text(0.00018265182182064426, 0.00004) == ("0.000183", "0.000040")


@pytest.mark.parametrize(
    ("dof", "text"),
    [
        (2.99e14, "∞"),
        (math.inf, "∞"),
        ("inf", "∞"),
        (1e6 + 1, "∞"),
        (1e6, "1000000"),
        # GUM G.4.1 note 1: truncated, not rounded up.
        (12.7, "12"),
        (5, "5"),
        (None, ""),
    ],
)
def test_degrees_of_freedom_are_whole_and_infinite_is_written_infinity(dof, text):
    assert dof_text(dof) == text


def test_negative_degrees_of_freedom_are_refused():
    with pytest.raises(ModelError, match="dof"):
        dof_text(-1)


@pytest.mark.parametrize(
    ("value", "text"),
    [(15000.0, "15000"), (0.1, "0.1"), (1e-7, "0.0000001"), (-0.0, "0"), (9.6, "9.6")],
)
def test_a_given_number_is_written_as_it_was_written_never_with_an_exponent(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize(
    ("unit", "symbol"),
    [
        ("degC", "°C"),
        ("ohm", "Ω"),
        ("Ohm", "Ω"),
        ("kOhm", "kΩ"),
        ("1/degC2", "°C⁻²"),
        ("1/degC", "°C⁻¹"),
        ("m3/h", "m³/h"),
        ("uV", "µV"),
        ("kPa", "kPa"),
        ("%RH", "%RH"),
        ("1", "1"),
        ("°C", "°C"),
    ],
)
def test_units_are_written_with_their_si_symbols(unit, symbol):
    assert unit_symbol(unit) == symbol


@pytest.mark.parametrize(
    ("value", "resolution", "expanded", "text"),
    [
        # a time read to the bench's 0.01 s: never finer than what was read...
        (76.3521, 0.01, 0.0058, "76.35"),
        (76.3521, 0.01, 0.12, "76.35"),
        # ...nor finer than U's last digit (ILAC P14)
        (76.3521, 0.01, 1.2, "76.4"),
        (76.3521, 0.01, 12.0, "76"),
        # no resolution on record: U's place; no U: the resolution
        (76.3521, None, 0.0058, "76.3521"),
        (76.3521, 0.01, None, "76.35"),
        (0.0, 1, None, "0"),
    ],
)
def test_an_observed_result_is_rounded_to_the_coarser_of_its_resolution_and_u(
    value: float, resolution: float | None, expanded: float | None, text: str
) -> None:
    assert observed_text(value, resolution, expanded) == text


def test_an_observed_result_refuses_what_is_not_a_number() -> None:
    with pytest.raises(ModelError):
        observed_text(math.inf, 0.01, 0.0058)
    with pytest.raises(ModelError):
        observed_text(76.35, 0.0, None)
