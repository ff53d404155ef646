"""``caltrace-agent run`` on a bench file with positions: four water meters in series
against one reference meter (water-meter-r49), a job from the live LIMS, the simulated
bench, the durable outbox, the run signed, sent and re-evaluated by the LIMS position by
position.

Meter 2 reads 5 % high at high flows (outside the class 2 MPE of 2 % in the upper zone,
R 49-1:2013 as ``procedures/mpe/water.py`` cites it): it fails. Meter 4 is not mounted:
left out with ``--skip``. Each meter is registered with its own job; the run names the
job of meter 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.outbox import Outbox, RunState
from procedures.record import RunRecord
from tests.support.agent import closed_port_url
from tests.support.flow_bench import HIGH_OPTIONS, FlowBench

pytestmark = pytest.mark.django_db(transaction=True)

SERIALS = ["WM-0001", "WM-0002", "WM-0003", "WM-0004"]


def run(bench: Path, *args: str) -> int:
    return main(["run", "--bench", str(bench), *args])


def test_four_meters_in_series_run_through_the_agent_and_the_lims_agrees_by_position(
    flow_bench: FlowBench, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.measurements.models import Point, Run, RunPosition

    bench = flow_bench.bench_file(tmp_path / "bench", SERIALS, options={2: HIGH_OPTIONS})
    job = flow_bench.jobs["WM-0001"]
    status = run(
        bench,
        "--job",
        job.number,
        "--simulate",
        "--seed",
        "4",
        "--operator",
        flow_bench.metrologist.username,
        "--skip",
        "4:not mounted",
    )
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "positions: 1 WM-0001, 2 WM-0002, 3 WM-0003, 4 WM-0004 (left out: not mounted)" in (
        out.out
    )
    assert "complete, 3 point(s), 24 reading(s)" in out.out
    assert "sent (HTTP 201)" in out.out
    # what the operator saw: at each point one line per position measured, the failed
    # meter's verdict, the one left out, and the summary by position
    assert out.out.count("  P1 WM-0001: E = ") == 3
    assert out.out.count("  P2 WM-0002: E = ") == 3
    assert "P4 WM-0004: skipped: not mounted" in out.out
    summary = out.out[out.out.index("Positions") :]
    table = [line.split("│")[1:4] for line in summary.splitlines() if "WM-" in line]
    assert [[cell.strip() for cell in row] for row in table] == [
        ["1", "WM-0001", "pass"],
        ["2", "WM-0002", "fail"],
        ["3", "WM-0003", "pass"],
        ["4", "WM-0004", "skipped: not mounted"],
    ]
    # the lines of the positions and the summary hold at 80 columns
    ours = [line for line in out.out.splitlines() if line.startswith(("  P", "│", "┃", "┏"))]
    assert len(ours) > 12
    assert max(len(line) for line in ours) <= 80

    with Outbox(bench.parent / "outbox.sqlite3") as box:
        (run_id,) = [r.run_id for r in box.status().runs]
        assert box.state(run_id) == RunState.SENT
        body = box.body(run_id)
        kept = box.readings(run_id)
    assert body is not None
    record = RunRecord.from_json(json.loads(body))
    assert record.header.job == job.number
    assert record.points == ()
    assert [(s.index, [r.quantity for r in s.readings]) for s in record.shared] == [
        (0, ["T1", "T2"]),
        (1, ["T1", "T2"]),
        (2, ["T1", "T2"]),
    ]
    assert [(p.instrument.serial, p.state, p.verdict) for p in record.positions] == [
        ("WM-0001", "measured", "pass"),
        ("WM-0002", "measured", "fail"),
        ("WM-0003", "measured", "pass"),
        ("WM-0004", "skipped", None),
    ]
    assert record.positions[3].reason == "not mounted"
    assert [p.instrument.parameters for p in record.positions[:3]] == [
        {"accuracy_class": 2, "q3": 4.0, "ratio": 160.0}
    ] * 3
    # every reading kept was sent once, at its place: shared or its position's
    sent: list[tuple[int | None, int, str | None]] = [
        (None, s.index, r.quantity) for s in record.shared for r in s.readings
    ]
    sent += [
        (p.position, point.index, r.quantity)
        for p in record.positions
        for point in p.points
        for r in point.readings
    ]
    assert sorted(sent, key=str) == sorted(
        ((r["position"], r["point_index"], r["quantity"]) for r in kept), key=str
    )

    # The LIMS stored the run with its four positions and agrees with the bench.
    stored = Run.objects.get(pk=run_id)
    assert stored.job_id == job.pk
    assert stored.disagreements == 0
    rows = {p.number: p for p in RunPosition.objects.filter(run=stored)}
    assert sorted(rows) == [1, 2, 3, 4]
    for position in record.positions:
        row = rows[position.position]
        assert (row.serial, row.state) == (position.instrument.serial, position.state)
        points = {p.index: p for p in Point.objects.filter(position=row)}
        assert sorted(points) == [p.index for p in position.points]
        for sent_point in position.points:
            point = points[sent_point.index]
            assert point.disagreement == []
            assert point.server_conformity == point.agent_conformity == sent_point.conformity
            assert point.server_result["value"] == pytest.approx(sent_point.result.value, rel=1e-9)
    assert rows[2].server_conformity == "fail"
    assert rows[4].reason == "not mounted"


def test_field_work_offline_on_a_bench_with_positions_then_one_sync(
    flow_bench: FlowBench, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--procedure ID --instrument SERIAL`` with no LIMS: the jobs of every position's
    meter from the cache of the last sync; the run queued, then sent by ``sync``."""
    from labserver.measurements.models import Run, RunPosition

    online = flow_bench.bench_file(tmp_path / "bench", SERIALS[:3])
    assert main(["sync", "--bench", str(online), "--once"]) == 0
    # the four meters' jobs and the center's voltmeter job, all on this bench
    assert "cached for offline work: 5 job(s)" in capsys.readouterr().out
    offline = flow_bench.bench_file(tmp_path / "bench", SERIALS[:3], url=closed_port_url())
    status = run(
        offline,
        "--procedure",
        "water-meter-r49",
        "--instrument",
        "WM-0002",
        "--simulate",
        "--operator",
        flow_bench.metrologist.username,
    )
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "offline: job list cached " in out.out
    assert "not sent (offline)" in out.out
    with Outbox(tmp_path / "bench" / "outbox.sqlite3") as box:
        (entry,) = box.status().runs
        assert entry.state == "queued"
        payload = json.loads(box.body(entry.run_id) or b"{}")
    assert payload["job"] == flow_bench.jobs["WM-0002"].number
    assert [p["instrument"]["serial"] for p in payload["positions"]] == SERIALS[:3]
    # back where the LIMS answers: one sync sends it
    online = flow_bench.bench_file(tmp_path / "bench", SERIALS[:3])
    assert main(["sync", "--bench", str(online), "--once"]) == 0
    stored = Run.objects.get(pk=entry.run_id)
    assert stored.disagreements == 0
    assert RunPosition.objects.filter(run=stored, state="measured").count() == 3
