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
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.outbox import Outbox, RunState
from tests.support.agent import (
    ROLES,
    Child,
    Lims,
    ServerIdle,
    assert_lims_agrees,
    kill_at,
    lims_readings,
    write_bench,
)

pytestmark = pytest.mark.django_db(transaction=True)

TRIALS = 10
RUN_CHILD = (
    "import sys\n"
    "from agent.cli import main\n"
    "print('READY', flush=True)\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
SHOWN = re.compile(r"^\s+x (\d+)/5: ")


def test_the_run_command_killed_at_random_instants_loses_and_duplicates_nothing(
    dcv: Lims,
    tmp_path: Path,
    server_idle: ServerIdle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from labserver.measurements.models import Run

    rng = random.Random(20261122)
    operator = dcv.center.metrologist.username
    longest = 0.0
    stages: list[str] = []
    for trial in range(TRIALS):
        job = dcv.new_job()
        bench = write_bench(tmp_path / f"bench-{trial}", dcv, roles=ROLES)
        argv = ["-c", RUN_CHILD, "run", "--bench", str(bench), "--job", job.number]
        argv += ["--simulate", "--seed", str(trial), "--operator", operator]
        with Child(argv) as child:
            child.wait_ready(60)
            started = time.monotonic()
            if trial == 0:  # the first is not killed: how long a whole run takes here
                assert child.finish(120) == 0, child.stderr
                longest = time.monotonic() - started
                killed = False
            else:
                killed = kill_at(child, rng.uniform(0.0, longest))
                child.finish(60)
                if not killed:  # it ended first: on a loaded machine the first run was slow;
                    # the window follows the fastest whole run seen
                    longest = min(longest, time.monotonic() - started)
        server_idle.wait()  # a request the child made has finished on the server
        shown = sum(1 for line in child.lines if SHOWN.match(line))
        with Outbox(bench.parent / "outbox.sqlite3") as box:
            box.recover()
            runs = box.status().runs
            if not runs:  # killed before the run started: nothing was measured
                assert shown == 0
                stages.append("before the run")
                continue
            (entry,) = runs
            run_id = entry.run_id
            kept = box.readings(run_id)
            assert shown <= len(kept)  # every reading shown was committed first
            state = box.state(run_id)
        stages.append(f"{state.value} after {shown} readings" if killed else "not killed")
        if state == RunState.INCOMPLETE:
            assert not Run.objects.filter(pk=run_id).exists()  # never sent unfinished
            assert main(["run", "--bench", str(bench), "--resume", run_id, "--simulate"]) == 0
        elif state != RunState.SENT:
            assert state == RunState.QUEUED
            assert main(["sync", "--bench", str(bench)]) == 0
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
