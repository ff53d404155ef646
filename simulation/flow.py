"""Flow on a simulated bench: the rig's volume and flow rate, the reference meter that
measures them over Modbus, and the water meter under test whose register is read by eye.

:func:`couple_flow_meter` makes a reference meter's registers follow the world's flow
(:class:`ReferenceMeterError`); :func:`register_typist` is the person reading the water
meter's register at the manual-entry prompt, through its :class:`WaterMeterError`. The
operator runs each flow (:class:`~simulation.people.SimulatedOperator`, ``set_flow``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from drivers.manual.entry import ManualEntryConfig
from drivers.simulators.modbus_map import SimulatedMapDevice
from procedures.bench import BenchRole

from .errors import SimulationError
from .options import number_option
from .people import SimulatedTypist
from .world import SimulatedWorld

__all__ = [
    "REFERENCE_METER",
    "UUT_WATER_METER",
    "ReferenceMeterError",
    "WaterMeterError",
    "couple_flow_meter",
    "meters_in_series",
    "register_typist",
    "water_meter_error",
]


@dataclass(frozen=True, slots=True)
class WaterMeterError:
    """A water meter's relative error at flow rate Q (m3/h):
    ``high_flow`` − ``low_flow_drop`` × exp(−Q / ``q0``)."""

    high_flow: float = 6e-3
    low_flow_drop: float = 2.4e-2
    q0: float = 0.015

    def error(self, flow_rate: float) -> float:
        """The relative error of the register at ``flow_rate`` (m3/h)."""
        return self.high_flow - self.low_flow_drop * math.exp(-flow_rate / self.q0)


UUT_WATER_METER: Final = WaterMeterError()
"""The simulated water meter: +0.6 % at high flows, -0.25 % at 0.0156 m3/h, +0.15 % at
0.025 m3/h (an R160 meter of Q3 2.5 within its MPE)."""


@dataclass(frozen=True, slots=True)
class ReferenceMeterError:
    """A reference flow meter: its totaliser and its flow rate are off by ``error``
    (relative)."""

    error: float = -3e-4


REFERENCE_METER: Final = ReferenceMeterError()
"""The simulated reference meter: -0.03 % on its totaliser and its flow rate."""


def couple_flow_meter(world: SimulatedWorld, role: BenchRole, device: SimulatedMapDevice) -> None:
    """The reference meter's registers (a Modbus register map) read the world's flow rate
    and the volume passed, off by its error. Role options: ``flow_register``,
    ``total_register``, ``total_fraction_register`` (register names; defaults
    ``flow_rate``, ``positive_total``, ``positive_total_fraction``), ``error`` (relative,
    default :data:`REFERENCE_METER`). An integer totaliser holds the whole units, its
    fraction register the rest. Its registers go with its simulator: nothing to
    uncouple."""
    entries = device.register_map.entries
    error = number_option(role, "error", REFERENCE_METER.error)
    flow_name = str(role.options.get("flow_register", "flow_rate"))
    total_name = str(role.options.get("total_register", "positive_total"))
    fraction_name = str(role.options.get("total_fraction_register", "positive_total_fraction"))
    flow = entries.get(flow_name)
    if flow is not None:
        per_m3h = _unit_factor(_FLOW_UNITS, flow.unit, flow_name)
        device.set_source(flow_name, lambda: world.flow_rate * per_m3h * (1.0 + error))
    total = entries.get(total_name)
    if total is None:
        return
    per_m3 = _unit_factor(_VOLUME_UNITS, total.unit, total_name)

    def registered() -> float:  # in the register's unit, as the meter's display
        return world.volume * per_m3 * (1.0 + error)

    if total.type == "float32":
        device.set_source(total_name, registered)
        return

    def whole() -> float:  # an integer register holds the whole units only
        return math.floor(registered() / total.scale) * total.scale

    device.set_source(total_name, whole)
    if fraction_name in entries:
        device.set_source(fraction_name, lambda: registered() - whole())


def water_meter_error(role: BenchRole) -> WaterMeterError:
    """The error of the water meter in ``role``: :data:`UUT_WATER_METER`, or its role
    options ``high_flow``, ``low_flow_drop`` and ``q0`` (each meter of a multi-meter bench
    with its own)."""
    return WaterMeterError(
        high_flow=number_option(role, "high_flow", UUT_WATER_METER.high_flow),
        low_flow_drop=number_option(role, "low_flow_drop", UUT_WATER_METER.low_flow_drop),
        q0=number_option(role, "q0", UUT_WATER_METER.q0),
    )


def meters_in_series(
    errors: Mapping[int, WaterMeterError], *, address: str, register_start: float = 0.0
) -> dict[str, BenchRole]:
    """The roles of a multi-meter bench's water meters in series, by position number
    (from 1): ``uut@N``, each read by eye at ``address`` (a manual volume entry) with its
    own error. The same water runs through every meter and the reference."""
    return {
        f"uut@{number}": BenchRole(
            f"uut@{number}",
            "manual",
            address,
            options={
                "register_start": register_start,
                "high_flow": error.high_flow,
                "low_flow_drop": error.low_flow_drop,
                "q0": error.q0,
            },
        )
        for number, error in sorted(errors.items())
    }


def register_typist(
    world: SimulatedWorld,
    role: BenchRole,
    config: ManualEntryConfig,
    *,
    decimal_comma: float,
    seed: int,
) -> SimulatedTypist:
    """The person reading the water meter's register to its resolution, in the entry's
    unit. Role options: ``register_start``, the register before the first flow, in that
    unit (default 0); the meter's own error (:func:`water_meter_error`)."""
    meter = water_meter_error(role)
    scale = _CUBIC_METRES[config.unit]
    start = number_option(role, "register_start", 0.0)

    def register() -> float:
        return start + world.metered_volume(meter.error) / scale

    return SimulatedTypist(register, step=config.resolution, decimal_comma=decimal_comma, seed=seed)


_CUBIC_METRES: Final[Mapping[str, float]] = {"m3": 1.0, "L": 1e-3, "mL": 1e-6}
_VOLUME_UNITS: Final[Mapping[str, float]] = {"m3": 1.0, "L": 1000.0, "l": 1000.0}
_FLOW_UNITS: Final[Mapping[str, float]] = {
    "m3/h": 1.0,
    "L/h": 1000.0,
    "l/h": 1000.0,
    "L/min": 1000.0 / 60.0,
    "L/s": 1000.0 / 3600.0,
}


def _unit_factor(table: Mapping[str, float], unit: str, register: str) -> float:
    """How many of ``unit`` in one m3 (or m3/h): the rig's volume in the register's unit."""
    try:
        return table[unit]
    except KeyError:
        known = ", ".join(table)
        raise SimulationError(
            f"register {register}: unit {unit!r} cannot be simulated ({known})"
        ) from None
