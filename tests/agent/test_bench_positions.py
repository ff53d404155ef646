"""A bench file that names its positions (water meters in series): loaded, it drives a
multi-position run on the simulated bench; positions that disagree with the bench are
refused with the file's line and the position at fault."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agent.config import ConfigError, load_bench
from procedures.bench import BenchPosition
from procedures.definition import library, load_definition
from procedures.runner import NotReady, Runner
from simulation.bench import SimulatedBench
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime, SimulatedWorld
from tests.support.positions import Kept, reference_record

MAP = Path(__file__).resolve().parents[2] / "drivers" / "maps" / "onicon-f3100.yaml"
METER = {"accuracy_class": 2, "q3": 4.0, "ratio": 160.0}
REGISTER = "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001"
TOP = (
    "bench: bench-flow-4\norganization: HN\nlims: http://127.0.0.1:8000\nkey: k.pem\n"
    "token: t.token\noutbox: o.sqlite3\nroles:\n"
    "  reference: {driver: modbus-map, address: 'modbus-tcp://192.0.2.40:502?unit=1',"
    " asset_id: HN-V-FLOW, options: {map_file: '%s', registers: {volume: positive_total}}}\n"
)


def bench_file(tmp_path: Path, positions: str) -> Path:
    (tmp_path / "t.token").write_text("cta_x\n")
    (tmp_path / "t.token").chmod(0o600)
    path = tmp_path / "bench.yaml"
    path.write_text(TOP % MAP + positions)  # positions: from line 9
    return path


THREE = (
    "positions:\n"
    "  count: 3\n"
    "  each:\n"
    f"    1: {{driver: manual, address: '{REGISTER}', serial: WM-0001}}\n"
    f"    2: {{driver: manual, address: '{REGISTER}', serial: WM-0002,"
    " options: {high_flow: 0.05}}\n"
    f"    3: {{driver: manual, address: '{REGISTER}', serial: WM-0003}}\n"
)


def water_meters(
    bench: SimulatedBench,
    world: SimulatedWorld,
    clock: SimulatedTime,
    positions: list[BenchPosition],
) -> Runner:
    return Runner(
        load_definition(library()["water-meter-r49"]),
        bench=bench,
        operator=SimulatedOperator(world),
        recorder=Kept(),
        standards={"HN-V-FLOW": reference_record()},
        instrument=METER,
        on=date(2026, 11, 22),
        sleep=clock.sleep,
        clock=clock.clock,
        positions=positions,
    )


def test_a_bench_file_s_positions_drive_a_multi_position_run(tmp_path: Path) -> None:
    config = load_bench(bench_file(tmp_path, THREE), environ={})
    assert sorted(config.positions) == [1, 2, 3]
    assert [r.role for r in config.positions.values()] == ["uut@1", "uut@2", "uut@3"]
    assert set(config.bench_roles) == {"reference", "uut@1", "uut@2", "uut@3"}
    positions = config.bench_positions("water-meter", METER)
    assert [(p.number, p.role, p.instrument.serial) for p in positions] == [
        (1, "uut@1", "WM-0001"),
        (2, "uut@2", "WM-0002"),
        (3, "uut@3", "WM-0003"),
    ]
    world = SimulatedWorld(seed=2, flow_time_scale=1e-4, max_flow_s=0.02)
    clock = SimulatedTime(real_pause_s=0.001)
    with SimulatedBench(config.bench_roles, world) as bench:
        runner = water_meters(bench, world, clock, positions)
        runner.preflight()
        runner.run()
    _, measured = runner.positions_record()
    # Without its positions (the bench's roles alone, as a bench of one is opened) the
    # run is refused before anything is switched on: no instrument in role uut.
    with SimulatedBench(config.roles, world) as bench:
        alone = water_meters(bench, world, clock, [])
        with pytest.raises(NotReady, match="role uut: the bench has no instrument in this role"):
            alone.preflight()
    # meter 2 reads 5 % high at high flows (its option high_flow): it alone fails
    assert [(p.instrument.serial, p.verdict) for p in measured] == [
        ("WM-0001", "pass"),
        ("WM-0002", "fail"),
        ("WM-0003", "pass"),
    ]


POSITION = f"{{driver: manual, address: '{REGISTER}', serial: WM-1}}"
THIRD = f"{{driver: manual, address: '{REGISTER}', serial: WM-3}}"


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        (
            f"positions:\n  count: 2\n  each:\n    1: {POSITION}\n    3: {THIRD}\n",
            r":13: positions.each.3: position 3: the bench has 2 positions \(1 to 2\)",
        ),
        (
            f"positions:\n  count: 3\n  each:\n    1: {POSITION}\n    3: {THIRD}\n",
            r":12: positions.each: position 2 of 3 is not described",
        ),
        (
            f"positions:\n  count: 2\n  each:\n    1: {POSITION}\n    2: {POSITION}\n",
            r":13: positions.each.2.serial: position 2 holds WM-1, as position 1 does",
        ),
        ("positions:\n  count: 0\n  each: {}\n", r":10: positions.count: must be a whole"),
        ("positions:\n  count: two\n  each: {}\n", r":10: positions.count: must be a whole"),
        (f"positions:\n  each:\n    1: {POSITION}\n", r":9: positions.count: missing"),
        (
            f"positions:\n  count: 1\n  rows: 2\n  each:\n    1: {POSITION}\n",
            r":11: positions.rows: unknown key",
        ),
        (
            f"positions:\n  count: 1\n  each:\n    1: {{driver: manual, address: '{REGISTER}'}}\n",
            r":12: positions.each.1.serial: position 1 holds an instrument under test",
        ),
        (
            "positions:\n  count: 1\n  each:\n"
            f"    1: {{driver: manual, address: '{REGISTER}', serial: S, asset_id: A}}\n",
            r":12: positions.each.1.asset_id: position 1 holds an instrument under test",
        ),
        (
            "positions:\n  count: 1\n  each:\n    1: {driver: none, asset_id: A}\n",
            r":12: positions.each.1.driver: unknown driver 'none'",
        ),
        (
            f"  uut: {{driver: manual, address: '{REGISTER}'}}\n"
            f"positions:\n  count: 1\n  each:\n    1: {POSITION}\n",
            r":9: roles.uut: a bench with positions holds its instruments under test",
        ),
    ],
)
def test_positions_that_disagree_with_the_bench_are_refused_naming_the_position(
    tmp_path: Path, positions: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_bench(bench_file(tmp_path, positions), environ={})
