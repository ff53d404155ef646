"""What the operator reads on a bench with positions: the shared reading once, each
position's reading with its position, one line per position at the end of a point (its
error and verdict, rounded as a single run's), a position that leaves the run when it
does, and the summary by position; in English and Vietnamese, at 80 columns."""

from __future__ import annotations

import io

from rich.console import Console

from agent.console import RunDisplay, position_verdict, print_positions_summary
from procedures.record import Position, PositionInstrument
from tests.support.agent import offline_payload

POINT = {"index": 2, "total": 3, "test": "flow-rates", "nominal": 200.0, "unit": "L"}
POINT["title"] = {"en": "Error at Q1, Q2 and Q3", "vi": "Sai số tại Q1, Q2 và Q3"}
SERIALS = {1: "WM-0001", 2: "WM-0002", 3: "WM-0003-LONG-SERIAL-NUMBER"}


def done(position: int, value: float, conformity: str) -> dict[str, object]:
    point = {
        "output": "E",
        "unit": "L",
        "conformity": conformity,
        "model": {"outputs": {"E": {"unit": "%"}}},
        "result": {"value": value, "U": 0.04112, "k": 2.0},
    }
    return {"index": 2, "position": position, "point": point}


def shown(language: str) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    with RunDisplay(console, language=language, serials=SERIALS) as display:
        display.show("position-left", {"position": 3, "state": "skipped", "reason": "not mounted"})
        display.show("point", POINT)
        reading = {"n": 1, "of": 1, "unit": "L", "stable": True, "resolution": 0.001}
        display.show("reading", {**reading, "quantity": "T2", "value": 269.919})
        display.show(
            "reading",
            {**reading, "position": 1, "quantity": "I2", "value": 271.5, "resolution": 0.1},
        )
        display.show("point-done", done(1, 0.60012, "pass"))
        display.show("point-done", done(2, 4.99987, "fail"))
        display.show("positions-done", {"index": 2, "total": 3})
    return out.getvalue().splitlines()


def test_each_position_s_result_is_a_line_of_its_own() -> None:
    lines = shown("en")
    assert lines == [
        "  P3 WM-0003-LONG-SERIAL-NUMBER: skipped: not mounted",
        "point 3/3: 200 L, Error at Q1, Q2 and Q3",
        "  T2 1/1: 269.919 L (stable)",
        "  P1 I2 1/1: 271.5 L (stable)",
        "  P1 WM-0001: E = 0.600 %, U = 0.041 % (k = 2.00), pass",
        "  P2 WM-0002: E = 5.000 %, U = 0.041 % (k = 2.00), fail",
    ]
    vi = shown("vi")
    assert vi[0] == "  VT3 WM-0003-LONG-SERIAL-NUMBER: bỏ qua: not mounted"
    assert vi[4] == "  VT1 WM-0001: E = 0.600 %, U = 0.041 % (k = 2.00), đạt"
    assert vi[5] == "  VT2 WM-0002: E = 5.000 %, U = 0.041 % (k = 2.00), không đạt"


def test_the_positions_lines_hold_at_80_columns_in_either_language() -> None:
    for language in ("en", "vi"):
        lines = shown(language)
        assert len(lines) == 6
        assert max(len(line) for line in lines) <= 80


def summary(language: str) -> list[str]:
    point = offline_payload(points=1)["points"][0]
    measured = Position.from_json(
        {
            "position": 1,
            "instrument": {"serial": "WM-0001"},
            "state": "measured",
            "points": [point],
        }
    )
    positions = [
        measured,
        Position(2, PositionInstrument("WM-0002"), "skipped", "not mounted"),
        Position(
            3,
            PositionInstrument("WM-0003"),
            "removed",
            "point 1: InstrumentTimeout: no answer at the prompt of the register after 30 s",
            points=measured.points,
        ),
    ]
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)
    print_positions_summary(console, positions, language=language)
    return out.getvalue().splitlines()


def test_the_summary_names_each_position_its_serial_and_its_verdict_or_state() -> None:
    lines = summary("en")
    assert lines[0].strip() == "Positions"
    rows = [line for line in lines if "WM-" in line]
    assert [row.split("│")[1:3] for row in rows] == [
        ["        1 ", " WM-0001 "],
        ["        2 ", " WM-0002 "],
        ["        3 ", " WM-0003 "],
    ]
    text = " ".join(line.strip("│ ") for line in lines)
    assert "pass" in rows[0]
    assert "skipped: not mounted" in rows[1]
    # a long reason folds inside its column: the table holds at 80 columns
    assert "removed: point 1: InstrumentTimeout:" in text
    assert max(len(line) for line in lines) <= 80
    vi = " ".join(summary("vi"))
    assert "Các vị trí" in vi
    assert "số sê-ri" in vi
    assert "bỏ qua: not mounted" in vi


def test_a_position_s_verdict_says_a_failed_point_before_its_removal() -> None:
    point = offline_payload(points=1)["points"][0]
    failed = {**point, "conformity": "fail"}
    removed = Position.from_json(
        {
            "position": 1,
            "instrument": {"serial": "WM-1"},
            "state": "removed",
            "reason": "point 1: no answer",
            "points": [failed],
        }
    )
    assert position_verdict(removed) == "removed: point 1: no answer (a point failed before)"
    assert position_verdict(removed, "vi") == (
        "đã loại khỏi lần đo: point 1: no answer (trước đó có điểm không đạt)"
    )
