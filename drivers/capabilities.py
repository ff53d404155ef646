"""What an instrument can do, stated two ways.

* **Protocols** (``typing.Protocol``, runtime-checkable): the methods a procedure calls.
  A procedure asks for a :class:`DCVoltmeter`, not for a Keysight 34465A; any driver or
  simulator with ``measure_dc_voltage`` conforms.
* **Declarations** (:class:`Capability`, :class:`DriverCapabilities`): data a driver class
  publishes about its quantities, units, ranges and resolution, measured or sourced, so a
  bench can be checked against a procedure's requirements before anything is switched on.

:func:`measure` dispatches a probe function name (``dcv``, ``mass``, ``register:NAME``...)
to the matching protocol method; the command line uses it, so a new driver only has to
implement the protocols to be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal, Protocol, runtime_checkable

from drivers.errors import OutOfRange
from drivers.reading import Reading

__all__ = [
    "AUTO",
    "ACAmmeter",
    "ACVoltmeter",
    "Capability",
    "CurrentSource",
    "DCAmmeter",
    "DCVoltmeter",
    "Direction",
    "DriverCapabilities",
    "Function",
    "LengthGauge",
    "Ohmmeter2W",
    "Ohmmeter4W",
    "OutputControl",
    "PressureController",
    "PressureGauge",
    "RangeSetting",
    "RegisterReader",
    "ResistanceSource",
    "Scale",
    "Span",
    "TemperatureSource",
    "Thermometer",
    "VoltageSource",
    "VolumeMeter",
    "measure",
]

AUTO: Final = "auto"
"""Range setting meaning: let the instrument choose (autorange)."""

RangeSetting = float | Literal["auto"]
"""A nominal range in the quantity's unit (e.g. ``10.0`` for the 10 V range) or ``AUTO``."""


class Function(StrEnum):
    """Measurement and source functions, named as on the command line (``--function``)."""

    DCV = "dcv"
    ACV = "acv"
    DCI = "dci"
    ACI = "aci"
    RES2W = "res2w"
    RES4W = "res4w"
    MASS = "mass"
    PRESSURE = "pressure"
    TEMPERATURE = "temperature"
    LENGTH = "length"
    VOLUME = "volume"
    REGISTER = "register"


class Direction(StrEnum):
    """Whether the instrument measures the quantity or sources (generates) it."""

    MEASURE = "measure"
    SOURCE = "source"


@dataclass(frozen=True, slots=True)
class Span:
    """One range of a capability, in the capability's unit.

    ``nominal`` is the range's name (``10.0`` for "the 10 V range", ``None`` for an
    instrument with a single unnamed range); ``minimum``/``maximum`` bound what it can
    measure or source (over-range included); ``resolution`` is the finest step it can
    resolve or set (``None`` when not stated).
    """

    minimum: float
    maximum: float
    nominal: float | None = None
    resolution: float | None = None

    def __post_init__(self) -> None:
        if not self.minimum <= self.maximum:
            raise ValueError(f"span minimum {self.minimum} exceeds maximum {self.maximum}")

    def contains(self, value: float) -> bool:
        """True when ``value`` (in the capability's unit) is within the span."""
        return self.minimum <= value <= self.maximum

    def to_dict(self) -> dict[str, float | None]:
        """A JSON-ready dict."""
        return {
            "nominal": self.nominal,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "resolution": self.resolution,
        }


