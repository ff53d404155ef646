"""The agent's durable outbox: every reading, point and run, kept in a local SQLite database.

Durability: the database is in WAL mode with ``synchronous=FULL``, and every write is
its own ``BEGIN IMMEDIATE`` … ``COMMIT``. With ``FULL``, SQLite syncs the write-ahead log
to the disk at every commit, so a reading for which :meth:`Outbox.add_reading` has
returned survives a killed process *and* a power loss (``NORMAL`` would only survive
the former). The runner shows a reading only after it is acknowledged here.

States of a run::

    running ──complete──▶ queued ──2xx──▶ sent
       │  ▲                  │ └─5xx, 408, 429, no answer: stays queued, retried later
       │  └──resume──┐       └─4xx──▶ rejected (the server's reason kept)
       ▼             │
    incomplete ──────┘──abandon──▶ abandoned

A multi-position run (:mod:`procedures.record.positions`) keeps its positions when it
starts (each position's instrument, its state and the reason of a skipped or removed one),
its shared readings and each position's readings apart, each position's finished points,
and each finished point of the shared sequence, kept once every position's point of it
is: that is where an interrupted multi-position run resumes. A removed position stays
removed, and no reading of it is taken after.

A run is sent only once completed explicitly: a run found ``running`` when a new process
opens the outbox (:meth:`Outbox.recover`) became ``incomplete``. Nothing is ever
deleted: readings of a point restarted on resume are flagged ``discarded`` with the
reason, rejected and abandoned runs stay with their reasons, every submission attempt
is kept.

What is kept is the run record's JSON (:mod:`procedures.record`): the header when the run
starts, each reading, each finished point without its readings; :meth:`Outbox.complete`
assembles them into the payload in the record's one order. Each part is read by the
record before it is kept, so a part the LIMS would refuse for its form is refused here,
naming the field.

One connection per :class:`Outbox`, used from one thread. Several processes may open
the same file (a run in progress, ``caltrace-agent status`` in another terminal): SQLite
serialises the writers, and an advisory lock beside the database tells :meth:`recover`
which ``running`` runs belong to a live process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TypeVar

from procedures.bench import StandardRecord
from procedures.record import (
    Check,
    Curve,
    MeterIdentity,
    Point,
    Position,
    PositionInstrument,
    Reading,
    RecordError,
    RunHeader,
    RunRecord,
    SharedPoint,
)

try:  # POSIX advisory locks; without them recover() treats every running run as stopped
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "INTERRUPTED",
    "RESTARTED",
    "SCHEMA_VERSION",
    "InvalidRecord",
    "InvalidState",
    "Outbox",
    "OutboxError",
    "Outcome",
    "QueuedRun",
    "ResumeState",
    "RunRecorder",
    "RunState",
    "RunStatus",
    "StatusReport",
    "UnknownRun",
]

SCHEMA_VERSION = 3
_Part = TypeVar("_Part")
INTERRUPTED = "interrupted (the agent stopped during the run)"
RESTARTED = "point restarted on resume"
BUSY_TIMEOUT_S = 30.0

HEADER_REQUIRED = RunHeader.REQUIRED
HEADER_OPTIONAL = tuple(key for key in RunHeader.KEYS if key not in RunHeader.REQUIRED)
# The order of the payload's keys (one serialisation, so the order is the sent bytes').
PAYLOAD_ORDER = RunRecord.KEYS


class RunState(StrEnum):
    RUNNING = "running"
    INCOMPLETE = "incomplete"
    ABANDONED = "abandoned"
    QUEUED = "queued"
    SENT = "sent"
    REJECTED = "rejected"


class Outcome(StrEnum):
    """What became of one submission attempt."""

    SENT = "sent"  # 201: stored by the LIMS
    REPLAYED = "replayed"  # 200: the LIMS already had this run with this body
    REJECTED = "rejected"  # 4xx about the run: kept with the server's reason
    RETRY = "retry"  # 5xx, 408, 429, no answer: stays queued


class OutboxError(Exception):
    """Base of the outbox's errors."""


class UnknownRun(OutboxError, LookupError):
    """No run with this id in the outbox."""


class InvalidState(OutboxError):
    """The run's state does not allow this action (e.g. completing an abandoned run)."""

    def __init__(self, run_id: str, state: str, action: str) -> None:
        super().__init__(f"run {run_id} is {state}: cannot {action}")
        self.run_id = run_id
        self.state = state
        self.action = action


