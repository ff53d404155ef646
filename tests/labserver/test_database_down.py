"""The database down (issue 15, point 7): the LIMS answers 503 with ``Retry-After``, the
agent keeps its run and delivers it once the database is back, exactly once; an issue
whose connection breaks leaves no file visible and the retry issues once.

The live LIMS reaches PostgreSQL through a TCP proxy in the test (:class:`Proxy`), never
by stopping the shared server: closing the proxy is "PostgreSQL stopped" (connections
refused, those open cut), and a proxy that cuts a connection when a given statement goes
by is "PostgreSQL lost mid-request". On SQLite the database is a file: it is "down" when
its path cannot be opened, and there is no connection to cut mid-request (those tests
are PostgreSQL only, and say so).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, ProgrammingError, connection, connections
from django.db.transaction import atomic
from django.test import RequestFactory

from agent.keys import AgentKey
from agent.outbox import Outbox, Outcome, RunState
from agent.sync import LimsClient, sync
from labserver.core.unavailable import DatabaseUnavailableMiddleware, is_database_unavailable
from labserver.core.views import server_error
from labserver.issuance.models import Certificate
from labserver.issuance.stored_files import verify_storage
from labserver.measurements.models import Reading, Run
from labserver.measurements.services import approve_run, review_run
from tests.support.lims import PASSWORD, Center, next_job, post_run, run_payload, with_serial

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite is a file opened in the process: there is no connection to lose mid-request",
)


@pytest.fixture(autouse=True)
def _demo_pki(demo_pki: Path) -> None:
    """Issuing here signs with the DEMO PKI."""


class Proxy:
    """A TCP proxy on loopback to ``target``: :meth:`stop` refuses new connections and
    cuts those open; :attr:`cut_at` cuts a connection when the client sends those bytes
    (a statement's text), before they reach the server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.cut_at: bytes | None = None
        self.cuts = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.start()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            _close(self._listener)
            self._listener = None
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open |= {client, server}
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        tail = b""
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            marker = self.cut_at if from_client else None
            if marker is not None and marker in tail + data:
                self.cuts += 1
                break
            tail = data[-len(marker) :] if marker else b""
            try:
                sink.sendall(data)
            except OSError:
                break
        with self._lock:
            self._open -= {source, sink}
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut down by the other side
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
    sock.close()


class Database:
    """The live LIMS's database, made unavailable and available again."""

    def __init__(self, tmp_path: Path) -> None:
        # The live server's threads open their connections from this dict; the test's
        # own connection, already open, keeps the direct path.
        connection.ensure_connection()
        self.config = connections.settings["default"]
        self.saved = {k: self.config.get(k) for k in ("HOST", "PORT", "NAME")}
        self.proxy: Proxy | None = None
        self.missing = str(tmp_path / "no-such-directory" / "db.sqlite3")
        if connection.vendor == "postgresql":
            self.proxy = Proxy((self.saved["HOST"] or "127.0.0.1", int(self.saved["PORT"] or 5432)))
            self.config.update(HOST="127.0.0.1", PORT=str(self.proxy.port))

    def down(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        else:
            self.config["NAME"] = self.missing

    def up(self) -> None:
        if self.proxy is not None:
            self.proxy.start()
        else:
            self.config["NAME"] = self.saved["NAME"]

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        self.config.update(self.saved)


@pytest.fixture
def database(live_server: Any, transactional_db: Any, tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path)
    yield db
    db.restore()


def get(url: str, *, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


def post(url: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), json.loads(err.read())


def token_of(center: Center, role: str) -> str:
    from labserver.accounts import services as accounts

    return accounts.issue_api_token(actor=None, user=getattr(center, role))


# ------------------------------------------------------------------ what counts as "down"


def sqlite_at(path: Path) -> Any:
    from django.db.backends.sqlite3.base import DatabaseWrapper

    config = {**connection.settings_dict, "NAME": str(path), "OPTIONS": {}}
    return DatabaseWrapper({**config, "ENGINE": "django.db.backends.sqlite3"})


@pytest.mark.django_db
def test_only_a_lost_or_refused_connection_counts_as_the_database_down(tmp_path: Path) -> None:
    """Real errors: a database that cannot be opened is "unavailable"; a wrong query (a
    missing table) is a programming error and stays a 500."""
    unreachable = sqlite_at(tmp_path / "no" / "x.db")
    with pytest.raises(OperationalError) as refused:
        unreachable.ensure_connection()
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
    assert is_database_unavailable(refused.value)

    scratch = sqlite_at(tmp_path / "scratch.db")
    with pytest.raises(OperationalError) as wrong, scratch.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    scratch.close()
    assert "no such table" in str(wrong.value)
    assert not is_database_unavailable(wrong.value)

    request = RequestFactory().get("/api/v1/me/")
    middleware = DatabaseUnavailableMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]
    assert middleware.process_exception(request, wrong.value) is None  # Django's 500
    answer = middleware.process_exception(request, refused.value)
    assert answer is not None
    assert answer.status_code == 503

    # handler500, for a failure outside any view: it reads the exception being handled.
    for error, status, retry in ((refused.value, 503, "30"), (wrong.value, 500, None)):
        try:
            raise error
        except OperationalError:
            answer = server_error(RequestFactory().get("/work/"))
            api_answer = server_error(RequestFactory().get("/api/v1/jobs/"))
        assert (answer.status_code, answer.get("Retry-After")) == (status, retry)
        assert (api_answer.status_code, api_answer.get("Retry-After")) == (status, retry)
        assert api_answer["Content-Type"] == "application/json"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's own errors (SQLSTATEs) are checked here"
)
@pytest.mark.django_db
def test_on_postgresql_a_refused_connection_is_down_and_a_wrong_or_cancelled_query_is_not() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQL

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    unreachable = PostgreSQL({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": closed})
    with pytest.raises(OperationalError) as refused:
        unreachable.ensure_connection()
    assert is_database_unavailable(refused.value)

    with pytest.raises(ProgrammingError) as wrong, atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert not is_database_unavailable(wrong.value)

    def slow() -> None:
        with atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")

    with pytest.raises(OperationalError) as cancelled:
        slow()
    assert getattr(cancelled.value.__cause__, "sqlstate", None) == "57014"
    assert not is_database_unavailable(cancelled.value)  # a slow query is ours to fix


# ------------------------------------------------------------------ the LIMS answers 503


def test_the_api_and_the_pages_answer_503_with_retry_after_while_the_database_is_down(
    database: Database, center: Center, live_server: Any
) -> None:
    token = token_of(center, "reviewer")
    auth = {"Authorization": f"Token {token}"}
    assert get(f"{live_server.url}/api/v1/me/", headers=auth)[0] == 200

    database.down()
    status, headers, body = get(f"{live_server.url}/api/v1/me/", headers=auth)
    assert status == 503
    assert headers["Retry-After"] == str(settings.CALTRACE_DATABASE_RETRY_AFTER_S) == "30"
    assert json.loads(body) == {
        "code": "database_unavailable",
        "detail": "the database is unavailable: retry after the time Retry-After gives",
        "field": None,
    }
    # A page, in each language, rendered without the database.
    for language, words in (
        ("en", "cannot reach its database just now"),
        ("vi", "không kết nối được với cơ sở dữ liệu"),
    ):
        status, headers, body = get(
            f"{live_server.url}/verify/{center.org.code}-HC-2026-000001",
            headers={"Accept-Language": language},
        )
        assert status == 503, body[:300]
        assert headers["Retry-After"] == "30"
        assert headers["Content-Type"].startswith("text/html")
        assert words in body.decode(), body.decode()

    database.up()
    assert get(f"{live_server.url}/api/v1/me/", headers=auth)[0] == 200


# ------------------------------------------------------------------ the agent's run


def agent_outbox(center: Center, tmp_path: Path) -> tuple[Outbox, str]:
    """An outbox holding one completed run of a new job, as the bench recorded it."""
    next_job(center)
    payload = run_payload(center, points=2, readings=3)
    box = Outbox(tmp_path / "outbox.sqlite3")
    header = {k: v for k, v in payload.items() if k not in ("points", "raw_io", "finished_at")}
    run_id = box.start_run(header)
    recorder = box.recorder(run_id)
    for point in payload["points"]:
        fields = {k: v for k, v in point.items() if k != "readings"}
        ids = [
            recorder.reading(
                point_index=fields["index"], quantity=fields["readings_quantity"], reading=r
            )
            for r in point["readings"]
        ]
        recorder.point(fields, ids)
    recorder.io(payload["raw_io"])
    box.complete(run_id, payload["finished_at"])
    return box, run_id


def agent_client(center: Center, url: str) -> LimsClient:
    key = AgentKey(center.agent_key, Path("bench.pem"))
    return LimsClient(url, center.agent_token, key=key, timeout_s=30)


def assert_delivered_once(run_id: str, readings: int) -> None:
    assert Run.objects.filter(pk=run_id).count() == 1
    assert Reading.objects.filter(point__run_id=run_id).count() == readings


def test_a_run_sent_while_the_database_is_down_stays_queued_and_is_delivered_once_it_is_back(
    database: Database, center: Center, live_server: Any, tmp_path: Path
) -> None:
    box, run_id = agent_outbox(center, tmp_path)
    client = agent_client(center, live_server.url)
    now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    rng = random.Random(15)

    database.down()
    report = sync(box, client, now=lambda: now, max_attempts_per_run=1, rng=rng)
    (result,) = report.results
    assert (result.outcome, result.status) == (Outcome.RETRY, 503)
    # The server's Retry-After (30 s) outweighs the agent's own backoff (≤ 1 s).
    assert result.next_attempt_at == now + timedelta(seconds=30)
    assert box.state(run_id) == RunState.QUEUED
    assert box.due(now + timedelta(seconds=29)) == []

    database.up()
    later = now + timedelta(seconds=30)
    report = sync(box, client, now=lambda: later, max_attempts_per_run=1, rng=rng)
    assert [(r.outcome, r.status) for r in report.results] == [(Outcome.SENT, 201)]
    assert box.state(run_id) == RunState.SENT
    assert sync(box, client, now=lambda: later, rng=rng).results == []  # nothing left
    assert_delivered_once(run_id, readings=6)
    box.close()


@postgresql_only
def test_a_run_whose_connection_breaks_mid_request_is_retried_and_stored_once(
    database: Database, center: Center, live_server: Any, tmp_path: Path
) -> None:
    """PostgreSQL lost while the run's readings are being written: the transaction dies
    with the connection, the agent is told 503, and its retry stores the run once."""
    assert database.proxy is not None
    box, run_id = agent_outbox(center, tmp_path)
    client = agent_client(center, live_server.url)
    now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

    database.proxy.cut_at = b'INSERT INTO "measurements_reading"'
    report = sync(box, client, now=lambda: now, max_attempts_per_run=1)
    assert database.proxy.cuts == 1
    assert [(r.outcome, r.status) for r in report.results] == [(Outcome.RETRY, 503)]
    assert not Run.objects.filter(pk=run_id).exists()  # rolled back with the connection

    database.proxy.cut_at = None
    later = now + timedelta(seconds=30)
    report = sync(box, client, now=lambda: later, max_attempts_per_run=1)
    assert [(r.outcome, r.status) for r in report.results] == [(Outcome.SENT, 201)]
    assert_delivered_once(run_id, readings=6)
    box.close()


# ------------------------------------------------------------------ mid-issue


@postgresql_only
def test_an_issue_whose_connection_breaks_answers_503_leaves_no_file_and_the_retry_issues_once(
    database: Database, center: Center, live_server: Any
) -> None:
    assert database.proxy is not None
    with_serial(center)
    next_job(center)
    payload = run_payload(center, points=2, readings=3)
    assert post_run(center, payload).status_code == 201
    run = Run.objects.get(pk=payload["run_id"])
    review_run(actor=center.reviewer, run=run, password=PASSWORD)
    approve_run(actor=center.signatory, run=run, password=PASSWORD)
    token = token_of(center, "signatory")
    url = f"{live_server.url}/api/v1/certificates/"
    body = {"run": str(run.pk), "password": PASSWORD}
    store = Path(settings.MEDIA_ROOT) / "certificates"

    # Signed, both files staged, then the connection goes as the record is inserted.
    database.proxy.cut_at = b'INSERT INTO "issuance_certificate"'
    status, headers, answer = post(url, body, token)
    assert database.proxy.cuts == 1
    assert (status, answer["code"], headers["Retry-After"]) == (503, "database_unavailable", "30")
    assert not Certificate.objects.exists()
    assert [p for p in store.rglob("*") if p.is_file()] == []  # not even a temporary

    database.proxy.cut_at = None
    status, _, answer = post(url, body, token)
    assert status == 201, answer
    (certificate,) = Certificate.objects.all()
    assert (certificate.number, certificate.sequence) == (answer["number"], 1)
    report = verify_storage()
    assert report.ok, [str(p) for p in report.problems]
    assert report.files == 2
