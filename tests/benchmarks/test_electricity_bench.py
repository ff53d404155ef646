"""The electricity-meter benchmark stays runnable: ``benchmarks/electricity_bench.py --quick``
end to end (six meters on the simulated bench over TCP, then the LIMS on a temporary SQLite
file: the run posted, reviewed, approved, and six certificates signed). The times are not
judged here (no test asserts that something was fast): only that every meter was verified
and certified and the figures were printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_electricity_benchmark_verifies_every_meter_and_prints_its_figures() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_OWNER_URL"}}
    done = subprocess.run(
        [sys.executable, "benchmarks/electricity_bench.py", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-2000:]
    assert "positions                     6 (6 passed)" in done.stdout, out[-2000:]
    assert "certificates issued           6" in done.stdout, out[-2000:]
    assert "LIMS: issue 6 certificates, one act" in done.stdout, out[-2000:]
    for figure in ("simulated sequence duration", "software wall time", "software share"):
        assert figure in done.stdout, out[-2000:]
