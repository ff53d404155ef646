"""The ``caltrace-agent`` command line.

Subcommands:

* ``drivers`` — list the registered drivers and what each measures or sources;
* ``simulate DRIVER`` — start a driver's simulator, print one line ``READY <address>``,
  serve until SIGINT or SIGTERM;
* ``probe --driver D --address A`` — open the instrument, check its identity, take
  readings and print one JSON object; on failure print one ``error:`` line on standard
  error, exit non-zero and print no reading;
* ``run --bench B.yaml (--job N [--offline] | --procedure ID --instrument SERIAL |
  --resume RUN_ID) [--lims URL] [--simulate] [--fault ROLE:KIND[@N]] [--skip N:REASON]``
  — carry out a procedure on the bench (see :mod:`agent.run`): readings committed before
  they are shown, live progress, the completed run signed, queued and sent. On a bench
  file with ``positions`` every position is measured in the one run (``--skip`` leaves a
  position out, with the reason: not mounted), each position's result shown at each
  point and a summary by position at the end. With ``--job`` the
  LIMS must answer (an unreachable LIMS is an error naming its address and why, never a
  silent fall-back to the cache) unless ``--offline`` chooses work from the cache, which
  says how old the cache is; ``--procedure`` is always offline work;
* ``sync --bench B.yaml [--once] [--lims URL]`` — send the completed runs of the bench's
  outbox to the LIMS, one line per run (sent, replayed, rejected with the reason, retry
  at T), then cache the bench's jobs, procedures and standards for work without the LIMS;
* ``status --bench B.yaml [--json]`` — what the outbox holds: what is waiting, what
  failed and why.

Exit status of ``sync``: 0 when no run was rejected (runs the LIMS could not take yet
stay queued and are named with their next attempt time); 1 when at least one run was
rejected in this pass (``status`` shows why); 2 for a usage or configuration error (bench
file, key, token); 3 when the LIMS refused the agent itself (token or key), so nothing
can be sent until that is fixed; 5 when the LIMS could not be reached (its address and
why are named; the runs stay queued). ``status`` exits 0, or 2 for a configuration error.
Exit status of ``run``: 0 complete (sent or queued); 1 incomplete, abandoned or rejected;
2 usage or configuration; 3 the agent refused; 4 refused before the first point (a job
the LIMS has closed, a standard out of calibration...); 5 the LIMS could not be reached
(nothing was measured: check the address, or choose ``--offline``).

Everything instrument-specific comes from :mod:`drivers.registry`, so a newly registered
driver is listed, simulated and probed without touching this module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from drivers.capabilities import AUTO, Direction, RangeSetting, measure
from drivers.driver import DriverOptions
from drivers.errors import DriverError
from drivers.registry import UnknownDriver, entries, get
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from procedures.bench import BenchPosition
from procedures.record import MeterIdentity
from uncertainty.display import datetime_text

from .config import BenchConfig, ConfigError, OpticalPort, load_bench
from .errors import PlanError
from .i18n import translator
from .keys import KeyFileError, load_key
from .outbox import Outbox, OutboxError, Outcome, ResumeState
from .sync import LimsClient, LimsRefused, LimsUnavailable, sync

# agent.run (the procedure runner, the uncertainty evaluation, SciPy) is imported by the
# commands that run a procedure, when they do: half of every other command's start-up.
if TYPE_CHECKING:
    from .identity import IdentityReport
    from .run import Plan, RunOutcome

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_INSTRUMENT = 1
EXIT_USAGE = 2
EXIT_REJECTED = 1
EXIT_AGENT_REFUSED = 3
EXIT_REFUSED = 4
EXIT_INCOMPLETE = 1
EXIT_UNREACHABLE = 5
OPERATOR_ENV = "CALTRACE_OPERATOR"


class UsageError(Exception):
    """A command-line mistake (unknown driver, malformed value...)."""


class LimsUnreachable(Exception):
    """The LIMS did not answer a command that needs it; the message names its address and
    why, and what the operator may do."""

    def __init__(self, err: LimsUnavailable, advice: str) -> None:
        address = err.address or "(no address)"
        super().__init__(f"the LIMS at {address} cannot be reached: {err.reason}; {advice}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``caltrace-agent``."""
    parser = argparse.ArgumentParser(
        prog="caltrace-agent", description="caltrace bench agent: instruments and simulators."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    drivers_cmd = sub.add_parser("drivers", help="list drivers and their capabilities")
    drivers_cmd.add_argument("--json", action="store_true", help="print JSON instead of text")

    simulate = sub.add_parser("simulate", help="run a driver's simulator until interrupted")
    simulate.add_argument("driver", metavar="DRIVER", help="a driver name (see `drivers`)")
    simulate.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    simulate.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    simulate.add_argument(
        "--value", type=_finite, help="simulated input/output, in the instrument's unit"
    )
    simulate.add_argument(
        "--noise", type=_non_negative, help="Gaussian noise standard deviation, same unit"
    )
    simulate.add_argument(
        "--fault",
        choices=[k.value for k in FaultKind],
        help="inject this fault on every reading",
    )
    simulate.add_argument(
        "--late-by",
        type=_non_negative,
        default=3.0,
        metavar="SECONDS",
        help="delay of a late answer (with --fault late; default 3 s)",
    )
    simulate.add_argument("--seed", type=int, default=0, help="seed of the noise generator")
    simulate.add_argument("--serial", help="serial number the simulated instrument reports")
    simulate.add_argument(
        "--map", dest="map_file", help="register-map file to serve (modbus-map only)"
    )

    probe = sub.add_parser("probe", help="read an instrument and print JSON")
    probe.add_argument("--driver", required=True, help="a driver name (see `drivers`)")
    probe.add_argument("--address", required=True, help="VISA resource, serial URL...")
    probe.add_argument(
        "--function",
        help="dcv, acv, dci, aci, res2w, res4w, mass, pressure, temperature, length, volume "
        "or register:NAME (default: the driver's first measurement)",
    )
    probe.add_argument(
        "--range", default=AUTO, help="nominal range in the function's unit, or auto"
    )
    probe.add_argument("--samples", type=_positive_int, default=1, help="number of readings")
    probe.add_argument(
        "--timeout", type=_positive, default=2.0, metavar="SECONDS", help="answer timeout"
    )
    probe.add_argument("--retries", type=_non_negative_int, default=1, help="retries per query")
    probe.add_argument("--expected-serial", help="refuse an instrument with another serial")
    probe.add_argument("--map", dest="map_file", help="register-map file (Modbus drivers)")
    probe.add_argument(
        "--visa-library", default="@py", help="PyVISA backend (@py: pyvisa-py; @ivi: vendor)"
    )

    sync_cmd = sub.add_parser("sync", help="send the completed runs of the outbox to the LIMS")
    sync_cmd.add_argument("--bench", required=True, metavar="B.yaml", help="bench configuration")
    sync_cmd.add_argument(
        "--once",
        action="store_true",
        help="one pass over what is due, then exit (default: go on, waiting between "
        "attempts, until nothing is queued)",
    )
    sync_cmd.add_argument(
        "--timeout", type=_positive, default=30.0, metavar="SECONDS", help="HTTP timeout"
    )
    sync_cmd.add_argument(
        "--lims", metavar="URL", help="the LIMS's address (default: the bench file's)"
    )

    run_cmd = sub.add_parser(
        "run",
        help="run a procedure on this bench: a job from the LIMS, or offline from the cache",
    )
    run_cmd.add_argument("--bench", required=True, metavar="B.yaml", help="bench configuration")
    what = run_cmd.add_mutually_exclusive_group(required=True)
    what.add_argument("--job", metavar="NUMBER", help="the LIMS job to run (e.g. HN-2026-000123)")
    what.add_argument(
        "--procedure",
        metavar="ID",
        help="field work without the LIMS: the procedure, with --instrument, from the cache "
        "of the last sync",
    )
    what.add_argument("--resume", metavar="RUN_ID", help="go on with an incomplete run")
    run_cmd.add_argument("--instrument", metavar="SERIAL", help="with --procedure")
    run_cmd.add_argument(
        "--operator",
        help="the metrologist's user name in the LIMS (default: $CALTRACE_OPERATOR, else "
        "the job's assignee)",
    )
    run_cmd.add_argument(
        "--offline",
        action="store_true",
        help="with --job: work from the cache of the last sync, without contacting the LIMS "
        "(without it an unreachable LIMS is an error)",
    )
    run_cmd.add_argument(
        "--lims", metavar="URL", help="the LIMS's address (default: the bench file's)"
    )
    run_cmd.add_argument(
        "--simulate",
        action="store_true",
        help="run on the simulators of every role (real transports) with a simulated operator",
    )
    run_cmd.add_argument("--seed", type=int, default=0, help="seed of the simulated world")
    run_cmd.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="ROLE:KIND[@N]",
        help="with --simulate, rehearse an instrument fault: once N readings of the run are "
        f"recorded (default 0), the simulator of ROLE answers its readings with KIND "
        f"({', '.join(k.value for k in FaultKind)}); repeatable",
    )
    run_cmd.add_argument(
        "--skip",
        dest="skips",
        action="append",
        default=[],
        metavar="N:REASON",
        help="on a bench with positions, leave position N out of the run, with the reason "
        "(e.g. 4:'not mounted'); repeatable",
    )
    run_cmd.add_argument(
        "--no-sync", action="store_true", help="queue the completed run without sending it"
    )
    run_cmd.add_argument("--language", choices=["en", "vi"], default="en", help="instructions")
    run_cmd.add_argument(
        "--timeout", type=_positive, default=30.0, metavar="SECONDS", help="HTTP timeout"
    )

    status_cmd = sub.add_parser("status", help="what the outbox holds, waits for, and why")
    status_cmd.add_argument("--bench", required=True, metavar="B.yaml", help="bench configuration")
    status_cmd.add_argument("--json", action="store_true", help="print JSON for scripts")
    status_cmd.add_argument("--all", action="store_true", help="list sent runs too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "drivers":
            return _drivers(args)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "sync":
            return _sync(args)
        if args.command == "status":
            return _status(args)
        if args.command == "run":
            return _run(args)
        return _probe(args)
    except (UsageError, UnknownDriver, ConfigError, KeyFileError, OutboxError, PlanError) as err:
        _error(str(err).strip("'\""))
        return EXIT_USAGE
    except DriverError as err:
        _error(f"{type(err).__name__}: {err}")
        return EXIT_INSTRUMENT
    except LimsUnreachable as err:
        _error(str(err))
        return EXIT_UNREACHABLE


# -- subcommands ---------------------------------------------------------------------------


def _drivers(args: argparse.Namespace) -> int:
    listing: list[dict[str, Any]] = []
    for entry in entries():
        listing.append(
            {
                "name": entry.name,
                "summary": entry.summary,
                "simulator": entry.simulator is not None,
                "capabilities": entry.capabilities.to_dicts(),
            }
        )
    if args.json:
        print(json.dumps(listing, indent=2))
        return EXIT_OK
    for item in listing:
        simulated = "simulator" if item["simulator"] else "no simulator"
        print(f"{item['name']}  {item['summary']} ({simulated})")
        for cap in item["capabilities"]:
            ranges = ", ".join(f"{s['nominal']:g}" for s in cap["spans"] if s["nominal"])
            auto = " + auto" if cap["autorange"] else ""
            print(
                f"    {cap['direction']:<7} {cap['function']:<11} {cap['quantity']} "
                f"[{cap['unit']}] ranges {ranges or '-'}{auto}"
            )
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    entry = get(args.driver)
    factory = entry.load_simulator()
    if factory is None:
        raise UsageError(f"driver {entry.name!r} has no simulator")
    if args.map_file is not None and entry.name != "modbus-map":
        raise UsageError(f"--map is for the modbus-map simulator, not {entry.name}")
    fault = Fault(FaultKind(args.fault), late_by_s=args.late_by) if args.fault else None
    options = SimulatorOptions(
        host=args.host,
        port=args.port,
        value=args.value,
        noise=args.noise,
        seed=args.seed,
        fault=fault,
        serial=args.serial,
        map_file=args.map_file,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            simulator = factory(options)
        except OSError as err:
            raise UsageError(f"cannot start the simulator: {err}") from err
        except DriverError as err:  # e.g. a --map file that is not a valid register map
            raise UsageError(f"{entry.name} simulator: {err}") from err
        except ValueError as err:  # e.g. a fault this simulator's transport cannot produce
            raise UsageError(f"{entry.name} simulator: {err}; choose another --fault") from err
        try:
            print(f"READY {simulator.address}", flush=True)
            while not stop.wait(0.2):
                pass
        finally:
            simulator.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _probe(args: argparse.Namespace) -> int:
    entry = get(args.driver)
    driver_cls = entry.load_driver()
    function = args.function or _default_function(entry.name)
    range_setting = _parse_range(args.range)
    options = DriverOptions(
        timeout_s=args.timeout,
        retries=args.retries,
        expected_serial=args.expected_serial,
        visa_library=args.visa_library,
        map_file=args.map_file,
    )
    driver = driver_cls.open(args.address, options)
    try:
        readings = [measure(driver, function, range=range_setting) for _ in range(args.samples)]
        identity = driver.identity.to_dict()
    finally:
        driver.close()
    result = {
        "driver": entry.name,
        "address": args.address,
        "identity": identity,
        "readings": [
            {
                "value": r.value,
                "unit": r.unit,
                "timestamp": r.timestamp.isoformat(),
                "stable": r.stable,
            }
            for r in readings
        ],
    }
    print(json.dumps(result))
    return EXIT_OK


def _open_outbox(bench: BenchConfig) -> Outbox:
    bench.outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(bench.outbox)
    try:
        for run_id in outbox.recover():
            print(
                f"{run_id}: interrupted: marked incomplete (resume or abandon it)", file=sys.stderr
            )
    except BaseException:
        outbox.close()
        raise
    return outbox


def _sync(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    key = load_key(bench.key)
    client = LimsClient(args.lims or bench.lims, bench.token, key=key, timeout_s=args.timeout)
    rng = random.Random()
    rejected = 0
    unreachable: LimsUnavailable | None = None
    with _open_outbox(bench) as outbox:
        while True:
            report = sync(outbox, client, rng=rng)
            for result in report.results:
                print(result.line(), flush=True)
            rejected += report.count(Outcome.REJECTED)
            if report.agent_refused:
                _error(f"{report.stopped}; nothing more is sent until this is fixed")
                return EXIT_AGENT_REFUSED
            if report.stopped:
                print(f"stopped: {report.stopped}; {report.left} more run(s) wait", flush=True)
                unreachable = report.unavailable
            if args.once:
                break
            next_due = outbox.next_due()
            if next_due is None:
                break
            time.sleep(max(0.0, min(60.0, (next_due - datetime.now(UTC)).total_seconds())))
        if not report.stopped:
            unreachable = _refresh(bench, outbox, client)
        counts = outbox.status().counts
    print(
        f"outbox: {counts['queued']} queued, {counts['sent']} sent, "
        f"{counts['rejected']} rejected, {counts['incomplete']} incomplete"
    )
    if unreachable is not None:
        raise LimsUnreachable(
            unreachable,
            "the runs stay queued; check the address (--lims or the bench file's `lims:`)",
        )
    return EXIT_REJECTED if rejected else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .run import bench_positions, plan_from_context

    config = load_bench(args.bench)
    if args.procedure and not args.instrument:
        raise UsageError("--procedure needs --instrument SERIAL (the instrument under test)")
    if args.instrument and not args.procedure:
        raise UsageError("--instrument goes with --procedure")
    if args.faults and not args.simulate:
        raise UsageError("--fault rehearses faults on the simulated bench: add --simulate")
    if args.offline and not args.job:
        raise UsageError("--offline goes with --job (--procedure is always offline work)")
    faults = [_parse_fault(text, config) for text in args.faults]
    skip = _parse_skips(args.skips, config)
    if skip and args.resume:
        raise UsageError("--skip goes with a new run: a resumed run keeps its positions")
    key = load_key(config.key)
    client = LimsClient(args.lims or config.lims, config.token, key=key, timeout_s=args.timeout)
    console = Console(soft_wrap=True, highlight=False)
    # the optical drivers (dlms-cosem) load only for a run
    from .identity import IdentityReport, SerialDisagrees

    # each meter with an optical port is read before anything else: a wrong meter mounted
    # refuses the run, a meter that does not answer is left out with the reason
    identities = IdentityReport() if args.resume else _read_identities(args, config, skip)
    try:
        identities.check(args.language)
    except SerialDisagrees as err:
        _error(f"refused before the first point: {err}")
        return EXIT_REFUSED
    skip = {**identities.skip_reasons(), **skip}
    with _open_outbox(config) as outbox:
        resumed: ResumeState | None = None
        try:
            if args.resume:
                resumed = outbox.resume(args.resume)
                try:
                    plan = plan_from_context(config, outbox, resumed.context)
                    positions = _resumed_positions(config, resumed)
                except PlanError as err:
                    outbox.mark_incomplete(resumed.run_id, f"cannot be resumed: {err}")
                    raise
                operator = str(resumed.header.get("operator", ""))
            else:
                plan = _plan(args, config, outbox, client, console)
                operator = (
                    args.operator
                    or os.environ.get(OPERATOR_ENV)
                    or str(plan.job.get("assignee") or "")
                )
                if not operator:
                    raise UsageError(
                        f"name the operator: --operator USER or ${OPERATOR_ENV} "
                        "(the job has no assignee)"
                    )
                positions = bench_positions(config, plan, skip) if config.positions else []
        except PlanError as err:
            _error(f"refused before the first point: {err}")
            return EXIT_REFUSED
        for line in _run_header(args, config, plan, operator, resumed, positions):
            console.print(line)
        if identities.read or identities.unread:
            from .console import print_identities

            print_identities(console, identities, language=args.language)
        outcome = _carry_out(
            args,
            config,
            outbox,
            plan,
            operator,
            resumed,
            faults,
            console,
            positions,
            {n: i.evidence() for n, i in identities.read.items()},
        )
        return _report_run(args, config, outbox, client, outcome, console)


def _read_identities(
    args: argparse.Namespace, config: BenchConfig, skip: Mapping[int, str]
) -> IdentityReport:
    """The meter of each position with an optical port, read through it (positions left
    out with ``--skip`` are not read). With ``--simulate`` each position's simulated meter
    answers on a port of the transport its bench file names
    (:class:`simulation.optical.SimulatedProbes`), started for the reading only."""
    from .identity import IdentityReport, read_identities  # dlms-cosem loads only for a run

    ports = {n: p for n, p in config.optical.items() if n not in skip}
    if not ports:
        return IdentityReport()
    if not args.simulate:
        return read_identities(replace(config, optical=ports), language=args.language)
    # the simulation loads only for a run
    from simulation.errors import SimulationError
    from simulation.optical import SimulatedProbes

    meters = {n: (p.port, p.device_address) for n, p in ports.items()}
    try:
        probes = SimulatedProbes(config.positions, meters).start()
    except (SimulationError, OSError) as err:
        raise UsageError(f"the meters' simulated optical ports cannot be started: {err}") from None
    with probes:
        served = {n: OpticalPort(probes.address(n), p.device_address) for n, p in ports.items()}
        return read_identities(replace(config, optical=served), language=args.language)


def _parse_skips(texts: list[str], config: BenchConfig) -> dict[int, str]:
    """``N:REASON`` of ``--skip``: a position of the bench, and why it is left out."""
    skip: dict[int, str] = {}
    for text in texts:
        number_text, sep, reason = text.partition(":")
        if not config.positions:
            raise UsageError(f"--skip {text!r}: the bench {config.bench} has no positions")
        try:
            number = int(number_text)
        except ValueError:
            number = 0
        if not sep or not reason.strip() or number not in config.positions:
            raise UsageError(
                f"--skip {text!r}: give N:REASON with a position of the bench "
                f"(1 to {len(config.positions)}) and why it is left out"
            )
        if number in skip:
            raise UsageError(f"--skip: position {number} is given twice")
        skip[number] = reason.strip()
    return skip


def _resumed_positions(config: BenchConfig, resumed: ResumeState) -> list[BenchPosition]:
    """The positions a resumed run was started with, on the bench as its file says now: each
    must still hold the instrument it held (PlanError naming the position otherwise)."""
    out = []
    for kept in resumed.positions:
        role = config.positions.get(kept.position)
        if role is None or role.serial != kept.instrument.serial:
            now = "no such position" if role is None else f"it names {role.serial}"
            raise PlanError(
                f"{config.where(f'positions.each.{kept.position}')}: the run measures "
                f"{kept.instrument.serial} at position {kept.position}; the bench file has "
                f"changed ({now})"
            )
        out.append(BenchPosition(kept.position, role.role, kept.instrument))
    if config.positions and not resumed.positions:
        raise PlanError(
            f"{config.where('positions')}: run {resumed.run_id} was started on a bench "
            "without positions"
        )
    return out


def _run_header(
    args: argparse.Namespace,
    config: BenchConfig,
    plan: Plan,
    operator: str,
    resumed: ResumeState | None,
    positions: Sequence[BenchPosition] = (),
) -> list[str]:
    """What the operator reads before the first point, in the chosen language (rich
    markup; every value escaped): the job and its procedure, the instrument, the operator,
    the bench, where the data came from and, offline, how old it is; on a bench with
    positions, the instrument at each position (or why it is left out)."""
    from rich.markup import escape  # rich loads only for a run, as in _run

    _ = translator(args.language)
    title = plan.definition.title.get(args.language) or plan.definition.title["en"]
    where = _("simulated bench") if args.simulate else _("bench {name}").format(name=config.bench)
    source = (
        _("the LIMS at {address}").format(address=plan.source.removeprefix("LIMS "))
        if plan.source.startswith("LIMS ")
        else _("the cache")
    )
    lines = [
        "[bold]"
        + escape(_("job {number}").format(number=plan.number))
        + "[/]"
        + escape(f": {plan.definition.id} {plan.definition.version} ({title})"),
        escape(
            _("instrument {serial}, operator {operator}, {where}; data from {source}").format(
                serial=plan.job.get("instrument_serial", "-"),
                operator=operator,
                where=where,
                source=source,
            )
        ),
    ]
    if positions:
        from .console import positions_line

        lines.append(escape(positions_line(positions, args.language)))
    if plan.cached_at is not None:
        lines.append(escape(offline_text(plan.cached_at, datetime.now(UTC), args.language)))
    if resumed is not None:
        lines.append(
            escape(
                _(
                    "resuming run {run}: {kept} point(s) kept, {discarded} reading(s) of "
                    "unfinished points set aside"
                ).format(
                    run=resumed.run_id,
                    kept=len(resumed.completed_points),
                    discarded=resumed.discarded_readings,
                )
            )
        )
    return lines


def _plan(
    args: argparse.Namespace,
    config: BenchConfig,
    outbox: Outbox,
    client: LimsClient,
    console: Any,
) -> Plan:
    from .run import cached_plan, fetch_plan

    if args.job and not args.offline:
        try:
            return fetch_plan(config, outbox, client, args.job)
        except LimsUnavailable as err:
            # never a silent fall-back to the cache: a mistyped address would run a job
            # the LIMS may have closed since
            raise LimsUnreachable(
                err,
                "nothing was measured; check the address (--lims or the bench file's "
                "`lims:`), or work from the cache of the last sync with --offline",
            ) from None
        except LimsRefused as err:
            raise PlanError(f"the LIMS refused: {err}") from None
    if args.job:
        return cached_plan(config, outbox, number=args.job)
    return cached_plan(config, outbox, procedure=args.procedure, serial=args.instrument)


def _carry_out(
    args: argparse.Namespace,
    config: BenchConfig,
    outbox: Outbox,
    plan: Plan,
    operator: str,
    resumed: ResumeState | None,
    faults: list[tuple[str, FaultKind, int]],
    console: Any,
    positions: Sequence[BenchPosition] = (),
    identities: Mapping[int, MeterIdentity] | None = None,
) -> RunOutcome:
    # The console (rich) and the simulation load only for a run.
    from simulation.bench import SimulatedBench
    from simulation.errors import SimulationError
    from simulation.people import SimulatedOperator
    from simulation.world import SimulatedTime, SimulatedWorld

    from .console import ConsoleOperator, NarratedOperator, RunDisplay
    from .instruments import OpenedInstruments
    from .run import RunOutcome, run_procedure

    display = RunDisplay(
        console,
        language=args.language,
        serials={p.number: p.instrument.serial for p in positions},
    )
    # a bench with positions opens each position's instrument in its role (uut@N)
    roles = config.bench_roles
    bench: Any
    person: Any
    sleep: Callable[[float], None]
    now: Callable[[], float]
    if args.simulate:
        # the simulated sources settle in tens of milliseconds, and the runner's waits
        # (stability windows, dwells) pass on a clock that skips ahead: minutes of a
        # real bench take seconds
        world = SimulatedWorld(seed=args.seed, time_constant_s=0.02, settle_s=0.05)
        bench = SimulatedBench(roles, world)
        person = NarratedOperator(SimulatedOperator(world), display, language=args.language)
        if faults:
            person = _FaultRehearsal(person, bench, faults)
        clock = SimulatedTime(real_pause_s=0.003)
        sleep, now = clock.sleep, clock.clock
    else:
        # a position whose instrument cannot be opened is skipped, the others measured
        _ = translator(args.language)
        bench = OpenedInstruments(
            roles,
            language=args.language,
            tolerant={r.role for r in config.positions.values()} | set(config.optical_roles),
            # each meter read by eye is asked for by its position and serial
            labels={
                r.role: _("P{number}").format(number=n) + f" {r.serial}"
                for n, r in config.positions.items()
            },
        )
        person = ConsoleOperator(display, language=args.language)
        sleep, now = time.sleep, time.monotonic
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(bench)
        except (DriverError, SimulationError, OSError) as err:
            reason = f"the bench could not be opened: {type(err).__name__}: {err}"
            if resumed is not None:
                outbox.mark_incomplete(resumed.run_id, reason)
            return RunOutcome(resumed.run_id if resumed else None, "refused", reason)
        stack.enter_context(display)
        return run_procedure(
            outbox=outbox,
            plan=plan,
            bench=bench,
            operator=person,
            operator_name=operator,
            resumed=resumed,
            positions=positions,
            identities=identities,
            sleep=sleep,
            clock=now,
        )


def _parse_fault(text: str, config: BenchConfig) -> tuple[str, FaultKind, int]:
    """``ROLE:KIND[@N]`` of ``--fault``."""
    role, sep, rest = text.partition(":")
    kind_text, _, after_text = rest.partition("@")
    if not sep or role not in config.bench_roles:
        raise UsageError(
            f"--fault {text!r}: give ROLE:KIND[@N] with a role of the bench "
            f"({', '.join(config.bench_roles)})"
        )
    try:
        kind = FaultKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise UsageError(f"--fault {text!r}: unknown fault {kind_text!r} ({kinds})") from None
    try:
        after = int(after_text) if after_text else 0
    except ValueError:
        after = -1
    if after < 0:
        raise UsageError(f"--fault {text!r}: N must be a whole number of readings, >= 0")
    return role, kind, after


class _FaultRehearsal:
    """An operator that, as readings are recorded, arms the faults asked for with
    ``--fault`` on the simulators of their roles (the run meets them as it would meet a
    real instrument's)."""

    def __init__(self, operator: Any, bench: Any, faults: list[tuple[str, FaultKind, int]]):
        self._operator = operator
        self._bench = bench
        self._pending = sorted(faults, key=lambda f: f[2])
        self._readings = 0

    def _arm(self) -> None:
        while self._pending and self._pending[0][2] <= self._readings:
            role, kind, _ = self._pending.pop(0)
            simulator = self._bench.simulator(role)
            if simulator is None:
                raise UsageError(f"--fault: role {role} has no simulator to fault")
            simulator.inject(Fault(kind, late_by_s=3.0))

    def instruct(self, instruction: Any) -> None:
        self._arm()
        self._operator.instruct(instruction)

    def show(self, event: str, data: Any) -> None:
        self._operator.show(event, data)
        self._arm()
        if event == "reading":
            self._readings += 1
            self._arm()


def _report_run(
    args: argparse.Namespace,
    config: BenchConfig,
    outbox: Outbox,
    client: LimsClient,
    outcome: RunOutcome,
    console: Any,
) -> int:
    from .run import RunOutcome

    if outcome.state == "refused":
        from .console import refusal_lines

        heading, *reasons = refusal_lines(outcome.reason, language=args.language)
        _error(heading)
        for line in reasons:
            print(line, file=sys.stderr)
        return EXIT_REFUSED
    if outcome.state == "incomplete" and outcome.reason.endswith("(Ctrl-C)"):
        from .console import ask_pause_or_abandon

        choice = ask_pause_or_abandon(console, language=args.language) if sys.stdin.isatty() else ""
        if choice == "abandon":
            outbox.abandon(str(outcome.run_id), "abandoned by the operator (Ctrl-C)")
            outcome = RunOutcome(outcome.run_id, "abandoned", "abandoned by the operator (Ctrl-C)")
    # what the operator reads in the chosen language; the reasons (the run's record) and
    # the sync lines stay as they are kept
    _ = translator(args.language)
    run_id = outcome.run_id
    if outcome.state == "incomplete":
        print(_("run {run}: incomplete: {reason}").format(run=run_id, reason=outcome.reason))
        print(
            _(
                "every reading taken is kept; resume with: caltrace-agent run --bench {bench} "
                "--resume {run} (or abandon it)"
            ).format(bench=args.bench, run=run_id)
        )
        return EXIT_INCOMPLETE
    if outcome.state == "abandoned":
        print(
            _("run {run}: abandoned ({reason}); kept, never sent").format(
                run=run_id, reason=outcome.reason
            )
        )
        return EXIT_INCOMPLETE
    if outcome.positions:
        from .console import print_positions_summary

        print_positions_summary(console, outcome.positions, language=args.language)
    complete = _("run {run}: complete, {points} point(s), {readings} reading(s); signed and queued")
    print(complete.format(run=run_id, points=outcome.points, readings=outcome.readings))
    if args.no_sync or args.offline or args.procedure:
        why = "--no-sync" if args.no_sync else _("offline")
        print(
            _("not sent ({why}): `caltrace-agent sync --bench {bench}` sends it").format(
                why=why, bench=args.bench
            )
        )
        return EXIT_OK
    report = sync(outbox, client, max_attempts_per_run=1)
    for result in report.results:
        print(result.line(), flush=True)
    if report.agent_refused:
        _error(f"{report.stopped}; the run stays queued")
        return EXIT_AGENT_REFUSED
    if report.stopped:
        print(
            _("not sent yet ({why}); `caltrace-agent sync` sends it later").format(
                why=report.stopped
            )
        )
    return EXIT_REJECTED if report.count(Outcome.REJECTED) else EXIT_OK


def _refresh(bench: BenchConfig, outbox: Outbox, client: LimsClient) -> LimsUnavailable | None:
    """Cache the bench's jobs, procedures and standards for work without the LIMS; the
    LIMS's failure to answer, if it did not."""
    from .run import refresh_cache

    try:
        jobs, standards = refresh_cache(bench, outbox, client)
    except LimsUnavailable as err:
        print(f"cache for offline work not refreshed: {err}", flush=True)
        return err
    except LimsRefused as err:
        print(f"cache for offline work not refreshed: {err}", flush=True)
        return None
    print(f"cached for offline work: {jobs} job(s), {standards} standard(s)", flush=True)
    return None


def offline_text(cached_at: datetime, now: datetime, language: str = "en") -> str:
    """How old the cache an offline run works from is: "offline: job list cached 3 h 12 min
    ago, at 2026-12-06 10:02 UTC" (the operator judges whether the LIMS may have changed
    the job since)."""
    return translator(language)("offline: job list cached {age} ago, at {when}").format(
        age=age_text(now - cached_at), when=datetime_text(cached_at)
    )


def age_text(age: timedelta) -> str:
    """A duration to the minute as a person says it: "45 s", "12 min", "3 h 12 min",
    "2 d 5 h" (a cache days old is not judged to the minute)."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _status(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    with _open_outbox(bench) as outbox:
        report = outbox.status()
    if args.json:
        print(json.dumps({"bench": bench.bench, "outbox": str(bench.outbox), **report.to_dict()}))
        return EXIT_OK
    from .console import print_status  # rich loads only for what shows on the console

    print_status(bench, report, show_sent=args.all)
    return EXIT_OK


# -- helpers -------------------------------------------------------------------------------


def _default_function(driver_name: str) -> str:
    for cap in get(driver_name).capabilities.capabilities:
        if cap.direction == Direction.MEASURE:
            return str(cap.function)
    raise UsageError(f"driver {driver_name!r} measures nothing: give --function")


def _parse_range(text: str) -> RangeSetting:
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--range must be a number or 'auto', got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--range must be a positive number or 'auto', got {text!r}")
    return value


def _error(message: str) -> None:
    print("error: " + " ".join(message.split()), file=sys.stderr)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text}")
    return value


def _positive(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def _non_negative(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
