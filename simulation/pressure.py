"""Pressure on a simulated bench: the pressure controller that makes it, and the gauge under
test read by eye.

:func:`couple_controller` makes the controller's pressure (and whether it last rose or fell)
the world's; :func:`gauge_typist` is the person reading the gauge's dial at the manual-entry
prompt, through the gauge's :class:`GaugeError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from drivers.manual.entry import ManualEntryConfig
from drivers.simulators.druck_pace import SimulatedPace

from .people import SimulatedTypist
from .world import SimulatedWorld

__all__ = ["UUT_PRESSURE_GAUGE", "GaugeError", "couple_controller", "gauge_typist"]


@dataclass(frozen=True, slots=True)
class GaugeError:
    """A pressure gauge read by eye, relative to its span (max − min of its dial):
    ``span_error`` (relative to the reading), ``linearity`` and ``hysteresis`` (fractions
    of the span, as half-sines over the dial, largest at mid-scale; a falling pressure
    reads higher than a rising one by ``hysteresis``), ``parallax`` (standard deviation of
    the reader's judgement, as a fraction of the scale interval)."""

    span_error: float = 2.5e-3
    linearity: float = 1.5e-3
    hysteresis: float = 5.0e-3
    parallax: float = 0.05

    def indication(self, value: float, minimum: float, maximum: float, trend: int) -> float:
        """What the pointer shows for ``value`` (dial unit), arrived at rising
        (``trend`` +1) or falling (-1); 0 when unknown."""
        span = maximum - minimum
        shape = math.sin(math.pi * min(max((value - minimum) / span, 0.0), 1.0))
        return (
            value
            + value * self.span_error
            + self.linearity * span * shape
            - trend * self.hysteresis * span * shape / 2.0
        )


UUT_PRESSURE_GAUGE: Final = GaugeError()
"""The simulated pressure gauge: +0.25 % of reading, +0.15 % of span linearity, 0.5 % of
span hysteresis (at mid-scale; a falling pressure reads that much higher), read to a fifth
of the scale interval with a parallax of 1/20 of an interval: at worst about 0.55 % of
span, a class 1 gauge that passes."""

_PASCALS: Final[Mapping[str, float]] = {
    "Pa": 1.0,
    "hPa": 100.0,
    "kPa": 1e3,
    "MPa": 1e6,
    "mbar": 100.0,
    "bar": 1e5,
    "psi": 6894.757293168361,
    "kgf/cm2": 98066.5,
    "mmHg": 133.322387415,
    "mmH2O": 9.80665,
    "inHg": 3386.389,
    "atm": 101325.0,
    "Torr": 101325.0 / 760.0,
}


def couple_controller(world: SimulatedWorld, controller: SimulatedPace) -> Callable[[], None]:
    """The world's pressure (Pa) and its trend read live from the pressure controller, which
    approaches its setpoint with the world's time constant. Returns the uncoupling."""
    controller.tau_s = world.time_constant_s
    world.couple_pressure(controller.pressure_pa, controller.approach)
    return lambda: world.couple_pressure(None)


def gauge_typist(
    world: SimulatedWorld, config: ManualEntryConfig, *, decimal_comma: float, seed: int
) -> SimulatedTypist:
    """The person reading the gauge under test (:data:`UUT_PRESSURE_GAUGE`) in the entry's
    unit: to a fifth of the scale interval, with the gauge's parallax, the pointer held
    between the dial's stops."""
    gauge = UUT_PRESSURE_GAUGE
    scale = _PASCALS[config.unit]
    dial = (config.minimum, config.maximum)

    def pressure() -> float:
        value = world.pressure / scale
        return gauge.indication(value, *dial, world.pressure_trend)

    return SimulatedTypist(
        pressure,
        step=config.resolution / 5.0,
        jitter=gauge.parallax * config.resolution,
        limits=dial,
        decimal_comma=decimal_comma,
        seed=seed,
    )
