"""The demo's bench with positions (``make demo``'s ``bench-flow-4``): four registered water
meters, each with its own job on the bench, in series against the reference meter. Its
bench file, as the demo writes it, runs through ``caltrace-agent run --job <any of its
meters' jobs> --simulate`` against the demo data in a live LIMS; the LIMS stores the run
with its four positions and agrees with the bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.config import load_bench

pytestmark = pytest.mark.django_db(transaction=True)

METERS = ["ITR-20-100101", "ITR-20-100102", "ITR-20-100103", "ITR-20-100104"]


def test_the_demo_s_multi_meter_bench_runs_through_the_agent(
    live_server: Any, tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.jobs.models import Job
    from labserver.measurements.models import Run, RunPosition
    from scenarios.demo import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    summary = load_demo(tmp_path / "demo")
    assert [(org, name) for org, name, _ in summary.position_benches] == [("HN", "bench-flow-4")]
    ((_, _, path),) = summary.position_benches
    path.write_text(path.read_text().replace("http://127.0.0.1:8000", live_server.url))
    config = load_bench(path)
    assert [p.serial for _, p in sorted(config.positions.items())] == METERS
    # each meter has its own job on the bench, listed for the newcomer
    jobs = {j.instrument.serial: j for j in Job.objects.filter(bench__name="bench-flow-4")}
    assert sorted(jobs) == METERS
    assert all(j.state == "scheduled" for j in jobs.values())
    assert next(line for line in summary.jobs if "bench-flow-4" in line).endswith(
        "meter ITR-20-100101"
    )

    job = jobs["ITR-20-100103"]
    status = main(["run", "--bench", str(path), "--job", job.number, "--simulate", "--seed", "2"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "sent (HTTP 201)" in out.out
    run = Run.objects.get(job=job)
    assert run.disagreements == 0
    positions = RunPosition.objects.filter(run=run).order_by("number")
    assert [(p.serial, p.state, p.server_conformity) for p in positions] == [
        ("ITR-20-100101", "measured", "pass"),
        ("ITR-20-100102", "measured", "fail"),
        ("ITR-20-100103", "measured", "pass"),
        ("ITR-20-100104", "measured", "pass"),
    ]
