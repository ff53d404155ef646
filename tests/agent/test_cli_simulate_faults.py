"""`caltrace-agent simulate` with a fault its simulator's transport cannot produce."""

from __future__ import annotations

import subprocess
import sys


def test_a_fault_a_modbus_simulator_cannot_produce_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", "simulate", "eurotherm-3200", "--fault", "garbled"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: eurotherm-3200 simulator: a Modbus simulator cannot inject 'garbled'; "
        "choose another --fault\n"
    )
