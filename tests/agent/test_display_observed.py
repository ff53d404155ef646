"""What the operator reads of an electricity meter's no-load count and starting time: the
pulses counted as a whole number in words (never "0.00 1", never with a U), the time to the
first pulse to what the bench resolves, each against its limit as the rule says it; in
English and Vietnamese. The events are those the runner sends on the simulated bench."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agent.console import RunDisplay, count_text, observed_line
from procedures.definition import library, load_definition

SERIALS = {1: "EM-25-004501", 2: "EM-25-004502"}
NO_LOAD = {"index": 0, "total": 10, "test": "no-load", "nominal": 0.0, "unit": "A"}
NO_LOAD["title"] = {"en": "No-load test", "vi": "Thử không tải"}
STARTING = {"index": 1, "total": 10, "test": "starting", "nominal": 0.02, "unit": "A"}
STARTING["title"] = {"en": "Starting test", "vi": "Thử khởi động"}


def _no_load(position: int, pulses: float) -> dict[str, Any]:
    point = {
        "output": "N",
        "unit": "A",
        "conformity": "pass" if pulses <= 1 else "fail",
        "model": {"outputs": {"N": {"expression": "n + d_n", "unit": "1"}}},
        "result": {"value": pulses, "U": 0.5773502691896258, "k": 2.0},
        "acceptance": {"lower": -1.0, "upper": 1.0, "mpe": 1.0, "rule": "electricity_no_load"},
    }
    return {"index": 0, "position": position, "point": point, "resolution": 1.0}


def _starting(position: int, seconds: float) -> dict[str, Any]:
    point = {
        "output": "t_first",
        "unit": "A",
        "conformity": "pass",
        "model": {"outputs": {"t_first": {"expression": "t + d_t", "unit": "s"}}},
        "result": {"value": seconds, "U": 0.005773502691896258, "k": 2.0},
        "acceptance": {"lower": -93.0, "upper": 93.0, "mpe": 93.0, "rule": "electricity_starting"},
    }
    return {"index": 1, "position": position, "point": point, "resolution": 0.01}


def shown(language: str) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    reading = {"n": 1, "of": 1, "stable": True, "quantity": "n", "function": "register:pulses"}
    with RunDisplay(console, language=language, serials=SERIALS) as display:
        display.show("point", NO_LOAD)
        display.show("reading", {**reading, "position": 1, "value": 0, "unit": "1"})
        display.show("reading", {**reading, "position": 2, "value": 1, "unit": "1"})
        display.show("point-done", _no_load(1, 0.0))
        display.show("point-done", _no_load(2, 2.0))
        display.show("positions-done", {"index": 0, "total": 10})
        display.show("point", STARTING)
        time = {**reading, "quantity": "t", "function": "register:first_pulse", "unit": "s"}
        display.show("reading", {**time, "position": 1, "value": 76.3521, "resolution": 0.01})
        display.show("point-done", _starting(1, 76.3521))
    return out.getvalue().splitlines()


def test_a_count_is_whole_in_words_and_a_time_to_the_bench_s_resolution() -> None:
    assert shown("en") == [
        "point 1/10: 0 A, No-load test",
        "  P1 n 1/1: 0 pulses (stable)",
        "  P2 n 1/1: 1 pulse (stable)",
        "  P1 EM-25-004501: N = 0 pulses (≤ 1 pulse), pass",
        "  P2 EM-25-004502: N = 2 pulses (≤ 1 pulse), fail",
        "point 2/10: 0.02 A, Starting test",
        "  P1 t 1/1: 76.35 s (stable)",
        "  P1 EM-25-004501: t_first = 76.35 s (≤ 93 s), U = 0.0058 s (k = 2.00), pass",
    ]
    vi = shown("vi")
    assert "  VT1 n 1/1: 0 xung (ổn định)" in vi
    assert "  VT1 EM-25-004501: N = 0 xung (≤ 1 xung), đạt" in vi


def test_a_count_that_is_not_whole_is_shown_as_read_never_rounded() -> None:
    point = _no_load(1, 0.5)["point"]
    assert observed_line(point) == "0.5 pulses (≤ 1 pulse)"
    reading = {"value": 2.5, "unit": "1", "function": "register:pulses"}
    assert count_text(reading) == "2.5 pulses"


def test_an_error_against_its_mpe_is_not_an_observed_result() -> None:
    point = {"result": {"value": 0.21, "U": 0.58, "k": 2.0}, "acceptance": {"mpe": 2.0}}
    assert (
        observed_line({**point, "acceptance": {**point["acceptance"], "rule": "electricity_meter"}})
        is None
    )
    assert count_text({"value": 0.009757, "unit": "kWh", "function": "register:energy"}) is None


@pytest.mark.parametrize("test_id", ["no-load", "starting"])
def test_the_procedure_states_the_resolution_of_what_it_judges(test_id: str) -> None:
    # The runner sends it with each point (ProcedureDefinition.result_resolution): the
    # count's one pulse, the bench's 0.01 s.
    definition = load_definition(Path(library()["electricity-meter-r46"]))
    model = {"quantities": {"d_n": {"half_width": 0.5}, "d_t": {"half_width": 0.005}}}
    unit = {"no-load": "1", "starting": "s"}[test_id]
    expected = {"no-load": 1.0, "starting": 0.01}[test_id]
    assert definition.result_resolution(test_id, model, unit) == expected
    assert definition.result_resolution(test_id, model, "kWh") is None