class InvalidRecord(OutboxError, ValueError):
    """A header, reading or point that the outbox refuses to keep (named by ``field``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ResumeState:
    """What the runner needs to go on with an interrupted run."""

    run_id: str
    header: dict[str, Any]
    context: dict[str, Any]
    completed_points: list[int]
    discarded_readings: int
    points: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """The kept points in index order, as the runner recorded them (without readings):
    what :meth:`procedures.runner.Runner.run` takes as ``done``, so that the run's checks
    and curves are computed over every point, the resumed ones included."""
    shared: list[SharedPoint] = dataclasses.field(default_factory=list)
    """A multi-position run's finished points of the shared sequence (without readings),
    in index order."""
    positions: list[Position] = dataclasses.field(default_factory=list)
    """A multi-position run's positions as kept (state, reason, finished points without
    readings): what :meth:`procedures.runner.Runner.restore` takes with ``shared``."""


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """A completed run waiting to be sent: the exact bytes to send, and its attempts."""

    run_id: str
    job: str
    body: bytes
    attempts: int
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class RunStatus:
    run_id: str
    job: str
    state: str
    readings: int
    points: int
    attempts: int
    last_status: int | None
    last_error: str | None  # the reason of an incomplete/abandoned run, or the last failure
    next_attempt_at: datetime | None
    rejection: dict[str, Any] | None  # the server's {code, detail, field} of a rejected run
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "state": self.state,
            "readings": self.readings,
            "points": self.points,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "next_attempt_at": _iso(self.next_attempt_at),
            "rejection": self.rejection,
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    counts: dict[str, int]
    runs: list[RunStatus]

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "runs": [r.to_dict() for r in self.runs]}


class RunRecorder:
    """One run's view of the outbox: the runner's :class:`procedures.bench.Recorder`. It
    takes the record's parts or their JSON."""

    def __init__(self, outbox: Outbox, run_id: str) -> None:
        self._outbox = outbox
        self.run_id = run_id

    def reading(
        self, *, point_index: int, quantity: str, reading: Reading | Mapping[str, Any]
    ) -> int:
        if isinstance(reading, Reading):  # its quantity is kept beside it, not in it
            reading = replace(reading, quantity=None).to_json()
        return self._outbox.add_reading(
            self.run_id, point_index=point_index, quantity=quantity, reading=reading
        )

    def point(self, point: Point | Mapping[str, Any], reading_ids: list[int]) -> None:
        fields = point.to_json(readings=False) if isinstance(point, Point) else point
        self._outbox.add_point(self.run_id, fields, reading_ids)

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        self._outbox.add_io(self.run_id, entries)

    # a multi-position run: the runner's procedures.bench.PositionRecorder

    def position_reading(
        self, *, position: int, point_index: int, quantity: str, reading: Reading
    ) -> int:
        return self._outbox.add_reading(
            self.run_id,
            point_index=point_index,
            quantity=quantity,
            reading=replace(reading, quantity=None).to_json(),
            position=position,
        )

    def position_point(self, position: int, point: Point, reading_ids: list[int]) -> None:
        self._outbox.add_point(
            self.run_id, point.to_json(readings=False), reading_ids, position=position
        )

    def position_state(self, position: int, state: str, reason: str) -> None:
        self._outbox.leave(self.run_id, position, state, reason)

    def shared_point(self, point: SharedPoint, reading_ids: list[int]) -> None:
        self._outbox.add_shared_point(self.run_id, point, reading_ids)


_SCHEMA = """
CREATE TABLE runs (
    run_id          TEXT PRIMARY KEY,
    job             TEXT NOT NULL,
    header          TEXT NOT NULL,
    context         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN
                        ('running', 'incomplete', 'abandoned', 'queued', 'sent', 'rejected')),
    reason          TEXT,
    owner_pid       INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT,
    queued_at       TEXT,
    body            BLOB,
    body_sha256     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    response        TEXT,
    rejection       TEXT
);
CREATE INDEX runs_by_state ON runs (state, next_attempt_at);
CREATE TABLE points (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    point_index    INTEGER NOT NULL,
    point          TEXT NOT NULL,
    reading_ids    TEXT NOT NULL,
    discarded      INTEGER NOT NULL DEFAULT 0,
    discard_reason TEXT,
    recorded_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX points_kept ON points (run_id, point_index) WHERE discarded = 0;
CREATE TABLE readings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    point_index    INTEGER NOT NULL,
    quantity       TEXT NOT NULL,
    reading        TEXT NOT NULL,
    point_id       INTEGER REFERENCES points (id),
    discarded      INTEGER NOT NULL DEFAULT 0,
    discard_reason TEXT
);
CREATE INDEX readings_by_point ON readings (run_id, point_index);
CREATE TABLE raw_io (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    entry  TEXT NOT NULL
);
CREATE INDEX raw_io_by_run ON raw_io (run_id);
CREATE TABLE attempts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL REFERENCES runs (run_id),
    at       TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    status   INTEGER,
    reason   TEXT,
    response TEXT
);
CREATE TABLE standards_cache (
    asset_id     TEXT PRIMARY KEY,
    standard     TEXT NOT NULL,
    certificates TEXT NOT NULL,
    fetched_at   TEXT NOT NULL
);
CREATE TABLE jobs_cache (
    number     TEXT PRIMARY KEY,
    job        TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
"""

# Version 2: multi-position runs. A run's positions; each position's points (the points
# table keeps a run of one's points, or a multi-position run's shared points); a reading
# of a position (NULL: a run of one's, or a shared one) bound to its position's point.
_SCHEMA_2 = """
CREATE TABLE position_points (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    position       INTEGER NOT NULL,
    point_index    INTEGER NOT NULL,
    point          TEXT NOT NULL,
    reading_ids    TEXT NOT NULL,
    discarded      INTEGER NOT NULL DEFAULT 0,
    discard_reason TEXT,
    recorded_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX position_points_kept ON position_points (run_id, position, point_index)
    WHERE discarded = 0;
ALTER TABLE readings ADD COLUMN position INTEGER;
ALTER TABLE readings ADD COLUMN position_point_id INTEGER REFERENCES position_points (id);
CREATE TABLE run_positions (
    run_id     TEXT NOT NULL REFERENCES runs (run_id),
    position   INTEGER NOT NULL CHECK (position >= 1),
    instrument TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('measured', 'skipped', 'removed')),
    reason     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
"""

# Version 3: a position's meter as read through its optical port before the test (the JSON
# of its procedures.record.MeterIdentity; NULL: not read so).
_SCHEMA_3 = """
ALTER TABLE run_positions ADD COLUMN identity TEXT;
"""

# A reading is kept while its run is running, its point (of its position, or the shared
# one) is not kept yet, and its position is still measured.
_INSERT_READING = (
    "INSERT INTO readings (run_id, point_index, quantity, reading, position) "
    "SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS "
    "(SELECT 1 FROM runs WHERE run_id = ?1 AND state = 'running') "
    "AND NOT EXISTS (SELECT 1 FROM points WHERE ?5 IS NULL AND run_id = ?1 "
    "AND point_index = ?2 AND discarded = 0) "
    "AND NOT EXISTS (SELECT 1 FROM position_points WHERE run_id = ?1 AND position = ?5 "
    "AND point_index = ?2 AND discarded = 0) "
    "AND (?5 IS NULL OR EXISTS (SELECT 1 FROM run_positions WHERE run_id = ?1 "
    "AND position = ?5 AND state = 'measured'))"
)


