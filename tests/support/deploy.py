"""``manage.py`` run as a deployment runs it: in a child process, with production's settings
from the environment (a secret key, the allowed hosts, the var and anchor folders in the
test's temporary directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        SECRET_KEY="x" * 20 + "production-secret-from-the-environment-0123456789",
        ALLOWED_HOSTS="lims.example.org",
        CALTRACE_VAR_DIR=str(tmp_path / "var"),
        CALTRACE_ANCHOR_DIR=str(tmp_path / "anchors"),
    )
    return env
