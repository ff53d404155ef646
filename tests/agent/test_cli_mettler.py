"""`caltrace-agent simulate mettler-sics`, then `probe` on its pseudo-terminal (subprocesses)."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.agent import run_cli, simulate

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def test_probe_reads_a_simulated_balance_on_a_pseudo_terminal() -> None:
    with simulate("mettler-sics", "--value", "12.5", "--noise", "0", "--serial", "B1") as address:
        assert address.startswith("/dev/")
        done = run_cli(
            "probe", "--driver", "mettler-sics", "--address", address,
            "--function", "mass", "--samples", "2", "--expected-serial", "B1",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["driver"] == "mettler-sics"
    assert result["identity"]["serial"] == "B1"
    assert result["identity"]["manufacturer"] == "Mettler Toledo"
    assert [r["value"] for r in result["readings"]] == [12.5, 12.5]
    assert {r["unit"] for r in result["readings"]} == {"g"}
    assert all(r["stable"] for r in result["readings"])


def test_probe_of_an_overloaded_balance_prints_one_error_and_no_reading() -> None:
    with simulate("mettler-sics", "--value", "500") as address:
        done = run_cli("probe", "--driver", "mettler-sics", "--address", address)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: BalanceOverload: ")
    assert len(done.stderr.splitlines()) == 1
    assert "last command 'S'" in done.stderr
