"""A manufacturer's specification, the U ≤ MPE/3 rule, and the tables as plain data."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest

from procedures.errors import InvalidValueError, OutOfRangeError
from procedures.mpe import check_verification_uncertainty, spec_tolerance, tables

D = Decimal


def test_the_spec_tolerance_adds_reading_range_and_offset_terms() -> None:
    # ±(0.0030 % of reading + 0.0005 % of range) at 10 V on the 10 V range: 0.35 mV.
    assert spec_tolerance(
        D(10), range_=D(10), percent_of_reading=D("0.0030"), percent_of_range=D("0.0005")
    ) == D("0.00035")
    # Negative readings count by magnitude; an offset adds in the reading's unit.
    assert spec_tolerance(
        D(-1), range_=D(10), percent_of_reading=D(1), percent_of_range=D(0), offset=D("0.002")
    ) == D("0.012")


def test_the_spec_tolerance_refuses_readings_beyond_full_scale() -> None:
    # A 10 V range covering 12 V: 12 V accepted, 12.000001 V refused.
    kwargs = {"range_": D(10), "percent_of_reading": D(1), "percent_of_range": D(0)}
    assert spec_tolerance(D(12), full_scale=D(12), **kwargs) == D("0.12")
    with pytest.raises(OutOfRangeError, match=r"^reading: \|12.000001\| is beyond the 12"):
        spec_tolerance(D("12.000001"), full_scale=D(12), **kwargs)
    with pytest.raises(OutOfRangeError, match=r"^reading:"):
        spec_tolerance(D(11), **kwargs)  # full scale defaults to the range
    with pytest.raises(InvalidValueError, match=r"^percent_of_range: must be zero or positive"):
        spec_tolerance(D(1), range_=D(10), percent_of_reading=D(1), percent_of_range=D(-1))


def test_the_uncertainty_ratio_rule_is_the_one_of_uncertainty_conformity() -> None:
    # U ≤ MPE/3, exact on decimals: U = 0.1 meets MPE = 0.3; 0.1001 does not.
    assert check_verification_uncertainty(D("0.1"), D("0.3")).met
    assert not check_verification_uncertainty(D("0.1001"), D("0.3")).met
    assert not check_verification_uncertainty(D("0.1"), D("0.3"), inclusive=False).met
    assert check_verification_uncertainty(D("0.075"), D("0.3"), max_ratio=Fraction(1, 4)).met
    with pytest.raises(InvalidValueError, match=r"^mpe: must be positive"):
        check_verification_uncertainty(D("0.1"), D(0))
    with pytest.raises(InvalidValueError, match=r"^expanded_uncertainty: .* more significant"):
        check_verification_uncertainty(D("0.12345678901234567890"), D(1))
    with pytest.raises(InvalidValueError, match=r"^max_ratio:"):
        check_verification_uncertainty(D("0.1"), D(1), max_ratio=Fraction(3, 2))


def test_every_table_is_json_with_its_document_and_sources() -> None:
    everything = tables()
    assert set(everything) == {
        "oiml-r76-1-2006",
        "oiml-r111-1-2004-table-1",
        "pressure-gauges-class-percent-of-span",
        "oiml-r49-1-water-meters",
        "oiml-r46-electricity-meters",  # issue 20
        "oiml-r117-1-fuel",  # issue 20: fuel dispensers
        "manufacturer-specification",
        "procedure-references",  # issue 16: the shipped procedures' references
    }
    assert json.loads(json.dumps(everything)) == everything
    for key, table in everything.items():
        assert isinstance(table, dict)
        assert table["id"] == key
        assert table["document"], key
        assert table["rules"], key
        if key != "manufacturer-specification":
            assert table["confirmed_in"], key
            assert table["unverified"], key
    nawi = everything["oiml-r76-1-2006"]
    assert isinstance(nawi, dict)
    assert isinstance(nawi["mpe_bands_in_e"], dict)
    assert nawi["mpe_bands_in_e"]["III"] == [
        {"up_to_e": "500", "mpe_e": "0.5"},
        {"up_to_e": "2000", "mpe_e": "1.0"},
        {"up_to_e": "10000", "mpe_e": "1.5"},
    ]


def test_importing_the_rules_does_not_import_scipy() -> None:
    # Heavy libraries load in the one module that needs them (CONVENTIONS.md):
    # the MPE tables must be cheap for the LIMS to import.
    import subprocess
    import sys

    code = "import sys, procedures.mpe; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
