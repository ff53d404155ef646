"""The outbox on its own: transitions, payload assembly, durability, nothing deleted."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import agent.outbox
from agent.outbox import (
    INTERRUPTED,
    RESTARTED,
    SCHEMA_VERSION,
    InvalidRecord,
    InvalidState,
    Outbox,
    OutboxError,
    Outcome,
    RunState,
    UnknownRun,
)
from procedures.bench import StandardRecord
from tests.support.agent import header_of, offline_payload, record_run, split_point

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def expected_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What the outbox sends for ``payload``: every reading carries its quantity."""
    out: dict[str, Any] = json.loads(json.dumps(payload))
    for point in out["points"]:
        for reading in point["readings"]:
            reading["quantity"] = point["readings_quantity"]
    return out


def start(box: Outbox, payload: dict[str, Any]) -> str:
    return box.start_run(header_of(payload, procedure_file="procedure: dmm-dcv"))


def take(box: Outbox, run_id: str, point: dict[str, Any], n: int | None = None) -> list[int]:
    fields, readings = split_point(point)
    return [
        box.add_reading(
            run_id, point_index=fields["index"], quantity=fields["readings_quantity"], reading=r
        )
        for r in readings[:n]
    ]


def test_the_database_is_wal_with_full_sync_and_a_versioned_schema(outbox: Outbox) -> None:
    conn = sqlite3.connect(outbox.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    assert outbox._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_it_refuses_an_outbox_written_by_a_newer_agent(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(OutboxError, match="newer than this agent"):
        Outbox(path)


def test_a_completed_run_is_the_payload_serialised_once_with_quantities(outbox: Outbox) -> None:
    payload = offline_payload(points=3, readings=4)
    run_id = record_run(outbox, payload)
    body = outbox.body(run_id)
    assert body is not None
    assert json.loads(body) == expected_payload(payload)
    compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    assert body == compact.encode("utf-8")
    assert list(json.loads(body)) == [
        "run_id",
        "job",
        "procedure",
        "operator",
        "software_version",
        "started_at",
        "finished_at",
        "environment",
        "standards",
        "points",
        "raw_io",
    ]
    assert outbox.state(run_id) == RunState.QUEUED
    [queued] = outbox.due(NOW)
    assert queued.body == body
    assert queued.attempts == 0


def test_the_context_is_kept_beside_the_run_and_never_sent(outbox: Outbox) -> None:
    payload = offline_payload(points=1)
    run_id = start(outbox, payload)
    outbox.mark_incomplete(run_id, "instrument fault")
    state = outbox.resume(run_id)
    assert state.context == {"procedure_file": "procedure: dmm-dcv"}
    assert state.header == header_of(payload)
    take(outbox, run_id, payload["points"][0])
    fields, _ = split_point(payload["points"][0])
    outbox.add_point(run_id, fields, [r["id"] for r in outbox.readings(run_id)])
    body = outbox.complete(run_id, NOW)
    assert b"procedure_file" not in body
    assert json.loads(body)["finished_at"] == NOW.isoformat()


def test_reading_ids_increase_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    payload = offline_payload(points=2, readings=3)
    with Outbox(path) as box:
        run_id = start(box, payload)
        first = take(box, run_id, payload["points"][0])
    with Outbox(path) as box:
        assert box.recover() == [run_id]
        assert box.state(run_id) == RunState.INCOMPLETE
        assert [r["id"] for r in box.readings(run_id)] == first
        box.resume(run_id)
        second = take(box, run_id, payload["points"][1])
    assert first == sorted(first)
    assert min(second) > max(first)


def test_a_run_found_running_by_a_new_process_is_incomplete_and_never_due(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    payload = offline_payload(points=1)
    with Outbox(path) as box:
        run_id = start(box, payload)
        take(box, run_id, payload["points"][0])
    with Outbox(path) as box:
        assert box.due(NOW + timedelta(days=30)) == []
        box.recover()
        report = box.status()
        [row] = report.runs
        assert (row.state, row.last_error, row.readings) == ("incomplete", INTERRUPTED, 5)
        with pytest.raises(InvalidState, match="is incomplete: cannot complete"):
            box.complete(run_id, NOW)
        with pytest.raises(InvalidState, match="is incomplete: cannot add a reading"):
            take(box, run_id, payload["points"][0])


def test_resume_discards_the_readings_of_an_unfinished_point_and_keeps_them(
    outbox: Outbox,
) -> None:
    payload = offline_payload(points=3, readings=4)
    run_id = start(outbox, payload)
    done = take(outbox, run_id, payload["points"][0])
    outbox.add_point(run_id, split_point(payload["points"][0])[0], done)
    partial = take(outbox, run_id, payload["points"][1], n=2)
    outbox.mark_incomplete(run_id, "instrument fault: timeout")
    state = outbox.resume(run_id)
    assert state.completed_points == [0]
    assert state.discarded_readings == 2
    kept = {r["id"]: r for r in outbox.readings(run_id)}
    assert all(kept[i]["discarded"] and kept[i]["discard_reason"] == RESTARTED for i in partial)
    assert not any(kept[i]["discarded"] for i in done)
    # point 1 measured again, then point 2
    for point in payload["points"][1:]:
        outbox.add_point(run_id, split_point(point)[0], take(outbox, run_id, point))
    body = json.loads(outbox.complete(run_id, payload["finished_at"]))
    assert body == expected_payload({**payload, "raw_io": []})
    assert len(outbox.readings(run_id)) == 4 * 3 + 2  # the discarded two are still there


def test_a_point_recorded_twice_is_refused(outbox: Outbox) -> None:
    payload = offline_payload(points=1, readings=4)
    run_id = start(outbox, payload)
    fields, _ = split_point(payload["points"][0])
    ids = take(outbox, run_id, payload["points"][0])
    outbox.add_point(run_id, fields, ids[:2])
    with pytest.raises(InvalidRecord, match=r"point 0 of run .* is already recorded"):
        outbox.add_point(run_id, fields, ids[2:])
    with pytest.raises(InvalidRecord, match="already recorded"):
        take(outbox, run_id, payload["points"][0], n=1)


def test_a_point_takes_only_its_own_unused_readings(outbox: Outbox) -> None:
    payload = offline_payload(points=2, readings=2)
    run_id = start(outbox, payload)
    other = start(outbox, offline_payload(points=1, readings=2))
    p0 = take(outbox, run_id, payload["points"][0])
    p1 = take(outbox, run_id, payload["points"][1])
    foreign = take(outbox, other, payload["points"][0])
    fields0 = split_point(payload["points"][0])[0]
    with pytest.raises(InvalidRecord, match="was taken for point 1, not 0"):
        outbox.add_point(run_id, fields0, p1)
    with pytest.raises(InvalidRecord, match=f"is not of run {run_id}"):
        outbox.add_point(run_id, fields0, foreign)
    with pytest.raises(InvalidRecord, match="at least one reading"):
        outbox.add_point(run_id, fields0, [])
    with pytest.raises(InvalidRecord, match="readings are kept one by one"):
        outbox.add_point(run_id, payload["points"][0], p0)


def test_it_refuses_readings_it_cannot_keep_as_given(outbox: Outbox) -> None:
    run_id = start(outbox, offline_payload(points=1))
    good = {"value": 1.0, "unit": "V", "timestamp": "2026-11-22T08:00:00+00:00"}
    for bad, field in [
        ({**good, "value": float("nan")}, "reading.value"),
        ({**good, "value": True}, "reading.value"),
        ({k: v for k, v in good.items() if k != "unit"}, "reading.unit"),
        ({**good, "quantity": "x"}, "reading.quantity"),
    ]:
        with pytest.raises(InvalidRecord) as err:
            outbox.add_reading(run_id, point_index=0, quantity="x", reading=bad)
        assert err.value.field == field
    with pytest.raises(UnknownRun):
        outbox.add_reading("no-such-run", point_index=0, quantity="x", reading=good)
    assert outbox.readings(run_id) == []


def test_the_header_is_checked(outbox: Outbox) -> None:
    payload = offline_payload()
    with pytest.raises(InvalidRecord, match="points: not a field"):
        outbox.start_run({**header_of(payload), "points": []})
    with pytest.raises(InvalidRecord, match="operator: missing"):
        outbox.start_run({k: v for k, v in header_of(payload).items() if k != "operator"})
    with pytest.raises(InvalidRecord, match="run_id: not a UUID"):
        outbox.start_run({**header_of(payload), "run_id": "7"})
    run_id = outbox.start_run(header_of(payload))
    with pytest.raises(InvalidRecord, match="already in the outbox"):
        outbox.start_run(header_of(payload))
    made = outbox.start_run({k: v for k, v in header_of(payload).items() if k != "run_id"})
    assert made != run_id


def test_an_abandoned_run_is_kept_and_never_completed_nor_sent(outbox: Outbox) -> None:
    payload = offline_payload(points=1)
    run_id = start(outbox, payload)
    take(outbox, run_id, payload["points"][0])
    outbox.abandon(run_id, "the UUT is broken")
    with pytest.raises(InvalidState) as err:
        outbox.complete(run_id, NOW)
    assert (err.value.run_id, err.value.state) == (run_id, "abandoned")
    assert str(err.value) == f"run {run_id} is abandoned: cannot complete"
    with pytest.raises(InvalidState):
        outbox.resume(run_id)
    assert outbox.due(NOW) == []
    [row] = outbox.status().runs
    assert (row.state, row.last_error, row.readings) == ("abandoned", "the UUT is broken", 5)


def test_a_run_without_a_finished_point_cannot_be_completed(outbox: Outbox) -> None:
    payload = offline_payload(points=1)
    run_id = start(outbox, payload)
    take(outbox, run_id, payload["points"][0])
    with pytest.raises(InvalidRecord, match="no finished point"):
        outbox.complete(run_id, NOW)
    assert outbox.state(run_id) == RunState.RUNNING
    with pytest.raises(InvalidRecord, match="finished_at: must carry a UTC offset"):
        outbox.complete(run_id, datetime(2026, 11, 22, 9, 0))


def test_attempts_move_a_queued_run_to_sent_or_rejected_or_keep_it_queued(
    outbox: Outbox,
) -> None:
    a, b, c = (record_run(outbox, offline_payload(points=1)) for _ in range(3))
    later = NOW + timedelta(minutes=5)
    outbox.record_attempt(
        a, outcome=Outcome.RETRY, status=503, reason="HTTP 503", next_attempt_at=later
    )
    assert [q.run_id for q in outbox.due(NOW)] == [b, c]
    assert [q.run_id for q in outbox.due(later)] == [a, b, c]
    outbox.record_attempt(
        a, outcome="sent", status=201, response={"run_id": a, "state": "submitted"}
    )
    refusal = {"code": "invalid_evidence", "detail": "procedure: wrong", "field": "procedure"}
    outbox.record_attempt(b, outcome=Outcome.REJECTED, status=422, reason="wrong", response=refusal)
    with pytest.raises(InvalidState, match="is sent: cannot record a sent attempt"):
        outbox.record_attempt(a, outcome="sent", status=200, response={})
    report = outbox.status()
    assert report.counts["sent"] == 1
    assert report.counts["rejected"] == 1
    assert report.counts["queued"] == 1
    rows = {r.run_id: r for r in report.runs}
    assert rows[a].attempts == 2
    assert rows[a].last_error is None
    assert rows[b].rejection == refusal
    assert rows[b].last_status == 422
    assert [q.run_id for q in outbox.due(later)] == [c]


def test_standards_and_jobs_are_cached_for_field_work(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    record = StandardRecord(
        {"asset_id": "HN-CAL-01", "functions": [{"function": "dcv"}]},
        ({"number": "C-1", "due_on": "2027-01-01", "values": []},),
    )
    with Outbox(path) as box:
        box.cache_standards([record], fetched_at=NOW)
        box.cache_standards([record], fetched_at=NOW + timedelta(hours=1))
        box.cache_job({"number": "HN-2026-0001", "state": "accepted"})
    with Outbox(path) as box:
        assert box.cached_standards(["HN-CAL-01", "HN-CAL-99"]) == {"HN-CAL-01": record}
        assert box.standards_fetched_at("HN-CAL-01") == NOW + timedelta(hours=1)
        assert box.cached_job("HN-2026-0001") == {"number": "HN-2026-0001", "state": "accepted"}
        assert box.cached_job("nope") is None


def test_the_module_never_deletes() -> None:
    source = Path(agent.outbox.__file__).read_text(encoding="utf-8")
    assert "DELETE" not in source.upper().replace("DELETED", "")
    assert "DROP " not in source.upper()


def test_a_running_run_of_a_live_process_is_not_taken_for_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    payload = offline_payload(points=1)
    with Outbox(path) as running, Outbox(path) as status_cmd:
        run_id = start(running, payload)
        assert status_cmd.recover() == []  # the run's process holds its lock
        assert status_cmd.state(run_id) == RunState.RUNNING
        take(running, run_id, payload["points"][0])


# -- checks and curves: results derived from the points, carried at completion ----------------

CHECK = {
    "check": "repeatability",
    "test": "repeatability",
    "rule": "OIML R 76-1:2006 3.6.1",
    "value": "0.5",
    "limit": "5",
    "unit": "g",
    "passed": True,
    "at": "7500",
    "at_unit": "g",
    "points": [0],
}
CURVE = {"test": "dcv", "fit": "line", "coefficients": [0.1, 2e-6], "chi_square": None}


def test_checks_and_curves_go_in_the_payload_after_the_points(outbox: Outbox) -> None:
    payload = offline_payload(points=2)
    run_id = record_run(outbox, payload, complete=False)
    body = outbox.complete(run_id, NOW, checks=[CHECK], curves={"dcv": CURVE})
    sent = json.loads(body)
    assert sent["checks"] == [CHECK]
    assert sent["curves"] == {"dcv": CURVE}
    keys = list(sent)
    assert keys.index("points") < keys.index("checks") < keys.index("curves") < keys.index("raw_io")
    assert outbox.body(run_id) == body


def test_a_run_without_checks_or_curves_sends_neither(outbox: Outbox) -> None:
    run_id = record_run(outbox, offline_payload(points=1), complete=False)
    sent = json.loads(outbox.complete(run_id, NOW, checks=(), curves={}))
    assert "checks" not in sent
    assert "curves" not in sent


@pytest.mark.parametrize(
    ("checks", "curves", "field"),
    [
        ([{**CHECK, "value": float("nan")}], None, "checks"),
        (["repeatability"], None, "checks[0]"),
        ({"repeatability": CHECK}, None, "checks"),
        ((), {"dcv": {**CURVE, "residual_sd": float("inf")}}, "curves"),
        ((), {"dcv": [0.1, 2e-6]}, "curves.dcv"),
        ((), {"dcv": {**CURVE, "at": object()}}, "curves"),
    ],
)
def test_it_refuses_checks_or_curves_that_json_cannot_carry(
    outbox: Outbox, checks: Any, curves: Any, field: str
) -> None:
    run_id = record_run(outbox, offline_payload(points=1), complete=False)
    with pytest.raises(InvalidRecord) as caught:
        outbox.complete(run_id, NOW, checks=checks, curves=curves)
    assert caught.value.field == field
    assert outbox.state(run_id) == RunState.RUNNING  # nothing was queued


def test_resume_hands_back_the_kept_points_for_the_runner(outbox: Outbox) -> None:
    payload = offline_payload(points=3, readings=2)
    run_id = start(outbox, payload)
    recorder = outbox.recorder(run_id)
    for point in payload["points"][:2]:
        fields, readings = split_point(point)
        ids = [
            recorder.reading(point_index=fields["index"], quantity="x", reading=r) for r in readings
        ]
        recorder.point(fields, ids)
    outbox.mark_incomplete(run_id, "instrument fault")
    state = outbox.resume(run_id)
    assert state.completed_points == [0, 1]
    # What Runner.run(done=...) needs to compute checks and curves over every point.
    assert state.points == [split_point(p)[0] for p in payload["points"][:2]]
