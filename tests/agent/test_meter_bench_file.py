"""A bench file of a meter test bench with positions: the bench in the reference role, each
position a role of the same driver at the same address (its meter's serial); loaded, it
opens one simulated bench whose positions are views over the one connection, and drives a
multi-position run of electricity-meter-r46. A position's optical port is a role of the
bench beside it (``optical@N``), the meter's register read through it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from agent.config import load_bench
from simulation.bench import SimulatedBench
from simulation.world import SimulatedWorld
from tests.support.electricity import METER, electricity_runner
from tests.support.positions import Kept

ADDRESS = "TCPIP::192.0.2.50::5025::SOCKET"
FILE = f"""\
bench: bench-electricity-4
organization: HN
lims: http://127.0.0.1:8000
key: k.pem
token: t.token
outbox: o.sqlite3
roles:
  reference: {{driver: caltrace-mtb, address: '{ADDRESS}', asset_id: HN-E-MTB, serial: MTB-0042,
              options: {{positions: 4, speed: 100000}}}}
  environment: {{driver: manual, address: 'manual://temperature?unit=degC&min=0&max=50&resolution=0.1'}}
positions:
  count: 4
  each:
    1: {{driver: caltrace-mtb, address: '{ADDRESS}', serial: EM-0001, options: {{error: 0.3}},
         optical: {{port: 'socket://192.0.2.60:5101'}}}}
    2: {{driver: caltrace-mtb, address: '{ADDRESS}', serial: EM-0002, options: {{error: -2.4}},
         optical: {{port: 'socket://192.0.2.60:5102'}}}}
    3: {{driver: caltrace-mtb, address: '{ADDRESS}', serial: EM-0003, options: {{empty: true}}}}
    4: {{driver: caltrace-mtb, address: '{ADDRESS}', serial: EM-0004, options: {{error: 0.0}},
         optical: {{port: 'socket://192.0.2.60:5104'}}}}
"""


def test_a_meter_bench_file_s_positions_are_views_of_its_one_bench(tmp_path: Path) -> None:
    (tmp_path / "t.token").write_text("cta_x\n")
    (tmp_path / "t.token").chmod(0o600)
    path = tmp_path / "bench.yaml"
    path.write_text(FILE)
    config = load_bench(path, environ={})
    positions = config.bench_positions("electricity-meter", METER)
    assert [(p.role, p.instrument.serial) for p in positions] == [
        ("uut@1", "EM-0001"),
        ("uut@2", "EM-0002"),
        ("uut@3", "EM-0003"),
        ("uut@4", "EM-0004"),
    ]
    assert {
        name: (r.driver, r.address, r.serial)
        for name, r in config.bench_roles.items()
        if name.startswith("optical")
    } == {
        f"optical@{n}": ("iec62056-21", f"socket://192.0.2.60:510{n}", f"EM-000{n}")
        for n in (1, 2, 4)
    }
    kept = Kept()
    with SimulatedBench(config.bench_roles, SimulatedWorld(seed=3)) as bench:
        # one simulator for the bench and its four positions
        assert [r for r in config.bench_roles if bench.simulator(r) is not None] == ["reference"]
        runner = electricity_runner(bench, kept, positions, on=date(2026, 12, 6))
        runner.preflight()
        runner.read_environment()
        runner.run()
        assert bench.instrument("uut@1").address.endswith("#position=1")  # type: ignore[attr-defined]
    measured = runner.positions_record()[1]
    assert [(p.instrument.serial, p.state, p.verdict) for p in measured] == [
        ("EM-0001", "measured", "pass"),
        ("EM-0002", "measured", "fail"),  # −2.4 %: outside class B's 2 %
        ("EM-0003", "skipped", None),
        ("EM-0004", "measured", "pass"),
    ]
    assert measured[2].reason == (
        "its instrument cannot be opened: position 3 holds no meter (mounted: 1, 2, 4)"
    )
