"""``caltrace-agent`` with the Druck PACE and the Fluke 5522A, run as an operator would."""

from __future__ import annotations

import json

import pytest

from agent.cli import main
from tests.support.agent import run_cli, simulate


def test_drivers_lists_the_pace_and_the_5522a(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drivers", "--json"]) == 0
    by_name = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    pace = {(c["direction"], c["function"]) for c in by_name["druck-pace"]["capabilities"]}
    assert pace == {("measure", "pressure"), ("source", "pressure")}
    fluke = {(c["direction"], c["function"]) for c in by_name["fluke-5522a"]["capabilities"]}
    assert fluke == {("source", f) for f in ("dcv", "acv", "dci", "aci", "res2w")}


def test_simulate_then_probe_the_pace_prints_its_pressure() -> None:
    with simulate(
        "druck-pace", "--value", "1500", "--noise", "0", "--serial", "3100042"
    ) as address:
        done = run_cli(
            "probe", "--driver", "druck-pace", "--address", address,
            "--function", "pressure", "--samples", "2", "--expected-serial", "3100042",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert result["driver"] == "druck-pace"
    assert result["identity"]["model"] == "PACE5000"
    assert [(r["value"], r["unit"], r["stable"]) for r in result["readings"]] == [
        (150000.0, "Pa", True),
        (150000.0, "Pa", True),
    ]


def test_probe_of_a_faulty_pace_prints_one_error_and_no_reading() -> None:
    with simulate("druck-pace", "--fault", "garbled") as address:
        done = run_cli("probe", "--driver", "druck-pace", "--address", address, "--retries", "0")
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: GarbledResponse: ")


def test_the_5522a_simulator_starts_and_a_probe_for_a_reading_is_refused() -> None:
    with simulate("fluke-5522a") as address:
        assert address.startswith("TCPIP::127.0.0.1::")
        done = run_cli("probe", "--driver", "fluke-5522a", "--address", address)
    assert done.returncode == 2  # a source measures nothing: a usage error, no I/O
    assert done.stdout == ""
    assert "measures nothing" in done.stderr
