"""Benchmark of a multi-position electricity-meter run, from the bench to its signed
certificates: the software's time against the test sequence's own.

    .venv/bin/python benchmarks/electricity_bench.py [--positions N] [--speed S] [--quick]
                                                     [--bench-only]

Procedure ``electricity-meter-r46`` (no-load, starting, eight accuracy points, the register
test) runs with the real runner on the simulated meter test bench served over TCP
(:mod:`simulation.energy`), each meter's register read through its optical port,
N positions of class B meters of 10 000 imp/kWh (issue 20 asks for 24), the real driver
opened on it, each position a view over the one connection, every point evaluated by
:func:`procedures.evaluation.evaluate_point`. The simulated bench's clock runs ``S`` times
real time (default 10 000), so the sequence's hours take seconds.

Then the LIMS's part, in the same process on the demo data set (``loaddemo``'s, loaded in
a database of its own: PostgreSQL ``caltrace_bench_electricity`` when ``DATABASE_URL`` is
set, created and dropped here, else a temporary SQLite file), each of the N meters
registered with its own job as the front office books them (untimed): the run record
signed and posted as the agent posts it (re-evaluated by the server, every position),
reviewed and approved by one signature act each, and its N certificates issued by one act
(each numbered, rendered with its DCC, signed with the DEMO key, checked with
``verify_pdf`` and stored in its own issuing transaction). ``--bench-only`` skips it.

Printed:

* **simulated sequence duration** — the test sequence's own duration in the bench's
  seconds (each test from its start to its end, as the simulated bench counts it): what a
  real bench would take for the tests alone;
* **software wall time** — the bench's: the run's wall time less the time spent waiting
  for the simulated tests (the sequence's duration divided by S): driving the bench,
  reading the positions, evaluating and keeping every point; then the LIMS's phases and
  their sum;
* **software share** — software ÷ (sequence + software): the share of a real run's time,
  from the first test to the last certificate, that is the software's.

Exit status 0 when every meter passed and got its certificate, else 1; the figures are
printed either way.
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
import logging  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from drivers.simulators.caltrace_mtb import SimulatedMeterBench  # noqa: E402
from procedures.runner import Runner  # noqa: E402
from simulation.bench import SimulatedBench  # noqa: E402
from simulation.world import SimulatedWorld  # noqa: E402
from tests.support.electricity import (  # noqa: E402
    bench_roles,
    electricity_runner,
    meter_positions,
)
from tests.support.positions import Kept  # noqa: E402

PROCEDURE = "electricity-meter-r46"
BENCH_DATABASE = "caltrace_bench_electricity"
# The demo's meter test bench and people (scenarios/demo): who checks, approves and issues.
BENCH, REVIEWER, SIGNATORY, PASSWORD = (
    "bench-electricity",
    "hn-reviewer",
    "hn-signatory",
    "demo-only-password",
)


@dataclass
class Figures:
    positions: int
    passed: int
    sequence_s: float
    wall_s: float
    speed: float
    lims: dict[str, float] = field(default_factory=dict)
    """The LIMS's phases, each its wall time (s)."""
    certificates: int = 0

    @property
    def bench_software_s(self) -> float:
        """The bench run's wall time less the waits for the simulated tests (s)."""
        return max(0.0, self.wall_s - self.sequence_s / self.speed)

    @property
    def software_s(self) -> float:
        """The software's time, from the first test to the last certificate (s)."""
        return self.bench_software_s + sum(self.lims.values())

    @property
    def share(self) -> float:
        """The software's share of a real run's time."""
        return self.software_s / (self.sequence_s + self.software_s)


def errors(positions: int) -> dict[int, dict[str, Any]]:
    """Each position's meter error, spread over −0.6 % … +0.6 % (all pass class B)."""
    return {
        n: {"error": round(-0.6 + 1.2 * (n - 1) / max(1, positions - 1), 3)}
        for n in range(1, positions + 1)
    }


@dataclass
class BenchRun:
    """A run on the simulated bench: its figures, its runner (the record's ``shared`` and
    ``positions``), the standards checked and the environment read before the first point."""

    figures: Figures
    runner: Runner
    standards: Any
    environment: Any


def run_on_bench(
    positions: list[Any], speed: float, *, reference: Any = None, instrument: Any = None
) -> BenchRun:
    """The procedure run on the simulated bench for ``positions``."""
    count = len(positions)
    roles = bench_roles(errors(count), positions=count, speed=speed)
    options = {} if instrument is None else {"instrument": instrument}
    with SimulatedBench(roles, SimulatedWorld(seed=1)) as bench:
        runner = electricity_runner(
            bench, Kept(), positions, on=date.today(), reference=reference, **options
        )
        started = time.perf_counter()
        standards = runner.preflight()
        environment = runner.read_environment()
        runner.run()
        wall = time.perf_counter() - started
        model = getattr(bench.simulator("reference"), "instrument", None)
        assert isinstance(model, SimulatedMeterBench)
        sequence = model.test_seconds
    passed = sum(1 for p in runner.positions_record()[1] if p.verdict == "pass")
    return BenchRun(Figures(count, passed, sequence, wall, speed), runner, standards, environment)


