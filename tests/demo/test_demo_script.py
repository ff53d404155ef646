"""``make demo`` as a newcomer runs it: ``scripts/demo.py`` on a fresh var directory
(SQLite, the demo data, the LIMS on loopback, procedure 1 through the agent on the
simulated bench), then once more on the same data, which finds the job already run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo(var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CALTRACE_AGENT_TOKEN"}}
    env.update(CALTRACE_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="labserver.settings.dev")
    return subprocess.run(
        [sys.executable, "scripts/demo.py", "--no-serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_demo_runs_procedure_1_through_the_agent_and_the_lims_agrees(tmp_path: Path) -> None:
    first = demo(tmp_path / "var")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = first.stdout
    assert "complete, 10 point(s), 50 reading(s); signed and queued" in out
    assert "sent (HTTP 201)" in out
    assert out.count("LIMS: pass  agent: pass") == 10
    assert "disagreements between the agent and the LIMS: 0" in out
    assert (tmp_path / "var" / "labserver.sqlite3").exists()

    again = demo(tmp_path / "var")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "has run already" in again.stdout
