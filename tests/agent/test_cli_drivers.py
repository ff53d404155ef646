"""``caltrace-agent drivers | simulate | probe`` run as subprocesses, as an operator would."""

from __future__ import annotations

import json
import signal
import socket
from datetime import datetime

import pytest

from agent.cli import main
from tests.support.agent import run_cli, simulate


def test_drivers_lists_every_driver_and_its_capabilities(capsys: pytest.CaptureFixture[str]):
    assert main(["drivers"]) == 0
    text = capsys.readouterr().out
    assert "keysight-34465a" in text
    assert "keysight-34470a" in text
    assert "measure dcv" in text
    assert main(["drivers", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    by_name = {d["name"]: d for d in listing}
    functions = {c["function"] for c in by_name["keysight-34465a"]["capabilities"]}
    assert functions == {"dcv", "acv", "dci", "res2w", "res4w"}


def test_simulate_then_probe_prints_one_json_object() -> None:
    with simulate("keysight-34465a", "--value", "1.5", "--noise", "1e-6", "--seed", "4") as address:
        assert address.startswith("TCPIP::127.0.0.1::")
        done = run_cli(
            "probe", "--driver", "keysight-34465a", "--address", address,
            "--function", "dcv", "--range", "10", "--samples", "3",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert set(result) == {"driver", "address", "identity", "readings"}
    assert result["driver"] == "keysight-34465a"
    assert result["address"] == address
    assert result["identity"]["model"] == "34465A"
    assert len(result["readings"]) == 3
    for reading in result["readings"]:
        assert set(reading) == {"value", "unit", "timestamp", "stable"}
        assert reading["value"] == pytest.approx(1.5, abs=1e-5)
        assert reading["unit"] == "V"
        assert reading["stable"] is True
        assert datetime.fromisoformat(reading["timestamp"]).tzinfo is not None


def test_probe_of_a_dead_address_fails_cleanly() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = run_cli(
        "probe", "--driver", "keysight-34465a", "--address", f"TCPIP::127.0.0.1::{port}::SOCKET"
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ConnectionLost: ")
    assert f"::{port}::SOCKET" in lines[0]


def test_probe_reports_faults_overloads_and_refusals_without_a_reading() -> None:
    with simulate("keysight-34465a", "--fault", "timeout") as address:
        timed_out = run_cli(
            "probe", "--driver", "keysight-34465a", "--address", address,
            "--timeout", "0.3", "--retries", "0",
        )  # fmt: skip
    with simulate("keysight-34465a", "--value", "20") as address:
        overload = run_cli(
            "probe", "--driver", "keysight-34465a", "--address", address, "--range", "10"
        )
        refused = run_cli(
            "probe", "--driver", "keysight-34465a", "--address", address, "--range", "5"
        )
        mismatch = run_cli(
            "probe", "--driver", "keysight-34465a", "--address", address,
            "--expected-serial", "MY00000000",
        )  # fmt: skip
    for done, error in (
        (timed_out, "InstrumentTimeout"),
        (overload, "MeasurementOverload"),
        (refused, "OutOfRange"),
        (mismatch, "IdentityMismatch"),
    ):
        assert done.returncode == 1, (error, done.stdout)
        assert done.stdout == ""
        assert len(done.stderr.splitlines()) == 1
        assert done.stderr.startswith(f"error: {error}: ")
    assert "last command 'READ?'" in timed_out.stderr


def test_simulate_stops_on_sigint_too() -> None:
    with simulate("keysight-34470a", stop=signal.SIGINT) as address:
        done = run_cli("probe", "--driver", "keysight-34470a", "--address", address)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identity"]["model"] == "34470A"


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--driver", "no-such-meter", "--address", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown driver 'no-such-meter'")
    assert len(err.splitlines()) == 1
    assert main(["probe", "--driver", "keysight-34465a", "--address", "x", "--range", "ten"]) == 2
    assert main(["simulate", "no-such-meter"]) == 2
    with pytest.raises(SystemExit) as caught:
        main(["simulate", "keysight-34465a", "--fault", "lightning"])
    assert caught.value.code == 2
