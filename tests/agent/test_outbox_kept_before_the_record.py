"""Outboxes written before the run record existed: read as they are, sent as the same bytes.

``data/kept-before-the-record/`` holds what the agent of commit 3719b25 (the last before
``procedures/record/``) kept in its outbox for two runs on the simulated benches of
``tests/procedures`` (pressure-gauge-r101, with its hysteresis checks; thermometer-bath,
with its generalized correction line): the header, each finished point and its readings
as the texts in the outbox's tables, the checks and curves its runner gave, and the
SHA-256 and length of the payload it assembled from them (its raw I/O left out). Agents in
the field keep such files; the LIMS checks the signature over the exact bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from agent.outbox import Outbox, RunState
from procedures.record import Check, Curve, Point, Reading, RunHeader, RunRecord
from tests.support.kept_outbox import RUNS, derived, kept, left_by_the_earlier_agent


def compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("name", RUNS)
def test_a_run_kept_before_the_record_is_sent_as_the_same_bytes(tmp_path: Path, name: str) -> None:
    run = kept(name)
    path = tmp_path / "outbox.sqlite3"
    left_by_the_earlier_agent(path, run)
    with Outbox(path) as box:
        body = box.complete(run["run_id"], run["finished_at"], **derived(run))
        assert box.state(run["run_id"]) == RunState.QUEUED
    assert len(body) == run["body_bytes"]
    assert hashlib.sha256(body).hexdigest() == run["body_sha256"]
    payload = json.loads(body)
    assert RunRecord.from_json(payload).to_json() == payload


@pytest.mark.parametrize("name", RUNS)
def test_the_record_writes_each_kept_part_as_the_earlier_agent_wrote_it(name: str) -> None:
    """The runner writes its parts through the record: each is the same text as before."""
    run = kept(name)
    assert compact(RunHeader.from_json(json.loads(run["header"])).to_json()) == run["header"]
    for i, point in enumerate(run["points"]):
        text = point["point"]
        read = Point.from_json(json.loads(text), f"points[{i}]", readings=False)
        assert compact(read.to_json(readings=False)) == text
        for _, reading in point["readings"]:
            assert compact(Reading.from_json(json.loads(reading)).to_json()) == reading
    assert [Check.from_json(c).to_json() for c in run["checks"]] == run["checks"]
    for test_id, curve in run["curves"].items():
        assert compact(Curve.from_json(curve).to_json()) == compact(curve), test_id