# Where the points of a run of one and a multi-position run's shared points are kept
# (False), and its positions' points (True): the table, and the readings' column binding
# a reading to its point.
_POINT_TABLES = {False: ("points", "point_id"), True: ("position_points", "position_point_id")}


class Outbox:
    """The durable outbox in the SQLite file at ``path`` (created, with its schema, on open)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_file: IO[bytes] | None = None
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=True
        )
        try:
            self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # -- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the advisory lock
            self._lock_file = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        with self._write():
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise OutboxError(
                    f"{self.path}: outbox schema version {version} is newer than this agent's "
                    f"({SCHEMA_VERSION}); upgrade caltrace-agent"
                )
            steps = [_SCHEMA, _SCHEMA_2, _SCHEMA_3][version:]
            for script in steps:
                for statement in script.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
            if steps:
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE (takes the write lock at once), COMMIT."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _hold_run_lock(self) -> None:
        """Hold a shared advisory lock while this process has runs in progress."""
        if fcntl is None or self._lock_file is not None:
            return
        lock = open(self._lock_path(), "ab")  # noqa: SIM115 - held until close()
        fcntl.flock(lock.fileno(), fcntl.LOCK_SH)
        self._lock_file = lock

    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def recover(self) -> list[str]:
        """Mark every ``running`` run of a stopped process ``incomplete``; return their ids.

        Called by the CLI when it starts. Runs in progress in another live process (it holds
        the shared lock) are left alone: then nothing is marked.
        """
        if fcntl is not None and self._lock_file is None:
            with open(self._lock_path(), "ab") as probe:
                try:
                    fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return []  # another agent process has a run in progress
                try:
                    return self._mark_interrupted()
                finally:
                    fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return self._mark_interrupted(exclude_pid=os.getpid())

    def _mark_interrupted(self, exclude_pid: int | None = None) -> list[str]:
        now = _now_text()
        with self._write() as db:
            rows = db.execute(
                "SELECT run_id FROM runs WHERE state = 'running' AND owner_pid IS NOT ?",
                (exclude_pid,),
            ).fetchall()
            ids = [row[0] for row in rows]
            db.executemany(
                "UPDATE runs SET state = 'incomplete', reason = ?, updated_at = ? WHERE run_id = ?",
                [(INTERRUPTED, now, run_id) for run_id in ids],
            )
        return ids

    # -- recording a run --------------------------------------------------------------------

    def start_run(
        self,
        header: Mapping[str, Any],
        *,
        positions: Mapping[int, PositionInstrument] | None = None,
        identities: Mapping[int, MeterIdentity] | None = None,
    ) -> str:
        """Keep a new run's header (the payload without ``points``, ``finished_at``,
        ``raw_io``) and its optional ``context`` (kept beside it, never sent); the run is
        ``running``. A missing ``run_id`` is made (UUID 4). Returns the run id.

        ``positions``: a multi-position run's instrument at each position, by number from
        1, each ``measured`` until :meth:`leave` says otherwise; ``identities``: the meter
        of those positions read through its optical port before the run, by number (its
        serial must be the position's instrument's)."""
        fields = dict(header)
        context = fields.pop("context", None) or {}
        if not isinstance(context, Mapping):
            raise InvalidRecord("must be a mapping", field="context")
        fields.setdefault("run_id", str(uuid.uuid4()))
        for key in fields:
            if key not in HEADER_REQUIRED and key not in HEADER_OPTIONAL:
                raise InvalidRecord(
                    "not a field of a run's header (points, finished_at and raw_io are "
                    "recorded separately)",
                    field=key,
                )
        for key in HEADER_REQUIRED:
            if key not in fields:
                raise InvalidRecord("missing", field=key)
        try:
            run_id = str(uuid.UUID(str(fields["run_id"])))
        except ValueError:
            raise InvalidRecord("not a UUID", field="run_id") from None
        fields["run_id"] = run_id
        procedure = fields["procedure"]
        if not isinstance(procedure, Mapping) or {"id", "version", "hash"} - set(procedure):
            raise InvalidRecord("must have id, version and hash", field="procedure")
        header_text = _dumps(_read(RunHeader.from_json, fields).to_json(), "header")
        context_text = _dumps(context, "context")
        instruments = []
        for number, instrument in sorted((positions or {}).items()):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise InvalidRecord("positions are numbered from 1", field=f"positions.{number}")
            identity = (identities or {}).get(number)
            if identity is not None and identity.serial != instrument.serial:
                raise InvalidRecord(
                    f"the meter read states serial {identity.serial}, the position holds "
                    f"{instrument.serial}",
                    field=f"positions.{number}.identity",
                )
            instruments.append(
                (
                    number,
                    _dumps(instrument.to_json(), f"positions.{number}"),
                    _dumps(identity.to_json(), f"positions.{number}.identity")
                    if identity is not None
                    else None,
                )
            )
        unknown = sorted(set(identities or {}) - set(positions or {}))
        if unknown:
            raise InvalidRecord(
                "an identity read of a position the run does not have",
                field=f"positions.{unknown[0]}.identity",
            )
        self._hold_run_lock()
        now = _now_text()
        with self._write() as db:
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise InvalidRecord(f"run {run_id} is already in the outbox", field="run_id")
            db.execute(
                "INSERT INTO runs (run_id, job, header, context, state, owner_pid, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, str(fields["job"]), header_text, context_text, os.getpid(), now, now),
            )
            db.executemany(
                "INSERT INTO run_positions (run_id, position, instrument, identity, state, "
                "updated_at) VALUES (?, ?, ?, ?, 'measured', ?)",
                [(run_id, number, text, identity, now) for number, text, identity in instruments],
            )
        return run_id

    def recorder(self, run_id: str) -> RunRecorder:
        """The runner's :class:`procedures.bench.Recorder` for ``run_id``."""
        return RunRecorder(self, run_id)

    def add_reading(
        self,
        run_id: str,
        *,
        point_index: int,
        quantity: str,
        reading: Mapping[str, Any],
        position: int | None = None,
    ) -> int:
        """Keep one reading (a :class:`procedures.record.Reading`'s JSON: ``value``,
        ``unit``, ``timestamp``, ``stable``, ``raw``; its quantity apart) in its own
        committed transaction; return its id (increasing, never reused). ``position``: the
        reading of that position's instrument (it must still be measured)."""
        text = _reading_text(reading)
        if isinstance(point_index, bool) or not isinstance(point_index, int) or point_index < 0:
            raise InvalidRecord("must be a non-negative integer", field="point_index")
        if not isinstance(quantity, str) or not quantity:
            raise InvalidRecord("must be a non-empty text", field="quantity")
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            cursor = db.execute(_INSERT_READING, (run_id, point_index, quantity, text, position))
            if cursor.rowcount != 1:
                state = self._state(run_id)
                if state != RunState.RUNNING:
                    raise InvalidState(run_id, state, "add a reading")
                if position is not None:
                    self._require_measured(run_id, position)
                raise InvalidRecord(
                    f"point {point_index} of run {run_id} is already recorded",
                    field="point_index",
                )
            reading_id = cursor.lastrowid
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        assert reading_id is not None
        return reading_id

    def add_point(
        self,
        run_id: str,
        point: Mapping[str, Any],
        reading_ids: list[int],
        *,
        position: int | None = None,
    ) -> None:
        """Keep a finished point (a :class:`procedures.record.Point`'s JSON without
        ``readings``) built on ``reading_ids``: readings of this run and this point index,
        not used by another point. A point index already recorded is refused.
        ``position``: a point of that position of a multi-position run, on its readings."""
        fields = dict(point)
        if position is None and self._has_positions(run_id):  # set at start, never changed
            raise InvalidRecord(f"run {run_id} keeps its points by position", field="position")
        if "readings" in fields:
            raise InvalidRecord("readings are kept one by one (add_reading)", field="readings")
        index = fields.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidRecord("must be a non-negative integer", field="index")
        if not reading_ids:
            raise InvalidRecord("a point needs at least one reading", field="reading_ids")
        if len(set(reading_ids)) != len(reading_ids):
            raise InvalidRecord("a reading is listed twice", field="reading_ids")
        kept = _read(lambda data, where: Point.from_json(data, where, readings=False), fields)
        text = _dumps(kept.to_json(readings=False), "point")
        with self._write():
            self._require(run_id, {RunState.RUNNING}, "add a point")
            if position is not None:
                self._require_measured(run_id, position)
            self._keep_point(run_id, index, text, reading_ids, position)

    def add_shared_point(
        self, run_id: str, point: SharedPoint | Mapping[str, Any], reading_ids: list[int]
    ) -> None:
        """Keep a finished point of a multi-position run's shared sequence (a
        :class:`procedures.record.SharedPoint`, its readings apart: ``reading_ids``, the
        shared readings of this index; none where nothing is read once). Kept once every
        position's point of it is: a resumed run goes on after it."""
        fields = point.to_json() if isinstance(point, SharedPoint) else dict(point)
        fields["readings"] = []
        shared = _read(SharedPoint.from_json, fields)
        if len(set(reading_ids)) != len(reading_ids):
            raise InvalidRecord("a reading is listed twice", field="reading_ids")
        text = _dumps({"index": shared.index, "test": shared.test}, "point")
        with self._write():
            self._require(run_id, {RunState.RUNNING}, "add a shared point")
            if not self._has_positions(run_id):
                raise InvalidRecord(f"run {run_id} has no positions", field="position")
            self._keep_point(run_id, shared.index, text, reading_ids, None)

    def _keep_point(
        self, run_id: str, index: int, text: str, reading_ids: list[int], position: int | None
    ) -> None:
        """Insert a point (in the caller's transaction) and bind its readings: of this run,
        this index and this position, not used by another point."""
        db = self._conn
        table, column = _POINT_TABLES[position is not None]
        if db.execute(
            f"SELECT 1 FROM {table} WHERE run_id = ? AND point_index = ? AND discarded = 0"
            + ("" if position is None else " AND position = ?"),
            (run_id, index) if position is None else (run_id, index, position),
        ).fetchone():
            of = f" of position {position}" if position is not None else ""
            raise InvalidRecord(
                f"point {index}{of} of run {run_id} is already recorded", field="index"
            )
        marks = ",".join("?" * len(reading_ids))
        rows = db.execute(
            "SELECT id, run_id, point_index, IFNULL(point_id, position_point_id), discarded, "
            f"position FROM readings WHERE id IN ({marks})",
            reading_ids,
        ).fetchall()
        found = {row[0]: row for row in rows}
        for rid in reading_ids:
            row = found.get(rid)
            if row is None or row[1] != run_id:
                raise InvalidRecord(f"reading {rid} is not of run {run_id}", field="readings")
            if row[2] != index:
                raise InvalidRecord(
                    f"reading {rid} was taken for point {row[2]}, not {index}",
                    field="readings",
                )
            if row[3] is not None or row[4]:
                raise InvalidRecord(f"reading {rid} is already used or discarded", field="readings")
            if row[5] != position:
                whose = "a shared reading" if row[5] is None else f"of position {row[5]}"
                raise InvalidRecord(f"reading {rid} is {whose}", field="readings")
        ids = json.dumps(sorted(reading_ids))
        if position is None:
            cursor = db.execute(
                "INSERT INTO points (run_id, point_index, point, reading_ids, recorded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, index, text, ids, _now_text()),
            )
        else:
            cursor = db.execute(
                "INSERT INTO position_points (run_id, position, point_index, point, "
                "reading_ids, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, position, index, text, ids, _now_text()),
            )
        db.executemany(
            f"UPDATE readings SET {column} = ? WHERE id = ?",
            [(cursor.lastrowid, rid) for rid in reading_ids],
        )

    def leave(self, run_id: str, position: int, state: str, reason: str) -> None:
        """Keep that ``position`` of a running multi-position run is ``skipped`` (never
        measured) or ``removed`` (taken out after points were measured), and why. A
        position that left stays out: it takes no reading and no point after, and leaves
        once only (its first reason stands)."""
        if state not in ("skipped", "removed"):
            raise InvalidRecord(f"must be skipped or removed, got {state!r}", field="state")
        if not reason or not reason.strip():
            raise InvalidRecord("a reason is needed", field="reason")
        with self._write() as db:
            self._require(run_id, {RunState.RUNNING}, f"mark position {position} {state}")
            self._require_measured(run_id, position)
            db.execute(
                "UPDATE run_positions SET state = ?, reason = ?, updated_at = ? "
                "WHERE run_id = ? AND position = ?",
                (state, reason, _now_text(), run_id, position),
            )

    def _has_positions(self, run_id: str) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM run_positions WHERE run_id = ? LIMIT 1", (run_id,)
            ).fetchone()
            is not None
        )

    def _require_measured(self, run_id: str, position: int) -> None:
        """``position`` is a position of the run still measured; else InvalidRecord."""
        row = self._conn.execute(
            "SELECT state, reason FROM run_positions WHERE run_id = ? AND position = ?",
            (run_id, position),
        ).fetchone()
        if row is None:
            raise InvalidRecord(f"run {run_id} has no position {position}", field="position")
        if row[0] != "measured":
            raise InvalidRecord(
                f"position {position} of run {run_id} is {row[0]} ({row[1]})", field="position"
            )

    def add_io(self, run_id: str, entries: Iterable[Mapping[str, Any]]) -> None:
        """Keep raw I/O entries (``t``, ``dir``, ``address``, ``data``) of the run."""
        texts = [_dumps(dict(entry), "raw_io") for entry in entries]
        with self._write() as db:
            self._require(run_id, {RunState.RUNNING}, "add raw I/O")
            db.executemany(
                "INSERT INTO raw_io (run_id, entry) VALUES (?, ?)",
                [(run_id, text) for text in texts],
            )

    def mark_incomplete(self, run_id: str, reason: str) -> None:
        """A running run stopped (instrument fault, operator pause): keep it, with ``reason``."""
        self._move(run_id, {RunState.RUNNING}, RunState.INCOMPLETE, "mark incomplete", reason)

    def abandon(self, run_id: str, reason: str) -> None:
        """Give up a run that was not completed: kept forever, never sent."""
        self._move(
            run_id, {RunState.RUNNING, RunState.INCOMPLETE}, RunState.ABANDONED, "abandon", reason
        )

    def resume(self, run_id: str) -> ResumeState:
        """Take an incomplete run up again: it is ``running``; the readings of points that
        were not finished are flagged discarded (kept, never sent) and those points are
        measured again. A multi-position run goes on after its last finished point of the
        shared sequence: the points its positions kept of an unfinished one are flagged
        discarded too, with their readings; each position stays as it was kept (a removed
        one removed)."""
        self._hold_run_lock()
        now = _now_text()
        with self._write() as db:
            self._require(run_id, {RunState.INCOMPLETE}, "resume")
            kept = db.execute(
                "SELECT point_index, point FROM points WHERE run_id = ? AND discarded = 0 "
                "ORDER BY point_index",
                (run_id,),
            ).fetchall()
            done = [row[0] for row in kept]
            marks = ",".join("?" * len(done))
            db.execute(
                "UPDATE position_points SET discarded = 1, discard_reason = ? WHERE run_id = ? "
                f"AND discarded = 0 AND point_index NOT IN ({marks})",
                (RESTARTED, run_id, *done),
            )
            cursor = db.execute(
                "UPDATE readings SET discarded = 1, discard_reason = ? "
                "WHERE run_id = ? AND discarded = 0 "
                f"AND point_index NOT IN ({marks})",
                (RESTARTED, run_id, *done),
            )
            discarded = cursor.rowcount
            positions = self._positions(run_id, readings=False)
            db.execute(
                "UPDATE runs SET state = 'running', reason = NULL, owner_pid = ?, "
                "updated_at = ? WHERE run_id = ?",
                (os.getpid(), now, run_id),
            )
            header, context = db.execute(
                "SELECT header, context FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if positions:
            return ResumeState(
                run_id,
                json.loads(header),
                json.loads(context),
                done,
                discarded,
                shared=[
                    SharedPoint.from_json({**json.loads(row[1]), "readings": []}, "shared")
                    for row in kept
                ],
                positions=positions,
            )
        return ResumeState(
            run_id,
            json.loads(header),
            json.loads(context),
            done,
            discarded,
            [json.loads(row[1]) for row in kept],
        )

    def _positions(
        self, run_id: str, *, readings: bool, checks: Mapping[int, Iterable[Check]] | None = None
    ) -> list[Position]:
        """A multi-position run's positions as kept, in number order, each with its kept
        points (with their readings when ``readings``) and ``checks`` of its number."""
        db = self._conn
        out: list[Position] = []
        for number, instrument, state, reason, identity in db.execute(
            "SELECT position, instrument, state, reason, identity FROM run_positions "
            "WHERE run_id = ? ORDER BY position",
            (run_id,),
        ).fetchall():
            where = f"positions[{len(out)}]"
            points = self._kept_points(run_id, number, readings=readings, where=f"{where}.points")
            out.append(
                Position(
                    position=number,
                    instrument=PositionInstrument.from_json(
                        json.loads(instrument), f"{where}.instrument"
                    ),
                    state=state,
                    reason=reason,
                    points=tuple(points),
                    checks=tuple((checks or {}).get(number, ())),
                    identity=MeterIdentity.from_json(json.loads(identity), f"{where}.identity")
                    if identity is not None
                    else None,
                )
            )
        return out

    def _kept_points(
        self, run_id: str, position: int | None, *, readings: bool, where: str
    ) -> list[Point]:
        """The kept points of ``position`` (None: of a run of one), by index, with their
        readings (in the order they were taken) when ``readings``."""
        if position is None:
            rows = self._conn.execute(
                "SELECT id, point FROM points WHERE run_id = ? AND discarded = 0 "
                "ORDER BY point_index",
                (run_id,),
            ).fetchall()
        else:
            rows = self._conn.execute(
                "SELECT id, point FROM position_points WHERE run_id = ? AND position = ? "
                "AND discarded = 0 ORDER BY point_index",
                (run_id, position),
            ).fetchall()
        points: list[Point] = []
        for point_id, text in rows:
            point = Point.from_json(json.loads(text), f"{where}[{len(points)}]", readings=False)
            if readings:
                point = replace(point, readings=self._point_readings(point_id, position))
            points.append(point)
        return points

    def _point_readings(self, point_id: int, position: int | None = None) -> tuple[Reading, ...]:
        """The readings of a point (of ``position``'s points, or of the points table)."""
        _, column = _POINT_TABLES[position is not None]
        return tuple(
            replace(Reading.from_json(json.loads(reading), "reading"), quantity=quantity)
            for quantity, reading in self._conn.execute(
                f"SELECT quantity, reading FROM readings WHERE {column} = ? ORDER BY id",
                (point_id,),
            )
        )

    def complete(
        self,
        run_id: str,
        finished_at: datetime | str,
        *,
        checks: Iterable[Check | Mapping[str, Any]] = (),
        curves: Mapping[str, Curve | Mapping[str, Any]] | None = None,
        position_checks: Mapping[int, Iterable[Check]] | None = None,
    ) -> bytes:
        """Assemble the run payload (:meth:`procedures.record.RunRecord.to_json`: the
        LIMS's ``RunIn``), serialise it once to compact UTF-8 JSON, keep those bytes (every
        attempt sends them) and queue the run.

        ``checks`` (the runner's test-level checks) and ``curves`` (its fitted curves, by
        test id) are results derived from the recorded points, so they are taken here, at
        completion, and sent as the payload's ``checks`` and ``curves`` (left out when
        there are none); the LIMS computes them again from the points.

        A multi-position run's payload holds its ``shared`` points and its ``positions``
        (its own ``points`` empty), each position with its kept points and its checks
        (``position_checks``, by position number); the whole record is read back before
        it is queued, so that a run the LIMS would refuse for its form is refused here,
        naming the field.
        """
        finished = _payload_time(finished_at, "finished_at")
        derived = _derived(checks, curves)
        with self._write() as db:
            self._require(run_id, {RunState.RUNNING}, "complete")
            if self._has_positions(run_id):
                if derived:
                    raise InvalidRecord(
                        "a multi-position run keeps its checks by position", field="checks"
                    )
                payload = self._assemble_positions(run_id, finished, position_checks or {})
            else:
                payload = self._assemble(run_id, finished, derived)
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            now = _now_text()
            db.execute(
                "UPDATE runs SET state = 'queued', finished_at = ?, queued_at = ?, body = ?, "
                "body_sha256 = ?, owner_pid = NULL, updated_at = ? WHERE run_id = ?",
                (finished, now, body, hashlib.sha256(body).hexdigest(), now, run_id),
            )
        return body

    def _assemble(
        self, run_id: str, finished_at: str, derived: Mapping[str, Any]
    ) -> dict[str, Any]:
        header = self._header(run_id)
        points = [
            p.to_json() for p in self._kept_points(run_id, None, readings=True, where="points")
        ]
        if not points:
            raise InvalidRecord(f"run {run_id} has no finished point", field="points")
        parts = {
            **header.to_json(),
            "finished_at": finished_at,
            "points": points,
            **derived,
            "raw_io": self._raw_io(run_id),
        }
        return {key: parts[key] for key in PAYLOAD_ORDER if key in parts}

    def _header(self, run_id: str) -> RunHeader:
        row = self._conn.execute("SELECT header FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return RunHeader.from_json(json.loads(row[0]), "header")

    def _raw_io(self, run_id: str) -> list[dict[str, Any]]:
        return [
            json.loads(row[0])
            for row in self._conn.execute(
                "SELECT entry FROM raw_io WHERE run_id = ? ORDER BY id", (run_id,)
            )
        ]

    def _assemble_positions(
        self, run_id: str, finished_at: str, checks: Mapping[int, Iterable[Check]]
    ) -> dict[str, Any]:
        """A multi-position run's payload: the shared points with their readings, each
        position with its own, read back as a :class:`procedures.record.RunRecord`."""
        shared = []
        for point_id, text in self._conn.execute(
            "SELECT id, point FROM points WHERE run_id = ? AND discarded = 0 ORDER BY point_index",
            (run_id,),
        ).fetchall():
            kept = SharedPoint.from_json({**json.loads(text), "readings": []}, "shared")
            shared.append(replace(kept, readings=self._point_readings(point_id)))
        if not shared:
            raise InvalidRecord(f"run {run_id} has no finished point", field="shared")
        record = RunRecord(
            header=self._header(run_id),
            finished_at=finished_at,
            points=(),
            shared=tuple(shared),
            positions=tuple(self._positions(run_id, readings=True, checks=checks)),
            raw_io=tuple(self._raw_io(run_id)),
        )
        payload = record.to_json()
        _read(RunRecord.from_json, json.loads(json.dumps(payload)))
        return payload

    # -- submission bookkeeping ---------------------------------------------------------------

    def due(self, now: datetime) -> list[QueuedRun]:
        """Queued runs whose next attempt is due at ``now``, oldest first."""
        rows = self._conn.execute(
            "SELECT run_id, job, body, attempts, next_attempt_at FROM runs "
            "WHERE state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY queued_at, run_id",
            (_aware_text(now, "now"),),
        ).fetchall()
        return [QueuedRun(r[0], r[1], bytes(r[2]), r[3], _parse_time(r[4])) for r in rows]

    def next_due(self) -> datetime | None:
        """When the earliest queued run is due (None: nothing queued)."""
        row = self._conn.execute(
            "SELECT COUNT(*), MIN(COALESCE(next_attempt_at, '')) FROM runs WHERE state = 'queued'"
        ).fetchone()
        if not row[0]:
            return None
        return _parse_time(row[1]) or datetime.now(UTC)

    def record_attempt(
        self,
        run_id: str,
        *,
        outcome: Outcome | str,
        status: int | None,
        reason: str | None = None,
        response: Mapping[str, Any] | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Keep one submission attempt of a queued run: ``sent``/``replayed`` (the server's
        response JSON kept), ``rejected`` (the server's error body kept), or ``retry`` at
        ``next_attempt_at`` with ``reason`` as the last error."""
        outcome = Outcome(outcome)
        now = _now_text()
        response_text = None if response is None else _dumps(dict(response), "response")
        with self._write() as db:
            self._require(run_id, {RunState.QUEUED}, f"record a {outcome} attempt")
            db.execute(
                "INSERT INTO attempts (run_id, at, outcome, status, reason, response) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, now, outcome.value, status, reason, response_text),
            )
            if outcome in (Outcome.SENT, Outcome.REPLAYED):
                db.execute(
                    "UPDATE runs SET state = 'sent', attempts = attempts + 1, last_status = ?, "
                    "last_error = NULL, next_attempt_at = NULL, response = ?, updated_at = ? "
                    "WHERE run_id = ?",
                    (status, response_text, now, run_id),
                )
            elif outcome == Outcome.REJECTED:
                db.execute(
                    "UPDATE runs SET state = 'rejected', attempts = attempts + 1, "
                    "last_status = ?, last_error = ?, next_attempt_at = NULL, rejection = ?, "
                    "updated_at = ? WHERE run_id = ?",
                    (status, reason, response_text, now, run_id),
                )
            else:
                db.execute(
                    "UPDATE runs SET attempts = attempts + 1, last_status = ?, last_error = ?, "
                    "next_attempt_at = ?, updated_at = ? WHERE run_id = ?",
                    (
                        status,
                        reason,
                        None if next_attempt_at is None else _aware_text(next_attempt_at, "at"),
                        now,
                        run_id,
                    ),
                )

    # -- reading back ---------------------------------------------------------------------------

    def state(self, run_id: str) -> RunState:
        """The run's state; :class:`UnknownRun` when there is no such run."""
        return RunState(self._state(run_id))

    def body(self, run_id: str) -> bytes | None:
        """The bytes kept for a completed run (None before completion)."""
        self._state(run_id)
        row = self._conn.execute("SELECT body FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row[0] is None else bytes(row[0])

    def readings(self, run_id: str) -> list[dict[str, Any]]:
        """Every reading of the run, discarded ones included, in id order: ``id``,
        ``point_index``, ``quantity``, ``reading``, ``discarded``, ``discard_reason``,
        ``position`` (None: a run of one's, or a shared reading)."""
        return [
            {
                "id": r[0],
                "point_index": r[1],
                "quantity": r[2],
                "reading": json.loads(r[3]),
                "discarded": bool(r[4]),
                "discard_reason": r[5],
                "position": r[6],
            }
            for r in self._conn.execute(
                "SELECT id, point_index, quantity, reading, discarded, discard_reason, position "
                "FROM readings WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
        ]

    def status(self) -> StatusReport:
        """Counts per state, and per run what is waiting, what failed and why."""
        db = self._conn
        counts = {state.value: 0 for state in RunState}
        for state, count in db.execute("SELECT state, COUNT(*) FROM runs GROUP BY state"):
            counts[state] = count
        rows = db.execute(
            "SELECT r.run_id, r.job, r.state, "
            " (SELECT COUNT(*) FROM readings WHERE run_id = r.run_id AND discarded = 0),"
            " (SELECT COUNT(*) FROM points WHERE run_id = r.run_id AND discarded = 0),"
            " r.attempts, r.last_status, COALESCE(r.last_error, r.reason), r.next_attempt_at,"
            " r.rejection, r.updated_at "
            "FROM runs r ORDER BY r.created_at, r.run_id"
        ).fetchall()
        runs = [
            RunStatus(
                run_id=r[0],
                job=r[1],
                state=r[2],
                readings=r[3],
                points=r[4],
                attempts=r[5],
                last_status=r[6],
                last_error=r[7],
                next_attempt_at=_parse_time(r[8]),
                rejection=None if r[9] is None else json.loads(r[9]),
                updated_at=_parse_time(r[10]) or datetime.now(UTC),
            )
            for r in rows
        ]
        return StatusReport(counts, runs)

    # -- caches of the last sync -------------------------------------------------------------------

    def cache_standards(
        self, records: Iterable[StandardRecord], fetched_at: datetime | None = None
    ) -> None:
        """Keep the LIMS's JSON of standards and their certificates, for field work."""
        when = _aware_text(fetched_at or datetime.now(UTC), "fetched_at")
        rows = [
            (
                record.asset_id,
                _dumps(dict(record.standard), "standard"),
                _dumps([dict(c) for c in record.certificates], "certificates"),
                when,
            )
            for record in records
        ]
        with self._write() as db:
            db.executemany(
                "INSERT INTO standards_cache (asset_id, standard, certificates, fetched_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (asset_id) DO UPDATE SET "
                "standard = excluded.standard, certificates = excluded.certificates, "
                "fetched_at = excluded.fetched_at",
                rows,
            )

    def cached_standards(self, asset_ids: Iterable[str]) -> dict[str, StandardRecord]:
        """The cached standards among ``asset_ids`` (those never cached are absent)."""
        found: dict[str, StandardRecord] = {}
        for asset_id in asset_ids:
            row = self._conn.execute(
                "SELECT standard, certificates FROM standards_cache WHERE asset_id = ?",
                (asset_id,),
            ).fetchone()
            if row is not None:
                found[asset_id] = StandardRecord(json.loads(row[0]), tuple(json.loads(row[1])))
        return found

    def standards_fetched_at(self, asset_id: str) -> datetime | None:
        """When the cached record of ``asset_id`` was fetched from the LIMS."""
        row = self._conn.execute(
            "SELECT fetched_at FROM standards_cache WHERE asset_id = ?", (asset_id,)
        ).fetchone()
        return None if row is None else _parse_time(row[0])

    def cache_job(self, job_json: Mapping[str, Any], fetched_at: datetime | None = None) -> None:
        """Keep the LIMS's JSON of a job (keyed by its ``number``)."""
        if "number" not in job_json:
            raise InvalidRecord("missing", field="number")
        when = _aware_text(fetched_at or datetime.now(UTC), "fetched_at")
        with self._write() as db:
            db.execute(
                "INSERT INTO jobs_cache (number, job, fetched_at) VALUES (?, ?, ?) "
                "ON CONFLICT (number) DO UPDATE SET job = excluded.job, "
                "fetched_at = excluded.fetched_at",
                (str(job_json["number"]), _dumps(dict(job_json), "job"), when),
            )

    def cached_job(self, number: str) -> dict[str, Any] | None:
        """The job as cached at the last sync, or None."""
        row = self._conn.execute(
            "SELECT job FROM jobs_cache WHERE number = ?", (number,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def cached_jobs(self) -> list[dict[str, Any]]:
        """Every job cached at the last sync, oldest number first."""
        return [
            dict(json.loads(row[0]))
            for row in self._conn.execute("SELECT job FROM jobs_cache ORDER BY number")
        ]

    def jobs_fetched_at(self, number: str) -> datetime | None:
        """When the cached job ``number`` was fetched from the LIMS."""
        row = self._conn.execute(
            "SELECT fetched_at FROM jobs_cache WHERE number = ?", (number,)
        ).fetchone()
        return None if row is None else _parse_time(row[0])

    # -- helpers -----------------------------------------------------------------------------------

    def _state(self, run_id: str) -> str:
        row = self._conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise UnknownRun(f"no run {run_id} in the outbox {self.path}")
        return str(row[0])

    def _require(self, run_id: str, allowed: set[RunState], action: str) -> None:
        state = self._state(run_id)
        if state not in allowed:
            raise InvalidState(run_id, state, action)

    def _move(
        self, run_id: str, allowed: set[RunState], target: RunState, action: str, reason: str
    ) -> None:
        if not reason or not reason.strip():
            raise InvalidRecord("a reason is needed", field="reason")
        with self._write() as db:
            self._require(run_id, allowed, action)
            db.execute(
                "UPDATE runs SET state = ?, reason = ?, owner_pid = NULL, updated_at = ? "
                "WHERE run_id = ?",
                (target.value, reason, _now_text(), run_id),
            )


# One encoder for every record: json.dumps with options would build a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _dumps(value: Any, field: str) -> str:
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as err:
        raise InvalidRecord(f"not JSON-serialisable without loss: {err}", field=field) from None


def _derived(
    checks: Iterable[Check | Mapping[str, Any]],
    curves: Mapping[str, Curve | Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The payload's ``checks`` (a list of objects) and ``curves`` (objects by test id),
    each only when not empty, as plain JSON (a NaN or an object that JSON cannot hold is
    refused, naming the field). The runner gives them as the record's parts."""
    out: dict[str, Any] = {}
    if isinstance(checks, Mapping | str | bytes):
        raise InvalidRecord("must be a list of checks", field="checks")
    listed = [c.to_json() if isinstance(c, Check) else c for c in checks]
    for i, check in enumerate(listed):
        if not isinstance(check, Mapping):
            raise InvalidRecord("must be an object", field=f"checks[{i}]")
    if listed:
        out["checks"] = json.loads(_dumps([dict(c) for c in listed], "checks"))
    if curves is not None:
        if not isinstance(curves, Mapping):
            raise InvalidRecord("must be an object of curves by test id", field="curves")
        given: dict[Any, Any] = {
            k: c.to_json() if isinstance(c, Curve) else c for k, c in curves.items()
        }
        for test_id, curve in given.items():
            if not isinstance(test_id, str) or not isinstance(curve, Mapping):
                raise InvalidRecord("must be an object", field=f"curves.{test_id}")
        if given:
            out["curves"] = json.loads(_dumps({k: dict(v) for k, v in given.items()}, "curves"))
    return out


def _reading_text(reading: Mapping[str, Any]) -> str:
    if isinstance(reading, Mapping) and "quantity" in reading:
        raise InvalidRecord("given separately (the quantity argument)", field="reading.quantity")
    return _dumps(_read(Reading.from_json, reading, "reading").to_json(), "reading")


def _read(parse: Callable[[Any, str], _Part], data: Any, where: str = "") -> _Part:
    """``parse(data, where)`` (a record part's ``from_json``), its refusal an InvalidRecord
    naming the same field."""
    try:
        return parse(data, where)
    except RecordError as exc:
        raise InvalidRecord(exc.message, field=exc.field) from None


def _aware_text(value: datetime | str, field: str) -> str:
    """A timezone-aware datetime as fixed-width UTC text (sortable); refuses naive ones."""
    return _utc_text(_aware(value, field))


def _aware(value: datetime | str, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRecord(f"not an ISO 8601 datetime: {value!r}", field=field) from None
    if value.tzinfo is None:
        raise InvalidRecord("must carry a UTC offset", field=field)
    return value


def _payload_time(value: datetime | str, field: str) -> str:
    """A datetime for the payload: text is kept as given (once checked), a datetime in ISO."""
    checked = _aware(value, field)
    return value if isinstance(value, str) else checked.isoformat()


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now_text() -> str:
    return _utc_text(datetime.now(UTC))


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
