"""Sync against a live LIMS on loopback: sent once, offline then online, replays, rejections,
the bench file, the key, and the ``sync``/``status`` commands."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import EXIT_AGENT_REFUSED, EXIT_OK, EXIT_REJECTED, main
from agent.config import ConfigError, load_bench
from agent.keys import KeyFileError, load_key
from agent.outbox import Outbox, Outcome, RunState
from agent.sync import LimsRefused, LimsUnavailable, backoff_delay, sync
from tests.support.agent import (
    Lims,
    closed_port_url,
    lims_readings,
    lims_runs,
    record_run,
    write_bench,
)


def no_sleep(seconds: float) -> None:
    pass


def test_a_completed_run_arrives_with_every_reading(lims: Lims, outbox: Outbox) -> None:
    payload = lims.payload(points=3, readings=5)
    run_id = record_run(outbox, payload)
    report = sync(outbox, lims.client(), rng=random.Random(1), sleep=no_sleep)
    assert [(r.run_id, r.outcome, r.status) for r in report.results] == [
        (run_id, Outcome.SENT, 201)
    ]
    assert outbox.state(run_id) == RunState.SENT
    assert list(lims_runs([run_id])) == [run_id]
    sent = [
        (p["index"], j, r["value"], r["timestamp"])
        for p in payload["points"]
        for j, r in enumerate(p["readings"])
    ]
    stored = [(p, j, v, t) for p, j, v, t in lims_readings(run_id)]
    assert [(p, j, v) for p, j, v, _ in stored] == [(p, j, v) for p, j, v, _ in sent]
    [row] = outbox.status().runs
    assert row.state == "sent"
    assert row.attempts == 1


def test_a_hundred_runs_queued_offline_arrive_once(lims: Lims, outbox: Outbox) -> None:
    run_ids = [record_run(outbox, lims.payload(points=1, readings=3)) for _ in range(100)]
    down = lims.client(url=closed_port_url(), timeout_s=2.0)
    clock = datetime.now(UTC)
    report = sync(outbox, down, now=lambda: clock, rng=random.Random(7), sleep=no_sleep)
    assert report.stopped
    assert "unavailable" in report.stopped
    assert report.left == 99
    assert outbox.status().counts["queued"] == 100
    # days later, the LIMS is up
    later = clock + timedelta(days=3)
    report = sync(outbox, lims.client(), now=lambda: later, rng=random.Random(7), sleep=no_sleep)
    assert report.count(Outcome.SENT) == 100
    assert report.stopped is None
    assert set(lims_runs(run_ids)) == set(run_ids)
    for run_id in run_ids[:5] + run_ids[-5:]:
        assert len(lims_readings(run_id)) == 3
    # a second sync has nothing to send
    assert sync(outbox, lims.client(), now=lambda: later, sleep=no_sleep).results == []
    # a response lost on the way: the run is still queued in the outbox, sent again
    conn = sqlite3.connect(outbox.path)
    with conn:
        conn.execute("UPDATE runs SET state = 'queued' WHERE run_id = ?", (run_ids[42],))
    conn.close()
    report = sync(outbox, lims.client(), now=lambda: later, sleep=no_sleep)
    assert [(r.outcome, r.status) for r in report.results] == [(Outcome.REPLAYED, 200)]
    from labserver.measurements.models import Reading, Run

    assert Run.objects.filter(pk__in=run_ids).count() == 100
    assert Reading.objects.filter(point__run_id__in=run_ids).count() == 300


def test_a_down_lims_is_retried_later_with_capped_jittered_backoff(
    lims: Lims, outbox: Outbox
) -> None:
    run_id = record_run(outbox, lims.payload(points=1))
    down = lims.client(url=closed_port_url(), timeout_s=2.0)
    clock = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    slept: list[float] = []
    report = sync(
        outbox,
        down,
        now=lambda: clock,
        max_attempts_per_run=3,
        base_delay_s=2.0,
        max_delay_s=5.0,
        rng=random.Random(3),
        sleep=slept.append,
    )
    assert len(slept) == 2
    assert all(0 <= s <= 5.0 for s in slept)
    [result] = report.results
    assert result.outcome == Outcome.RETRY
    assert result.next_attempt_at is not None
    assert clock <= result.next_attempt_at <= clock + timedelta(seconds=5)
    assert "retry at" in result.line()
    [row] = outbox.status().runs
    assert row.state == "queued"
    assert row.attempts == 3
    assert "connection refused" in (row.last_error or "")
    assert outbox.due(clock) == []
    rng = random.Random(5)
    delays = [backoff_delay(n, base_delay_s=1, max_delay_s=60, rng=rng) for n in range(1, 12)]
    assert all(0 <= d <= min(60, 2 ** (n - 1)) for n, d in enumerate(delays, 1))
    report = sync(outbox, lims.client(), now=lambda: clock + timedelta(seconds=6))
    assert report.results[0].outcome == Outcome.SENT
    assert list(lims_runs([run_id])) == [run_id]


def test_a_rejected_run_is_kept_with_the_servers_reason(
    lims: Lims,
    outbox: Outbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    payload = lims.payload(points=1)
    payload["procedure"] = {**payload["procedure"], "hash": "0" * 64}
    bad = record_run(outbox, payload)
    good = record_run(outbox, lims.payload(points=1))
    report = sync(outbox, lims.client(), sleep=no_sleep)
    outcomes = {r.run_id: r.outcome for r in report.results}
    assert outcomes == {bad: Outcome.REJECTED, good: Outcome.SENT}
    rows = {r.run_id: r for r in outbox.status().runs}
    assert rows[bad].state == "rejected"
    assert rows[bad].last_status == 422
    rejection = rows[bad].rejection
    assert rejection is not None
    assert rejection["code"] == "invalid_evidence"
    assert rejection["field"] == "procedure"
    assert outbox.body(bad) is not None
    assert len(outbox.readings(bad)) == 5
    assert list(lims_runs([bad, good])) == [good]

    # the same, through the commands
    bench = write_bench(tmp_path / "bench", lims, outbox=str(outbox.path))
    capsys.readouterr()
    assert main(["status", "--bench", str(bench), "--json"]) == EXIT_OK
    status = json.loads(capsys.readouterr().out)
    by_id = {r["run_id"]: r for r in status["runs"]}
    assert by_id[bad]["rejection"]["detail"].startswith("procedure: the job requires")
    assert status["counts"]["rejected"] == 1
    assert status["counts"]["sent"] == 1
    assert main(["status", "--bench", str(bench)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "invalid_evidence [procedure]" in text
    assert bad in text
    assert good not in text


def test_the_sync_command_sends_reports_and_exits_by_outcome(
    lims: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = write_bench(tmp_path / "bench", lims)
    config = load_bench(bench)
    with Outbox(config.outbox) as box:
        sent = record_run(box, lims.payload(points=1))
        payload = lims.payload(points=1)
        payload["job"] = "NO-SUCH-JOB"
        rejected = record_run(box, payload)
    assert main(["sync", "--bench", str(bench), "--once"]) == EXIT_REJECTED
    out = capsys.readouterr().out
    assert f"{sent} job " in out
    assert "sent (HTTP 201)" in out
    assert f"{rejected} job NO-SUCH-JOB: rejected: HTTP 422 invalid_evidence [job]" in out
    assert main(["sync", "--bench", str(bench)]) == EXIT_OK  # nothing due
    with Outbox(config.outbox) as box:
        box._conn.execute("UPDATE runs SET state = 'queued' WHERE run_id = ?", (sent,))
    assert main(["sync", "--bench", str(bench), "--once"]) == EXIT_OK
    assert "replayed (HTTP 200)" in capsys.readouterr().out


def test_a_refused_agent_stops_the_pass_and_keeps_every_run_queued(
    lims: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = write_bench(tmp_path / "bench", lims)
    config = load_bench(bench)
    with Outbox(config.outbox) as box:
        ids = [record_run(box, lims.payload(points=1)) for _ in range(2)]
    (tmp_path / "bench" / "bench.token").write_text("cta_not-a-registered-token\n")
    assert main(["sync", "--bench", str(bench), "--once"]) == EXIT_AGENT_REFUSED
    assert "the LIMS refused this agent" in capsys.readouterr().err
    with Outbox(config.outbox) as box:
        assert [box.state(i) for i in ids] == [RunState.QUEUED] * 2
    assert lims_runs(ids) == {}


def test_the_client_reads_jobs_standards_and_procedures(lims: Lims) -> None:
    client = lims.client()
    job = client.job(lims.center.job.number)
    assert job["procedure_ref"]["hash"] == lims.center.procedure.content_hash
    record = client.standard(lims.center.standard.asset_id)
    assert record.asset_id == lims.center.standard.asset_id
    assert [c["number"] for c in record.certificates] == ["NMI-AG1-001"]
    procedure = client.procedure("dmm-dcv", "1.1.0")
    assert procedure["procedure_id"] == "dmm-dcv"
    with pytest.raises(LimsRefused) as err:
        client.job("NOPE")
    assert err.value.code == "not_found"
    with pytest.raises(LimsUnavailable):
        lims.client(url=closed_port_url()).job("X")


# -- bench file and key -------------------------------------------------------------------------


def test_the_bench_file_is_loaded_with_its_roles_and_token(lims: Lims, tmp_path: Path) -> None:
    bench = write_bench(tmp_path / "b", lims)
    config = load_bench(bench, environ={})
    assert config.token == lims.center.agent_token
    assert config.token not in repr(config)
    assert config.outbox == (tmp_path / "b" / "outbox.sqlite3").resolve()
    assert config.roles["source"].asset_id == lims.center.standard.asset_id
    assert config.roles["uut"].driver == "keysight-34465a"
    assert load_bench(bench, environ={"CALTRACE_AGENT_TOKEN": "cta_other"}).token == "cta_other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("colour: blue\n", r":7: colour: unknown key"),
        (
            "  uut2: {driver: keysight-9999, address: x}\n",
            r":10: roles.uut2.driver: unknown driver",
        ),
        ("  w: {driver: none}\n", r":10: roles.w.asset_id: a passive standard"),
        ("  w: {driver: manual}\n", r":10: roles.w.address: missing"),
        ("  w: {driver: none, asset_id: A, colour: x}\n", r":10: roles.w.colour: unknown key"),
        ("  source: {driver: none, asset_id: B}\n", r":10: roles.source: given twice"),
    ],
)
def test_a_bad_bench_file_is_refused_with_its_line_and_key(
    tmp_path: Path, change: str, message: str
) -> None:
    (tmp_path / "t.token").write_text("cta_x\n")
    (tmp_path / "t.token").chmod(0o600)
    text = (
        "bench: bench-1\norganization: HN\nlims: http://127.0.0.1:8000\nkey: k.pem\n"
        "token: t.token\noutbox: o.sqlite3\nroles:\n"
        "  source: {driver: fluke-5522a, address: 'TCPIP::h::5020::SOCKET', asset_id: A}\n"
        "  weights: {driver: none, asset_id: M}\n"
    )
    if change.startswith("  "):
        text += change  # line 10
    else:
        text = text.replace("roles:\n", change + "roles:\n")  # line 7
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_bench(path, environ={})


def test_a_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.token").write_text("cta_x\n")
    (tmp_path / "t.token").chmod(0o644)
    path = tmp_path / "bench.yaml"
    path.write_text(
        "bench: b\norganization: HN\nlims: http://h\nkey: k.pem\ntoken: t.token\n"
        "outbox: o.sqlite3\nroles:\n  w: {driver: none, asset_id: M}\n"
    )
    with pytest.raises(ConfigError, match=r":5: token: the token file is accessible by group"):
        load_bench(path, environ={})


def test_the_key_must_be_a_private_ed25519_pem(lims: Lims, tmp_path: Path) -> None:
    bench = write_bench(tmp_path / "b", lims)
    key = load_key(bench.parent / "bench.pem")
    assert key.public_key_b64 == lims.center.agent.public_key
    (bench.parent / "bench.pem").chmod(0o640)
    with pytest.raises(
        KeyFileError, match=r"accessible by group or others .mode 0640.; run: chmod"
    ):
        load_key(bench.parent / "bench.pem")
    with pytest.raises(KeyFileError, match="no such file"):
        load_key(tmp_path / "missing.pem")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    other = tmp_path / "ec.pem"
    other.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    other.chmod(0o600)
    with pytest.raises(KeyFileError, match=f"{other}: not an Ed25519 key"):
        load_key(other)
