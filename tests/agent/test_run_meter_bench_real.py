"""``caltrace-agent run`` at a real meter test bench: its real-instrument path
(:class:`agent.instruments.OpenedInstruments`, no ``--simulate``) against the
``caltrace-mtb`` simulator served as its own TCP server on loopback, as a bench on the
network would be. The bench file is the demo's ``bench-meters-6`` (a job per meter in a
live LIMS) with its addresses pointed at that server.

The bench is opened once: every position is a view over the one connection (the server
counts its clients). Each mounted meter's optical port is a simulated meter on its own
loopback port too (IEC 62056-21 over TCP; DLMS/COSEM over HDLC at position 6), its 1.8.0
register counting the energy the bench applied to it: read before the first point and in
the register test. Meter 4 errs by +2.5 %, beyond class B's MPE of 2 % (MID Annex V
Table 2, +5 °C … +30 °C): it fails; position 5 holds no meter: it is skipped with the
reason; the others pass, each with its own simulated error. A bench that cannot be
reached stops the run before the first point, naming its role and address.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cli import EXIT_REFUSED, main
from agent.config import load_bench
from agent.outbox import Outbox
from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from drivers.simulators.tcp import TcpSimulator
from procedures.bench import BenchRole
from procedures.record import RunRecord
from simulation.optical import start_probe
from tests.support.agent import closed_port_url

pytestmark = pytest.mark.django_db(transaction=True)

ERRORS: dict[int, float | None] = {1: 0.21, 2: -0.35, 3: 0.08, 4: 2.5, 5: None, 6: -0.12}
"""The simulated meters' errors (%) by position; None: no meter mounted."""


