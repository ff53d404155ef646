"""``make upgrade-check``: the suite against the newest releases pyproject.toml allows.

The lock protects users from tonight's releases; this check protects the maintainers from
being surprised by them. It resolves every extra to the newest releases the ranges of
pyproject.toml allow (without the lock's holds), installs them into a throw-away virtual
environment, prints each package whose version differs from ``requirements/all.txt``, and runs
the phases of ``make test`` with that environment's tools. A failure here means: cap the range,
add a hold to ``scripts/lock.py``, or fix the code, before ``make lock LOCK_ARGS=--upgrade``.

    python scripts/upgrade_check.py [--uv PATH] [--keep] [PYTEST_ARGS...]

Not part of CI: it reaches the package index for whatever was released last.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from lock import build_requirements  # noqa: E402  (the script beside this one)


def pins(path: Path) -> dict[str, set[str]]:
    """Package name -> versions pinned in a requirements file (several where markers fork)."""
    found: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in " #-":
            continue
        try:
            requirement = Requirement(line.rstrip(" \\"))
        except InvalidRequirement:
            continue
        for spec in requirement.specifier:
            if spec.operator == "==":
                found.setdefault(requirement.name.lower(), set()).add(spec.version)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uv", default=shutil.which("uv") or "uv", help="the uv executable")
    parser.add_argument("--keep", action="store_true", help="keep the environment and print it")
    args, pytest_args = parser.parse_known_args(argv)
    work = Path(tempfile.mkdtemp(prefix="caltrace-upgrade-"))
    try:
        newest = work / "newest.txt"
        subprocess.run(
            [
                args.uv,
                "pip",
                "compile",
                "pyproject.toml",
                "-",
                "--all-extras",
                "--python-version",
                f"{sys.version_info.major}.{sys.version_info.minor}",
                "--quiet",
                "--no-header",
                "--no-annotate",
                "--output-file",
                str(newest),
            ],
            input="\n".join(build_requirements()) + "\n",
            text=True,
            cwd=ROOT,
            check=True,
        )
        locked, latest = pins(ROOT / "requirements" / "all.txt"), pins(newest)
        moved = sorted(
            f"  {name}: {', '.join(sorted(locked.get(name, {'(not locked)'})))} -> {version}"
            for name, versions in latest.items()
            for version in versions
            if version not in locked.get(name, set())
        )
        print("newer than the lock:" if moved else "the lock holds the newest releases")
        print("\n".join(moved))
        env_dir = work / "venv"
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(newest)], check=True)
        subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
        status = subprocess.run(
            [str(python), str(ROOT / "scripts" / "suite.py"), *pytest_args],
            cwd=ROOT,
            # The test that the environment is the lock's stands aside here.
            env={**os.environ, "CALTRACE_UPGRADE_CHECK": "1"},
            check=False,
        ).returncode
        print(
            "upgrade-check: the suite passes with the newest releases"
            if status == 0
            else "upgrade-check: the suite FAILS with the newest releases (see above)"
        )
        return status
    finally:
        if args.keep:
            print(f"environment kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
