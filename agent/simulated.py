"""A simulated bench: the simulators of a bench's roles, coupled through one physical world.

For the demo, the test suite and anyone trying caltrace without hardware, the agent runs a
procedure against simulators instead of instruments. Each simulator already stands for
its instrument on the real transport (TCP socket, pseudo-terminal, Modbus TCP), and the
real driver is opened on it. What this module adds is the **coupling**: the instruments
of a bench see the same physical world, so what the calibrator sources is what the
meter measures, the weights the operator places are what the balance weighs, the
controller's pressure is what the gauge shows, the bath's temperature is what the
thermometers read, the volume through the rig is what the meters register.

* :class:`SimulatedWorld` holds the physical state (thread-safe): ``voltage`` at the
  calibrator's terminals (V), ``load`` on the pan (g) and its ``position``, ``pressure``
  at the test port (Pa), ``temperature`` in the bath (°C), ``ambient_temperature`` of the
  laboratory (°C), ``volume`` that passed through the flow rig (m3) and the present
  ``flow_rate`` (m3/h).
* **Actuators** write it: the calibrator's output state, the pressure controller and the
  bath (read live from their simulator models), and :class:`SimulatedOperator`, who
  carries out the runner's instructions (place a load, run a flow).
* **Sensors** read it at the moment they answer, each with its own error model,
  deterministic for a given seed (the error profiles below); an instrument read by eye is
  a :class:`SimulatedTypist`, the person who reads the dial and types the value at the
  manual-entry prompt.
* :class:`SimulatedBench` starts one simulator per role on loopback (ephemeral ports),
  opens the real driver on it, wires the coupling, and is a
  :class:`procedures.bench.Bench`.

A sketch of a run (``roles`` as the bench configuration gives them)::

    world = SimulatedWorld(seed=1)
    with SimulatedBench(roles, world) as bench:
        operator = SimulatedOperator(world)
        ...  # the procedure runner drives ``bench`` and ``operator``

Sources approach their setpoints with :attr:`SimulatedWorld.time_constant_s` (short, so a
run takes seconds, not hours) and a flow of the rig takes a scaled-down wall time.
"""

from __future__ import annotations

import math
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol, Self, TextIO, TypeVar, cast

from drivers import registry
from drivers.capabilities import OutputControl
from drivers.driver import DriverOptions
from drivers.generic.modbus_map import load_register_map, split_map_option
from drivers.manual.entry import ManualEntry, ManualEntryConfig, parse_manual_address
from drivers.simulators.base import RunningSimulator, SimulatorOptions
from drivers.simulators.druck_pace import SimulatedPace
from drivers.simulators.eurotherm_3200 import SimulatedEurotherm3200
from drivers.simulators.fluke_5522a import SimulatedFluke5522A
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.mettler_sics import SimulatedSicsBalance
from drivers.simulators.modbus import ModbusSimulator
from drivers.simulators.modbus_map import (
    DEFAULT_MAP,
    ModbusMapSimulator,
    SimulatedMapDevice,
)
from drivers.simulators.pty import PtySimulator
from drivers.simulators.tcp import TcpSimulator
from procedures.bench import BenchRole, Instruction

__all__ = [
    "ECCENTRICITY",
    "REFERENCE_METER",
    "UUT_BALANCE",
    "UUT_PRESSURE_GAUGE",
    "UUT_THERMOMETER",
    "UUT_VOLTMETER",
    "UUT_WATER_METER",
    "BalanceError",
    "GaugeError",
    "NoInstrument",
    "PrtCoefficients",
    "RecordedEvent",
    "RecordedInstruction",
    "ReferenceMeterError",
    "SimulatedBench",
    "SimulatedOperator",
    "SimulatedTime",
    "SimulatedTypist",
    "SimulatedWorld",
    "SimulationError",
    "ThermometerError",
    "VoltmeterError",
    "WaterMeterError",
    "callendar_van_dusen",
]


class SimulationError(Exception):
    """A simulated bench cannot be built or an instruction cannot be carried out."""


class NoInstrument(SimulationError, LookupError):
    """The role has no opened instrument (a passive standard, or not a role of the bench)."""


# -- error profiles of the simulated instruments -----------------------------------------------


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
CENTRE: Final = "1"


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
        return load + linear + load * self.eccentricity[_position(position)]


