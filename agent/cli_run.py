"""The ``caltrace-agent run`` subcommand (see :mod:`agent.run` for what a run does)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from rich.console import Console

from agent.bench import ConsoleOperator, OpenedBench
from agent.run import RunOutcome, resolve_definition, run_procedure, shipped_definition
from procedures.bench import StandardRecord

__all__ = ["add_run_parser", "run_command"]

EXIT_OK = 0
EXIT_REFUSED = 3
EXIT_INCOMPLETE = 4


def add_run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a procedure on the bench (readings kept in the outbox)")
    run.add_argument("--bench", required=True, metavar="B.yaml", help="the bench configuration")
    what = run.add_mutually_exclusive_group(required=True)
    what.add_argument("--job", help="a job number (job and standards' data from the LIMS)")
    what.add_argument("--procedure", help="a procedure id, for field work from the cache")
    what.add_argument("--resume", metavar="RUN_ID", help="resume an incomplete run")
    run.add_argument("--instrument", help="the instrument's serial (with --procedure)")
    run.add_argument(
        "--operator",
        default=os.environ.get("CALTRACE_OPERATOR", ""),
        help="the metrologist's username (default $CALTRACE_OPERATOR)",
    )
    run.add_argument(
        "--simulate",
        action="store_true",
        help="start every role's simulator and let a simulated operator act (SIMULATED run)",
    )
    run.add_argument("--seed", type=int, default=0, help="seed of the simulated world")
    run.add_argument("--no-sync", action="store_true", help="queue the run, do not send it now")
    run.add_argument("--language", choices=["en", "vi"], default="en")


def run_command(args: argparse.Namespace) -> int:
    from agent.config import load_bench
    from agent.outbox import Outbox
    from agent.sync import LimsClient, LimsRefused, LimsUnavailable, sync

    console = Console(stderr=True)
    config = load_bench(args.bench)
    if not args.operator:
        console.print("[red]error:[/] name the metrologist with --operator or $CALTRACE_OPERATOR")
        return 2
    outbox = Outbox(config.outbox)
    try:
        outbox.recover()
        client = LimsClient(config)
        job, definition, standards, instrument, context = _what_to_run(
            args, config, outbox, client, console, (LimsUnavailable, LimsRefused)
        )
        if definition is None:
            return EXIT_REFUSED
        with ExitStack() as stack:
            if args.simulate:
                from agent.simulated import SimulatedBench, SimulatedOperator, SimulatedWorld

                world = SimulatedWorld(seed=args.seed)
                bench: Any = stack.enter_context(SimulatedBench(config.roles, world))
                operator: Any = SimulatedOperator(world)
                console.print("[bold magenta]SIMULATED bench and operator[/]")
            else:
                bench = stack.enter_context(OpenedBench(config.roles))
                operator = ConsoleOperator(console, language=args.language)
            outcome = run_procedure(
                outbox=outbox,
                definition=definition,
                bench=bench,
                operator=operator,
                standards=standards,
                instrument=instrument,
                job=job,
                operator_name=args.operator,
                context=context,
                resume=args.resume,
            )
        _report(console, outcome)
        if outcome.state != "queued":
            return EXIT_REFUSED if outcome.state == "refused" else EXIT_INCOMPLETE
        if not args.no_sync:
            try:
                sync(outbox, client)
            except LimsUnavailable as exc:
                console.print(f"the LIMS is not reachable ({exc}); `caltrace-agent sync` sends it")
        return EXIT_OK
    finally:
        outbox.close()


def _what_to_run(
    args: argparse.Namespace,
    config: Any,
    outbox: Any,
    client: Any,
    console: Console,
    lims_errors: tuple[type[Exception], ...],
) -> tuple[str, Any, Mapping[str, StandardRecord], Mapping[str, Any], dict[str, Any]]:
    assets = [r.asset_id for r in config.roles.values() if r.asset_id]
    if args.resume:
        state = outbox.resume_info(args.resume)
        context = dict(state.context)
        definition = shipped_or_stored(context)
        standards = outbox.cached_standards(assets)
        return state.header["job"], definition, standards, context.get("instrument", {}), context
    if args.job:
        try:
            job = client.job(args.job)
            procedure = client.procedure_by_pk(job["procedure"])
            records = {a: client.standard(a) for a in assets}
        except lims_errors as exc:
            console.print(f"[red]error:[/] the LIMS could not give job {args.job}: {exc}")
            return args.job, None, {}, {}, {}
        outbox.cache_job(job)
        outbox.cache_standards(list(records.values()))
        definition = resolve_definition(procedure)
        instrument = dict(job.get("instrument_specification") or {})
        context = {"definition": dict(definition.data), "instrument": instrument}
        return job["number"], definition, records, instrument, context
    definition = shipped_definition(args.procedure)
    job = outbox.cached_job_for(args.instrument, definition.id)
    if job is None:
        console.print(
            f"[red]error:[/] no cached job for instrument {args.instrument} and procedure "
            f"{definition.id}: sync with the LIMS while online first"
        )
        return "", None, {}, {}, {}
    instrument = dict(job.get("instrument_specification") or {})
    context = {"definition": dict(definition.data), "instrument": instrument}
    return job["number"], definition, outbox.cached_standards(assets), instrument, context


def shipped_or_stored(context: Mapping[str, Any]) -> Any:
    from procedures.definition import definition_from_data

    return definition_from_data(context["definition"])


def _report(console: Console, outcome: RunOutcome) -> None:
    if outcome.state == "queued":
        console.print(
            f"[green]run {outcome.run_id} complete[/]: {outcome.points} points, "
            f"{outcome.readings} readings, signed and queued for the LIMS"
        )
    elif outcome.state == "refused":
        console.print(f"[red]the run cannot start:[/] {outcome.reason}")
    else:
        console.print(
            f"[yellow]run {outcome.run_id} {outcome.state}[/]: {outcome.reason} "
            f"(`caltrace-agent run --resume {outcome.run_id}` or abandon it)"
        )
