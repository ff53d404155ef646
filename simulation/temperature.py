"""Temperature on a simulated bench: the bath, the reference PRT in it, the thermometer under
test and the laboratory's own thermometer.

:func:`couple_bath` makes the controlled bath's temperature the world's; the PRT's
resistance follows Callendar–Van Dusen (:class:`PrtCoefficients`, read by a DMM through
:func:`simulation.electrical.couple_meter`); thermometers read by eye are typed at the
manual-entry prompt (:func:`thermometer_typist` with :class:`ThermometerError`,
:func:`room_typist` for the room's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from drivers.manual.entry import ManualEntryConfig
from drivers.simulators.eurotherm_3200 import SimulatedEurotherm3200
from procedures.bench import BenchRole

from .options import number_option
from .people import SimulatedTypist
from .world import SimulatedWorld

__all__ = [
    "BATH_NOISE",
    "UUT_THERMOMETER",
    "PrtCoefficients",
    "ThermometerError",
    "callendar_van_dusen",
    "couple_bath",
    "room_typist",
    "thermometer_typist",
]


@dataclass(frozen=True, slots=True)
class PrtCoefficients:
    """A platinum resistance thermometer: Callendar–Van Dusen ``r0`` (ohm), ``a``, ``b``,
    ``c`` (IEC 60751 by default), and ``deviation`` (°C): how far the real thermometer
    reads from its coefficients (its drift since calibration)."""

    r0: float = 100.0
    a: float = 3.9083e-3
    b: float = -5.775e-7
    c: float = -4.183e-12
    deviation: float = 0.004

    def resistance(self, celsius: float) -> float:
        """The thermometer's resistance (ohm) in a bath at ``celsius`` (°C)."""
        return callendar_van_dusen(
            celsius + self.deviation, r0=self.r0, a=self.a, b=self.b, c=self.c
        )


def callendar_van_dusen(
    celsius: float,
    *,
    r0: float = 100.0,
    a: float = 3.9083e-3,
    b: float = -5.775e-7,
    c: float = -4.183e-12,
) -> float:
    """Resistance (ohm) of a platinum thermometer at ``celsius`` (°C), IEC 60751:
    R0·(1 + A·t + B·t²), plus R0·C·(t − 100)·t³ below 0 °C."""
    resistance = r0 * (1.0 + a * celsius + b * celsius * celsius)
    if celsius < 0.0:
        resistance += r0 * c * (celsius - 100.0) * celsius**3
    return resistance


@dataclass(frozen=True, slots=True)
class ThermometerError:
    """A thermometer read by eye: error = ``offset`` + ``slope`` × (t − ``at``), in °C
    (``at`` in °C, ``slope`` in °C per °C)."""

    offset: float = 0.10
    slope: float = 2e-3
    at: float = 20.0

    def indication(self, celsius: float) -> float:
        """What the thermometer shows (°C) at ``celsius``."""
        return celsius + self.offset + self.slope * (celsius - self.at)


UUT_THERMOMETER: Final = ThermometerError()
"""The simulated thermometer under test: +0.10 °C at 20 °C, +0.002 °C per °C (+0.16 °C at
50 °C), read to its scale interval."""

BATH_NOISE: Final = 0.003
"""Short-term noise of the simulated bath's temperature (°C, standard deviation)."""


def couple_bath(
    world: SimulatedWorld, role: BenchRole, bath: SimulatedEurotherm3200
) -> Callable[[], None]:
    """The world's bath temperature (°C) read live from the controlled bath, which approaches
    its setpoint with the world's time constant; role option ``noise`` (°C, default
    :data:`BATH_NOISE`). Returns the uncoupling."""
    bath.tau_s = world.time_constant_s
    # a stirred liquid bath: a few mK of short-term noise, well inside the
    # stability bands procedures ask for (the controller's default is a dry block's)
    bath.noise = number_option(role, "noise", BATH_NOISE)
    world.couple_temperature(bath.temperature)
    return lambda: world.couple_temperature(None)


def thermometer_typist(
    world: SimulatedWorld, config: ManualEntryConfig, *, decimal_comma: float, seed: int
) -> SimulatedTypist:
    """The person reading the thermometer under test in the bath (:data:`UUT_THERMOMETER`),
    to its resolution, in the entry's unit."""
    thermometer = UUT_THERMOMETER
    unit = config.unit

    def temperature() -> float:
        return _from_celsius(thermometer.indication(world.temperature), unit)

    return SimulatedTypist(
        temperature,
        step=config.resolution,
        limits=(config.minimum, config.maximum),
        decimal_comma=decimal_comma,
        seed=seed,
    )


def room_typist(
    world: SimulatedWorld, config: ManualEntryConfig, *, decimal_comma: float, seed: int
) -> SimulatedTypist:
    """The person reading the laboratory's thermometer (the ``environment`` role), to its
    resolution with 0.02 °C of judgement, in the entry's unit."""
    unit = config.unit

    def ambient() -> float:
        return _from_celsius(world.ambient_temperature, unit)

    return SimulatedTypist(
        ambient,
        step=config.resolution,
        jitter=0.02 * (1.8 if unit == "degF" else 1.0),
        limits=(config.minimum, config.maximum),
        decimal_comma=decimal_comma,
        seed=seed,
    )


def _from_celsius(celsius: float, unit: str) -> float:
    if unit == "K":
        return celsius + 273.15
    if unit == "degF":
        return celsius * 9.0 / 5.0 + 32.0
    return celsius