UUT_BALANCE: Final = BalanceError()
"""The simulated balance: 6200 g × 0.01 g, linearity +15 mg (at half capacity), the
eccentricity of :data:`ECCENTRICITY`, noise 3 mg."""


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


# -- the world --------------------------------------------------------------------------------


LoadListener = Callable[[float, str], None]
_T = TypeVar("_T")


class SimulatedWorld:
    """The physical state every simulated instrument of a bench sees (thread-safe).

    ``seed`` seeds every simulator's noise and every typist's choices.
    ``time_constant_s``: how fast the bath and the pressure controller approach their
    setpoints (seconds). ``settle_s``: how long the balance is unstable after the load
    changes (seconds). ``flow_time_scale``: wall-clock seconds per second of a flow
    (``set_flow``), at most ``max_flow_s`` seconds per flow. ``ambient_temperature``: the
    laboratory's temperature (°C).

    A quantity is either stored (``set_voltage``, ``set_pressure``...) or coupled to a
    live source, the simulator model of the instrument that makes it (``couple_*``; one
    source per quantity).
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        time_constant_s: float = 0.05,
        settle_s: float = 0.2,
        flow_time_scale: float = 1e-3,
        max_flow_s: float = 0.25,
        ambient_temperature: float = 23.1,
    ) -> None:
        if min(time_constant_s, settle_s, flow_time_scale, max_flow_s) < 0:
            raise ValueError("times and scales must be >= 0")
        self.seed = seed
        self.time_constant_s = time_constant_s
        self.settle_s = settle_s
        self.flow_time_scale = flow_time_scale
        self.max_flow_s = max_flow_s
        self._lock = threading.RLock()
        self._voltage = 0.0
        self._voltage_source: Callable[[], float] | None = None
        self._load = 0.0
        self._position = CENTRE
        self._load_listeners: list[LoadListener] = []
        self._pressure = 0.0
        self._pressure_source: Callable[[], float] | None = None
        self._trend_source: Callable[[], int] | None = None
        self._trend = 1  # a gauge is first brought up from zero
        self._temperature = ambient_temperature
        self._temperature_source: Callable[[], float] | None = None
        self._ambient = ambient_temperature
        self._flows: list[list[float]] = []  # [flow rate m3/h, volume m3], in order
        self._flow_rate = 0.0

    def seed_for(self, name: str) -> int:
        """A seed of its own for ``name`` (a role), derived from the world's seed."""
        return zlib.crc32(f"{self.seed}:{name}".encode())

    # -- voltage --------------------------------------------------------------------------

    @property
    def voltage(self) -> float:
        """The DC voltage at the calibrator's terminals (V): 0 in standby."""
        with self._lock:
            source, stored = self._voltage_source, self._voltage
        return stored if source is None else source()

    def set_voltage(self, volts: float) -> None:
        """Store the DC voltage (V) when no calibrator is coupled."""
        with self._lock:
            self._refuse_if_coupled(self._voltage_source, "voltage")
            self._voltage = volts

    def couple_voltage(self, source: Callable[[], float] | None) -> None:
        """Read the voltage (V) live from ``source``; None uncouples."""
        with self._lock:
            self._voltage_source = self._coupled(self._voltage_source, source, "voltage")

    # -- load ----------------------------------------------------------------------------

    @property
    def load(self) -> float:
        """The load on the pan (g)."""
        with self._lock:
            return self._load

    @property
    def position(self) -> str:
        """Where the load stands on the pan: ``1`` (the centre) to ``5``."""
        with self._lock:
            return self._position

    def place_load(self, grams: float, position: str | None = None) -> None:
        """Put ``grams`` on the pan at ``position`` (replacing what was there); by default
        where the operator was last told to put the next load (the centre once the pan
        is cleared)."""
        if not math.isfinite(grams) or grams < 0:
            raise SimulationError(f"a load must be a finite mass >= 0 g, got {grams!r}")
        self._set_load(grams, _position(self.position if position is None else position))

    def move_load(self, position: str) -> None:
        """Move the load to ``position`` (on an empty pan: where the next load goes)."""
        self._set_load(self.load, _position(position))

    def remove_load(self) -> None:
        """Clear the pan."""
        self._set_load(0.0, CENTRE)

    def on_load_change(self, listener: LoadListener) -> Callable[[], None]:
        """Call ``listener(load_g, position)`` after every change (a balance's coupling),
        in the order of the changes; returns the function that removes it. The listener
        must not change the load itself."""
        with self._lock:
            self._load_listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._load_listeners:
                    self._load_listeners.remove(listener)

        return remove

    def _set_load(self, grams: float, position: str) -> None:
        with self._lock:  # held while notifying, so listeners see changes in order
            self._load, self._position = grams, position
            for listener in list(self._load_listeners):
                listener(grams, position)

    # -- pressure ------------------------------------------------------------------------

    @property
    def pressure(self) -> float:
        """The pressure at the test port (Pa), as the pressure controller refers it."""
        with self._lock:
            source, stored = self._pressure_source, self._pressure
        return stored if source is None else source()

    @property
    def pressure_trend(self) -> int:
        """+1 when the pressure last rose, -1 when it last fell (what a gauge's hysteresis
        depends on)."""
        with self._lock:
            source = self._trend_source
        now = 0 if source is None else source()
        with self._lock:
            if now:
                self._trend = now
            return self._trend

    def set_pressure(self, pascals: float) -> None:
        """Store the pressure (Pa) when no controller is coupled."""
        with self._lock:
            self._refuse_if_coupled(self._pressure_source, "pressure")
            if pascals != self._pressure:
                self._trend = 1 if pascals > self._pressure else -1
            self._pressure = pascals

    def couple_pressure(
        self, source: Callable[[], float] | None, trend: Callable[[], int] | None = None
    ) -> None:
        """Read the pressure (Pa) live from ``source`` and its direction from ``trend``
        (+1 rising, -1 falling, 0 holding); None uncouples."""
        with self._lock:
            self._pressure_source = self._coupled(self._pressure_source, source, "pressure")
            self._trend_source = trend if source is not None else None

    # -- temperature ---------------------------------------------------------------------

    @property
    def temperature(self) -> float:
        """The bath temperature (°C)."""
        with self._lock:
            source, stored = self._temperature_source, self._temperature
        return stored if source is None else source()

    def set_temperature(self, celsius: float) -> None:
        """Store the bath temperature (°C) when no bath is coupled."""
        with self._lock:
            self._refuse_if_coupled(self._temperature_source, "temperature")
            self._temperature = celsius

    def couple_temperature(self, source: Callable[[], float] | None) -> None:
        """Read the bath temperature (°C) live from ``source``; None uncouples."""
        with self._lock:
            self._temperature_source = self._coupled(
                self._temperature_source, source, "temperature"
            )

    @property
    def ambient_temperature(self) -> float:
        """The laboratory's temperature (°C)."""
        with self._lock:
            return self._ambient

    def set_ambient_temperature(self, celsius: float) -> None:
        """Set the laboratory's temperature (°C)."""
        with self._lock:
            self._ambient = celsius

    # -- flow ----------------------------------------------------------------------------

    @property
    def volume(self) -> float:
        """The volume that has passed through the rig (m3)."""
        with self._lock:
            return sum(volume for _, volume in self._flows)

    @property
    def flow_rate(self) -> float:
        """The flow rate through the rig now (m3/h; 0 between flows)."""
        with self._lock:
            return self._flow_rate

    def metered_volume(self, error: Callable[[float], float]) -> float:
        """What a meter with relative ``error(flow rate in m3/h)`` has registered of the
        volume so far (m3)."""
        with self._lock:
            flows = [(rate, volume) for rate, volume in self._flows]
        return sum(volume * (1.0 + error(rate)) for rate, volume in flows)

    def run_flow(self, flow_rate: float, volume: float) -> None:
        """Pass ``volume`` (m3) through the rig at ``flow_rate`` (m3/h); returns when done.

        The volume advances in steps over a wall time of ``volume / flow_rate`` scaled by
        :attr:`flow_time_scale` (at most :attr:`max_flow_s`); the rate reads
        ``flow_rate`` meanwhile and 0 after.
        """
        if not (math.isfinite(flow_rate) and flow_rate > 0):
            raise SimulationError(f"a flow rate must be > 0 m3/h, got {flow_rate!r}")
        if not (math.isfinite(volume) and volume > 0):
            raise SimulationError(f"a flow's volume must be > 0 m3, got {volume!r}")
        wall_s = min(volume / flow_rate * 3600.0 * self.flow_time_scale, self.max_flow_s)
        steps = max(1, math.ceil(wall_s / 0.01))
        with self._lock:
            flow = [flow_rate, 0.0]
            self._flows.append(flow)
            self._flow_rate = flow_rate
        try:
            start = time.monotonic()
            for step in range(1, steps + 1):
                delay = start + wall_s * step / steps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                with self._lock:
                    flow[1] = volume * step / steps
        finally:
            with self._lock:
                self._flow_rate = 0.0

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _coupled(current: _T | None, new: _T | None, quantity: str) -> _T | None:
        if current is not None and new is not None:
            raise SimulationError(f"the world's {quantity} is already coupled to a source")
        return new

    @staticmethod
    def _refuse_if_coupled(source: object, quantity: str) -> None:
        if source is not None:
            raise SimulationError(f"the {quantity} comes from the coupled instrument")


