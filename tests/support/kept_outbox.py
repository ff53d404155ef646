"""Outboxes the agent kept before the run record existed (commit 3719b25), for the tests.

``tests/agent/data/kept-before-the-record/`` holds, for two runs on the simulated benches,
the texts the agent kept in its outbox's tables and the SHA-256 of the payload it made from
them; :func:`left_by_the_earlier_agent` writes such an outbox file back.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from agent.outbox import Outbox
from procedures.record import Check, Curve

DATA = Path(__file__).resolve().parents[1] / "agent" / "data" / "kept-before-the-record"
RUNS = ["pressure-gauge-r101", "thermometer-bath"]
KEPT_AT = "2026-11-22T09:30:00.000000Z"


def kept(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


def left_by_the_earlier_agent(path: Path, run: dict[str, Any]) -> None:
    """The outbox file as that agent left it: the run started, every point and reading
    kept, the run not completed yet (the schema is the same, version 1)."""
    Outbox(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "INSERT INTO runs (run_id, job, header, context, state, created_at, updated_at) "
            "VALUES (?, ?, ?, '{}', 'running', ?, ?)",
            (run["run_id"], json.loads(run["header"])["job"], run["header"], KEPT_AT, KEPT_AT),
        )
        for point in run["points"]:
            point_id = db.execute(
                "INSERT INTO points (run_id, point_index, point, reading_ids, recorded_at) "
                "VALUES (?, ?, ?, '[]', ?)",
                (run["run_id"], point["point_index"], point["point"], KEPT_AT),
            ).lastrowid
            ids = [
                db.execute(
                    "INSERT INTO readings (run_id, point_index, quantity, reading, point_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (run["run_id"], point["point_index"], quantity, text, point_id),
                ).lastrowid
                for quantity, text in point["readings"]
            ]
            db.execute(
                "UPDATE points SET reading_ids = ? WHERE id = ?", (json.dumps(ids), point_id)
            )
    db.close()


def derived(run: dict[str, Any]) -> dict[str, Any]:
    """The run's checks and curves as the runner gives them now: the record's parts."""
    return {
        "checks": [Check.from_json(c) for c in run["checks"]],
        "curves": {k: Curve.from_json(c) for k, c in run["curves"].items()},
    }
