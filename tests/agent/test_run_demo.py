"""Each of the shipped procedures end to end through the agent: the demo data set
loaded into a live LIMS on loopback, then ``caltrace-agent run --job N --bench
<the demo's bench file> --simulate`` for each demo job: the job, procedure and standards
fetched from the LIMS, the simulated bench of the bench file, the runner, the durable
outbox, the signed submission; the LIMS re-evaluates every point, check and curve and
agrees with the agent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.config import load_bench
from agent.outbox import Outbox, RunState
from tests.support.agent import assert_lims_agrees, closed_port_url
from tests.support.demo import BENCHES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server: Any, tmp_path: Path, settings: Any) -> dict[str, Path]:
    """The demo data set in the live LIMS; its bench files pointed at the live LIMS."""
    from scenarios.demo import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    summary = load_demo(tmp_path / "demo")
    benches: dict[str, Path] = {}
    for org, name, path in summary.benches:
        if org != "HN":
            continue
        text = path.read_text(encoding="utf-8").replace("http://127.0.0.1:8000", live_server.url)
        path.write_text(text, encoding="utf-8")
        benches[name] = path
    return benches


@pytest.mark.parametrize("bench_name", list(BENCHES))
def test_each_demo_job_runs_through_the_agent_and_the_lims_agrees(
    demo: dict[str, Path], bench_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.jobs.models import Job
    from labserver.measurements.models import Run

    bench = demo[bench_name]
    config = load_bench(bench)
    job = Job.objects.get(bench__name=bench_name, state="scheduled")
    assert job.procedure.procedure_id == BENCHES[bench_name]
    status = main(["run", "--bench", str(bench), "--job", job.number, "--simulate", "--seed", "7"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "sent (HTTP 201)" in out.out
    # the display: counters over repeated loadings, every value in its point's unit
    if BENCHES[bench_name] == "nawi-r76":
        assert "  I 3/3: " in out.out
    if BENCHES[bench_name] == "pressure-gauge-r101":
        assert " Pa " not in out.out
        assert "  p_ref 5/5: " in out.out
    with Outbox(config.outbox) as box:
        (entry,) = box.status().runs
        assert box.state(entry.run_id) == RunState.SENT
        body = box.body(entry.run_id)
    assert body is not None
    assert_lims_agrees(entry.run_id, body)
    payload = json.loads(body)
    stored = Run.objects.get(pk=entry.run_id)
    assert stored.operator.username == "hn-metrologist"  # the job's assignee
    assert stored.server_checks == payload.get("checks", [])
    assert stored.server_curves == payload.get("curves", {})
    if BENCHES[bench_name] != "thermometer-bath":  # a calibration states no verdict
        assert stored.server_conformity == "pass"
    else:
        assert payload["curves"]  # the correction curve, fitted on the bench and again


def test_a_fuel_dispenser_is_verified_offline_at_the_station_then_synced(
    demo: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Field work: ``sync`` caches the bench's job, procedure and proving cans; at the
    filling station, with no network, ``run --procedure --instrument`` runs from the
    cache and queues the run; back online, ``sync`` sends it and the LIMS's evaluation
    of every point agrees with the agent's, verdicts included."""
    from labserver.measurements.models import Run

    bench = demo["bench-fuel"]
    online = bench.read_text(encoding="utf-8")
    assert main(["sync", "--bench", str(bench), "--once"]) == 0
    assert "cached for offline work: " in capsys.readouterr().out
    lims = load_bench(bench).lims
    bench.write_text(online.replace(lims, closed_port_url()), encoding="utf-8")
    status = main(
        ["run", "--bench", str(bench), "--procedure", "fuel-dispenser-r117",
         "--instrument", "TS-NZ-240517", "--simulate", "--seed", "7",
         "--operator", "hn-metrologist"]
    )  # fmt: skip
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "not sent (offline)" in out.out
    config = load_bench(bench)
    with Outbox(config.outbox) as box:
        (queued,) = box.status().runs
        assert box.state(queued.run_id) == RunState.QUEUED
    bench.write_text(online, encoding="utf-8")
    assert main(["sync", "--bench", str(bench)]) == 0
    assert "sent (HTTP 201)" in capsys.readouterr().out
    with Outbox(config.outbox) as box:
        assert box.state(queued.run_id) == RunState.SENT
        body = box.body(queued.run_id)
    assert body is not None
    assert_lims_agrees(queued.run_id, body)
    payload = json.loads(body)
    assert [(p["test"], p["nominal"]) for p in payload["points"]] == [
        ("flow-rates", 20.0),
        ("flow-rates", 20.0),
        ("mmq", 5.0),
    ]
    # MI-005 2.1 line A, class 0.5, at 20 L; 2.4 E_min = 2·5 L·0.5/100 = 0.05 L at the MMQ
    assert [p["acceptance"]["mpe"] for p in payload["points"]] == [0.5, 0.5, 1.0]
    stored = Run.objects.get(pk=queued.run_id)
    assert stored.server_conformity == "pass"