def _position(position: object) -> str:
    """A position on the load receptor: ``1`` (the centre, ``centre``) to ``5``; a number
    as a procedure's expression gives it (``2.0``) is its whole value."""
    text = str(position).strip().lower()
    if text in {"center", "centre"}:
        return CENTRE
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if number.is_integer() and str(int(number)) in ECCENTRICITY:
        return str(int(number))
    raise SimulationError(f"unknown position {position!r} (1: centre, 2 to 5)")


# -- the operator -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedInstruction:
    """An instruction the simulated operator received (``at``, UTC) and carried out."""

    at: datetime
    kind: str
    params: Mapping[str, Any]
    text: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """Progress shown to the simulated operator (``at``, UTC)."""

    at: datetime
    event: str
    data: Mapping[str, Any]


_GRAMS = {"mg": 1e-3, "g": 1.0, "kg": 1e3}


class SimulatedOperator:
    """The person at a simulated bench (a :class:`procedures.bench.Operator`).

    :meth:`instruct` acts on the world by ``instruction.kind``:

    * ``place_load``: ``load`` (number) in ``unit`` (``g`` default, ``kg``, ``mg``), optional
      ``position`` (1: the centre, 2 to 5; default where the last ``position`` said):
      the load on the pan and where;
    * ``remove_load``: clears the pan;
    * ``position``: ``position``: moves the load (on an empty pan: where the next goes);
    * ``set_flow``: ``flow_rate`` (m3/h) and either ``volume`` (m3) or ``duration_s`` (s):
      runs the flow through the rig and returns when it is done;
    * anything else (``connect``, ``confirm``...): nothing to do in the world.

    Every instruction is recorded (:attr:`instructions`) with the time it was received,
    and every :meth:`show` (:attr:`events`). A malformed instruction raises
    :class:`SimulationError` (a procedure's mistake, not the operator's).
    """

    def __init__(self, world: SimulatedWorld) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._instructions: list[RecordedInstruction] = []
        self._events: list[RecordedEvent] = []

    @property
    def instructions(self) -> tuple[RecordedInstruction, ...]:
        """Every instruction received, in order."""
        with self._lock:
            return tuple(self._instructions)

    @property
    def events(self) -> tuple[RecordedEvent, ...]:
        """Every event shown, in order."""
        with self._lock:
            return tuple(self._events)

    def instruct(self, instruction: Instruction) -> None:
        """Carry out ``instruction`` in the world; return once it is done."""
        params = dict(instruction.params)
        record = RecordedInstruction(
            datetime.now(UTC), instruction.kind, params, dict(instruction.text)
        )
        with self._lock:
            self._instructions.append(record)
        kind = instruction.kind
        if kind == "place_load":
            unit = str(params.get("unit", "g"))
            if unit not in _GRAMS:
                raise SimulationError(f"place_load: unknown unit {unit!r} (g, kg or mg)")
            grams = _number(params, "load", kind) * _GRAMS[unit]
            position = params.get("position")
            self.world.place_load(grams, None if position is None else str(position))
        elif kind == "remove_load":
            self.world.remove_load()
        elif kind == "position":
            if "position" not in params:
                raise SimulationError("position: the instruction names no position")
            self.world.move_load(str(params["position"]))
        elif kind == "set_flow":
            rate = _number(params, "flow_rate", kind)
            if "volume" in params:
                volume = _number(params, "volume", kind)
            elif "duration_s" in params:
                volume = rate * _number(params, "duration_s", kind) / 3600.0
            else:
                raise SimulationError("set_flow: give a volume (m3) or a duration_s (s)")
            self.world.run_flow(rate, volume)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        """Record ``event`` and its ``data``."""
        with self._lock:
            self._events.append(RecordedEvent(datetime.now(UTC), event, dict(data)))


