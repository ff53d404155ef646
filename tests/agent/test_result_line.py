"""The agent shows a point's result as the certificate will print it (issue 16)."""

from __future__ import annotations

from agent.bench import result_line


def test_the_result_is_rounded_by_ilac_p14_with_the_si_symbol() -> None:
    # U = 0.2968 g to two significant digits (0.30), the error to the same place.
    line = result_line({"value": -0.1161, "U": 0.2968, "k": 2.0000024}, "g")
    assert line == "-0.12 g, U = 0.30 g (k = 2.00)"


def test_an_ascii_unit_is_shown_as_its_symbol() -> None:
    assert result_line({"value": 0.05333, "U": 0.0281, "k": 2}, "degC") == (
        "0.053 °C, U = 0.028 °C (k = 2.00)"
    )


def test_a_result_without_an_uncertainty_is_shown_as_it_came() -> None:
    assert result_line({"value": 1.5, "U": 0, "k": 2}, "V") == "1.5 V, U = 0"
