"""Benchmark of a multi-position electricity-meter run: the software's time against the test
sequence's own.

    .venv/bin/python benchmarks/electricity_bench.py [--positions N] [--speed S] [--quick]

Procedure ``electricity-meter-r46`` (no-load, starting, eight accuracy points) runs with the
real runner on the simulated meter test bench served over TCP (:mod:`simulation.energy`),
N positions of class B meters of 10 000 imp/kWh (issue 20 asks for 24), the real driver
opened on it, each position a view over the one connection, every point evaluated by
:func:`procedures.evaluation.evaluate_point`. The simulated bench's clock runs ``S`` times
real time (default 10 000), so the sequence's hours take seconds.

Printed:

* **simulated sequence duration** — the test sequence's own duration in the bench's
  seconds (each test from its start to its end, as the simulated bench counts it): what a
  real bench would take for the tests alone;
* **software wall time** — the run's wall time less the time spent waiting for the
  simulated tests (the sequence's duration divided by S): driving the bench, reading the
  positions, evaluating and keeping every point;
* **software share** — software ÷ (sequence + software): the share of a real run's time
  that is the software's.

The bench part only: submitting the run to the LIMS and issuing its N certificates (issue
20's "from the bench to 24 signed certificates") is measured by ``benchmarks/batch_issue.py``
(issuing) and ``benchmarks/ingest.py`` (submission). Exit status 0; the figures are printed.
"""

from __future__ import annotations

import os
import sys

# This folder holds scripts named like the packages they measure (uncertainty.py,
# drivers.py): run as a script, it comes first on sys.path and would shadow them.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date  # noqa: E402

from drivers.simulators.caltrace_mtb import SimulatedMeterBench  # noqa: E402
from simulation.bench import SimulatedBench  # noqa: E402
from simulation.world import SimulatedWorld  # noqa: E402
from tests.support.electricity import (  # noqa: E402
    bench_roles,
    electricity_runner,
    meter_positions,
)
from tests.support.positions import Kept  # noqa: E402

PROCEDURE = "electricity-meter-r46"


@dataclass(frozen=True)
class Figures:
    positions: int
    passed: int
    sequence_s: float
    wall_s: float
    speed: float

    @property
    def software_s(self) -> float:
        """The wall time less the waits for the simulated tests (s)."""
        return max(0.0, self.wall_s - self.sequence_s / self.speed)

    @property
    def share(self) -> float:
        """The software's share of a real run's time."""
        return self.software_s / (self.sequence_s + self.software_s)


def measure_run(positions: int, speed: float) -> Figures:
    """One run of the procedure on ``positions`` meters (errors −0.6 % … +0.6 %)."""
    meters = {n: {"error": round(-0.6 + 1.2 * (n - 1) / max(1, positions - 1), 3)} for n in
              range(1, positions + 1)}  # fmt: skip
    roles = bench_roles(meters, positions=positions, speed=speed)
    with SimulatedBench(roles, SimulatedWorld(seed=1)) as bench:
        runner = electricity_runner(bench, Kept(), meter_positions(positions), on=date.today())
        started = time.perf_counter()
        runner.preflight()
        runner.read_environment()
        runner.run()
        wall = time.perf_counter() - started
        model = getattr(bench.simulator("reference"), "instrument", None)
        assert isinstance(model, SimulatedMeterBench)
        sequence = model.test_seconds
    passed = sum(1 for p in runner.positions_record()[1] if p.verdict == "pass")
    return Figures(positions, passed, sequence, wall, speed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=24, help="meters on the bench")
    parser.add_argument("--speed", type=float, default=1e4, help="simulated s per real s")
    parser.add_argument("--quick", action="store_true", help="6 positions, for the suite")
    args = parser.parse_args(argv)
    positions = 6 if args.quick else args.positions
    figures = measure_run(positions, args.speed)
    print(f"electricity-meter run ({PROCEDURE}), simulated bench at {args.speed:g}× real time")
    print(f"  positions                     {figures.positions} ({figures.passed} passed)")
    print(
        f"  simulated sequence duration   {figures.sequence_s:,.0f} s "
        f"({figures.sequence_s / 60:.1f} min of bench time)"
    )
    print(f"  software wall time            {figures.software_s:.2f} s")
    print(f"  software share                {100 * figures.share:.3f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
