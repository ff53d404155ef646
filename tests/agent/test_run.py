"""``caltrace-agent run`` end to end: a job from the live LIMS, run on the simulated bench
(the simulators on their real transports, the real drivers, the runner, the durable
outbox), signed, sent, and re-evaluated by the LIMS.

The procedure is dmm-dcv (10 points, 5 readings each); the center's calibrator has a
certificate with values at every nominal of the procedure, as a real one would have.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from agent.cli import main
from agent.outbox import Outbox, RunState
from tests.support.agent import ROLES, Lims, assert_lims_agrees, closed_port_url, write_bench
from tests.support.lims import DEFINITION, TODAY

pytestmark = pytest.mark.django_db(transaction=True)

NOMINALS = sorted({p.nominal for p in DEFINITION.points})


def run(bench: Path, *args: str) -> int:
    return main(["run", "--bench", str(bench), *args])


def outbox_of(bench: Path) -> Outbox:
    return Outbox(bench.parent / "outbox.sqlite3")


def test_a_job_runs_on_the_simulated_bench_and_the_lims_agrees(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = dcv.new_job()
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    operator = dcv.center.metrologist.username
    status = run(bench, "--job", job.number, "--simulate", "--seed", "3", "--operator", operator)
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "complete, 10 point(s), 50 reading(s)" in out.out
    assert "sent (HTTP 201)" in out.out
    # what the operator saw: every reading with its stability, every point with its verdict
    assert out.out.count(" 5/5: ") == 10
    assert "→ E = " in out.out
    with outbox_of(bench) as box:
        (run_id,) = [r.run_id for r in box.status().runs]
        assert box.state(run_id) == RunState.SENT
        body = box.body(run_id)
    assert body is not None
    assert_lims_agrees(run_id, body)
    payload = json.loads(body)
    assert payload["job"] == job.number
    assert payload["operator"] == operator
    assert payload["procedure"]["hash"] == DEFINITION.content_hash
    (usage,) = payload["standards"]
    assert usage["asset_id"] == dcv.center.standard.asset_id
    assert usage["function"] == "dcv"
    assert usage["range"] == [min(NOMINALS), max(NOMINALS)]
    # the simulated DMM reads 8 ppm + 3 µV high: the errors show it
    ten = next(p for p in payload["points"] if p["nominal"] == 10.0 and p["index"] == 5)
    assert ten["result"]["value"] == pytest.approx(10 * 8e-6 + 3e-6, abs=6e-6)
    assert ten["conformity"] == "pass"


def test_field_work_offline_from_the_cache_then_one_sync(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = dcv.new_job()
    online = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    assert main(["sync", "--bench", str(online), "--once"]) == 0
    assert "cached for offline work: " in capsys.readouterr().out
    offline = write_bench(tmp_path / "bench", dcv, roles=ROLES, url=closed_port_url())
    serial = dcv.center.instrument.serial
    operator = dcv.center.metrologist.username
    status = run(
        offline, "--procedure", "dmm-dcv", "--instrument", serial, "--simulate",
        "--operator", operator,
    )  # fmt: skip
    out = capsys.readouterr()
    # two accepted jobs of that instrument are cached (the center's own and this one)
    assert status == 4
    assert "several cached jobs match" in out.err
    status = run(offline, "--job", job.number, "--offline", "--simulate", "--operator", operator)
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "offline: job list cached " in out.out
    assert "not sent (offline)" in out.out
    with outbox_of(offline) as box:
        (queued,) = [r for r in box.status().runs if r.state == RunState.QUEUED]
    online = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    # without --once, sync sends every queued run
    assert main(["sync", "--bench", str(online)]) == 0
    assert "sent (HTTP 201)" in capsys.readouterr().out
    with outbox_of(online) as box:
        body = box.body(queued.run_id)
    assert body is not None
    assert_lims_agrees(queued.run_id, body)


def test_a_standard_out_of_tolerance_refuses_the_run_before_the_first_point(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.standards import services as standards

    c = dcv.center
    standards.mark_out_of_tolerance(
        actor=c.quality_manager,
        standard=c.standard,
        since=TODAY - timedelta(days=1),
        reason="drift found at the intermediate check",
    )
    job = dcv.new_job()
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    status = run(bench, "--job", job.number, "--simulate", "--operator", c.metrologist.username)
    out = capsys.readouterr()
    assert status == 4
    assert "refused before the first point" in out.err
    assert c.standard.asset_id in out.err
    assert "out of tolerance" in out.err
    with outbox_of(bench) as box:
        assert box.status().runs == []


def test_an_instrument_fault_mid_run_leaves_it_incomplete_and_resume_completes_it(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = dcv.new_job()
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    operator = dcv.center.metrologist.username
    # after 23 readings (4 points and 3 readings of the fifth) the DMM stops answering
    fault = ["--fault", "uut:timeout@23"]
    status = run(bench, "--job", job.number, "--simulate", "--operator", operator, *fault)
    out = capsys.readouterr()
    assert status == 1
    assert "incomplete: point 4: " in out.out
    assert "Timeout" in out.out or "timed out" in out.out
    with outbox_of(bench) as box:
        (entry,) = box.status().runs
        run_id = entry.run_id
        assert box.state(run_id) == RunState.INCOMPLETE
        kept = box.readings(run_id)
        assert len(kept) == 23  # every reading taken, none made up
        per_point = Counter(r["point_index"] for r in kept)
        assert per_point == {0: 5, 1: 5, 2: 5, 3: 5, 4: 3}
    from labserver.measurements.models import Run

    assert not Run.objects.filter(pk=run_id).exists()  # never sent as complete
    status = run(bench, "--resume", run_id, "--simulate")
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "4 point(s) kept, 3 reading(s) of unfinished points set aside" in out.out
    with outbox_of(bench) as box:
        assert box.state(run_id) == RunState.SENT
        body = box.body(run_id)
        discarded = [r for r in box.readings(run_id) if r["discarded"]]
    assert len(discarded) == 3
    assert body is not None
    assert_lims_agrees(run_id, body)
    assert len(json.loads(body)["points"]) == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--procedure", "dmm-dcv"], "--procedure needs --instrument"),
        (["--job", "X", "--fault", "uut:timeout"], "add --simulate"),
        (["--job", "X", "--simulate", "--fault", "dmm:timeout"], "a role of the bench"),
        (["--job", "X", "--simulate", "--fault", "uut:melted"], "unknown fault 'melted'"),
    ],
)
def test_usage_mistakes_are_named(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    assert run(bench, *args, "--offline") == 2
    assert message in capsys.readouterr().err
