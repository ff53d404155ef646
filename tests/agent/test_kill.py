"""Kill tests: the agent is SIGKILLed at seeded random instants of a run and of a sync.

Afterwards the outbox and the LIMS together hold every reading exactly once: every
reading the child acknowledged is in the outbox once; an interrupted run is incomplete,
resumed and completed; the LIMS holds each completed run once with each of its readings
once; no completed run misses a reading. 30 trials kill a run, 20 kill a sync.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.outbox import INTERRUPTED, RESTARTED, Outbox, RunState, UnknownRun
from agent.sync import sync
from tests.support.agent import (
    RUN_CHILD,
    SYNC_CHILD,
    Child,
    Lims,
    ServerIdle,
    acked_ids,
    header_of,
    kill_at,
    lims_readings,
    lims_runs,
    record_run,
    split_point,
    write_bench,
)

RUN_TRIALS = 10  # per seed below: 3 × 10
SYNC_TRIALS = 10  # per seed below: 2 × 10
POINTS, READINGS = 3, 4
PACE_S = 0.003
# The first trial of each test is not killed: it measures how long the child works after
# READY on this machine; the others are killed at uniform(0, 1.1 × the shortest such time
# seen so far), so that most are killed mid-way, at every stage, and a few end on their own.
SPREAD = 1.1


def no_sleep(seconds: float) -> None:
    pass


def finish_in_parent(box: Outbox, run_id: str, payload: dict[str, Any]) -> None:
    """What the operator does after a crash: resume the incomplete run and finish it."""
    state = box.resume(run_id)
    for point in payload["points"]:
        fields, readings = split_point(point)
        if fields["index"] in state.completed_points:
            continue
        ids = [
            box.add_reading(
                run_id, point_index=fields["index"], quantity=fields["readings_quantity"], reading=r
            )
            for r in readings
        ]
        box.add_point(run_id, fields, ids)
    box.add_io(run_id, payload["raw_io"])
    box.complete(run_id, payload["finished_at"])


def assert_lims_holds_once(payload: dict[str, Any]) -> None:
    """The LIMS holds the run once and each of its readings once, as measured."""
    run_id = payload["run_id"]
    assert list(lims_runs([run_id])) == [run_id]
    expected = [
        (p["index"], j, r["value"]) for p in payload["points"] for j, r in enumerate(p["readings"])
    ]
    assert [(p, j, v) for p, j, v, _ in lims_readings(run_id)] == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_run_killed_at_any_instant_keeps_every_acknowledged_reading(
    lims: Lims, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    path = tmp_path / "outbox.sqlite3"
    payloads = []
    killed = 0
    window_s = 0.0
    for trial in range(RUN_TRIALS):
        payload = lims.payload(points=POINTS, readings=READINGS)
        payloads.append(payload)
        spec = tmp_path / f"spec-{trial}.json"
        spec.write_text(
            json.dumps(
                {
                    "header": header_of(payload, trial=trial),
                    "points": payload["points"],
                    "raw_io": payload["raw_io"],
                    "finished_at": payload["finished_at"],
                    "pace_s": PACE_S,
                }
            )
        )
        with Child(["-c", RUN_CHILD, str(path), str(spec)]) as child:
            child.wait_ready()
            started = time.monotonic()
            if trial:
                killed += kill_at(child, rng.uniform(0, window_s))
            status = child.finish()
            if status == 0:  # ended on its own: the window follows the fastest such child
                window_s = SPREAD * min(time.monotonic() - started, window_s or float("inf"))
        acked = acked_ids(child.lines)
        assert status in (0, -9), child.stderr

        run_id = payload["run_id"]
        with Outbox(path) as box:
            interrupted = box.recover()
            try:
                state = box.state(run_id)
            except UnknownRun:
                assert acked == []  # killed before the run was started
                record_run(box, payload)
                continue
            kept = {r["id"]: r for r in box.readings(run_id)}
            assert set(acked) <= set(kept)  # every acknowledged reading, once (ids are unique)
            completed = "complete" in child.lines
            if state == RunState.QUEUED:
                assert interrupted == []
            else:
                assert not completed
                assert interrupted == [run_id]
                assert box.status().runs[-1].last_error == INTERRUPTED
                finish_in_parent(box, run_id, payload)
            sent = json.loads(box.body(run_id) or b"{}")
            assert [p["readings"] for p in sent["points"]] == [
                [{**r, "quantity": "x"} for r in p["readings"]] for p in payload["points"]
            ]
            # a reading is either in the payload once or kept as discarded evidence
            final = box.readings(run_id)
            payload_ids = [r["id"] for r in final if not r["discarded"]]
            assert len(payload_ids) == POINTS * READINGS
            for r in final:
                if r["discarded"]:
                    assert r["discard_reason"] == RESTARTED
            readings_by_key = Counter(
                (r["point_index"], r["reading"]["timestamp"]) for r in final if not r["discarded"]
            )
            assert max(readings_by_key.values()) == 1

    assert killed >= (RUN_TRIALS - 1) // 3  # many trials were killed mid-run
    with Outbox(path) as box:
        report = sync(box, lims.client(), sleep=no_sleep)
        assert report.stopped is None
        assert box.status().counts["sent"] == RUN_TRIALS
    for payload in payloads:
        assert_lims_holds_once(payload)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_sync_killed_at_any_instant_loses_and_duplicates_nothing(
    lims: Lims, tmp_path: Path, server_idle: ServerIdle, seed: int
) -> None:
    rng = random.Random(seed)
    payloads: list[dict[str, Any]] = []
    killed = 0
    window_s = 0.0
    for trial in range(SYNC_TRIALS):
        directory = tmp_path / f"trial-{trial}"
        bench = write_bench(directory, lims)
        batch = [lims.payload(points=2, readings=3) for _ in range(3)]
        payloads += batch
        with Outbox(directory / "outbox.sqlite3") as box:
            for payload in batch:
                record_run(box, payload)
        with Child(["-c", SYNC_CHILD, str(bench)]) as child:
            child.wait_ready()
            started = time.monotonic()
            if trial:
                killed += kill_at(child, rng.uniform(0, window_s))
            status = child.finish()
            if status == 0:  # ended on its own: the window follows the fastest such child
                window_s = SPREAD * min(time.monotonic() - started, window_s or float("inf"))
        assert status in (0, -9), child.stderr
        server_idle.wait()  # a killed client's request finishes on the server first
        with Outbox(directory / "outbox.sqlite3") as box:
            assert box.recover() == []
            states = {box.state(p["run_id"]) for p in batch}
            assert states <= {RunState.QUEUED, RunState.SENT}
            report = sync(box, lims.client(), sleep=no_sleep)
            assert report.stopped is None
            assert {box.state(p["run_id"]) for p in batch} == {RunState.SENT}
            assert box.due(datetime.now(UTC) + timedelta(days=365)) == []

    assert killed >= (SYNC_TRIALS - 1) // 3
    for payload in payloads:
        assert_lims_holds_once(payload)
