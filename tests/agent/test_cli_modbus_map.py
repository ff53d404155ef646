"""``caltrace-agent probe --driver modbus-map --map FILE``, run as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.agent import run_cli, simulate

MAPS = Path(__file__).resolve().parents[2] / "drivers" / "maps"
SDM120 = MAPS / "eastron-sdm120.yaml"
SYSTEM10 = MAPS / "onicon-system-10.yaml"


def _plain(address: str) -> str:
    """The simulator's address without its map= option: the map comes from --map."""
    return address.split("&map=", 1)[0]


def test_simulate_then_probe_a_register_with_a_map_file() -> None:
    with simulate("modbus-map", "--value", "230.5") as address:
        done = run_cli(
            "probe", "--driver", "modbus-map", "--address", _plain(address),
            "--map", str(SDM120), "--function", "register:voltage", "--samples", "2",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert result["driver"] == "modbus-map"
    assert result["identity"]["model"] == "Eastron SDM120-Modbus"
    assert [(r["value"], r["unit"]) for r in result["readings"]] == [(230.5, "V")] * 2


def test_a_bad_map_is_one_error_line_naming_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("device: d\nregisters:\n  - {name: a, address: 1, function: input,"
                   " type: float32, unit: V}\n", encoding="utf-8")  # fmt: skip
    done = run_cli(
        "probe", "--driver", "modbus-map", "--address", "modbus-tcp://127.0.0.1:1?unit=1",
        "--map", str(bad), "--function", "register:a",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert f"{bad}:3: word_order: missing" in done.stderr


def test_probe_of_a_failing_meter_prints_one_error_and_no_reading() -> None:
    with simulate("modbus-map", "--fault", "device-error") as address:
        done = run_cli(
            "probe", "--driver", "modbus-map", "--address", _plain(address),
            "--map", str(SDM120), "--function", "register:frequency", "--retries", "0",
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: ModbusExceptionResponse: ")


def test_simulate_serves_the_map_given_with_map() -> None:
    with simulate("modbus-map", "--map", str(SYSTEM10), "--value", "36.5") as address:
        done = run_cli(
            "probe", "--driver", "modbus-map", "--address", address,
            "--function", "register:volume_flow_rate",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["identity"]["model"] == "ONICON System-10 Btu meter (System-10-MOD)"
    assert [(r["value"], r["unit"]) for r in result["readings"]] == [(36.5, "m3/h")]


def test_simulate_refuses_a_bad_map_and_a_map_for_another_driver(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("device: d\nregisters: []\n", encoding="utf-8")
    done = run_cli("simulate", "modbus-map", "--map", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{bad}:2: registers: must be a non-empty list" in done.stderr
    done = run_cli("simulate", "keysight-34465a", "--map", str(SYSTEM10))
    assert done.returncode == 2
    assert "--map is for the modbus-map simulator" in done.stderr