@dataclass(frozen=True, slots=True)
class Capability:
    """One thing an instrument measures or sources, declared as data.

    ``function`` is the :class:`Function` it answers to; ``quantity`` a human name
    ("DC voltage"); ``unit`` the unit of every value and span (SI symbol or the
    instrument's own unit, e.g. ``V``, ``A``, ``ohm``, ``g``, ``Pa``, ``degC``);
    ``spans`` its ranges, ascending; ``autorange`` whether the instrument can pick the
    range itself; ``settings`` names extra settings with their allowed values (e.g.
    ``{"nplc": (0.02, ..., 100)}``); ``notes`` anything a metrologist must know.
    """

    function: Function
    quantity: str
    unit: str
    direction: Direction
    spans: tuple[Span, ...]
    autorange: bool = False
    settings: dict[str, tuple[float | str, ...]] = field(default_factory=dict)
    notes: str = ""

    @property
    def nominal_ranges(self) -> tuple[float, ...]:
        """The named ranges, ascending (in ``unit``)."""
        return tuple(s.nominal for s in self.spans if s.nominal is not None)

    def span(self, nominal: float) -> Span:
        """The span named ``nominal``; :class:`~drivers.errors.OutOfRange` if there is none.

        The comparison tolerates float formatting noise (relative 1e-9) but nothing more:
        a value between two ranges is refused, not rounded to one of them.
        """
        for candidate in self.spans:
            if candidate.nominal is not None and _same(candidate.nominal, nominal):
                return candidate
        allowed = ", ".join(f"{r:g}" for r in self.nominal_ranges) or "none"
        raise OutOfRange(
            f"{nominal:g} {self.unit} is not a {self.quantity} range of this instrument",
            parameter="range",
            value=nominal,
            allowed=f"one of {allowed} {self.unit}" + (" or auto" if self.autorange else ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "function": str(self.function),
            "quantity": self.quantity,
            "unit": self.unit,
            "direction": str(self.direction),
            "autorange": self.autorange,
            "spans": [s.to_dict() for s in self.spans],
            "settings": {k: list(v) for k, v in self.settings.items()},
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class DriverCapabilities:
    """Everything a driver class declares it can do."""

    capabilities: tuple[Capability, ...]

    def get(self, function: Function | str, direction: Direction = Direction.MEASURE) -> Capability:
        """The capability for ``function`` in ``direction``; OutOfRange if not offered."""
        for cap in self.capabilities:
            if cap.function == function and cap.direction == direction:
                return cap
        offered = ", ".join(f"{c.direction} {c.function}" for c in self.capabilities)
        raise OutOfRange(
            f"this instrument cannot {direction} {function}",
            parameter="function",
            value=str(function),
            allowed=offered or "nothing",
        )

    def offers(self, function: Function | str, direction: Direction = Direction.MEASURE) -> bool:
        """True when the driver declares ``function`` in ``direction``."""
        return any(c.function == function and c.direction == direction for c in self.capabilities)

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready dicts, one per capability."""
        return [c.to_dict() for c in self.capabilities]


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


# -- measuring protocols -------------------------------------------------------------------


@runtime_checkable
class DCVoltmeter(Protocol):
    """Measures DC voltage (volts)."""

    def measure_dc_voltage(self, *, range: RangeSetting = AUTO) -> Reading:
        """One DC voltage reading in V; ``range`` is a nominal range in V or ``AUTO``."""
        ...


@runtime_checkable
class ACVoltmeter(Protocol):
    """Measures AC voltage (volts RMS)."""

    def measure_ac_voltage(self, *, range: RangeSetting = AUTO) -> Reading:
        """One AC voltage reading in V RMS; ``range`` in V RMS or ``AUTO``."""
        ...


@runtime_checkable
class DCAmmeter(Protocol):
    """Measures DC current (amperes)."""

    def measure_dc_current(self, *, range: RangeSetting = AUTO) -> Reading:
        """One DC current reading in A; ``range`` in A or ``AUTO``."""
        ...


@runtime_checkable
class ACAmmeter(Protocol):
    """Measures AC current (amperes RMS)."""

    def measure_ac_current(self, *, range: RangeSetting = AUTO) -> Reading:
        """One AC current reading in A RMS; ``range`` in A RMS or ``AUTO``."""
        ...


@runtime_checkable
class Ohmmeter2W(Protocol):
    """Measures resistance with two wires (ohms)."""

    def measure_resistance_2w(self, *, range: RangeSetting = AUTO) -> Reading:
        """One 2-wire resistance reading in ohm; ``range`` in ohm or ``AUTO``."""
        ...


@runtime_checkable
class Ohmmeter4W(Protocol):
    """Measures resistance with four wires (ohms)."""

    def measure_resistance_4w(self, *, range: RangeSetting = AUTO) -> Reading:
        """One 4-wire resistance reading in ohm; ``range`` in ohm or ``AUTO``."""
        ...


@runtime_checkable
class Scale(Protocol):
    """A balance or scale: weighs, zeroes, tares."""

    def read_weight(self, *, stable: bool = True) -> Reading:
        """The weight in the balance's unit (stated in the reading).

        ``stable=True`` waits for a stable value and raises
        :class:`~drivers.errors.UnstableReading` when the balance cannot give one;
        ``stable=False`` returns the immediate value with its stability flag.
        """
        ...

    def zero(self) -> None:
        """Set zero; raises UnstableReading when the balance cannot settle."""
        ...

    def tare(self) -> None:
        """Tare the load on the pan."""
        ...


@runtime_checkable
class PressureGauge(Protocol):
    """Measures pressure (unit stated by the capability and the readings): any gauge."""

    def read_pressure(self) -> Reading:
        """The measured pressure in the gauge's unit (stated in the reading)."""
        ...


@runtime_checkable
class PressureController(PressureGauge, Protocol):
    """Generates and measures pressure (unit stated by the capability and the readings)."""

    def read_pressure(self) -> Reading:
        """The measured pressure in the controller's configured unit."""
        ...

    def set_pressure(self, setpoint: float) -> None:
        """Set the setpoint in the controller's unit; out-of-range setpoints are refused."""
        ...

    def set_control(self, enabled: bool) -> None:
        """Control mode (True) or measure-only mode (False)."""
        ...

    def in_limits(self) -> bool:
        """True when the pressure is within the controller's in-limits band."""
        ...


@runtime_checkable
class Thermometer(Protocol):
    """Measures temperature (unit stated in the readings, e.g. ``degC``)."""

    def read_temperature(self) -> Reading:
        """One temperature reading in the thermometer's unit (stated in the reading)."""
        ...


@runtime_checkable
class LengthGauge(Protocol):
    """Measures a length or displacement (unit stated in the readings, e.g. ``mm``): a dial
    gauge, a micrometer."""

    def read_length(self) -> Reading:
        """One length reading in the gauge's unit (stated in the reading)."""
        ...


@runtime_checkable
class VolumeMeter(Protocol):
    """Measures a volume (unit stated in the readings, e.g. ``L`` or ``m3``): the register
    of a water meter, a volumetric standard."""

    def read_volume(self) -> Reading:
        """One volume reading in the meter's unit (stated in the reading)."""
        ...


@runtime_checkable
class TemperatureSource(Thermometer, Protocol):
    """A calibration bath, dry block or controller used as a temperature source."""

    def read_temperature(self) -> Reading:
        """The process value (unit stated in the reading, e.g. ``degC``)."""
        ...

    def set_temperature(self, setpoint: float) -> None:
        """Set the setpoint in the source's unit; out-of-range setpoints are refused."""
        ...


@runtime_checkable
class RegisterReader(Protocol):
    """A device read through named registers (Modbus register maps)."""

    @property
    def register_names(self) -> tuple[str, ...]:
        """The names that :meth:`read_register` accepts."""
        ...

    def read_register(self, name: str) -> Reading:
        """The scaled value of register ``name`` in its mapped unit."""
        ...


# -- sourcing protocols --------------------------------------------------------------------


@runtime_checkable
class OutputControl(Protocol):
    """A source's output switch: operate (output on) and standby (output off)."""

    def operate(self) -> None:
        """Connect the programmed output to the terminals."""
        ...

    def standby(self) -> None:
        """Disconnect the output (safe state)."""
        ...

    def wait_settled(self, *, timeout_s: float) -> None:
        """Block until the output has settled (seconds); InstrumentTimeout otherwise."""
        ...


@runtime_checkable
class VoltageSource(OutputControl, Protocol):
    """Sources voltage: DC when ``frequency_hz`` is 0, AC RMS otherwise."""

    def set_voltage(self, volts: float, *, frequency_hz: float = 0.0) -> None:
        """Program ``volts`` (V, RMS for AC) at ``frequency_hz`` (Hz); refuse what it cannot."""
        ...


@runtime_checkable
class CurrentSource(OutputControl, Protocol):
    """Sources current: DC when ``frequency_hz`` is 0, AC RMS otherwise."""

    def set_current(self, amperes: float, *, frequency_hz: float = 0.0) -> None:
        """Program ``amperes`` (A, RMS for AC) at ``frequency_hz`` (Hz)."""
        ...


@runtime_checkable
class ResistanceSource(OutputControl, Protocol):
    """Sources a resistance (a calibrator's synthesized or standard resistor)."""

    def set_resistance(self, ohms: float) -> None:
        """Program ``ohms`` (ohm); refuse what the source cannot provide."""
        ...


# -- probing -------------------------------------------------------------------------------

_RANGED: dict[str, tuple[type[Any], str]] = {
    Function.DCV: (DCVoltmeter, "measure_dc_voltage"),
    Function.ACV: (ACVoltmeter, "measure_ac_voltage"),
    Function.DCI: (DCAmmeter, "measure_dc_current"),
    Function.ACI: (ACAmmeter, "measure_ac_current"),
    Function.RES2W: (Ohmmeter2W, "measure_resistance_2w"),
    Function.RES4W: (Ohmmeter4W, "measure_resistance_4w"),
}

_UNRANGED: dict[str, tuple[type[Any], str]] = {
    Function.MASS: (Scale, "read_weight"),
    Function.PRESSURE: (PressureGauge, "read_pressure"),
    Function.TEMPERATURE: (Thermometer, "read_temperature"),
    Function.LENGTH: (LengthGauge, "read_length"),
    Function.VOLUME: (VolumeMeter, "read_volume"),
}


def measure(instrument: object, function: str, *, range: RangeSetting = AUTO) -> Reading:
    """Take one reading of ``function`` from any conforming driver.

    ``function`` is a :class:`Function` value or ``register:NAME``; ``range`` applies to
    the ranged electrical functions only (in their unit). Raises
    :class:`~drivers.errors.OutOfRange` when the instrument does not offer the function or
    the range does not apply.
    """
    if function in _RANGED:
        protocol, method = _RANGED[function]
        if not isinstance(instrument, protocol):
            raise _unsupported(instrument, function)
        result: Reading = getattr(instrument, method)(range=range)
        return result
    if range != AUTO:
        raise OutOfRange(
            f"a range does not apply to {function}",
            parameter="range",
            value=range,
            allowed="auto",
        )
    if function in _UNRANGED:
        protocol, method = _UNRANGED[function]
        if not isinstance(instrument, protocol):
            raise _unsupported(instrument, function)
        reading: Reading = getattr(instrument, method)()
        return reading
    if function.startswith(f"{Function.REGISTER}:"):
        if not isinstance(instrument, RegisterReader):
            raise _unsupported(instrument, function)
        return instrument.read_register(function.split(":", 1)[1])
    raise OutOfRange(
        f"unknown function {function!r}",
        parameter="function",
        value=function,
        allowed=", ".join(f.value for f in Function if f != Function.REGISTER) + ", register:NAME",
    )


def _unsupported(instrument: object, function: str) -> OutOfRange:
    return OutOfRange(
        f"{type(instrument).__name__} does not measure {function}",
        parameter="function",
        value=function,
        allowed="a function the driver declares (see `caltrace-agent drivers`)",
    )
