"""Mass on a simulated bench: the balance under test weighing what the operator places on its
pan, where it was placed.

:func:`couple_balance` makes the balance follow the world's ``load`` and ``position``
through its :class:`BalanceError` (linearity, eccentricity, noise), unstable for the
world's ``settle_s`` after each change. The weights themselves are a passive standard: no
instrument, the operator places them (:class:`~simulation.people.SimulatedOperator`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from drivers.simulators.mettler_sics import SimulatedSicsBalance
from procedures.bench import BenchRole

from .options import number_option
from .world import SimulatedWorld, load_position

__all__ = ["ECCENTRICITY", "UUT_BALANCE", "BalanceError", "couple_balance"]


ECCENTRICITY: Final[Mapping[str, float]] = {
    "1": 0.0,
    "2": 10e-6,
    "3": -6e-6,
    "4": 4e-6,
    "5": -12e-6,
}
"""Eccentricity error of the simulated balance, relative to the load, per position on the
load receptor numbered as OIML R 76-1 A.4.7 does: ``1`` the centre (also called
``centre``), ``2`` to ``5`` the quarter segments: at 2 kg, +20, -12, +8 and -24 mg."""


@dataclass(frozen=True, slots=True)
class BalanceError:
    """A simulated balance: ``capacity`` and ``readability`` (g), ``linearity`` (g, the
    amplitude of a half-sine over the capacity), ``eccentricity`` (relative, per position),
    ``noise`` (g, standard deviation once stable)."""

    capacity: float = 6200.0
    readability: float = 0.01
    linearity: float = 0.015
    eccentricity: Mapping[str, float] = field(default_factory=lambda: dict(ECCENTRICITY))
    noise: float = 0.003

    def indication(self, load: float, position: str) -> float:
        """What the balance weighs (g) for ``load`` grams at ``position``, before noise."""
        linear = self.linearity * math.sin(math.pi * min(max(load / self.capacity, 0.0), 1.0))
        return load + linear + load * self.eccentricity[load_position(position)]


UUT_BALANCE: Final = BalanceError()
"""The simulated balance: 6200 g × 0.01 g, linearity +15 mg (at half capacity), the
eccentricity of :data:`ECCENTRICITY`, noise 3 mg."""


def couple_balance(
    world: SimulatedWorld, role: BenchRole, balance: SimulatedSicsBalance
) -> Callable[[], None]:
    """The balance weighs the world's load at its position from now on. Role options:
    ``capacity`` and ``readability`` (g), by default :data:`UUT_BALANCE`'s. Returns the
    uncoupling."""
    errors = replace(
        UUT_BALANCE,
        capacity=number_option(role, "capacity", UUT_BALANCE.capacity),
        readability=number_option(role, "readability", UUT_BALANCE.readability),
    )
    balance.set_weighing_range(
        capacity=errors.capacity, readability=errors.readability, model="XS6002S"
    )
    balance.noise = errors.noise

    def follow(load: float, position: str) -> None:
        balance.set_load(errors.indication(load, position), settle_s=world.settle_s)

    balance.set_load(errors.indication(world.load, world.position), settle_s=0.0)
    return world.on_load_change(follow)
