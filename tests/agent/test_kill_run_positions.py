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
from pathlib import Path
from typing import Any

import pytest

from agent.outbox import Outbox, RunState
from procedures.record import RunRecord
from tests.support.agent import RunKiller, ServerIdle, kill_trials
from tests.support.flow_bench import HIGH_OPTIONS, FlowBench

pytestmark = pytest.mark.django_db(transaction=True)

TRIALS = 6
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

    killer = RunKiller(random.Random(20261206))
    operator = flow_bench.metrologist.username
    whole: dict[str, Any] | None = None
    stages: list[str] = []
    for trial in kill_trials(stages, TRIALS):
        flow_bench.open_jobs()
        job = flow_bench.jobs["WM-0001"]
        bench = flow_bench.bench_file(
            tmp_path / f"bench-{trial}", SERIALS, options={2: HIGH_OPTIONS}
        )
        argv = ["run", "--bench", str(bench), "--job", job.number, "--skip", "4:not mounted"]
        argv += ["--simulate", "--seed", str(trial), "--operator", operator]
        done = killer.trial(argv, bench.parent / "outbox.sqlite3", SHOWN)
        server_idle.wait()
        if done.run_id is None:
            stages.append("before the run")
            continue
        run_id, kept = done.run_id, done.kept or []
        stages.append(killer.finish(bench, done))
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
