"""Which roles of a bench are the positions of a meter test bench, and of which bench.

A meter test bench is one instrument (one connection) in its own role (the reference
standard: its source and reference meter) and, at the same address and with the same
driver, one role per position: ``uut@N`` for position N, or ``uut`` for a run of one meter
(position ``options.position``, 1 by default). Each position is opened as a view over the
one bench connection (:class:`drivers.metertest.positions.MeterBenchPosition`), never as a
connection of its own. The real bench (:mod:`agent.instruments`) and the simulated one
(:mod:`simulation.bench`) both read the roles through :func:`meter_bench_layout`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from procedures.bench import POSITION_ROLE, BenchRole

__all__ = [
    "METER_BENCH_DRIVERS",
    "MeterBenchLayout",
    "MeterBenchLayoutError",
    "meter_bench_layout",
    "position_number",
]

METER_BENCH_DRIVERS: Final = frozenset({"caltrace-mtb"})
"""The drivers of meter test benches (each a :class:`drivers.metertest.bench.MeterTestBench`
whose positions are roles at its address)."""

_POSITION = re.compile(rf"{POSITION_ROLE}@([1-9][0-9]*)")


class MeterBenchLayoutError(ValueError):
    """The roles of a meter test bench contradict each other (a position described twice,
    a position number that is not a whole number ≥ 1); the message names the role."""


def position_number(name: str, role: BenchRole) -> int | None:
    """The bench position a meter bench's role stands for (``uut@3`` → 3; ``uut`` → its
    ``position`` option, 1 by default), None for the bench's own role."""
    match = _POSITION.fullmatch(name)
    if match:
        return int(match.group(1))
    if name != POSITION_ROLE:
        return None
    number = role.options.get("position", 1)
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or not math.isfinite(number)
        or number != int(number)
        or number < 1
    ):
        raise MeterBenchLayoutError(f"role {name!r}: position {number!r} is not a whole number ≥ 1")
    return int(number)


@dataclass(frozen=True)
class MeterBenchLayout:
    """The meter test benches among a bench's roles and their positions.

    ``benches``: the role of each meter test bench (by role name); ``positions``: each
    position role's bench role (None when no bench role is at its address) and the
    position it stands for, by role name."""

    benches: dict[str, BenchRole] = field(default_factory=dict)
    positions: dict[str, tuple[str | None, int]] = field(default_factory=dict)

    def positions_of(self, bench: str) -> dict[int, str]:
        """The position roles of the bench role ``bench``, by position number."""
        return {number: name for name, (of, number) in self.positions.items() if of == bench}


def meter_bench_layout(roles: Mapping[str, BenchRole]) -> MeterBenchLayout:
    """Read the meter test benches and their positions out of ``roles``: a role of a
    meter-bench driver (:data:`METER_BENCH_DRIVERS`) is a position when its name says so
    (:func:`position_number`), the bench itself otherwise; a position belongs to the bench
    role of the same driver at the same address. A position described twice is refused
    (:class:`MeterBenchLayoutError` naming the role)."""
    layout = MeterBenchLayout()
    at: dict[tuple[str, str], str] = {}
    numbers: dict[tuple[str, str], dict[int, str]] = {}
    for name, role in roles.items():
        if role.driver not in METER_BENCH_DRIVERS:
            continue
        key = (role.driver, role.address)
        number = position_number(name, role)
        if number is None:
            if key in at:
                raise MeterBenchLayoutError(
                    f"role {name!r}: the meter test bench at {role.address} is role "
                    f"{at[key]!r} already"
                )
            at[key] = name
            layout.benches[name] = role
            continue
        seen = numbers.setdefault(key, {})
        if number in seen:
            raise MeterBenchLayoutError(
                f"role {name!r}: position {number} is described twice (role {seen[number]!r})"
            )
        seen[number] = name
    for key, seen in numbers.items():
        for number, name in seen.items():
            layout.positions[name] = (at.get(key), number)
    return layout
