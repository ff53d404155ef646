"""Run the checks of ``make test`` phase by phase and print how long each took.

    python scripts/suite.py [--only PHASE,...] [PYTEST_ARGS...]

The phases: ``lint`` (ruff check and ruff format --check), ``types`` (mypy), ``imports``
(import-linter's package boundaries) and ``tests`` (pytest, by default one worker more than
the cores: ``CALTRACE_TEST_WORKERS`` sets another count, 0 runs in one process). The first
phase that fails stops the run; the table of times is printed either way.

The tools are taken from the virtual environment of the Python that runs this script, so
``make upgrade-check`` runs the same phases in its throw-away environment.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def default_workers() -> int:
    """One worker more than the cores: a third of the suite's time is spent waiting (on
    simulators' sleeps, subprocesses, the browser), which the extra worker fills. pytest's
    wall time measured on 2 cores: 2 workers taking a module each 271 s; with work stealing,
    3 workers 211 s, 4 workers 224 s."""
    return (os.cpu_count() or 1) + 1


def pytest_command(extra: list[str]) -> list[str]:
    workers = os.environ.get("CALTRACE_TEST_WORKERS", str(default_workers()))
    command = [sys.executable, "-m", "pytest"]
    if workers != "0":
        # worksteal: a worker that runs out of tests takes some of another's, so one long
        # module (the demo, the kill tests) does not leave the other workers idle at the end.
        command += ["-n", workers, "--dist", "worksteal"]
    return command + extra


def phases(pytest_args: list[str]) -> dict[str, list[list[str]]]:
    return {
        "lint": [[str(BIN / "ruff"), "check", "."], [str(BIN / "ruff"), "format", "--check", "."]],
        "types": [[str(BIN / "mypy")]],
        "imports": [[str(BIN / "lint-imports")]],
        "tests": [pytest_command(pytest_args)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated phases to run (default: all)")
    args, pytest_args = parser.parse_known_args(argv)
    plan = phases(pytest_args)
    chosen = args.only.split(",") if args.only else list(plan)
    unknown = [name for name in chosen if name not in plan]
    if unknown:
        parser.error(f"unknown phase {', '.join(unknown)} (phases: {', '.join(plan)})")
    times: list[tuple[str, float, str]] = []
    status = 0
    for name in chosen:
        started = time.perf_counter()
        for command in plan[name]:
            shown = " ".join([Path(command[0]).name, *command[1:]])
            print(f"--- {name}: {shown}", flush=True)
            status = subprocess.run(command, cwd=ROOT, check=False).returncode
            if status:
                break
        times.append((name, time.perf_counter() - started, "failed" if status else "passed"))
        if status:
            break
    print("\nphase      seconds")
    for name, seconds, outcome in times:
        print(f"{name:<10} {seconds:7.1f}  {outcome}")
    print(f"{'total':<10} {sum(t for _, t, _ in times):7.1f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
