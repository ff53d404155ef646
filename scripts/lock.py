"""Regenerate the lock files in ``requirements/`` from ``pyproject.toml`` (``make lock``).

``pyproject.toml`` states the compatible ranges a library user needs; the lock files name the
exact release and the SHA-256 of every file of every package that ``make demo``, ``make test``
and ``make bench`` install (``pip install --require-hashes``), so that a release published
tonight changes nothing for tomorrow's newcomer.

One resolution of every extra is made first (``requirements/all.txt``); each installed set is
then resolved under it as a constraint, so a package has the same version in every set and
moving from ``make demo`` to ``make test`` only adds packages. The resolver is uv's
``uv pip compile --generate-hashes --universal``: one lock that holds for every Python from
3.11 and every platform (markers fork a package where its releases differ by Python version).

Without ``--upgrade`` a package keeps the version the lock already holds (uv prefers the pins
of the output file), so adding a dependency does not move the others. ``--upgrade`` takes the
newest release the ranges and the holds below allow.

    python scripts/lock.py [--upgrade] [--uv PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK_DIR = ROOT / "requirements"

# The sets `make` installs: file stem -> extras of pyproject.toml.
SETS: dict[str, tuple[str, ...]] = {
    "runtime": (),
    "dev": ("dev",),
    "bench": ("bench",),
}

# Releases the lock keeps back although pyproject.toml's ranges allow them, each with its
# reason and the condition to lift it. `make upgrade-check` ignores the holds: it tests what a
# library user installing from the ranges gets, so the filters in pyproject.toml must keep
# the suite green there too.
HOLDS: dict[str, str] = {
    "cryptography<51": (
        "cryptography 51 deprecates DSA and pyHanko 0.38 imports DSAPrivateKey at load "
        "(pyhanko/sign/signers/pdf_cms.py), a CryptographyDeprecationWarning at every start; "
        "lift when a pyHanko release no longer imports it"
    ),
}


def build_requirements() -> list[str]:
    """The build back-end of pyproject.toml, locked too: the project itself is installed
    with ``--no-build-isolation`` so that nothing unlocked is fetched to build it."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        requires: list[str] = tomllib.load(f)["build-system"]["requires"]
    return requires


def compile_lock(
    uv: str, output: Path, extras: tuple[str, ...], *, constraint: Path | None, upgrade: bool
) -> None:
    """Resolve pyproject.toml (with ``extras``) and the build back-end into ``output``."""
    command = [
        uv,
        "pip",
        "compile",
        "pyproject.toml",
        "-",
        "--generate-hashes",
        "--universal",
        "--python-version",
        "3.11",
        "--custom-compile-command",
        "make lock",
        "--quiet",
        "--output-file",
        str(output.relative_to(ROOT)),
    ]
    for extra in extras:
        command += ["--extra", extra]
    if constraint is not None:
        command += ["--constraint", str(constraint.relative_to(ROOT))]
    if upgrade:
        command.append("--upgrade")
    stdin = "\n".join([*build_requirements(), *HOLDS]) + "\n"
    subprocess.run(command, input=stdin, text=True, cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest releases")
    parser.add_argument("--uv", default=shutil.which("uv") or "uv", help="the uv executable")
    args = parser.parse_args(argv)
    LOCK_DIR.mkdir(exist_ok=True)
    every = LOCK_DIR / "all.txt"
    all_extras = tuple(sorted({extra for extras in SETS.values() for extra in extras}))
    compile_lock(args.uv, every, all_extras, constraint=None, upgrade=args.upgrade)
    for stem, extras in SETS.items():
        # Under the joint resolution: the upgrade, if any, already happened there.
        compile_lock(args.uv, LOCK_DIR / f"{stem}.txt", extras, constraint=every, upgrade=False)
    print(f"locked {', '.join(f'requirements/{stem}.txt' for stem in SETS)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
