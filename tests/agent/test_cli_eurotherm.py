"""``caltrace-agent`` with the Eurotherm 3200 bath simulator, run as an operator would."""

from __future__ import annotations

import json

from tests.support.agent import run_cli, simulate


def test_simulate_then_probe_the_bath_prints_its_temperature() -> None:
    with simulate("eurotherm-3200", "--value", "37.5", "--noise", "0") as address:
        assert "decimals=2" in address
        done = run_cli(
            "probe", "--driver", "eurotherm-3200", "--address", address,
            "--function", "temperature", "--samples", "2",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [(r["value"], r["unit"]) for r in result["readings"]] == [(37.5, "degC")] * 2


def test_probe_without_decimals_is_refused_before_any_io() -> None:
    done = run_cli(
        "probe", "--driver", "eurotherm-3200", "--address", "modbus-tcp://127.0.0.1:1?unit=1"
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: AddressError: ")
    assert "decimal" in done.stderr


def test_probe_of_a_silent_bath_prints_one_error_and_no_reading() -> None:
    with simulate("eurotherm-3200", "--fault", "timeout") as address:
        done = run_cli(
            "probe", "--driver", "eurotherm-3200", "--address", address,
            "--retries", "0", "--timeout", "0.3",
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: InstrumentTimeout: ")
