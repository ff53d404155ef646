"""The simulated electricity-meter test bench: one bench, its positions from the bench's roles.

A meter test bench is one instrument (``caltrace-mtb``) in its own role (the reference
standard: the source and the reference meter) and, at the same address, one role per
position (``uut@N``, or ``uut`` for a run of one meter: position ``options.position``, 1 by
default), each a view over the one bench (:class:`drivers.metertest.positions.MeterBenchPosition`).
:func:`meter_bench` builds the simulator of the bench from those roles; the simulated bench
(:class:`simulation.bench.SimulatedBench`) serves it on TCP and opens the real driver on it.

Role options (numbers, units as said):

* the bench's role: ``positions`` (how many the bench has; default the highest position
  described), ``speed`` (simulated seconds per real second, default :data:`DEFAULT_SPEED`),
  ``reference_error`` (the reference meter's own error, relative, default 0: its
  certificate's correction undoes it);
* a position's role: ``empty`` (true: no meter is mounted there), ``constant`` (the
  meter's test-output constant, imp/kWh, default 10000), ``error`` (its error, %, default
  0), ``register_error`` (the error of its energy register, %, default its ``error``: a
  register that disagrees with the test output), ``creep`` (pulses per hour with no load,
  default 0), and the faults ``silent``
  (true: its test output gives no pulse) and ``lost_pulses`` (its error calculator misses
  that many pulses of each test).

A position of the bench that no role describes is empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from procedures.bench import POSITION_ROLE, BenchRole

from .errors import SimulationError
from .options import number_option

__all__ = ["DEFAULT_SPEED", "METER_BENCH_DRIVER", "meter_bench", "position_number"]

METER_BENCH_DRIVER: Final = "caltrace-mtb"
DEFAULT_SPEED: Final = 1e4
"""Simulated seconds per real second: a sequence of an hour at the bench takes 0.36 s."""

_POSITION = re.compile(rf"{POSITION_ROLE}@([1-9][0-9]*)")


def position_number(name: str, role: BenchRole) -> int | None:
    """The bench position a meter bench's role stands for (``uut@3`` → 3; ``uut`` → its
    ``position`` option, 1 by default), None for the bench's own role."""
    match = _POSITION.fullmatch(name)
    if match:
        return int(match.group(1))
    if name != POSITION_ROLE:
        return None
    number = number_option(role, "position", 1.0)
    if number != int(number) or number < 1:
        raise SimulationError(f"role {name!r}: position {number:g} is not a whole number ≥ 1")
    return int(number)


def meter_bench(role: BenchRole, positions: Mapping[int, BenchRole]) -> SimulatedMeterBench:
    """The simulated bench of ``role`` (the bench's own role) with a meter at each of
    ``positions`` (by number) as its options describe it; faults injected."""
    highest = max(positions, default=1)
    count = number_option(role, "positions", float(highest))
    if count != int(count) or count < highest:
        raise SimulationError(
            f"role {role.role!r}: the bench has {count:g} positions, a role stands for "
            f"position {highest}"
        )
    meters: list[SimulatedMeter | None] = [None] * int(count)
    for number, position in positions.items():
        if position.options.get("empty"):
            continue
        meters[number - 1] = SimulatedMeter(
            constant_imp_per_kwh=number_option(position, "constant", 10000.0),
            error_percent=number_option(position, "error", 0.0),
            creep_pulses_per_hour=number_option(position, "creep", 0.0),
            register_error_percent=(
                number_option(position, "register_error", 0.0)
                if "register_error" in position.options
                else None
            ),
        )
    bench = SimulatedMeterBench(
        meters,
        serial=role.serial or "MTB-0001",
        speed=number_option(role, "speed", DEFAULT_SPEED),
        reference_error=number_option(role, "reference_error", 0.0),
    )
    for number, position in positions.items():
        if position.options.get("silent"):
            bench.silence(number)
        lost = number_option(position, "lost_pulses", 0.0)
        if lost:
            bench.lose_pulses(number, int(lost))
    return bench