def measure_run(positions: int, speed: float) -> Figures:
    """One run of the procedure on ``positions`` meters, the bench only."""
    return run_on_bench(meter_positions(positions), speed).figures


def _timed(into: dict[str, float], name: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    out = step()
    into[name] = time.perf_counter() - started
    return out


def measure_to_certificates(positions: int, speed: float, tmp: Path) -> Figures:
    """The run on the bench, then the LIMS: posted, reviewed, approved, N certificates."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="labserver.settings.dev",
        DEBUG="0",
        MEDIA_ROOT=str(tmp / "media"),
        CALTRACE_DEMO_PKI_DIR=str(tmp / "demo-pki"),
        CALTRACE_ANCHOR_DIR=str(tmp / "anchors"),
    )
    from benchmarks.ingest import bench_database

    with bench_database(BENCH_DATABASE) as (url, label):
        os.environ["DATABASE_URL"] = url
        os.environ.pop("DATABASE_OWNER_URL", None)  # the bench's database has one role
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        print(f"database: {label}; the demo data and {positions} meters with their jobs…")
        try:
            return _certified(positions, speed, tmp)
        finally:
            from django.db import connections

            connections.close_all()  # before the database is dropped


def _certified(positions: int, speed: float, tmp: Path) -> Figures:
    from labserver.accounts.models import User
    from labserver.issuance.batch import issue_run_certificates
    from labserver.issuance.models import Certificate
    from labserver.jobs.models import Job
    from labserver.measurements.batch import approve_runs, review_runs
    from labserver.measurements.models import Run
    from scenarios.demo import load_demo
    from tests.support.bench_posts import posted
    from tests.support.demo import work_for
    from tests.support.position_jobs import jobs_for_serials

    work = work_for(load_demo(tmp / "demo"), BENCH)
    job = Job.objects.get(organization__code="HN", number=work.job["number"])
    serials = [job.instrument.serial, *(f"EM-{n:04d}" for n in range(2, positions + 1))]
    jobs_for_serials(job, serials)
    bench_positions = meter_positions(
        positions, dict.fromkeys(range(1, positions + 1), work.instrument), serials=serials
    )
    ran = run_on_bench(
        bench_positions, speed, reference=work.standards["HN-E-MTB"], instrument=work.instrument
    )
    figures = ran.figures
    shared, measured = ran.runner.positions_record()
    lims = figures.lims
    answer = _timed(
        lims,
        "post the run (server re-evaluation)",
        lambda: posted(
            work,
            ran.standards,
            ran.environment,
            points=(),
            shared=shared,
            positions=measured,
        ),
    )
    if answer.status_code != 201:
        raise SystemExit(f"the LIMS refused the run: HTTP {answer.status_code} {answer.json()}")
    run = Run.objects.get(pk=answer.json()["run_id"])
    reviewer = User.objects.get(username=REVIEWER)
    signatory = User.objects.get(username=SIGNATORY)
    acts: list[tuple[str, Callable[[], Any]]] = [
        ("review, one act", lambda: review_runs(actor=reviewer, runs=[run], password=PASSWORD)),
        ("approve, one act", lambda: approve_runs(actor=signatory, runs=[run], password=PASSWORD)),
    ]
    for name, act in acts:
        done = _timed(lims, name, act)
        if done.refused:
            raise SystemExit(f"{name}: refused {done.refused}")
        run.refresh_from_db()
    issued = _timed(
        lims,
        f"issue {positions} certificates, one act",
        lambda: issue_run_certificates(actor=signatory, run=run, password=PASSWORD),
    )
    if issued.refused:
        print(f"refused: {issued.refused}")
    figures.certificates = Certificate.objects.filter(run=run).count()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=24, help="meters on the bench")
    parser.add_argument("--speed", type=float, default=1e4, help="simulated s per real s")
    parser.add_argument("--quick", action="store_true", help="6 positions, for the suite")
    parser.add_argument("--bench-only", action="store_true", help="no LIMS, no certificates")
    args = parser.parse_args(argv)
    positions = 6 if args.quick else args.positions
    if args.bench_only:
        figures = measure_run(positions, args.speed)
    else:
        logging.getLogger("pyhanko").setLevel(logging.ERROR)
        with tempfile.TemporaryDirectory(prefix="caltrace-electricity-") as tmp:
            figures = measure_to_certificates(positions, args.speed, Path(tmp))
    print(f"electricity-meter run ({PROCEDURE}), simulated bench at {args.speed:g}× real time")
    print(f"  positions                     {figures.positions} ({figures.passed} passed)")
    print(
        f"  simulated sequence duration   {figures.sequence_s:,.0f} s "
        f"({figures.sequence_s / 60:.1f} min of bench time)"
    )
    print(f"  software wall time, bench     {figures.bench_software_s:.2f} s")
    for name, seconds in figures.lims.items():
        print(f"  LIMS: {name:<36} {seconds:.2f} s")
    if figures.lims:
        print(f"  certificates issued           {figures.certificates}")
    print(f"  software wall time            {figures.software_s:.2f} s")
    print(f"  software share                {100 * figures.share:.3f} %")
    complete = figures.passed == positions and (
        args.bench_only or figures.certificates == positions
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
