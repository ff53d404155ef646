"""The readings' partitions benchmark stays runnable: ``benchmarks/readings_partitions.py
--quick``.

It needs PostgreSQL (as the benchmark does): with ``DATABASE_URL`` pointing at one, it
generates a few thousand readings over six years into a database of its own beside it
(``<name>_readingsbench``, dropped afterwards), then runs one round; every answer is checked
by the benchmark (each run's readings, all of them), the look-up of a run visits the
partition of its year only, and the figures must be positive. Without PostgreSQL it is
skipped, with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.benchdb import bench_database

ROOT = Path(__file__).resolve().parents[2]
ARMS = ("one_year", "all_years", "all_years_any_run", "baseline", "no_window")


def test_the_quick_run_answers_with_positive_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    with bench_database("readingsbench") as url:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "readings_partitions.py"),
                *("--database-url", url, "--quick", "--regenerate", "--json", str(out)),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["dataset"]["summary"]["readings"] == 6000
    assert figures["partitions_visited"] == ["measurements_reading_y2026"]
    assert len(figures["partitions_without_window"]) >= 6
    for arm in ARMS:
        ms = figures["ms"][arm]
        assert 0 < ms["p50"] <= ms["p95"] <= ms["p99"]
