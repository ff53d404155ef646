"""The registry lookup benchmark stays runnable: ``benchmarks/registry_lookup.py --quick``.

It needs PostgreSQL (as the benchmark does): with ``DATABASE_URL`` pointing at one, it
generates a few thousand certificates into a database of its own beside it
(``<name>_lookupbench``, dropped afterwards), then runs one round; every answer is
checked by the benchmark (a registered number found, an unregistered one not), and the
figures must be positive. Without PostgreSQL it is skipped, with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.benchdb import bench_database

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_run_answers_with_positive_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    with bench_database("lookupbench") as url:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "registry_lookup.py"),
                *("--database-url", url, "--quick", "--regenerate", "--json", str(out)),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
    # 1 is a missed target (a loaded machine may miss one); anything else is a failure
    assert done.returncode in (0, 1), done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["dataset"]["summary"]["facts"] > 3000  # the issued, and the later facts
    assert figures["partitions_probed"] >= 6
    for arm in ("lookup_ms", "baseline_ms"):
        assert 0 < figures[arm]["p50"] <= figures[arm]["p95"] <= figures[arm]["p99"]
