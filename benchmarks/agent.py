"""Benchmarks of the agent: the outbox against bare SQLite, and a run against the drivers.

    .venv/bin/python benchmarks/agent.py [--seconds S] [--rounds N] [--dir DIR]
                                    [--points P] [--readings R] [--only 1|2]
                                    [--profile N]

Figure 1, readings made durable per second, one commit each:

* **bare SQLite**: ``INSERT`` of one row then ``COMMIT``, on a connection in WAL mode
  with ``synchronous=FULL`` (what the outbox uses: a commit syncs the log to the disk);
* **caltrace outbox**: :meth:`agent.outbox.Outbox.add_reading` into a running run: the
  reading checked and serialised to JSON, ``BEGIN IMMEDIATE``, one ``INSERT … SELECT``
  that also checks the run is running and the point not yet recorded, ``COMMIT``.

Both write to files in the same temporary directory (``--dir`` chooses where: the disk
that matters is the bench PC's), rounds alternate between the two, each figure is the
median over the rounds. Target: the outbox at least 70 % of bare SQLite. The cost is
dominated by the disk's sync at every commit; on a disk that syncs fast the Python work
of each call shows more.

Figure 2, the cost per reading of a calibration against the simulators, compared with
the drivers' own. One simulated bench (:class:`simulation.bench.SimulatedBench`: a Fluke
5522A simulator in the ``source`` role, a Keysight 34465A in ``uut``, a room thermometer
typed by hand in ``environment``; the simulators are threads of this process on loopback
TCP, the real drivers over pyvisa-py) serves both arms, alternately. The procedure is the
shipped ``dmm-dcv`` derived in memory (:func:`benchmarks.dcv.derived_dcv`) on the 10 V range.
The calibrator's simulated settling time is 0 s in both arms.

* **drivers by hand** (the baseline): what a minimal script would do with the same
  drivers and the same instrument I/O as the procedure: the room temperature read once;
  at each point ``set_voltage``, ``operate``, ``wait_settled`` on the calibrator, then the
  readings one by one with ``measure_dc_voltage(range=10)`` on the multimeter; the
  calibrator in standby after the last point (where the procedure's ``after:`` puts it).
  The readings are kept in a list. No outbox, no runner, no model, nothing durable; the
  drivers' in-memory I/O logs are emptied between calibrations, outside the timing.
* **caltrace run**: :func:`agent.run.run_procedure` with a quiet operator, into an outbox
  in the temporary directory (``--dir``): the runner's checks before the first point
  (standards, ranges, certificate), the environment read and checked, the run started in
  the outbox, every reading committed (WAL, ``synchronous=FULL``) before it is shown,
  each point's model built and evaluated by GUM with its acceptance limits and
  conformity, the point and the raw I/O kept, and the run completed (the payload
  assembled, serialised and queued). The outbox is opened once, before the rounds.

Two parts, each with both arms:

* **2a, at the meter's own timing** (the target): the simulated meter takes each
  reading's integration time, 10 PLC on 50 Hz mains = 0.2 s, the 34465A's setting after
  ``*RST`` and the one the procedure runs at (``timing=True`` of the simulator). This is
  what a reading costs the drivers at a real bench; it is still optimistic (no auto-zero,
  no LAN latency). ``--timed-points`` points (default 2) × ``--timed-readings`` (default
  5). Target: caltrace at most 1.10 times the drivers' own.
* **2b, software only**: the meter answers at once, so the figure is the software's cost,
  the drivers' and caltrace's, with nothing to wait for. ``--points`` (default 10) ×
  ``--readings`` (default 20). No target: it is the absolute cost caltrace adds to each
  reading (chiefly the disk's sync of each reading's commit, and each point's GUM
  evaluation spread over its readings), printed so that it is watched.

Cost per reading = wall time of whole calibrations / readings taken; a round repeats
calibrations of one arm for about ``--seconds`` (at least one), the rounds alternate, each
figure is the median over the rounds, after one untimed calibration of each arm. The CPU
time per reading is the whole process's (the simulators' threads included, the same work
in both arms). ``--profile N`` profiles one more caltrace calibration of 2b (cProfile) and
prints its N costliest functions.

The exit status is 1 when a figure misses its target; the figures are printed either way.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the package it measures: run as a script, its own
# folder comes first on sys.path and would shadow the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator, Mapping  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from agent.outbox import Outbox  # noqa: E402
from agent.run import Plan, run_procedure  # noqa: E402
from benchmarks.dcv import CALIBRATOR, calibrator_record, dcv_nominals, derived_dcv  # noqa: E402
from drivers.capabilities import Thermometer  # noqa: E402
from drivers.fluke.f5522a import Fluke5522A  # noqa: E402
from drivers.keysight.k34465a import Keysight34465A  # noqa: E402
from drivers.reading import Reading  # noqa: E402
from drivers.simulators.fluke_5522a import SimulatedFluke5522A  # noqa: E402
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA  # noqa: E402
from procedures.bench import BenchRole, Instruction, StandardRecord  # noqa: E402
from procedures.definition import ProcedureDefinition, definition_from_data  # noqa: E402
from simulation.bench import SimulatedBench  # noqa: E402
from simulation.world import SimulatedWorld  # noqa: E402

TARGET = 0.70
RUN_TARGET = 1.10
BY_HAND = "drivers by hand (baseline)"
CALTRACE = "caltrace run_procedure + outbox"
# Configured addresses of a real bench (documentation addresses): the simulators replace them.
ROLES = {
    "source": BenchRole(
        "source", "fluke-5522a", "TCPIP::192.0.2.10::5025::SOCKET", asset_id=CALIBRATOR
    ),
    "uut": BenchRole("uut", "keysight-34465a", "TCPIP::192.0.2.11::5025::SOCKET"),
    "environment": BenchRole(
        "environment", "manual", "manual://temperature?unit=degC&min=0&max=50&resolution=0.1"
    ),
}
READING = {
    "value": 10.000012,
    "unit": "V",
    "timestamp": "2026-11-22T08:00:00.123456+00:00",
    "stable": True,
    "raw": "+1.00000120E+01",
}


def _rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``call`` over about ``seconds``."""
    for _ in range(20):  # warm up
        call()
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(20):
            call()
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def _bench_outbox(args: argparse.Namespace, directory: Path) -> int:
    bare = sqlite3.connect(directory / "bare.sqlite3")
    bare.execute("PRAGMA journal_mode=WAL").fetchone()
    bare.execute("PRAGMA synchronous=FULL")
    bare.execute(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, "
        "point_index INTEGER NOT NULL, quantity TEXT NOT NULL, reading TEXT NOT NULL)"
    )
    bare.commit()
    run_id = str(uuid.uuid4())
    text = json.dumps(READING)

    def bare_insert() -> None:
        bare.execute(
            "INSERT INTO readings (run_id, point_index, quantity, reading) VALUES (?, ?, ?, ?)",
            (run_id, 0, "x", text),
        )
        bare.commit()

    outbox = Outbox(directory / "outbox.sqlite3")
    header = {
        "run_id": run_id,
        "job": "BENCH-1",
        "procedure": {"id": "dmm-dcv", "version": "1.0.0", "hash": "0" * 64},
        "operator": "bench",
        "software_version": "bench",
        "started_at": "2026-11-22T08:00:00+00:00",
        "standards": [],
    }
    outbox.start_run(header)

    def outbox_add() -> int:
        return outbox.add_reading(run_id, point_index=0, quantity="x", reading=READING)

    clients: dict[str, Callable[[], object]] = {
        "bare sqlite3 INSERT + COMMIT (WAL, FULL)": bare_insert,
        "caltrace Outbox.add_reading": outbox_add,
    }
    rates: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(args.rounds):
        for name, call in clients.items():
            rates[name].append(_rate(call, args.seconds))
    outbox.close()
    bare.close()

    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"Readings made durable, one commit each, in {directory}")
    print(f"{args.rounds} rounds of {args.seconds} s, alternating; median")
    for name, value in medians.items():
        spread = f"{min(rates[name]):,.0f}-{max(rates[name]):,.0f}"
        print(f"  {name:<42} {value:>8,.0f} /s   (rounds {spread})")
    share = (
        medians["caltrace Outbox.add_reading"] / medians["bare sqlite3 INSERT + COMMIT (WAL, FULL)"]
    )
    print(f"  outbox / bare: {share:6.1%}  (target >= {TARGET:.0%})")
    print()
    return 0 if share >= TARGET else 1


