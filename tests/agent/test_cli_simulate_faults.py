"""``caltrace-agent simulate --fault garbled|truncated|disconnect`` for the Modbus
simulators, probed as an operator would: one error line, a non-zero exit, no reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.agent import run_cli, simulate

SDM120 = Path(__file__).resolve().parents[2] / "drivers" / "maps" / "eastron-sdm120.yaml"

PROBES = {
    "eurotherm-3200": ["--function", "temperature"],
    "modbus-map": ["--map", str(SDM120), "--function", "register:voltage"],
}


@pytest.mark.parametrize("driver", sorted(PROBES))
@pytest.mark.parametrize(
    ("fault", "error", "timeout"),
    [
        ("garbled", "error: GarbledResponse: garbled answer: ", "10"),
        # The rest of a truncated answer never comes: the probe gives up at its timeout.
        ("truncated", "error: GarbledResponse: truncated answer: ", "0.3"),
        ("disconnect", "error: ConnectionLost: connection closed mid-answer: ", "10"),
    ],
)
def test_probe_of_a_modbus_simulator_with_a_wire_fault_prints_one_error_and_no_reading(
    driver: str, fault: str, error: str, timeout: str
) -> None:
    with simulate(driver, "--fault", fault) as address:
        done = run_cli(
            "probe", "--driver", driver, "--address", address.split("&map=", 1)[0],
            *PROBES[driver], "--retries", "1", "--timeout", timeout,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(error)
    assert "last command 'read " in done.stderr
