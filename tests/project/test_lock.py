"""The lock files in ``requirements/`` satisfy ``pyproject.toml``.

``make demo``, ``make test`` and ``make bench`` install exactly a lock file with
``--require-hashes``. A requirement added to or tightened in ``pyproject.toml`` without
``make lock`` would leave the lock stale: pip would still install the old set, and the
newcomer would run code that asks for something the lock does not hold. These tests fail
then, and name the package and the requirement.
"""

from __future__ import annotations

import importlib.metadata
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
# Lock file -> the extras of pyproject.toml it installs (besides the runtime and build back-end).
SETS: dict[str, tuple[str, ...]] = {
    "runtime": (),
    "dev": ("dev",),
    "bench": ("bench",),
    "all": ("dev", "bench"),
}


@dataclass
class Pin:
    version: str
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)


def read_lock(text: str) -> dict[str, list[Pin]]:
    """Package name -> its pins in a ``uv pip compile --generate-hashes`` file (a package
    appears more than once where environment markers fork it by Python version)."""
    pins: dict[str, list[Pin]] = {}
    current: Pin | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().rstrip("\\").strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            assert current is not None, f"line {number}: a hash before any requirement"
            current.hashes.append(stripped.removeprefix("--hash="))
            continue
        requirement = Requirement(stripped)
        versions = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        assert len(versions) == 1, f"line {number}: {stripped!r} is not pinned with =="
        current = Pin(versions[0], requirement.marker)
        pins.setdefault(canonicalize_name(requirement.name), []).append(current)
    return pins


def required(pyproject: dict[str, Any], extras: tuple[str, ...]) -> list[Requirement]:
    """What a set installs: the runtime, its extras, and the build back-end."""
    project = pyproject["project"]
    lines = [*project["dependencies"], *pyproject["build-system"]["requires"]]
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def extra_requirements(name: str, extra: str) -> list[Requirement]:
    """The requirements a distribution declares for one of its extras (from its metadata)."""
    found = []
    for line in importlib.metadata.requires(name) or []:
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra}):
            requirement.marker = None
            found.append(requirement)
    return found


def problems(requirements: list[Requirement], pins: dict[str, list[Pin]]) -> list[str]:
    """Every requirement the lock does not satisfy, in words that name both."""
    found = []
    pending = [(requirement, "pyproject.toml") for requirement in requirements]
    while pending:
        requirement, source = pending.pop(0)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            found.append(f"{requirement} ({source}) is not in the lock")
            continue
        for pin in pins[name]:
            if not requirement.specifier.contains(pin.version, prereleases=True):
                found.append(f"{requirement} ({source}) is not satisfied by {name}=={pin.version}")
            if not pin.hashes:
                found.append(f"{name}=={pin.version} has no hash")
        for extra in sorted(requirement.extras):
            pending += [(r, f"extra [{extra}] of {name}") for r in extra_requirements(name, extra)]
    return found


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize("stem", sorted(SETS))
def test_each_lock_satisfies_every_requirement_of_pyproject(stem: str) -> None:
    pins = read_lock((LOCKS / f"{stem}.txt").read_text(encoding="utf-8"))
    assert problems(required(pyproject(), SETS[stem]), pins) == [], (
        f"requirements/{stem}.txt is stale: run `make lock` and commit requirements/"
    )


def test_a_requirement_the_lock_does_not_hold_is_named() -> None:
    pins = read_lock(
        "django==5.2.19 \\\n    --hash=sha256:00\n"
        "numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:01\n"
        "numpy==2.5.5 ; python_full_version >= '3.12' \\\n    --hash=sha256:02\n"
    )
    assert problems([Requirement("Django~=5.2.0"), Requirement("numpy>=2.4")], pins) == []
    assert problems([Requirement("Django~=6.0"), Requirement("numpy<2.5")], pins) == [
        "Django~=6.0 (pyproject.toml) is not satisfied by django==5.2.19",
        "numpy<2.5 (pyproject.toml) is not satisfied by numpy==2.5.5",
    ]
    assert problems([Requirement("lxml>=5")], pins) == [
        "lxml>=5 (pyproject.toml) is not in the lock"
    ]


def test_the_extras_of_a_requirement_are_locked_too() -> None:
    # pyHanko[pkcs11] brings python-pkcs11: the lock must hold it, at a version it accepts.
    pins = read_lock((LOCKS / "runtime.txt").read_text(encoding="utf-8"))
    assert "python-pkcs11" in pins
    pins_without = {name: pin for name, pin in pins.items() if name != "python-pkcs11"}
    assert any(
        "python-pkcs11" in problem and "extra [pkcs11] of pyhanko" in problem
        for problem in problems([Requirement("pyHanko[pkcs11]~=0.38.0")], pins_without)
    )


def test_the_sets_agree_on_every_version() -> None:
    # Moving from `make demo` to `make test` adds packages and never changes one.
    every = read_lock((LOCKS / "all.txt").read_text(encoding="utf-8"))
    for stem in ("runtime", "dev", "bench"):
        for name, pins in read_lock((LOCKS / f"{stem}.txt").read_text(encoding="utf-8")).items():
            assert {p.version for p in pins} <= {p.version for p in every[name]}, (stem, name)


@pytest.mark.skipif(
    os.environ.get("CALTRACE_UPGRADE_CHECK") == "1",
    reason="make upgrade-check runs the suite on the newest releases, not the lock's",
)
def test_the_suite_runs_on_what_the_dev_lock_names() -> None:
    pins = read_lock((LOCKS / "dev.txt").read_text(encoding="utf-8"))
    differ = []
    for name, choices in pins.items():
        applicable = [p for p in choices if p.marker is None or p.marker.evaluate()]
        if not applicable:
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            differ.append(f"{name} is not installed")
            continue
        if Version(installed) != Version(applicable[0].version):
            differ.append(
                f"{name} {installed} is installed, the lock names {applicable[0].version}"
            )
    assert differ == [], "the environment is not the lock's: run `make test` (it reinstalls)"