# -- figure 2: a calibration against the simulators ---------------------------------------


class _QuietOperator:
    """Nobody at the bench: a DC-voltage run asks nothing of the operator, and what the
    runner shows goes nowhere."""

    def instruct(self, instruction: Instruction) -> None:
        return None

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        return None


class _Calibration:
    """One simulated bench and the procedure, for both arms of figure 2."""

    def __init__(
        self, bench: SimulatedBench, definition: ProcedureDefinition, outbox: Outbox
    ) -> None:
        self.bench = bench
        self.definition = definition
        self.outbox = outbox
        self.on = datetime.now(UTC).date()
        nominals = [point.nominal for point in definition.points]
        standards: dict[str, StandardRecord] = {CALIBRATOR: calibrator_record(nominals, self.on)}
        job = {"number": "BENCH-2", "procedure_ref": definition.ref()}
        self.plan = Plan(job, definition, {}, standards, "benchmarks/agent.py")

    def by_hand(self) -> int:
        """The calibration as a minimal script writes it with the drivers; the readings."""
        source = self.bench.instrument("source")
        dmm = self.bench.instrument("uut")
        room = self.bench.instrument("environment")
        assert isinstance(source, Fluke5522A)
        assert isinstance(dmm, Keysight34465A)
        assert isinstance(room, Thermometer)
        room.read_temperature()
        readings: list[Reading] = []
        for test in self.definition.tests:
            for point in test.points:
                source.set_voltage(point.nominal)
                source.operate()
                source.wait_settled(timeout_s=10.0)
                for _ in range(test.readings):
                    readings.append(dmm.measure_dc_voltage(range=float(point.params["range"])))
            source.standby()
        return len(readings)

    def with_caltrace(self) -> int:
        """The calibration as caltrace carries it out; the readings (the run must be queued)."""
        outcome = run_procedure(
            outbox=self.outbox,
            plan=self.plan,
            bench=self.bench,
            operator=_QuietOperator(),
            operator_name="bench",
            on=self.on,
        )
        if outcome.state != "queued":
            raise RuntimeError(f"the benchmark's run was {outcome.state}: {outcome.reason}")
        return outcome.readings

    def drain_io_logs(self) -> None:
        """Empty the drivers' in-memory I/O logs (the runner files them; a script does not)."""
        for role in self.bench.roles:
            log = getattr(self.bench.instrument(role), "io_log", None)
            if log is not None:
                log.drain()


