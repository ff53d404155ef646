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
  certificate's correction undoes it), ``phases`` (how many phases its source has, 1 or 3,
  default 3);
* a position's role: ``empty`` (true: no meter is mounted there), ``constant`` (the
  meter's test-output constant, imp/kWh, default 10000), ``error`` (its error, %, default
  0), ``register_error`` (the error of its energy register, %, default its ``error``: a
  register that disagrees with the test output), ``creep`` (pulses per hour with no load,
  default 0), and the faults ``silent``
  (true: its test output gives no pulse) and ``lost_pulses`` (its error calculator misses
  that many pulses of each test).

A position of the bench that no role describes is empty. Which roles are the bench's
positions is read by :func:`procedures.meter_bench.meter_bench_layout`, as at a real bench.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from procedures.bench import BenchRole

from .errors import SimulationError
from .options import number_option

__all__ = ["DEFAULT_SPEED", "meter_bench"]

DEFAULT_SPEED: Final = 1e4
"""Simulated seconds per real second: a sequence of an hour at the bench takes 0.36 s."""


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
        phases=_phases(role),
    )
    for number, position in positions.items():
        if position.options.get("silent"):
            bench.silence(number)
        lost = number_option(position, "lost_pulses", 0.0)
        if lost:
            bench.lose_pulses(number, int(lost))
    return bench


def _phases(role: BenchRole) -> int:
    """The bench role's ``phases`` option: 1 or 3 (default 3), refused otherwise."""
    phases = number_option(role, "phases", 3.0)
    if phases not in (1.0, 3.0):
        raise SimulationError(f"role {role.role!r}: option phases must be 1 or 3, got {phases:g}")
    return int(phases)