def _number(params: Mapping[str, Any], key: str, kind: str) -> float:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimulationError(f"{kind}: {key} must be a finite number, got {value!r}")
    return float(value)


# -- the typist ------------------------------------------------------------------------------


class SimulatedTypist:
    """The person who reads a dial and types the value at a manual-entry prompt.

    It stands for the text streams the manual-entry driver is given (the terminal's
    standard input and error on a real bench): the driver writes its prompt here and
    reads a line here. :meth:`readline` asks ``read()`` what the instrument shows at that
    moment (in the dial's unit), adds the reader's judgement (Gaussian, ``jitter`` in the
    unit), keeps it on the dial (``limits``: where the pointer's stop pins are, if any),
    rounds it to ``step`` and types it, with a decimal comma with probability
    ``decimal_comma`` (as Vietnamese
    operators write). ``seed`` seeds the judgement and the choice of comma.
    """

    def __init__(
        self,
        read: Callable[[], float],
        *,
        step: float,
        jitter: float = 0.0,
        limits: tuple[float, float] | None = None,
        decimal_comma: float = 0.5,
        seed: int = 0,
    ) -> None:
        if not step > 0 or jitter < 0 or not 0.0 <= decimal_comma <= 1.0:
            raise ValueError("step must be > 0, jitter >= 0, decimal_comma 0 to 1")
        self._read = read
        self._step = step
        self._jitter = jitter
        self._limits = limits
        self._comma = decimal_comma
        self._rng = random.Random(seed)
        self._decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        self._lock = threading.Lock()
        self._typed: list[str] = []
        self._prompts: list[str] = []

    @property
    def typed(self) -> tuple[str, ...]:
        """Every line typed, without its line end, in order."""
        with self._lock:
            return tuple(self._typed)

    @property
    def prompts(self) -> tuple[str, ...]:
        """Everything the driver wrote to the typist, in order."""
        with self._lock:
            return tuple(self._prompts)

    def readline(self, size: int = -1, /) -> str:
        """The value the person reads now, as typed, with a line end."""
        value = self._read()
        with self._lock:
            if self._jitter:
                value += self._rng.gauss(0.0, self._jitter)
            if self._limits is not None:
                value = min(max(value, self._limits[0]), self._limits[1])
            shown = round(value / self._step) * self._step + 0.0  # no "-0"
            text = f"{shown:.{self._decimals}f}"
            if self._rng.random() < self._comma:
                text = text.replace(".", ",")
            self._typed.append(text)
        return text + "\n"

    def write(self, text: str, /) -> int:
        """Keep what the driver shows the person (prompts, refusals)."""
        with self._lock:
            self._prompts.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """Nothing to release."""


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
_CUBIC_METRES: Final[Mapping[str, float]] = {"m3": 1.0, "L": 1e-3, "mL": 1e-6}


