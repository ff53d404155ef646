"""What the operator reads at the bench (issue 18): every value in its point's unit and
rounded as it was read, a layout that holds at 80 columns, the prompts in the chosen
language, the age of an offline cache."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console, Group

from agent.cli import age_text, offline_text
from agent.console import (
    ConsoleOperator,
    RunDisplay,
    ask_pause_or_abandon,
    in_unit,
    print_status,
    reading_text,
    refusal_lines,
)
from agent.outbox import Outbox, Outcome
from procedures.bench import Instruction
from procedures.runner import NotReady
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.agent import offline_payload, record_run
from tests.support.electricity import OneMeter, electricity_runner, one_meter_roles

POINT = {"index": 11, "total": 25, "test": "weighing", "nominal": 150.0, "unit": "kPa"}
POINT_VI = {**POINT, "title": {"en": "Errors rising and falling", "vi": "Sai số khi tăng áp"}}


def plain(language: str = "en") -> tuple[RunDisplay, io.StringIO]:
    out = io.StringIO()
    return RunDisplay(Console(file=out, force_terminal=False, width=200), language=language), out


def test_a_reference_read_in_pa_is_shown_in_the_point_s_kpa_without_float_noise() -> None:
    display, out = plain()
    display.show("point", POINT)
    display.show(
        "stability",
        {"role": "reference", "value": 147326.95000000001, "unit": "Pa", "target": 150000.0}
        | {"inside": False, "resolution": None},
    )
    display.show(
        "reading",
        {"quantity": "p_ref", "n": 2, "of": 5, "value": 0.5194365400000001, "unit": "Pa"}
        | {"stable": True, "resolution": None},
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "point 12/25: 150 kPa, weighing"
    assert lines[1] == "  reference 147.32695 kPa (target 150 kPa) settling"
    assert lines[2] == "  p_ref 2/5: 0.00051943654 kPa (stable)"
    # a resolution converts with its value: 1e-4 m³ is 0.1 L
    shown = in_unit({"value": 0.0703, "unit": "m3", "resolution": 1e-4}, "L")
    assert reading_text(shown) == "70.3 L"
    # another kind of quantity (a PRT's resistance at a point in °C) is left in its own unit
    assert in_unit({"value": 109.73, "unit": "ohm"}, "degC")["unit"] == "ohm"


def test_the_progress_and_the_live_reading_hold_at_80_columns() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=80, record=True)
    display = RunDisplay(console, language="vi")
    with display:
        display.show("point", POINT_VI)
        display.show(
            "reading",
            {"quantity": "p_ref", "n": 5, "of": 5, "value": 149998.731, "unit": "Pa"}
            | {"stable": False, "resolution": 0.001},
        )
        assert display._progress is not None
        width80 = Console(file=io.StringIO(), width=80, record=True)
        width80.print(Group(*display._progress.get_renderables()))
    lines = width80.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("điểm 12/25: 150 kPa, Sai số khi tăng áp ")
    assert re.search(r" \d:\d\d:\d\d$", lines[0])  # the elapsed time never cut
    assert lines[1] == "p_ref 5/5: 149.998731 kPa (chưa ổn định)"


def test_the_status_table_holds_at_80_columns_with_the_run_id_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Outbox(tmp_path / "outbox.sqlite3") as box:
        run_id = record_run(box, offline_payload())
        box.record_attempt(
            run_id,
            outcome=Outcome.RETRY,
            status=503,
            reason="POST http://lims.example/api/v1/runs/: HTTP 503 the LIMS is in maintenance",
            next_attempt_at=datetime(2026, 12, 6, 14, 0, tzinfo=UTC),
        )
        report = box.status()
    monkeypatch.setenv("COLUMNS", "80")
    bench: Any = SimpleNamespace(bench="bench-pressure", organization="HN", outbox="o.sqlite3")
    print_status(bench, report, show_sent=False)
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines())
    assert run_id in out
    assert "job J-0001" in out
    assert "2026-12-06 14:00:00 UTC" in out
    assert "maintenance" in out


def test_every_prompt_is_in_vietnamese_with_language_vi(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    display = RunDisplay(Console(file=out, force_terminal=False, width=100), language="vi")
    display.show("point", POINT_VI)
    display.show(
        "point-done",
        {"point": {"output": "E", "unit": "kPa", "conformity": "pass"}
         | {"result": {"value": 0.41, "U": 1.23, "k": 2.0}}},
    )  # fmt: skip
    operator = ConsoleOperator(display, language="vi")
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    operator.instruct(Instruction("confirm", {}, {"en": "Tap the gauge", "vi": "Gõ nhẹ vào áp kế"}))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # end of input: pause
    assert ask_pause_or_abandon(display.console, language="vi") == "pause"
    text = out.getvalue()
    for vietnamese in ("điểm 12/25:", "đạt", "Gõ nhẹ vào áp kế", "nhấn Enter khi xong"):
        assert vietnamese in text
    assert "Dừng lần đo?" in text
    for english in ("point ", "pass", "Tap the gauge", "press Enter", "Stop the run"):
        assert english not in text


def test_the_age_of_a_cache_reads_as_a_person_says_it() -> None:
    at = datetime(2026, 12, 6, 10, 2, tzinfo=UTC)
    assert offline_text(at, at + timedelta(hours=3, minutes=12, seconds=40)) == (
        "offline: job list cached 3 h 12 min ago, at 2026-12-06 10:02 UTC"
    )
    assert age_text(timedelta(seconds=42)) == "42 s"
    assert age_text(timedelta(minutes=7)) == "7 min"
    assert age_text(timedelta(days=2, hours=5, minutes=3)) == "2 d 5 h"


def test_a_gauge_read_by_eye_prompts_in_vietnamese_on_a_vietnamese_bench() -> None:
    from agent.instruments import OpenedInstruments
    from drivers.capabilities import measure
    from procedures.bench import BenchRole

    typed, shown = io.StringIO("bốn trăm\n2000\n450,4\n"), io.StringIO()
    address = "manual://pressure?unit=kPa&min=0&max=1600&resolution=2"
    roles = {"uut": BenchRole("uut", "manual", address)}
    bench = OpenedInstruments(roles, console_input=typed, console_output=shown, language="vi")
    with bench:
        reading = measure(bench.instrument("uut"), "pressure")
    assert reading.value == 450.4
    text = shown.getvalue()
    assert text.startswith(
        "áp suất số đọc 1 theo kPa (từ 0 đến 1600 kPa, giá trị độ chia 2 kPa; dòng trống để dừng): "
    )
    assert "bị từ chối 'bốn trăm': không phải một số (gõ chữ số" in text
    assert "bị từ chối '2000': ngoài phạm vi đo của thiết bị; áp suất phải là một số" in text
    assert "đã ghi 450.4 kPa" in text
    for english in ("pressure", "reading", "refused", "recorded", "must be", "empty line"):
        assert english not in text


@pytest.mark.parametrize(
    ("language", "heading", "reason"),
    [
        (
            "en",
            "the run was refused before the first point:",
            "role optical: the bench has no instrument in this role: test register needs the "
            "meter's optical port (its register is read through it)",
        ),
        (
            "vi",
            "lần đo bị từ chối trước điểm đầu tiên:",
            "vai trò optical: bàn đo không có thiết bị ở vai trò này: phép thử register cần "
            "cổng quang của công tơ (thanh ghi của công tơ được đọc qua cổng này)",
        ),
    ],
)
def test_a_meter_without_its_optical_port_is_refused_saying_why_in_the_operator_s_language(
    language: str, heading: str, reason: str
) -> None:
    """The runner's refusal of a run of one meter whose bench has no role ``optical``, as
    the agent shows it: the role, and that the register test needs the meter's optical
    port; a reason the catalogue does not have is shown as kept."""
    roles = one_meter_roles(0.1)
    del roles["optical"]
    with SimulatedBench(roles, SimulatedWorld(seed=5)) as bench:
        runner = electricity_runner(bench, OneMeter(), [], on=date(2026, 12, 6))
        with pytest.raises(NotReady) as refused:
            runner.preflight()
    kept = "; ".join([*refused.value.reasons, "a reason of its own"])
    assert refusal_lines(kept, language=language) == [
        heading,
        f"  - {reason}",
        "  - a reason of its own",
    ]
