"""Kill tests of ``caltrace-agent run`` on a bench with positions: four water meters in
series (meter 4 left out, not mounted), the command SIGKILLed at seeded random instants,
then the operator goes on with ``--resume`` and ``sync``.

Afterwards each position holds exactly its readings (every point of the sequence with its
two register readings, the shared reference readings once per point: none duplicated,
none lost, as an uninterrupted run's), every reading the run showed is in the outbox,
the position left out stays out with its reason, nothing was sent unfinished, and the
LIMS holds the run once, agreeing with the bench position by position.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.outbox import Outbox, RunState
from procedures.record import RunRecord
from tests.support.agent import Child, ServerIdle, kill_at
from tests.support.flow_bench import HIGH_OPTIONS, FlowBench

pytestmark = pytest.mark.django_db(transaction=True)

TRIALS = 6
RUN_CHILD = (
    "import sys\n"
    "from agent.cli import main\n"
    "print('READY', flush=True)\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
SHOWN = re.compile(r"^\s+(P\d )?[TI][12] 1/1: ")
SERIALS = ["WM-0001", "WM-0002", "WM-0003", "WM-0004"]


def shape(record: RunRecord) -> dict[str, Any]:
    """What a run's readings are, without their values: the shared quantities by point,
    each position's state, reason and quantities by point."""
    return {
        "shared": [(s.index, [r.quantity for r in s.readings]) for s in record.shared],
        "positions": [
            (
                p.position,
                p.instrument.serial,
                p.state,
                p.reason,
                [(q.index, [r.quantity for r in q.readings]) for q in p.points],
            )
            for p in record.positions
        ],
    }


def test_the_run_on_a_bench_with_positions_killed_at_random_instants_resumes_exactly(
    flow_bench: FlowBench,
    tmp_path: Path,
    server_idle: ServerIdle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from labserver.measurements.models import Run, RunPosition

    rng = random.Random(20261206)
    operator = flow_bench.metrologist.username
    longest = 0.0
    whole: dict[str, Any] | None = None
    stages: list[str] = []
    for trial in range(TRIALS):
        flow_bench.open_jobs()
        job = flow_bench.jobs["WM-0001"]
        bench = flow_bench.bench_file(
            tmp_path / f"bench-{trial}", SERIALS, options={2: HIGH_OPTIONS}
        )
        argv = ["-c", RUN_CHILD, "run", "--bench", str(bench), "--job", job.number]
        argv += ["--simulate", "--seed", str(trial), "--operator", operator]
        argv += ["--skip", "4:not mounted"]
        with Child(argv) as child:
            child.wait_ready(60)
            started = time.monotonic()
            if trial == 0:  # not killed: the whole run, and how long it takes here
                assert child.finish(120) == 0, child.stderr
                longest = time.monotonic() - started
                killed = False
            else:
                killed = kill_at(child, rng.uniform(0.0, longest))
                child.finish(60)
                if not killed:
                    longest = min(longest, time.monotonic() - started)
        server_idle.wait()
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
            status = main(["run", "--bench", str(bench), "--resume", run_id, "--simulate"])
            assert status == 0, capsys.readouterr()
        elif state != RunState.SENT:
            assert state == RunState.QUEUED
            assert main(["sync", "--bench", str(bench)]) == 0
        capsys.readouterr()
        with Outbox(bench.parent / "outbox.sqlite3") as box:
            assert box.state(run_id) == RunState.SENT
            body = box.body(run_id)
            after = box.readings(run_id)
        assert body is not None
        # the readings taken before the kill are all still there; those sent are the
        # ones not set aside, each once
        assert {r["id"] for r in kept} <= {r["id"] for r in after}
        record = RunRecord.from_json(json.loads(body))
        sent = [r for s in record.shared for r in s.readings]
        sent += [r for p in record.positions for q in p.points for r in q.readings]
        assert len(sent) == len([r for r in after if not r["discarded"]]) == 24
        if whole is None:
            whole = shape(record)
        assert shape(record) == whole, stages[-1]
        stored = Run.objects.get(pk=run_id)
        assert stored.disagreements == 0
        assert Run.objects.filter(pk=run_id).count() == 1
        positions = RunPosition.objects.filter(run=stored).order_by("number")
        assert [(p.number, p.state, p.reason) for p in positions] == [
            (1, "measured", ""),
            (2, "measured", ""),
            (3, "measured", ""),
            (4, "skipped", "not mounted"),
        ]
    assert whole is not None
    assert [p[2:4] for p in whole["positions"]] == [
        ("measured", None),
        ("measured", None),
        ("measured", None),
        ("skipped", "not mounted"),
    ]
    assert all(p[4] == [(i, ["I1", "I2"]) for i in range(3)] for p in whole["positions"][:3])
    # the seeded instants reach the run itself, not only the start-up
    assert sum(1 for s in stages if s.startswith("incomplete")) >= 2, stages
