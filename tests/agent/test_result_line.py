"""The agent shows a point's result and its live readings as the certificate will print
them (issue 16)."""

from __future__ import annotations

import io

from rich.console import Console

from agent.console import RunDisplay, output_unit, reading_text, result_line


def test_the_result_is_rounded_by_ilac_p14_with_the_si_symbol() -> None:
    # U = 0.2968 g to two significant digits (0.30), the error to the same place.
    line = result_line({"value": -0.1161, "U": 0.2968, "k": 2.0000024}, "g")
    assert line == "-0.12 g, U = 0.30 g (k = 2.00)"


def test_an_ascii_unit_is_shown_as_its_symbol() -> None:
    assert result_line({"value": 0.05333, "U": 0.0281, "k": 2}, "degC") == (
        "0.053 °C, U = 0.028 °C (k = 2.00)"
    )


def test_a_result_without_an_uncertainty_is_shown_as_it_came() -> None:
    assert result_line({"value": 1.5, "U": 0, "k": 2}, "V") == "1.5 V, U = 0 V"


def plain_display() -> tuple[RunDisplay, io.StringIO]:
    out = io.StringIO()
    return RunDisplay(Console(file=out, force_terminal=False, width=200)), out


def test_a_live_reading_is_shown_to_the_resolution_the_procedure_states() -> None:
    # A gauge read to 2 kPa: "450,4" typed is shown as the dial's 450 kPa (issue 16; the
    # same rounding as the certificate's indication, uncertainty.display.indication_text).
    display, out = plain_display()
    reading = {"quantity": "p_g", "n": 1, "of": 1, "value": 450.4, "unit": "kPa"}
    display.show("reading", {**reading, "stable": True, "resolution": 2.0})
    assert out.getvalue() == "  p_g 1/1: 450 kPa (stable)\n"
    # a DMM read to 1 µV on its 10 V range, the SI symbol for an ASCII unit
    assert reading_text({"value": 9.99999937, "unit": "V", "resolution": 1e-6}) == "9.999999 V"
    assert reading_text({"value": 23.04561, "unit": "degC", "resolution": 0.01}) == "23.05 °C"


def test_a_live_reading_without_a_known_resolution_is_shown_as_read() -> None:
    # No resolution stated: every digit the instrument gave, never a guessed cut
    # (the former "%.9g" wrote 450012.345678 Pa as 450012.346 Pa).
    assert reading_text({"value": 450012.345678, "unit": "Pa", "resolution": None}) == (
        "450012.345678 Pa"
    )
    assert reading_text({"value": 1.0000000001, "unit": "V"}) == "1.0000000001 V"


def test_the_result_line_takes_the_unit_of_the_model_s_output() -> None:
    # A water meter's relative error is in % (the model's output unit), not in the L of
    # its nominal volume: "E = 0.589953 L" was the defect (issue 16, point 3).
    point = {
        "output": "E",
        "unit": "L",
        "model": {"outputs": {"E": {"expression": "(I/V - 1)*100", "unit": "%"}}},
    }
    assert output_unit(point) == "%"
    assert result_line({"value": 0.589953, "U": 0.1213, "k": 2}, output_unit(point)) == (
        "0.59 %, U = 0.12 % (k = 2.00)"
    )
    # an output without a unit of its own is in the point's unit
    assert output_unit({"output": "E", "unit": "kPa", "model": {"outputs": {"E": {}}}}) == "kPa"
    assert output_unit({"output": "E", "unit": "kPa"}) == "kPa"


def test_a_source_s_stability_wait_shows_what_it_reads_uncut() -> None:
    # The stability wait has no resolution from the model: the value as read, the target
    # as the procedure wrote it, the unit as its symbol (formerly "%.6g": 23.0004 → 23).
    display, out = plain_display()
    data = {"role": "bath", "value": 23.00041, "unit": "degC", "target": 23.0, "inside": True}
    display.show("stability", data)
    assert out.getvalue() == "  bath 23.00041 °C (target 23 °C) within\n"
