"""Electrical instruments of a simulated bench: the calibrator's output at its terminals,
and the multimeter that measures it (or the reference PRT in the bath, on its ohms input).

:func:`couple_calibrator` makes the calibrator's DC voltage the world's ``voltage``;
:func:`couple_meter` makes a DMM read the world through its error profile
(:class:`VoltmeterError` on DC voltage, :class:`~simulation.temperature.PrtCoefficients` on
2- and 4-wire ohms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from drivers.simulators.fluke_5522a import SimulatedFluke5522A
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from procedures.bench import BenchRole

from .options import number_option
from .temperature import PrtCoefficients
from .world import SimulatedWorld

__all__ = ["UUT_VOLTMETER", "VoltmeterError", "couple_calibrator", "couple_meter"]


@dataclass(frozen=True, slots=True)
class VoltmeterError:
    """DC voltage error of a simulated meter: indication = V × (1 + ``gain``) + ``offset``
    (``gain`` relative, ``offset`` in V); the meter's own noise comes on top."""

    gain: float = 0.0
    offset: float = 0.0

    def indication(self, volts: float) -> float:
        """What the meter's input stage sees for ``volts`` (V)."""
        return volts * (1.0 + self.gain) + self.offset


UUT_VOLTMETER: Final = VoltmeterError(gain=8e-6, offset=3e-6)
"""The simulated DMM under test: +8 ppm of reading + 3 µV (the simulator adds its noise,
2 µV standard deviation by default)."""


def couple_calibrator(world: SimulatedWorld, calibrator: SimulatedFluke5522A) -> Callable[[], None]:
    """The world's voltage (V) read live from the calibrator's terminals: its DC voltage
    output, 0 in standby or on any other function. Returns the uncoupling."""

    def terminals() -> float:
        unit, amplitude, frequency = calibrator.output_at_terminals()
        return amplitude if unit == "V" and frequency == 0.0 else 0.0

    world.couple_voltage(terminals)
    return lambda: world.couple_voltage(None)


def couple_meter(
    world: SimulatedWorld, name: str, role: BenchRole, meter: SimulatedKeysight344xxA
) -> None:
    """The DMM of role ``name`` measures the world's voltage on DC volts and a PRT in the
    bath on ohms. Role options: ``gain_error`` (relative) and ``offset`` (V), by default
    :data:`UUT_VOLTMETER` in the ``uut`` role and none elsewhere; ``R0`` (ohm), ``A``,
    ``B``, ``C`` and ``deviation`` (°C) of the PRT (default
    :class:`~simulation.temperature.PrtCoefficients`). Its inputs go with its simulator:
    nothing to uncouple."""
    default = UUT_VOLTMETER if name == "uut" or role.role == "uut" else VoltmeterError()
    dcv = VoltmeterError(
        gain=number_option(role, "gain_error", default.gain),
        offset=number_option(role, "offset", default.offset),
    )
    nominal = PrtCoefficients()
    prt = PrtCoefficients(
        r0=number_option(role, "R0", nominal.r0),
        a=number_option(role, "A", nominal.a),
        b=number_option(role, "B", nominal.b),
        c=number_option(role, "C", nominal.c),
        deviation=number_option(role, "deviation", nominal.deviation),
    )

    def volts() -> float:
        return dcv.indication(world.voltage)

    def ohms() -> float:
        return prt.resistance(world.temperature)

    meter.set_input_source("VOLT", volts)
    for function in ("FRES", "RES"):
        meter.set_input_source(function, ohms)
