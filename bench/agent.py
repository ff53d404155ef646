"""Benchmark of the agent's outbox against bare SQLite, same run, same disk.

    .venv/bin/python bench/agent.py [--seconds S] [--rounds N] [--dir DIR]

Figure 1, readings made durable per second, one commit each:

* **bare SQLite**: ``INSERT`` of one row then ``COMMIT``, on a connection in WAL mode
  with ``synchronous=FULL`` (what the outbox uses: a commit syncs the log to the disk);
* **caltrace outbox**: :meth:`agent.outbox.Outbox.add_reading` into a running run: the
  reading checked and serialised to JSON, ``BEGIN IMMEDIATE``, one ``INSERT … SELECT``
  that also checks the run is running and the point not yet recorded, ``COMMIT``.

Both write to files in the same temporary directory (``--dir`` chooses where: the disk
that matters is the bench PC's), rounds alternate between the two, each figure is the
median over the rounds. Target: the outbox at least 70 % of bare SQLite. The cost is
dominated by the disk's sync at every commit; on a disk that syncs fast the Python work
of each call shows more.

Figure 2, a run against the simulators compared with the drivers' own cost, is not
measured yet: it belongs in :func:`main`, after figure 1, once the procedure runner lands.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the package it measures: run as a script, its own
# folder comes first on sys.path and would shadow the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from agent.outbox import Outbox  # noqa: E402

TARGET = 0.70
READING = {
    "value": 10.000012,
    "unit": "V",
    "timestamp": "2026-11-22T08:00:00.123456+00:00",
    "stable": True,
    "raw": "+1.00000120E+01",
}


def _rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``call`` over about ``seconds``."""
    for _ in range(20):  # warm up
        call()
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(20):
            call()
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def _bench_outbox(args: argparse.Namespace, directory: Path) -> int:
    bare = sqlite3.connect(directory / "bare.sqlite3")
    bare.execute("PRAGMA journal_mode=WAL").fetchone()
    bare.execute("PRAGMA synchronous=FULL")
    bare.execute(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, "
        "point_index INTEGER NOT NULL, quantity TEXT NOT NULL, reading TEXT NOT NULL)"
    )
    bare.commit()
    run_id = str(uuid.uuid4())
    text = json.dumps(READING)

    def bare_insert() -> None:
        bare.execute(
            "INSERT INTO readings (run_id, point_index, quantity, reading) VALUES (?, ?, ?, ?)",
            (run_id, 0, "x", text),
        )
        bare.commit()

    outbox = Outbox(directory / "outbox.sqlite3")
    header = {
        "run_id": run_id,
        "job": "BENCH-1",
        "procedure": {"id": "dmm-dcv", "version": "1.0.0", "hash": "0" * 64},
        "operator": "bench",
        "software_version": "bench",
        "started_at": "2026-11-22T08:00:00+00:00",
        "standards": [],
    }
    outbox.start_run(header)

    def outbox_add() -> int:
        return outbox.add_reading(run_id, point_index=0, quantity="x", reading=READING)

    clients: dict[str, Callable[[], object]] = {
        "bare sqlite3 INSERT + COMMIT (WAL, FULL)": bare_insert,
        "caltrace Outbox.add_reading": outbox_add,
    }
    rates: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(args.rounds):
        for name, call in clients.items():
            rates[name].append(_rate(call, args.seconds))
    outbox.close()
    bare.close()

    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"Readings made durable, one commit each, in {directory}")
    print(f"{args.rounds} rounds of {args.seconds} s, alternating; median")
    for name, value in medians.items():
        spread = f"{min(rates[name]):,.0f}-{max(rates[name]):,.0f}"
        print(f"  {name:<42} {value:>8,.0f} /s   (rounds {spread})")
    share = (
        medians["caltrace Outbox.add_reading"] / medians["bare sqlite3 INSERT + COMMIT (WAL, FULL)"]
    )
    print(f"  outbox / bare: {share:6.1%}  (target >= {TARGET:.0%})")
    print()
    return 0 if share >= TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round (s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per client")
    parser.add_argument("--dir", type=Path, help="where the databases go (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caltrace-bench-", dir=args.dir) as directory:
        statuses = [_bench_outbox(args, Path(directory))]
        # Figure 2 (a run against the simulators vs the drivers' own cost) goes here.
    return max(statuses)


if __name__ == "__main__":
    raise SystemExit(main())