@contextmanager
def calibration(
    points: int, readings: int, directory: Path, *, timing: bool = False
) -> Iterator[_Calibration]:
    """The simulated bench started, its calibrator settling at once, its meter taking each
    reading's integration time when ``timing``, and an outbox in ``directory``; figure 2's
    arms are the methods of what is yielded."""
    definition = definition_from_data(
        derived_dcv("bench-dcv-run", points=points, readings=readings), source="benchmarks/agent.py"
    )
    outbox = Outbox(directory / "run-outbox.sqlite3")
    try:
        with SimulatedBench(ROLES, SimulatedWorld(seed=1)) as bench:
            simulator = bench.simulator("source")
            model = getattr(simulator, "instrument", None)
            assert isinstance(model, SimulatedFluke5522A)
            model.settle_s = 0.0  # the same in both arms: no waiting, only software
            meter = getattr(bench.simulator("uut"), "instrument", None)
            assert isinstance(meter, SimulatedKeysight344xxA)
            meter.timing = timing
            yield _Calibration(bench, definition, outbox)
    finally:
        outbox.close()


def _cost_per_reading(
    calibrate: Callable[[], int], seconds: float, after: Callable[[], None]
) -> tuple[float, float]:
    """Repeat ``calibrate`` (it returns its readings) for about ``seconds``, at least once:
    wall and process CPU time per reading (µs); ``after`` runs between, untimed."""
    wall = cpu = 0.0
    readings = 0
    while True:
        cpu_start = time.process_time()
        start = time.perf_counter()
        readings += calibrate()
        wall += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        after()
        if wall >= seconds:
            return wall / readings * 1e6, cpu / readings * 1e6


def run_costs(
    *,
    points: int,
    readings: int,
    rounds: int,
    seconds: float,
    directory: Path,
    timing: bool = False,
) -> dict[str, list[tuple[float, float]]]:
    """Figure 2's measurements: per arm (:data:`BY_HAND`, :data:`CALTRACE`), per round, the
    wall and CPU time per reading (µs); rounds alternate, after one untimed run of each.
    ``timing``: the meter takes its integration time (figure 2a) or answers at once (2b)."""
    with calibration(points, readings, directory, timing=timing) as cal:
        arms: dict[str, Callable[[], int]] = {BY_HAND: cal.by_hand, CALTRACE: cal.with_caltrace}
        for arm in arms.values():  # warm up: first configuration, caches, imports
            arm()
            cal.drain_io_logs()
        costs: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
        for _ in range(rounds):
            for name, arm in arms.items():
                costs[name].append(_cost_per_reading(arm, seconds, cal.drain_io_logs))
    return costs


