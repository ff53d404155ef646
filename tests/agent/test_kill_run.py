"""Kill tests of the real command: ``caltrace-agent run --simulate`` SIGKILLed at seeded
random instants (fetching the job, opening the bench, mid-point, between points, while
completing, while sending), then the operator goes on with ``--resume`` and ``sync``.

Afterwards every reading the run showed is in the outbox, none was sent with an
unfinished run, and the LIMS holds the run once with each of its kept readings once.
(``test_kill.py`` makes 50 lighter trials of the outbox and of sync; these trials kill
the whole agent: LIMS client, drivers, simulators, runner and outbox together.)
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from agent.outbox import Outbox, RunState
from tests.support.agent import (
    ROLES,
    Lims,
    RunKiller,
    ServerIdle,
    assert_lims_agrees,
    kill_trials,
    lims_readings,
    write_bench,
)

pytestmark = pytest.mark.django_db(transaction=True)

TRIALS = 10
SHOWN = re.compile(r"^\s+x (\d+)/5: ")


def test_the_run_command_killed_at_random_instants_loses_and_duplicates_nothing(
    dcv: Lims,
    tmp_path: Path,
    server_idle: ServerIdle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from labserver.measurements.models import Run

    killer = RunKiller(random.Random(20261122))
    operator = dcv.center.metrologist.username
    stages: list[str] = []
    for trial in kill_trials(stages, TRIALS):
        job = dcv.new_job()
        bench = write_bench(tmp_path / f"bench-{trial}", dcv, roles=ROLES)
        argv = ["run", "--bench", str(bench), "--job", job.number]
        argv += ["--simulate", "--seed", str(trial), "--operator", operator]
        done = killer.trial(argv, bench.parent / "outbox.sqlite3", SHOWN)
        server_idle.wait()  # a request the child made has finished on the server
        if done.run_id is None:
            stages.append("before the run")
            continue
        run_id, kept = done.run_id, done.kept or []
        stages.append(killer.finish(bench, done))
        capsys.readouterr()
        with Outbox(bench.parent / "outbox.sqlite3") as box:
            assert box.state(run_id) == RunState.SENT
            body = box.body(run_id)
            sent_ids = [r["id"] for r in box.readings(run_id) if not r["discarded"]]
            # the readings taken before the kill are all still there
            assert {r["id"] for r in kept} <= {r["id"] for r in box.readings(run_id)}
        assert body is not None
        assert_lims_agrees(run_id, body)
        assert len(lims_readings(run_id)) == len(sent_ids) == 50
        assert Run.objects.filter(pk=run_id).count() == 1
        assert len(json.loads(body)["points"]) == 10
    # the seeded instants reach the run itself, not only the start-up
    assert sum(1 for s in stages if s.startswith("incomplete")) >= 2, stages
