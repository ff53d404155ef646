"""The physical world of a simulated bench, and the time its runs pass in.

:class:`SimulatedWorld` holds the physical state every simulated instrument of a bench sees
(thread-safe): ``voltage`` at the calibrator's terminals (V), ``load`` on the pan (g) and its
``position``, ``pressure`` at the test port (Pa), ``temperature`` in the bath (°C),
``ambient_temperature`` of the laboratory (°C), ``volume`` that passed through the flow rig
(m3) and the present ``flow_rate`` (m3/h). Sources approach their setpoints with
:attr:`SimulatedWorld.time_constant_s` (short, so a run takes seconds, not hours) and a flow
of the rig takes a scaled-down wall time. :class:`SimulatedTime` is the runner's clock on a
simulated bench, which skips the waits.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Callable
from typing import Final, TypeVar

from .errors import SimulationError

__all__ = ["CENTRE", "POSITIONS", "SimulatedTime", "SimulatedWorld", "load_position"]

POSITIONS: Final = ("1", "2", "3", "4", "5")
"""The positions of a load on the load receptor, numbered as OIML R 76-1 A.4.7 does: ``1``
the centre, ``2`` to ``5`` the quarter segments."""
CENTRE: Final = "1"


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
        self._set_load(grams, load_position(self.position if position is None else position))

    def move_load(self, position: str) -> None:
        """Move the load to ``position`` (on an empty pan: where the next load goes)."""
        self._set_load(self.load, load_position(position))

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

    def last_flow(self) -> tuple[float, float]:
        """The latest flow: its rate (m3/h) and the volume passed so far (m3); ``(0, 0)``
        before the first. What a display reset to zero before each delivery shows, and
        what a can emptied before each filling holds."""
        with self._lock:
            if not self._flows:
                return 0.0, 0.0
            rate, volume = self._flows[-1]
            return rate, volume

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


def load_position(position: object) -> str:
    """A position on the load receptor: ``1`` (the centre, ``centre``) to ``5``; a number
    as a procedure's expression gives it (``2.0``) is its whole value."""
    text = str(position).strip().lower()
    if text in {"center", "centre"}:
        return CENTRE
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if number.is_integer() and str(int(number)) in POSITIONS:
        return str(int(number))
    raise SimulationError(f"unknown position {position!r} (1: centre, 2 to 5)")


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
