"""A fuel dispenser verified in the field with proving cans, all of it read by eye.

Each ``set_flow`` of the simulated operator is one delivery into an emptied can, the
dispenser's display reset to zero before it (:meth:`SimulatedWorld.last_flow`). Three
people at the manual-entry prompts, each a :class:`~simulation.people.SimulatedTypist`:

* :func:`display_typist` reads the dispenser's display: the delivered volume plus the
  dispenser's error at that flow rate (:data:`UUT_DISPENSER`);
* :func:`can_typist` reads a proving can's neck scale: the delivered volume less the can's
  correction at its mark (its certificate's actual volume minus its nominal, role option
  ``correction`` in L), as the scale shows it; a volume beyond the scale is typed as it
  is, so the driver refuses it;
* :func:`fuel_thermometer_typist` reads the fuel's temperature in the can (role option
  ``fuel_temperature``, °C).

The role option ``simulates`` (``dispenser``, ``proving-can``, ``fuel-thermometer``) says
which a manual role is (:class:`simulation.bench.SimulatedBench`).
"""

from __future__ import annotations

from typing import Final

from drivers.manual.entry import ManualEntryConfig
from procedures.bench import BenchRole

from .errors import SimulationError
from .flow import WaterMeterError
from .options import number_option
from .people import SimulatedTypist
from .world import SimulatedWorld

__all__ = [
    "FUEL_ROLES",
    "UUT_DISPENSER",
    "can_typist",
    "display_typist",
    "fuel_thermometer_typist",
]

FUEL_ROLES: Final = ("dispenser", "proving-can", "fuel-thermometer")
"""The values of the role option ``simulates`` this module answers."""

_LITRES_PER: Final = {"L": 1.0, "mL": 1e-3, "m3": 1e3}


UUT_DISPENSER: Final = WaterMeterError(high_flow=1.5e-3, low_flow_drop=3.5e-3, q0=0.6)
"""The simulated dispenser, a meter whose error curve has a water meter's shape (its
flow rates in m3/h): +0.14 % at 40 L/min (2.4 m3/h), −0.06 % at 5 L/min (0.3 m3/h):
inside class 0.5's ±0.5 %."""


def _per_litre(config: ManualEntryConfig) -> float:
    try:
        return 1.0 / _LITRES_PER[config.unit]
    except KeyError:
        raise SimulationError(f"a volume in {config.unit!r} cannot be simulated") from None


def display_typist(
    world: SimulatedWorld, config: ManualEntryConfig, *, decimal_comma: float, seed: int
) -> SimulatedTypist:
    """The person reading the dispenser's display (:data:`UUT_DISPENSER`) after the latest
    delivery, to its scale interval, in the entry's unit."""
    scale = _per_litre(config)

    def display() -> float:
        rate, volume = world.last_flow()
        return volume * 1000.0 * (1.0 + UUT_DISPENSER.error(rate)) * scale

    return SimulatedTypist(display, step=config.resolution, decimal_comma=decimal_comma, seed=seed)


def can_typist(
    world: SimulatedWorld,
    role: BenchRole,
    config: ManualEntryConfig,
    *,
    decimal_comma: float,
    seed: int,
) -> SimulatedTypist:
    """The person reading a proving can's neck scale after the latest delivery, to its
    interval, in the entry's unit. Role option ``correction``: the can's actual volume at
    its mark minus its nominal, in L (default 0): the scale shows that much less."""
    correction = number_option(role, "correction", 0.0)
    scale = _per_litre(config)

    def neck() -> float:
        _, volume = world.last_flow()
        return (volume * 1000.0 - correction) * scale

    return SimulatedTypist(neck, step=config.resolution, decimal_comma=decimal_comma, seed=seed)


def fuel_thermometer_typist(
    role: BenchRole, config: ManualEntryConfig, *, decimal_comma: float, seed: int
) -> SimulatedTypist:
    """The person reading the thermometer in the fuel, to its interval, in °C. Role option
    ``fuel_temperature`` (°C, default 30: a tank underground in a tropical country)."""
    if config.unit != "degC":
        raise SimulationError(f"role {role.role!r}: the fuel's thermometer reads degC")
    celsius = number_option(role, "fuel_temperature", 30.0)
    return SimulatedTypist(
        lambda: celsius,
        step=config.resolution,
        limits=(config.minimum, config.maximum),
        decimal_comma=decimal_comma,
        seed=seed,
    )