def _from_celsius(celsius: float, unit: str) -> float:
    if unit == "K":
        return celsius + 273.15
    if unit == "degF":
        return celsius * 9.0 / 5.0 + 32.0
    return celsius


# -- the bench -------------------------------------------------------------------------------


class SimulatedBench:
    """A :class:`procedures.bench.Bench` of simulators coupled through ``world``.

    ``roles``: the bench's roles by name (their ``address`` is the configured one; the
    simulators replace it). ``driver_options``: how the drivers are opened (the role's
    ``serial`` becomes ``expected_serial``, and the simulator reports it).

    :meth:`start` starts one simulator per role on loopback (ephemeral ports), opens the
    real driver on it and couples it to the world; roles with driver ``none`` (a passive
    standard) have no instrument; ``manual`` roles are typed by a
    :class:`SimulatedTypist`. :meth:`close` closes the drivers, then stops the simulators.
    Use it as a context manager.

    Role options understood (numbers, SI units unless said):

    * DMM (``keysight-34465a``/``-34470a``): ``gain_error`` (relative) and ``offset`` (V) of
      its DC voltage (default :data:`UUT_VOLTMETER` in the ``uut`` role, none
      elsewhere); ``R0`` (ohm), ``A``, ``B``, ``C``, ``deviation`` (°C) of the PRT on its
      4-wire (and 2-wire) ohms input (default :class:`PrtCoefficients`);
    * balance (``mettler-sics``): ``capacity``, ``readability`` (g);
    * reference meter (``modbus-map``): ``map_file`` (else ``map=`` in the address, else
      the TUF-2000M map), ``flow_register``, ``total_register``,
      ``total_fraction_register`` (register names; defaults ``flow_rate``,
      ``positive_total``, ``positive_total_fraction``), ``error`` (relative, default
      :data:`REFERENCE_METER`);
    * manual entry: ``decimal_comma`` (probability 0 to 1, default 0.5),
      ``register_start`` (a water meter's register before the first flow, in the
      address's unit, default 0).
    """

    def __init__(
        self,
        roles: Mapping[str, BenchRole],
        world: SimulatedWorld | None = None,
        *,
        driver_options: DriverOptions | None = None,
    ) -> None:
        self.world = world if world is not None else SimulatedWorld()
        self._configured = dict(roles)
        self._roles = dict(roles)
        self._options = driver_options or DriverOptions()
        self._instruments: dict[str, object] = {}
        self._simulators: dict[str, RunningSimulator] = {}
        self._typists: dict[str, SimulatedTypist] = {}
        self._drivers: list[_Closable] = []
        self._simulation = ExitStack()
        self._started = False

    # -- Bench ---------------------------------------------------------------------------

    @property
    def roles(self) -> Mapping[str, BenchRole]:
        """The roles, by name; once started, each address is the simulator's."""
        return dict(self._roles)

    @property
    def configured_roles(self) -> Mapping[str, BenchRole]:
        """The roles as configured (addresses of the real bench, for display)."""
        return dict(self._configured)

    def instrument(self, role: str) -> object:
        """The opened driver in ``role``; :class:`NoInstrument` for a passive standard or a
        role the bench does not have."""
        if role in self._instruments:
            return self._instruments[role]
        configured = self._configured.get(role)
        if configured is None:
            known = ", ".join(self._configured) or "none"
            raise NoInstrument(f"the bench has no role {role!r} (roles: {known})")
        if configured.driver == "none":
            raise NoInstrument(
                f"role {role!r} is a passive standard (driver none): it has no instrument"
            )
        raise NoInstrument(f"role {role!r} is not open: start the simulated bench first")

    # -- access for tests and demos ------------------------------------------------------

    def simulator(self, role: str) -> RunningSimulator | None:
        """The running simulator of ``role`` (to inject faults), None for none."""
        return self._simulators.get(role)

    def typist(self, role: str) -> SimulatedTypist:
        """The typist of a manual-entry ``role``."""
        try:
            return self._typists[role]
        except KeyError:
            raise NoInstrument(f"role {role!r} is not typed by hand") from None

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Start, open and couple every role; on failure everything started is released."""
        if self._started:
            return self
        self._started = True
        try:
            for name, role in self._configured.items():
                self._start_role(name, role)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Close every driver, the sources first (each leaves its output in standby), then
        stop every simulator and uncouple the world; idempotent."""
        drivers, self._drivers = self._drivers, []
        # Sources first: VISA drivers share one resource manager, and closing any of them
        # closes the others' links, so a source closed later could not reach its standby.
        latest_first = drivers[::-1]
        order: list[_Closable] = [d for d in latest_first if isinstance(d, OutputControl)]
        order += [d for d in latest_first if not isinstance(d, OutputControl)]
        try:
            with ExitStack() as closing:  # every driver is closed, whatever fails
                for driver in reversed(order):
                    closing.callback(driver.close)
        finally:
            try:
                self._simulation.close()
            finally:
                self._started = False
                self._instruments.clear()
                self._simulators.clear()
                self._typists.clear()
                self._roles = dict(self._configured)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one role ------------------------------------------------------------------------
    # Two exit stacks, unwound in reverse order of the roles: the drivers first (a source's
    # driver leaves it in standby through its simulator), then the couplings and the
    # simulators.

    def _start_role(self, name: str, role: BenchRole) -> None:
        if role.driver == "none":
            return
        if role.driver == "manual":
            self._start_manual(name, role)
            return
        entry = registry.get(role.driver)
        seed = self.world.seed_for(name)
        simulator: RunningSimulator
        if role.driver == "modbus-map":
            simulator = self._start_map_device(role, seed)
        else:
            factory = entry.load_simulator()
            if factory is None:
                raise SimulationError(
                    f"role {name!r}: driver {role.driver!r} has no simulator to stand for it"
                )
            simulator = factory(
                SimulatorOptions(seed=seed, serial=role.serial, value=self._start_value(role))
            )
        self._simulation.callback(simulator.stop)
        self._simulators[name] = simulator
        self._couple(name, role, _model(simulator))
        self._roles[name] = replace(role, address=simulator.address)
        driver = entry.load_driver().open(
            simulator.address, replace(self._options, expected_serial=role.serial)
        )
        self._drivers.append(driver)
        self._instruments[name] = driver

    def _start_value(self, role: BenchRole) -> float | None:
        """What a source's simulator starts at: a vented pressure controller in gauge
        mode (0 mbar), an empty pan (0 g), a bath at the laboratory's temperature (°C)."""
        if role.driver in {"druck-pace", "mettler-sics"}:
            return 0.0
        if role.driver == "eurotherm-3200":
            return round(self.world.ambient_temperature, 2)
        return None

    def _start_map_device(self, role: BenchRole, seed: int) -> ModbusMapSimulator:
        # The registry's factory serves one fixed map; a reference meter needs its own.
        _, in_address = split_map_option(role.address)
        path = role.options.get("map_file") or in_address or DEFAULT_MAP.parent / "tuf-2000m.yaml"
        device = SimulatedMapDevice(load_register_map(Path(path)), seed=seed)
        return ModbusMapSimulator(device).start_with(None)

    def _start_manual(self, name: str, role: BenchRole) -> None:
        config = parse_manual_address(role.address)
        typist = self._typist_for(name, role, config)
        self._simulation.callback(typist.close)
        self._typists[name] = typist
        entry = ManualEntry.open(
            role.address,
            replace(self._options, expected_serial=role.serial),
            # The driver reads and prompts through text streams; the typist is both.
            input=cast(TextIO, typist),
            output=cast(TextIO, typist),
        )
        self._drivers.append(entry)
        self._instruments[name] = entry

    def _typist_for(self, name: str, role: BenchRole, config: ManualEntryConfig) -> SimulatedTypist:
        world = self.world
        unit = config.unit
        comma = _option(role, "decimal_comma", 0.5)
        seed = world.seed_for(name)
        dial = (config.minimum, config.maximum)
        if config.quantity == "pressure":
            gauge = UUT_PRESSURE_GAUGE
            scale = _PASCALS[unit]

            def pressure() -> float:
                value = world.pressure / scale
                return gauge.indication(value, *dial, world.pressure_trend)

            return SimulatedTypist(
                pressure,
                step=config.resolution / 5.0,
                jitter=gauge.parallax * config.resolution,
                limits=dial,
                decimal_comma=comma,
                seed=seed,
            )
        if config.quantity == "temperature":
            if role.role == "environment" or name == "environment":

                def ambient() -> float:
                    return _from_celsius(world.ambient_temperature, unit)

                return SimulatedTypist(
                    ambient,
                    step=config.resolution,
                    jitter=0.02 * (1.8 if unit == "degF" else 1.0),
                    limits=dial,
                    decimal_comma=comma,
                    seed=seed,
                )
            thermometer = UUT_THERMOMETER

            def temperature() -> float:
                return _from_celsius(thermometer.indication(world.temperature), unit)

            return SimulatedTypist(
                temperature, step=config.resolution, limits=dial, decimal_comma=comma, seed=seed
            )
        if config.quantity == "volume":
            meter = UUT_WATER_METER
            scale = _CUBIC_METRES[unit]
            start = _option(role, "register_start", 0.0)

            def register() -> float:
                return start + world.metered_volume(meter.error) / scale

            return SimulatedTypist(register, step=config.resolution, decimal_comma=comma, seed=seed)
        raise SimulationError(
            f"role {name!r}: a manual {config.quantity} entry has nothing to read in the "
            "simulated world"
        )

    # -- coupling ------------------------------------------------------------------------

    def _couple(self, name: str, role: BenchRole, model: object) -> None:
        world = self.world
        undo = self._simulation.callback
        if isinstance(model, SimulatedFluke5522A):
            calibrator = model

            def terminals() -> float:
                unit, amplitude, frequency = calibrator.output_at_terminals()
                return amplitude if unit == "V" and frequency == 0.0 else 0.0

            world.couple_voltage(terminals)
            undo(world.couple_voltage, None)
        elif isinstance(model, SimulatedKeysight344xxA):
            self._couple_meter(name, role, model)
        elif isinstance(model, SimulatedSicsBalance):
            self._couple_balance(role, model)
        elif isinstance(model, SimulatedPace):
            model.tau_s = world.time_constant_s
            world.couple_pressure(model.pressure_pa, model.approach)
            undo(world.couple_pressure, None)
        elif isinstance(model, SimulatedEurotherm3200):
            model.tau_s = world.time_constant_s
            # a stirred liquid bath: a few mK of short-term noise, well inside the
            # stability bands procedures ask for (the controller's default is a dry block's)
            model.noise = _option(role, "noise", BATH_NOISE)
            world.couple_temperature(model.temperature)
            undo(world.couple_temperature, None)
        elif isinstance(model, SimulatedMapDevice):
            self._couple_flow_meter(role, model)

    def _couple_meter(self, name: str, role: BenchRole, meter: SimulatedKeysight344xxA) -> None:
        world = self.world
        default = UUT_VOLTMETER if name == "uut" or role.role == "uut" else VoltmeterError()
        dcv = VoltmeterError(
            gain=_option(role, "gain_error", default.gain),
            offset=_option(role, "offset", default.offset),
        )
        nominal = PrtCoefficients()
        prt = PrtCoefficients(
            r0=_option(role, "R0", nominal.r0),
            a=_option(role, "A", nominal.a),
            b=_option(role, "B", nominal.b),
            c=_option(role, "C", nominal.c),
            deviation=_option(role, "deviation", nominal.deviation),
        )

        def volts() -> float:
            return dcv.indication(world.voltage)

        def ohms() -> float:
            return prt.resistance(world.temperature)

        meter.set_input_source("VOLT", volts)
        for function in ("FRES", "RES"):
            meter.set_input_source(function, ohms)

    def _couple_balance(self, role: BenchRole, balance: SimulatedSicsBalance) -> None:
        world = self.world
        errors = replace(
            UUT_BALANCE,
            capacity=_option(role, "capacity", UUT_BALANCE.capacity),
            readability=_option(role, "readability", UUT_BALANCE.readability),
        )
        balance.set_weighing_range(
            capacity=errors.capacity, readability=errors.readability, model="XS6002S"
        )
        balance.noise = errors.noise

        def follow(load: float, position: str) -> None:
            balance.set_load(errors.indication(load, position), settle_s=world.settle_s)

        balance.set_load(errors.indication(world.load, world.position), settle_s=0.0)
        self._simulation.callback(world.on_load_change(follow))

    def _couple_flow_meter(self, role: BenchRole, device: SimulatedMapDevice) -> None:
        world = self.world
        entries = device.register_map.entries
        error = _option(role, "error", REFERENCE_METER.error)
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