def _profile_run(args: argparse.Namespace, directory: Path) -> None:
    """Profile one caltrace calibration; print caltrace's costliest functions, cumulative."""
    with calibration(args.points, args.readings, directory) as cal:
        cal.with_caltrace()  # warm up
        profiler = cProfile.Profile()
        profiler.enable()
        cal.with_caltrace()
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # caltrace's own packages only: what the run adds over the drivers shows by module
    ours = r"(agent|procedures|uncertainty|drivers)[/\\]\w+"
    stats.sort_stats("cumulative").print_stats(ours, args.profile)
    print(
        f"Profile of one caltrace calibration: the {args.profile} functions of caltrace with "
        "the most cumulative time (cProfile inflates Python work)"
    )
    print(out.getvalue().strip())
    print()


def _part(
    args: argparse.Namespace, directory: Path, *, timing: bool, title: str
) -> tuple[float, float]:
    """Measure and print one part of figure 2; its medians (µs per reading): the drivers',
    caltrace's."""
    points, readings = (
        (args.timed_points, args.timed_readings) if timing else (args.points, args.readings)
    )
    costs = run_costs(
        points=points,
        readings=readings,
        rounds=args.rounds,
        seconds=args.seconds,
        directory=directory,
        timing=timing,
    )
    walls = {name: [wall for wall, _ in rounds] for name, rounds in costs.items()}
    medians = {name: statistics.median(values) for name, values in walls.items()}
    cpus = {name: statistics.median(cpu for _, cpu in rounds) for name, rounds in costs.items()}
    print(f"{title} (dmm-dcv derived: {points} points x {readings} readings, settling 0 s)")
    print(f"{args.rounds} rounds of {args.seconds} s, alternating; median")
    print(f"  {'':<34} {'wall/reading':>12}  {'CPU/reading':>11}   rounds (wall)")
    for name, value in medians.items():
        spread = f"{min(walls[name]):,.0f}-{max(walls[name]):,.0f} µs"
        print(f"  {name:<34} {value:>9,.0f} µs  {cpus[name]:>8,.0f} µs   {spread}")
    return medians[BY_HAND], medians[CALTRACE]


def _bench_run(args: argparse.Namespace, directory: Path) -> int:
    print(f"Figure 2, outbox in {directory}")
    by_hand, ours = _part(
        args,
        directory,
        timing=True,
        title="2a. Cost per reading, the meter taking its integration time (10 PLC, 50 Hz: 0.2 s)",
    )
    ratio = ours / by_hand
    print(
        f"  caltrace / drivers: {ratio:6.3f}  (target <= {RUN_TARGET:.2f}); caltrace adds "
        f"{ours - by_hand:,.0f} µs per reading"
    )
    print()
    by_hand, ours = _part(
        args, directory, timing=False, title="2b. Software only: the meter answers at once"
    )
    print(
        f"  caltrace adds {ours - by_hand:,.0f} µs per reading (x{ours / by_hand:.2f}; no "
        "target: the disk's sync of every reading, and GUM per point)"
    )
    print()
    if args.profile:
        _profile_run(args, directory)
    return 0 if ratio <= RUN_TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round (s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per client")
    parser.add_argument("--dir", type=Path, help="where the databases go (default: a temp dir)")
    parser.add_argument("--points", type=int, default=10, help="figure 2b: points of the run")
    parser.add_argument("--readings", type=int, default=20, help="figure 2b: readings per point")
    parser.add_argument("--timed-points", type=int, default=2, help="figure 2a: points")
    parser.add_argument(
        "--timed-readings", type=int, default=5, help="figure 2a: readings per point"
    )
    parser.add_argument("--only", choices=["1", "2"], help="one figure only")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="figure 2: profile, print N rows"
    )
    args = parser.parse_args()
    dcv_nominals(args.points)  # refuses a count it cannot spread over the 10 V range
    dcv_nominals(args.timed_points)
    statuses = []
    with tempfile.TemporaryDirectory(prefix="caltrace-bench-", dir=args.dir) as directory:
        if args.only in (None, "1"):
            statuses.append(_bench_outbox(args, Path(directory)))
        if args.only in (None, "2"):
            statuses.append(_bench_run(args, Path(directory)))
    return max(statuses)


if __name__ == "__main__":
    raise SystemExit(main())
