"""A run on a bench with positions is refused before its first point, naming the bench
file's line and the position, when the positions disagree with the procedure or the job:
a procedure that measures no instrument under test at each position or fits a curve (one
instrument's), a job whose instrument no position holds, a position whose instrument has
no open job of the procedure. A position whose instrument cannot be opened is skipped with
the reason, the others measured."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.config import load_bench
from agent.instruments import OpenedInstruments
from agent.outbox import Outbox
from agent.run import PlanError, check_positions
from drivers.capabilities import measure
from procedures.bench import BenchPosition, BenchRole
from procedures.definition import definition_from_data, library, load_definition
from procedures.record import PositionInstrument
from procedures.runner import Runner
from simulation.people import SimulatedOperator
from simulation.world import SimulatedWorld
from tests.support.agent import closed_port_url, simulate
from tests.support.flow_bench import MAP, METER, REGISTER, FlowBench
from tests.support.positions import Kept, reference_record

WATER = load_definition(library()["water-meter-r49"])
JOB = {"number": "J-1", "instrument_serial": "WM-0001"}
BENCH = (
    "bench: bench-flow-4\norganization: HN\nlims: http://127.0.0.1:8000\nkey: k.pem\n"
    "token: t.token\noutbox: o.sqlite3\nroles:\n"
    "  reference: {driver: modbus-map, address: 'modbus-tcp://192.0.2.40:502?unit=1',"
    " asset_id: HN-V-FLOW}\n"
    "positions:\n"  # line 9
    "  count: 2\n"
    "  each:\n"
    f"    1: {{driver: manual, address: '{REGISTER}', serial: WM-0001}}\n"
    f"    2: {{driver: manual, address: '{REGISTER}', serial: WM-0002}}\n"
)


def bench_config(tmp_path: Path) -> object:
    (tmp_path / "t.token").write_text("cta_x\n")
    (tmp_path / "t.token").chmod(0o600)
    (tmp_path / "bench.yaml").write_text(BENCH)
    return load_bench(tmp_path / "bench.yaml", environ={})


def test_a_procedure_that_cannot_run_by_position_is_refused_naming_the_line(
    tmp_path: Path,
) -> None:
    config = bench_config(tmp_path)
    check_positions(config, WATER, JOB)  # type: ignore[arg-type]
    curved = load_definition(library()["thermometer-bath"])
    with pytest.raises(
        PlanError,
        match=r"bench.yaml:9: positions: procedure thermometer-bath .* "
        r"fits a curve \(test comparison\)",
    ):
        check_positions(config, curved, JOB)  # type: ignore[arg-type]
    # the water-meter procedure with its meter in a role of another name: nothing to
    # measure at each position
    text = Path(library()["water-meter-r49"]).read_text(encoding="utf-8")
    renamed = definition_from_data(yaml.safe_load(text.replace("uut", "meter")), source="t")
    with pytest.raises(
        PlanError,
        match=r"bench.yaml:9: positions: .* measures no instrument "
        r"under test \(role uut\)",
    ):
        check_positions(config, renamed, JOB)  # type: ignore[arg-type]
    with pytest.raises(
        PlanError,
        match=re.escape(
            "bench.yaml:9: positions: job J-1 is for instrument WM-0009, which no position holds "
            "(1: WM-0001, 2: WM-0002)"
        ),
    ):
        check_positions(config, WATER, {**JOB, "instrument_serial": "WM-0009"})  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_a_job_or_a_position_that_disagrees_is_refused_before_the_first_point(
    flow_bench: FlowBench, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    operator = ["--operator", flow_bench.metrologist.username, "--simulate"]
    # the job of a meter that no position holds
    flow_bench.register("WM-0009")
    bench = flow_bench.bench_file(tmp_path / "a", ["WM-0001", "WM-0002", "WM-0003"])
    job = flow_bench.jobs["WM-0009"].number
    assert main(["run", "--bench", str(bench), "--job", job, *operator]) == 4
    err = capsys.readouterr().err
    assert f"bench.yaml:9: positions: job {job} is for instrument WM-0009" in err
    assert "which no position holds (1: WM-0001, 2: WM-0002, 3: WM-0003)" in err
    # a meter mounted without its own job (registered, never given one)
    flow_bench.register("WM-0005", job=False)
    bench = flow_bench.bench_file(tmp_path / "b", ["WM-0001", "WM-0005"])
    job = flow_bench.jobs["WM-0001"].number
    assert main(["run", "--bench", str(bench), "--job", job, *operator]) == 4
    err = " ".join(capsys.readouterr().err.split())
    assert "bench.yaml:13: positions.each.2: position 2 holds WM-0005, which has no open job" in err
    assert "(--skip 2:REASON); nothing was measured" in err
    # --skip names a position of the bench, with a reason
    assert main(["run", "--bench", str(bench), "--job", job, "--skip", "3:gone", *operator]) == 2
    assert "give N:REASON with a position of the bench (1 to 2)" in capsys.readouterr().err
    for directory in ("a", "b"):
        with Outbox(tmp_path / directory / "outbox.sqlite3") as box:
            assert box.status().runs == []  # nothing was measured


def test_a_position_whose_instrument_cannot_be_opened_is_skipped_with_the_reason() -> None:
    closed = closed_port_url().rsplit(":", 1)[1]
    with simulate("modbus-map", "--map", str(MAP)) as address:
        roles = {
            "reference": BenchRole(
                "reference",
                "modbus-map",
                address,
                asset_id="HN-V-FLOW",
                options={"registers": {"volume": "positive_total"}},
            ),
            "uut@1": BenchRole("uut@1", "manual", REGISTER),
            "uut@2": BenchRole("uut@2", "keysight-34465a", f"TCPIP::127.0.0.1::{closed}::SOCKET"),
        }
        kept = Kept()
        typed, prompts = io.StringIO("0,0201\n"), io.StringIO()
        with OpenedInstruments(
            roles,
            tolerant={"uut@1", "uut@2"},
            labels={"uut@1": "P1 WM-0001", "uut@2": "P2 WM-0002"},
            console_input=typed,
            console_output=prompts,
        ) as bench:
            runner = Runner(
                WATER,
                bench=bench,
                operator=SimulatedOperator(SimulatedWorld()),
                recorder=kept,
                standards={"HN-V-FLOW": reference_record()},
                instrument=METER,
                on=date(2026, 11, 22),
                positions=[
                    BenchPosition(
                        n, f"uut@{n}", PositionInstrument(f"WM-000{n}", "water-meter", METER)
                    )
                    for n in (1, 2)
                ],
            )
            runner.preflight()
            # the meter read by eye is asked for by its position and serial
            assert measure(bench.instrument("uut@1"), "volume").value == 0.0201
    assert prompts.getvalue().startswith("P1 WM-0001: volume reading 1 in m3 ")
    ((state, number, reason),) = kept.journal
    assert (state, number) == ("skipped", 2)
    assert reason.startswith("its instrument cannot be opened: ")
    assert f"127.0.0.1::{closed}" in reason or "refused" in reason.lower(), reason
