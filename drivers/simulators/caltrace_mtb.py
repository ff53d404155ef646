"""Simulated meter test bench speaking caltrace's own command set, served on TCP.

The command set is the one written down in ``docs/reference/meter-test-bench.md``
(caltrace's, not a vendor's). The model holds:

* a power source of three phases (or of one: ``phases=1``; U, I, φ per phase, frequency,
  output on/off) whose reference meter measures the total of what it applies, and one
  phase of which can be knocked out of regulation
  (:meth:`SimulatedMeterBench.upset_source`);
* N positions, each empty or holding a :class:`SimulatedMeter` with its own constant
  (imp/kWh), its own error (a fixed offset in %, or interpolated from points over the
  current) and its own creep; a meter can be made to give no pulse
  (:meth:`~SimulatedMeterBench.silence`) or its error calculator to lose pulses
  (:meth:`~SimulatedMeterBench.lose_pulses`);
* a clock running ``speed`` times real time, so that a test of minutes takes milliseconds
  in the suite.

How the tests come out: the meter at a position pulses at P·C·(1 + e/100)/3.6e6 pulses per
second (P the active power in W summed over the phases, C its constant, e its error in %).
In an accuracy test the position's window closes when its counter reaches the target; a
lost pulse keeps it open one real pulse longer. The reference energy of the window is
P·t/3.6e6 kWh. The test ends when every position has closed its window, or at its
duration. An energy test (``ENER``) runs for its duration; the bench closes the current
circuit at its start and opens it at its end, so the reference energy P·t/3.6e6 kWh is all
the energy the meters saw. Each meter's energy register advances, in every test, by the
energy it saw times ``1 + e_reg/100`` (:meth:`SimulatedMeterBench.registered_kwh`), what
its optical port reads.

Refusals queue SCPI errors (-222 data out of range...) or the bench's own:
``201,"Position not mounted"``, ``202,"Position not configured"``.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from drivers.simulators.base import SimulatorOptions
from drivers.simulators.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    MISSING_PARAMETER,
    Handler,
    ScpiCommandError,
    SimulatedScpiInstrument,
    parse_bool,
    parse_numeric,
)
from drivers.simulators.tcp import TcpSimulator

__all__ = ["SimulatedMeter", "SimulatedMeterBench", "start_caltrace_mtb"]

NOT_MOUNTED = (201, "Position not mounted")
NOT_CONFIGURED = (202, "Position not configured")

Quantity = Literal["VOLT", "CURR", "ANGL", "FREQ"]


@dataclass(frozen=True, slots=True)
class SimulatedMeter:
    """A meter mounted on the simulated bench.

    ``constant_imp_per_kwh``: its test output's constant. ``error_percent``: its error, %.
    ``error_by_current``: (current A, error %) points, ascending in current; when given,
    the error at the largest phase current is interpolated linearly between them (held
    at the end points beyond). ``creep_pulses_per_hour``: pulses it gives with no load.
    """

    constant_imp_per_kwh: float = 1000.0
    error_percent: float = 0.0
    error_by_current: tuple[tuple[float, float], ...] = ()
    creep_pulses_per_hour: float = 0.0
    register_error_percent: float | None = None
    """The error of its energy register (what its display and optical port count), %;
    None: the same as its test output's (:meth:`error_at`). A meter whose register
    disagrees with its test output is the fault the register test finds."""

    def register_error_at(self, current_a: float) -> float:
        """The error of the meter's register at ``current_a`` (A), %."""
        if self.register_error_percent is None:
            return self.error_at(current_a)
        return self.register_error_percent

    def error_at(self, current_a: float) -> float:
        """The meter's error at ``current_a`` (A), %."""
        points = self.error_by_current
        if not points:
            return self.error_percent
        if current_a <= points[0][0]:
            return points[0][1]
        for (i0, e0), (i1, e1) in itertools.pairwise(points):
            if current_a <= i1:
                return e0 + (e1 - e0) * (current_a - i0) / (i1 - i0)
        return points[-1][1]


@dataclass(slots=True)
class _Test:
    kind: str
    duration_s: float
    positions: tuple[int, ...]
    started: float
    power_w: float
    max_current_a: float
    stopped_after_s: float | None = None


