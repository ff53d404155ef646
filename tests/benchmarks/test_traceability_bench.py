"""The traceability benchmark stays runnable: ``benchmarks/traceability.py`` on a tiny data set.

It needs PostgreSQL (as the benchmark does): with ``DATABASE_URL`` pointing at one, it
generates a small ladder into a database of its own beside it (``<name>_tracebench``,
dropped afterwards), serves it with gunicorn and runs one round of every arm; each must
answer and give positive figures. Without PostgreSQL it is skipped, with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.benchdb import bench_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench_url() -> Iterator[str]:
    with bench_database("tracebench") as url:
        yield url


def test_every_arm_answers_with_positive_figures(bench_url: str, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "traceability.py"),
            *("--database-url", bench_url, "--regenerate"),
            *("--standards", "55", "--certificates", "1500", "--centers", "2"),
            *("--rounds", "1", "--chains", "3", "--impacts", "2", "--lookups", "20"),
            *("--requests", "40", "--clients", "4", "--workers", "1", "--threads", "4"),
            *("--json", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    # 1 is a missed target (a loaded machine may miss one); anything else is a failure
    assert done.returncode in (0, 1), done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["dataset"]["summary"]["issued_certificates"] == 1500
    assert figures["dataset"]["summary"]["standards"] == 55
    for arm in ("chain", "impact", "lookup"):
        assert all(figures[arm][f"p{q}_ms"] > 0 for q in (50, 95, 99)), arm
    assert figures["throughput"]["public_per_s"] > 0
    assert figures["throughput"]["bare_per_s"] > 0
    assert min(figures["impact_rows"]) > 0
    assert min(figures["chain_edges"]) > 0
    assert [c["arm"] for c in figures["checks"]] == [
        "chain view",
        "reverse trace",
        "public lookup, 1 client",
        "public lookup, concurrent",
    ]
    assert "target chain view p50 < 50 ms" in done.stdout

    # a second run with the same spec reuses the data set
    again = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "traceability.py"),
            *("--database-url", bench_url),
            *("--standards", "55", "--certificates", "1500", "--centers", "2"),
            *("--rounds", "1", "--chains", "2", "--impacts", "1", "--lookups", "5"),
            *("--requests", "10", "--clients", "2", "--workers", "1", "--threads", "2"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert again.returncode in (0, 1), again.stdout + again.stderr
    assert "data set: reused" in again.stdout
