"""The replication benchmark stays runnable: ``benchmarks/replication.py --quick`` on three
throw-away clusters (two centers and the national node), a few seconds of load and a small
burst; every fact committed must arrive (the benchmark waits for each and fails
otherwise), and the figures must be positive. Skipped, with the reason, where the
PostgreSQL server binaries are missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.clusters import server_bindir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    server_bindir() is None, reason="the PostgreSQL server binaries (initdb, pg_ctl) are missing"
)
def test_the_quick_run_carries_every_fact_and_gives_positive_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "replication.py"),
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    lag = figures["lag"]
    assert lag["facts"] == 2 * 15 + 2  # 5 a second for 3 s from each center, 1 revocation each
    assert lag["lag_ms"]["p50"] <= lag["lag_ms"]["p99"] <= lag["lag_ms"]["max"]
    put = figures["throughput"]
    assert put["burst"] == 300
    assert put["replication_facts_per_s"] > 0
    assert put["insert_select_facts_per_s"] > 0