class SimulatedMeterBench(SimulatedScpiInstrument):
    """Model of a meter test bench of ``len(meters)`` positions (None: an empty one).

    ``speed``: simulated seconds per real second. ``serial``: what ``*IDN?`` reports.
    ``reference_error``: the reference meter's own error (relative): it indicates the power
    and energy applied times ``1 + reference_error`` (what its certificate corrects).
    ``phases``: how many phases the source has, 1 or 3 (``BENCh:PHASes?``); a single-phase
    bench has no ``PHASe2`` or ``PHASe3`` commands.
    """

    def __init__(
        self,
        meters: list[SimulatedMeter | None],
        *,
        serial: str = "MTB-0001",
        speed: float = 1.0,
        reference_error: float = 0.0,
        phases: int = 3,
    ) -> None:
        if not meters:
            raise ValueError("a bench has at least one position")
        if phases not in (1, 3):
            raise ValueError(f"a bench's source has 1 or 3 phases, not {phases!r}")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        super().__init__(f"CALTRACE,MTB-1,{serial},1.0")
        self.meters = list(meters)
        self.speed = speed
        self.reference_error = reference_error
        self.phase_count = phases
        self._silent: set[int] = set()
        self._lost: dict[int, int] = {}
        self._upset: tuple[int, Quantity, float] | None = None
        self._past_tests_s = 0.0
        self._past_registered: dict[int, float] = {}
        self.reset_state()
        self._register()

    # -- test controls ------------------------------------------------------------------

    def silence(self, position: int) -> None:
        """The meter at ``position`` gives no pulse any more (test output dead)."""
        with self.lock:
            self._silent.add(position)

    def lose_pulses(self, position: int, count: int = 1) -> None:
        """The error calculator at ``position`` misses ``count`` pulses of each test."""
        with self.lock:
            self._lost[position] = count

    def upset_source(self, phase: int, quantity: Quantity, measured: float) -> None:
        """Phase ``phase`` (1 to the bench's phases) no longer holds its ``quantity``: it
        measures ``measured``."""
        if not 1 <= phase <= self.phase_count:
            raise ValueError(f"the bench has phases 1 to {self.phase_count}, not {phase}")
        with self.lock:
            self._upset = (phase, quantity, measured)

    def restore(self) -> None:
        """Clear every injected meter and source fault."""
        with self.lock:
            self._silent.clear()
            self._lost.clear()
            self._upset = None

    @property
    def test_seconds(self) -> float:
        """The bench's seconds spent in tests since it was made (each test from its start
        to its end: its duration, or the last window closed, or its stop): the test
        sequence's own duration, whatever the speed."""
        with self.lock:
            current = self._length(self.test) if self.test is not None else 0.0
            return self._past_tests_s + current

    def registered_kwh(self, position: int) -> float:
        """The energy the register of the meter at ``position`` has counted in the tests
        since the bench was made, kWh: the energy each test applied to it (the total over
        the source's phases, as its reference meter measures it: a three-phase meter's
        register counts its three phases) times ``1 + e_reg/100`` (its register's error at
        the test's current); 0 for an empty position."""
        with self.lock:
            current = self._registered(position, self.test) if self.test is not None else 0.0
            return self._past_registered.get(position, 0.0) + current

    def _registered(self, position: int, test: _Test) -> float:
        meter = self.meters[position - 1] if 1 <= position <= len(self.meters) else None
        if meter is None or position not in test.positions or test.kind == "CRE":
            return 0.0
        applied_kwh = max(0.0, test.power_w) * self._length(test) / 3.6e6
        return applied_kwh * (1 + meter.register_error_at(test.max_current_a) / 100)

    def _close_test(self, test: _Test) -> None:
        """Add a test that is over to the bench's totals (its seconds, each register)."""
        for position in test.positions:
            registered = self._registered(position, test)
            self._past_registered[position] = self._past_registered.get(position, 0.0) + registered
        self._past_tests_s += self._length(test)

    def _length(self, test: _Test) -> float:
        if test.stopped_after_s is not None:
            return test.stopped_after_s
        if test.kind == "ACC":
            closed = max(self._window(p, test) for p in test.positions)
            return min(test.duration_s, closed, self._elapsed(test))
        return self._elapsed(test)

    # -- state --------------------------------------------------------------------------

    def reset_state(self) -> None:
        """Power-up / ``*RST``: source off at 0, 50 Hz; no constant, no target, no test."""
        previous: _Test | None = getattr(self, "test", None)
        if previous is not None:
            self._close_test(previous)
        self.frequency_hz = 50.0
        self.phases = [[0.0, 0.0, 0.0] for _ in range(3)]
        self.output = False
        self.constants: dict[int, float] = {}
        self.targets: dict[int, int] = {}
        self.test: _Test | None = None

    def measured(self, phase: int, index: int) -> float:
        """What the reference meter measures on ``phase`` (1-3): index 0 V, 1 A, 2 degrees
        (0 V and 0 A with the output off)."""
        value = self.phases[phase - 1][index]
        if self._upset is not None and self._upset[0] == phase:
            word = ("VOLT", "CURR", "ANGL")[index]
            if self._upset[1] == word:
                value = self._upset[2]
        return value if self.output or index == 2 else 0.0

    def power_w(self) -> float:
        """The active power the reference meter measures, W: the sum over the phases."""
        return sum(
            self.measured(p, 0) * self.measured(p, 1) * math.cos(math.radians(self.measured(p, 2)))
            for p in range(1, self.phase_count + 1)
        )

    # -- commands -----------------------------------------------------------------------

    def _register(self) -> None:
        self.command("BENCh:POSitions", self.answer(lambda: str(len(self.meters))), query=True)
        self.command("BENCh:MOUNted", self.answer(self._mounted_flags), query=True)
        self.command("BENCh:PHASes", self.answer(lambda: str(self.phase_count)), query=True)
        self.command("SOURce:FREQuency", self._set_frequency)
        self.command("SOURce:OUTPut", self._set_output)
        self.command("SOURce:OUTPut", self.answer(lambda: "1" if self.output else "0"), query=True)
        self.command("SOURce:REGulation", self.answer(self._regulation), query=True)
        indicated = self._reading(lambda: self.power_w() * (1 + self.reference_error))
        self.command("MEASure:POWer", indicated, query=True, measurement=True)
        measure_frequency = self._reading(lambda: self.frequency_hz)
        self.command("MEASure:FREQuency", measure_frequency, query=True, measurement=True)
        limits = {"VOLTage": 1000.0, "CURRent": 1000.0, "ANGLe": 180.0}
        for phase in range(1, self.phase_count + 1):
            for index, (word, limit) in enumerate(limits.items()):
                self.command(f"SOURce:PHASe{phase}:{word}", self._phase_setter(phase, index, limit))
                reading = self._reading(functools.partial(self.measured, phase, index))
                self.command(f"MEASure:PHASe{phase}:{word}", reading, query=True, measurement=True)
        for position in range(1, len(self.meters) + 1):
            self._register_position(position)
        self.command("TEST:STARt", self._start)
        self.command("TEST:STATe", self.answer(self._state), query=True)
        self.command("TEST:STOP", self._stop)

    def _register_position(self, p: int) -> None:
        prefix = f"POSition{p}"
        self.command(f"{prefix}:CONStant", lambda params: self._set_constant(p, params))
        self.command(
            f"{prefix}:CONStant",
            self.answer(lambda: f"{self.constants.get(p, 0):.10g}"),
            query=True,
        )
        self.command(f"{prefix}:PULSes", lambda params: self._set_target(p, params))
        count = self.answer(lambda: str(self._outcome(p)[0]))
        self.command(f"{prefix}:COUNt", count, query=True, measurement=True)
        energy = self.answer(lambda: f"{self._outcome(p)[1] * (1 + self.reference_error):.9e}")
        self.command(f"{prefix}:ENERgy", energy, query=True, measurement=True)
        self.command(f"{prefix}:FIRSt", self.answer(lambda: self._first(p)), query=True)

    def _reading(self, value: Callable[[], float]) -> Handler:
        return self.answer(lambda: f"{value():.9e}")

    def _phase_setter(self, phase: int, index: int, limit: float) -> Handler:
        def handler(params: list[str]) -> None:
            minimum = -limit if index == 2 else 0.0
            value = parse_numeric(self.one_param(params), minimum=minimum, maximum=limit)
            self.phases[phase - 1][index] = value

        return handler

    def _mounted_flags(self) -> str:
        return ",".join("0" if m is None else "1" for m in self.meters)

    def _regulation(self) -> str:
        if self._upset is None:
            return "1"
        phase, word, value = self._upset
        return f"0,{phase},{word},{value:g}"

    def _set_frequency(self, params: list[str]) -> None:
        self.frequency_hz = parse_numeric(self.one_param(params), minimum=1.0, maximum=1000.0)

    def _set_output(self, params: list[str]) -> None:
        self.output = parse_bool(self.one_param(params))

    def _mounted(self, position: int) -> SimulatedMeter:
        meter = self.meters[position - 1] if 1 <= position <= len(self.meters) else None
        if meter is None:
            raise ScpiCommandError(*NOT_MOUNTED)
        return meter

    def _set_constant(self, position: int, params: list[str]) -> None:
        self._mounted(position)
        value = parse_numeric(self.one_param(params))
        if not (math.isfinite(value) and value > 0):
            raise ScpiCommandError(*DATA_OUT_OF_RANGE)
        self.constants[position] = value

    def _set_target(self, position: int, params: list[str]) -> None:
        self._mounted(position)
        text = self.one_param(params).strip()
        if not text.isdigit() or int(text) < 1:
            raise ScpiCommandError(*ILLEGAL_PARAMETER_VALUE)
        self.targets[position] = int(text)

    def _start(self, params: list[str]) -> None:
        if len(params) < 3:
            raise ScpiCommandError(*MISSING_PARAMETER)
        kind = params[0].strip().upper()
        if kind not in {"ACC", "CRE", "STAR", "ENER"}:
            raise ScpiCommandError(*ILLEGAL_PARAMETER_VALUE)
        duration = parse_numeric(params[1], minimum=1e-3, maximum=1e6)
        positions = []
        for text in params[2:]:
            if not text.strip().isdigit():
                raise ScpiCommandError(*ILLEGAL_PARAMETER_VALUE)
            position = int(text)
            self._mounted(position)
            if kind == "ACC" and (position not in self.constants or position not in self.targets):
                raise ScpiCommandError(*NOT_CONFIGURED)
            positions.append(position)
        currents = [self.measured(p, 1) for p in range(1, self.phase_count + 1)]
        if self.test is not None:
            self._close_test(self.test)
        self.test = _Test(
            kind, duration, tuple(positions), time.monotonic(), self.power_w(), max(currents)
        )

    def _stop(self, params: list[str]) -> None:
        self.no_params(params)
        if self.test is not None and self.test.stopped_after_s is None:
            self.test.stopped_after_s = self._elapsed(self.test)

    # -- the tests' course --------------------------------------------------------------

    def _elapsed(self, test: _Test) -> float:
        if test.stopped_after_s is not None:
            return test.stopped_after_s
        return min((time.monotonic() - test.started) * self.speed, test.duration_s)

    def _rate(self, position: int, test: _Test) -> float:
        """Pulses per second of the meter at ``position`` during ``test``."""
        meter = self.meters[position - 1]
        if meter is None or position in self._silent:
            return 0.0
        if test.kind == "CRE":
            return meter.creep_pulses_per_hour / 3600.0
        error = meter.error_at(test.max_current_a)
        return max(0.0, test.power_w) * meter.constant_imp_per_kwh * (1 + error / 100) / 3.6e6

    def _window(self, position: int, test: _Test) -> float:
        """Seconds the position's accuracy window lasts (inf: it never closes)."""
        rate = self._rate(position, test)
        needed = self.targets.get(position, 0) + self._lost.get(position, 0)
        return needed / rate if rate > 0 else math.inf

    def _state(self) -> str:
        test = self.test
        if test is None:
            return "IDLE"
        elapsed = self._elapsed(test)
        if test.stopped_after_s is not None or elapsed >= test.duration_s:
            return "DONE"
        if test.kind == "ACC" and all(self._window(p, test) <= elapsed for p in test.positions):
            return "DONE"
        return "RUNNING"

    def _outcome(self, position: int) -> tuple[int, float]:
        """(pulses counted, reference energy in kWh) of ``position`` in the last test."""
        test = self.test
        if test is None or position not in test.positions:
            return 0, 0.0
        elapsed = self._elapsed(test)
        if test.kind == "ENER":
            return math.floor(elapsed * self._rate(position, test)), test.power_w * elapsed / 3.6e6
        if test.kind != "ACC":
            return math.floor(elapsed * self._rate(position, test)), 0.0
        window = self._window(position, test)
        if window <= elapsed:
            return self.targets[position], test.power_w * window / 3.6e6
        seen = math.floor(elapsed * self._rate(position, test)) - self._lost.get(position, 0)
        return max(0, seen), test.power_w * elapsed / 3.6e6

    def _first(self, position: int) -> str:
        test = self.test
        if test is None or test.kind != "STAR" or position not in test.positions:
            return "NONE"
        rate = self._rate(position, test)
        if rate <= 0 or 1 / rate > self._elapsed(test):
            return "NONE"
        return f"{1 / rate:.6g}"


DEMO_METERS = (0.21, -0.34, 0.48, 0.05, -0.12, 0.37)
"""The errors (%) of the meters the command-line simulator mounts, one per position."""


def start_caltrace_mtb(options: SimulatorOptions) -> TcpSimulator:
    """Start a simulated 6-position bench on TCP (``options.port``, 0 = ephemeral), at
    real speed, with meters of 1000 imp/kWh whose errors are :data:`DEMO_METERS`."""
    meters: list[SimulatedMeter | None] = [SimulatedMeter(1000.0, error) for error in DEMO_METERS]
    bench = SimulatedMeterBench(meters, serial=options.serial or "MTB-0001")
    server = TcpSimulator(bench, host=options.host, port=options.port)
    if options.fault is not None:
        server.inject(options.fault)
    return server.start()