class _Closable(Protocol):
    def close(self) -> None: ...


def _model(simulator: RunningSimulator) -> object:
    if isinstance(simulator, TcpSimulator | PtySimulator):
        return simulator.instrument
    if isinstance(simulator, ModbusSimulator):
        return simulator.model
    return None


BATH_NOISE: Final = 0.003
"""Short-term noise of the simulated bath's temperature (°C, standard deviation)."""
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


def _option(role: BenchRole, key: str, default: float) -> float:
    value = role.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimulationError(f"role {role.role!r}: option {key} must be a number, got {value!r}")
    return float(value)


class SimulatedTime:
    """The runner's clock and sleep on a simulated bench: a wait of ``s`` seconds takes at
    most ``real_pause_s`` of wall time and the clock jumps by the rest, so a procedure's
    stability windows, dwells and flow durations (minutes at a real bench) take moments,
    while the simulators, which live in wall time, still change as they do."""

    def __init__(self, real_pause_s: float = 0.002) -> None:
        self.real_pause_s = real_pause_s
        self._lock = threading.Lock()
        self._skipped = 0.0

    def clock(self) -> float:
        with self._lock:
            return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        pause = min(max(0.0, seconds), self.real_pause_s)
        with self._lock:
            self._skipped += max(0.0, seconds) - pause
        time.sleep(pause)
