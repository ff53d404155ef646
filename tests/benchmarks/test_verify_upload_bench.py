"""The public-file-check benchmark stays runnable: ``benchmarks/verify_upload.py`` on small uploads.

Its crafted uploads must still reach the verdict code (an answer other than 200 or 400
stops it), so a change to the endpoint that the benchmark no longer exercises fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_verify_upload_benchmark_posts_every_crafted_case() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    done = subprocess.run(
        [sys.executable, "benchmarks/verify_upload.py", "--rounds", "1", "--megabytes", "0.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: a target missed on this run
    for case in ("not a PDF (baseline)", "numbers, no end", "numbers, one per line"):
        assert case in done.stdout, done.stdout