def demo_bench(live_server: Any, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The demo's bench-meters-6 file with the optical ports left out (:func:`served_bench`
    points them at the meters' probes), and the jobs of its meters by serial."""
    from labserver.jobs.models import Job
    from scenarios.demo import load_demo

    summary = load_demo(tmp_path / "demo")
    path = next(p for _, bench, p in summary.position_benches if bench == "bench-meters-6")
    body = yaml.safe_load(path.read_text())
    body["lims"] = live_server.url
    for position in body["positions"]["each"].values():
        position.pop("optical", None)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    jobs = {j.instrument.serial: j for j in Job.objects.filter(bench__name="bench-meters-6")}
    return path, jobs


def point_at(path: Path, address: str, probes: dict[int, str] | None = None) -> None:
    """Every role of the meter bench in the bench file at ``path`` at ``address``, without
    the simulator's options (a real bench's roles have none); the optical port of each
    position of ``probes`` (position → its probe's address)."""
    body = yaml.safe_load(path.read_text())
    for role in [body["roles"]["reference"], *body["positions"]["each"].values()]:
        role["address"] = address
        role.pop("options", None)
    for number, port in (probes or {}).items():
        body["positions"]["each"][number]["optical"] = {"port": port}
    path.write_text(yaml.safe_dump(body, sort_keys=False))


REGISTERS = {1: 0.0, 2: 0.0, 3: 0.01, 4: 0.0, 6: 0.0}
"""The mounted meters' 1.8.0 registers before the run, kWh."""


@pytest.fixture
def served_bench(live_server: Any, tmp_path: Path) -> Iterator[tuple[TcpSimulator, Path, Any]]:
    """The caltrace-mtb simulator on its own loopback port (its serial the demo bench's
    reference standard's, its reference meter reading 0.01 % high as the standard's
    certificate says), each mounted meter's optical port on its own loopback port (position
    6 in DLMS/COSEM over HDLC, the others IEC 62056-21 over TCP), its register counting what
    the bench applied to it, and the bench file pointing at them."""
    path, jobs = demo_bench(live_server, tmp_path)
    config = load_bench(path)
    serial = config.roles["reference"].serial
    meters = [
        None if error is None else SimulatedMeter(10000.0, error) for error in ERRORS.values()
    ]
    bench = SimulatedMeterBench(meters, serial=serial or "", speed=1e5, reference_error=1e-4)
    with TcpSimulator(bench) as server, ExitStack() as probes:
        served: dict[int, str] = {}
        for number, register in REGISTERS.items():
            kind = "dlms+hdlc://" if number == 6 else "socket://"
            meter = BenchRole(
                f"optical@{number}",
                "dlms-cosem" if number == 6 else "iec62056-21",
                kind,
                serial=config.positions[number].serial,
                options={"register": register},
            )
            probe = start_probe(meter, kind, "", functools.partial(bench.registered_kwh, number))
            probes.callback(probe.stop)
            served[number] = probe.address
        point_at(path, server.address, served)
        yield server, path, jobs


def test_the_real_bench_is_opened_once_and_each_position_is_judged_on_its_own(
    served_bench: tuple[TcpSimulator, Path, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, path, jobs = served_bench
    # the room thermometer is read by eye: the operator types it at its prompt
    monkeypatch.setattr("sys.stdin", io.StringIO("22.4\n" * 4))
    job = jobs["EM-25-004501"]
    status = main(["run", "--bench", str(path), "--job", job.number, "--no-sync"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "--no-sync" in out.out

    # one client for the bench and its six positions, closed with the source off
    assert server.connections_accepted == 1
    model = server.instrument
    assert isinstance(model, SimulatedMeterBench)
    assert model.output is False

    with Outbox(load_bench(path).outbox) as box:
        (run_id,) = [r.run_id for r in box.status().runs]
        body = box.body(run_id)
    assert body is not None
    record = RunRecord.from_json(json.loads(body))
    measured = {p.position: p for p in record.positions}
    assert [(n, measured[n].state, measured[n].verdict) for n in sorted(measured)] == [
        (1, "measured", "pass"),
        (2, "measured", "pass"),
        (3, "measured", "pass"),
        (4, "measured", "fail"),
        (5, "skipped", None),
        (6, "measured", "pass"),
    ]
    assert measured[5].reason == (
        "its instrument cannot be opened: PositionNotMounted: position 5 holds no meter "
        "(mounted: 1, 2, 3, 4, 6)"
    )
    # each meter's own error at every accuracy point, from its own pulses and the
    # reference energy of its own window (the certificate's correction undoes the
    # reference meter's +0.01 %)
    for number, error in ERRORS.items():
        if error is None:
            continue
        points = [p for p in measured[number].points if p.test.startswith("accuracy")]
        assert len(points) == 8
        for point in points:
            assert point.result.value == pytest.approx(error, abs=1e-5), (number, point.index)
            (pulses,) = [r.value for r in point.readings if r.quantity == "n"]
            (energy,) = [r.value for r in point.readings if r.quantity == "W"]
            assert pulses in (100, 200, 500)
            assert energy > 0
    # each meter's register, read through its probe before and after the register test's
    # 4 kWh, advanced by what the bench applied to it times its error (within the
    # register's 0.01 kWh over 4 kWh: 0.25 %); meter 4's register fails as its pulses do
    for number, error in ERRORS.items():
        if error is None:
            continue
        (register,) = [p for p in measured[number].points if p.test == "register"]
        assert register.result.value == pytest.approx(error, abs=0.25 + 1e-9), number
        assert register.conformity == ("fail" if number == 4 else "pass")
        raw = [r.raw for r in register.readings if r.quantity in ("R1", "R2")]
        assert len(raw) == 2
        assert all(text.startswith("value " if number == 6 else "1.8.0(") for text in raw)
    # what the operator saw: each position's result at each point, the empty one skipped
    # (the eight accuracy points and the register test)
    assert out.out.count("  P1 EM-25-004501: E = ") == 9
    assert "Meters read through their optical ports" in out.out
    assert "P5 EM-25-004505: skipped: its instrument cannot be opened" in out.out


def test_a_bench_that_cannot_be_reached_stops_the_run_naming_its_role_and_address(
    live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port_url().rsplit(":", 1)[1]
    address = f"TCPIP::127.0.0.1::{port}::SOCKET"
    path, jobs = demo_bench(live_server, tmp_path)
    point_at(path, address)
    status = main(["run", "--bench", str(path), "--job", jobs["EM-25-004501"].number])
    out = capsys.readouterr()
    assert status == EXIT_REFUSED, out.out + out.err
    said = " ".join((out.out + out.err).split())
    assert f"role reference: caltrace-mtb at {address} cannot be opened" in said
