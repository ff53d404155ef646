"""Simulated Druck PACE5000 / PACE6000 pressure controller, served on TCP (LAN port 5025).

The model answers the K0472 SCPI subset caltrace uses, **echoing the header** of every
instrument-control query as the PACE does (``:OUTP:STAT?`` → ``:OUTP:STAT 0``):
``:UNIT[x]:PRES``, ``:SOUR[x]:PRES`` (setpoint), ``:SOUR[x]:PRES:INL`` (band, % of full
scale), ``:OUTP[x]:STAT``, ``:SENS[x]:PRES?``, ``:SENS[x]:PRES:INL?`` (``<p>,<0|1>``),
``:INST:LIM[n]?``, ``:SYST:ERR?`` and the IEEE 488.2 common commands (answered without a
header). A PACE6000 has two independent modules (suffix 2 addresses the second).

Behaviour of each module: in control mode the pressure approaches the setpoint
exponentially with time constant ``tau_s`` (seconds); in measure mode it holds where it
is. Readings add Gaussian noise from a seeded generator. The in-limits flag is 1 while
control is on and the pressure (without noise) is within the band of the setpoint; the
real controller also waits its in-limits time (2 s by default) before flagging, which this
model leaves out to keep demos and tests fast. A setpoint outside the sensor's range or a
unit it does not know is refused with -222 / -224 in the error queue.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from drivers.simulators.base import SimulatorOptions
from drivers.simulators.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    Handler,
    ScpiCommandError,
    SimulatedScpiInstrument,
    parse_bool,
    parse_numeric,
)
from drivers.simulators.tcp import TcpSimulator

__all__ = ["SimulatedPace", "start_druck_pace"]

PASCALS = {
    "PA": 1.0,
    "HPA": 100.0,
    "KPA": 1e3,
    "MPA": 1e6,
    "MBAR": 100.0,
    "BAR": 1e5,
    "PSI": 6894.757293168361,
    "ATM": 101325.0,
    "TORR": 101325.0 / 760.0,
    "MMHG": 133.322387415,
    "INHG": 3386.389,
}


@dataclass
class _Module:
    """One control module; pressures in Pa, times from ``time.monotonic()``."""

    lower_pa: float
    upper_pa: float
    range_name: str
    unit: str = "MBAR"
    setpoint_pa: float = 101325.0
    start_pa: float = 101325.0
    start_s: float = field(default_factory=time.monotonic)
    control: bool = False
    band_percent: float = 0.02

    def pressure(self, tau_s: float) -> float:
        if not self.control:
            return self.start_pa
        elapsed = time.monotonic() - self.start_s
        weight = math.exp(-elapsed / tau_s) if tau_s > 0 else 0.0
        return self.setpoint_pa + (self.start_pa - self.setpoint_pa) * weight

    def restart(self, tau_s: float) -> None:
        """Freeze the present pressure as the start of a new approach."""
        self.start_pa = self.pressure(tau_s)
        self.start_s = time.monotonic()


class SimulatedPace(SimulatedScpiInstrument):
    """Model of a PACE5000 (one module) or PACE6000 (two), stateful and thread-safe.

    ``pressure``: the starting pressure of every module, in ``unit`` (default 1013.25
    mbar). ``upper``/``lower``: the control sensor's full scale in ``unit``. ``tau_s``:
    the control time constant (s). ``noise``: standard deviation of the reading noise in
    ``unit``. ``seed``: seed of the noise generator.
    """

    def __init__(
        self,
        *,
        model: str = "PACE5000",
        serial: str = "3101234",
        firmware: str = "02.00.05",
        unit: str = "MBAR",
        pressure: float | None = None,
        lower: float = 0.0,
        upper: float = 7000.0,
        tau_s: float = 0.5,
        noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        if model not in {"PACE5000", "PACE6000"}:
            raise ValueError(f"unknown model {model!r}")
        if unit not in PASCALS:
            raise ValueError(f"unknown unit {unit!r}")
        super().__init__(f"GE Druck,{model},{serial},{firmware}")
        self.model = model
        self.tau_s = tau_s
        scale = PASCALS[unit]
        self._noise_pa = noise * scale
        self._rng = random.Random(seed)
        start = (1013.25 * 100.0) if pressure is None else pressure * scale
        self._modules = [
            _Module(lower * scale, upper * scale, f"{upper:g}{unit.lower()}", unit, start, start)
            for _ in range(2 if model == "PACE6000" else 1)
        ]
        for index in range(len(self._modules)):
            self._register_module(index)
        for sensor in (1, 5):
            if sensor == 5 and len(self._modules) < 2:
                break
            self._register_limits(sensor, self._modules[0 if sensor == 1 else 1])

    # -- test and demo controls ---------------------------------------------------------

    def module_state(self, module: int = 1) -> _Module:
        """The state of ``module`` (1 or 2), for tests."""
        return self._modules[module - 1]

    def true_pressure(self, module: int = 1) -> float:
        """The module's pressure without noise, in its current unit."""
        with self.lock:
            state = self._modules[module - 1]
            return state.pressure(self.tau_s) / PASCALS[state.unit]

    def pressure_pa(self, module: int = 1) -> float:
        """The module's pressure without noise, in Pa (a simulated bench's coupling)."""
        with self.lock:
            return self._modules[module - 1].pressure(self.tau_s)

    def approach(self, module: int = 1) -> int:
        """Which way the module's pressure is moving under control: +1 rising towards
        the setpoint, -1 falling, 0 not controlling or already at it."""
        with self.lock:
            state = self._modules[module - 1]
            if not state.control or state.setpoint_pa == state.start_pa:
                return 0
            return 1 if state.setpoint_pa > state.start_pa else -1

    # -- handlers -----------------------------------------------------------------------

    def _register_common(self) -> None:
        # Registered first: the PACE echoes the header of its error-queue answer too.
        self.command("SYSTem:ERRor[:NEXT]", self._echoed_error, query=True)
        super()._register_common()

    def _echoed_error(self, params: list[str]) -> str:
        self.no_params(params)
        code, text = self._errors.popleft() if self._errors else (0, "No error")
        return f':SYST:ERR {code},"{text}"'

    def _register_module(self, index: int) -> None:
        state = self._modules[index]
        suffixes = ("", "1") if index == 0 else ("2",)
        for suffix in suffixes:
            echo = "" if suffix == "1" else suffix
            source = f"SOURce{suffix}[:PRESsure][:LEVel][:IMMediate][:AMPlitude]"
            answers: list[tuple[str, Callable[[_Module], str], bool]] = [
                (f"UNIT{suffix}[:PRESsure]", lambda s: s.unit, False),
                (source, lambda s: self._show(s, s.setpoint_pa), False),
                (f"SOURce{suffix}[:PRESsure]:INLimits", lambda s: f"{s.band_percent:g}", False),
                (f"OUTPut{suffix}[:STATe]", lambda s: str(int(s.control)), False),
                (f"SENSe{suffix}[:PRESsure]", self._read, True),
                (f"SENSe{suffix}[:PRESsure]:INLimits", self._inl, True),
            ]
            setters = {
                f"UNIT{suffix}[:PRESsure]": self._set_unit(state),
                source: self._set_setpoint(state),
                f"SOURce{suffix}[:PRESsure]:INLimits": self._set_band(state),
                f"OUTPut{suffix}[:STATe]": self._set_control(state),
            }
            for notation, value, measurement in answers:
                header = _echo_header(notation, echo)
                self.command(
                    notation,
                    self.answer(partial(_echoed, header, value, state)),
                    query=True,
                    measurement=measurement,
                )
                if notation in setters:
                    self.command(notation, setters[notation])

    def _register_limits(self, sensor: int, state: _Module) -> None:
        def limits() -> str:
            scale = PASCALS[state.unit]
            upper, lower = state.upper_pa / scale, state.lower_pa / scale
            return f':INST:LIM{"" if sensor == 1 else sensor} "{state.range_name}",' + (
                f"{upper:.7e},{lower:.7e}"
            )

        suffixes = ("", "1") if sensor == 1 else (str(sensor),)
        for suffix in suffixes:
            self.command(f"INSTrument:LIMits{suffix}", self.answer(limits), query=True)

    def _set_unit(self, state: _Module) -> Handler:
        def handler(params: list[str]) -> None:
            name = self.one_param(params).strip().upper()
            if name not in PASCALS:
                raise ScpiCommandError.of(ILLEGAL_PARAMETER_VALUE)
            state.unit = name

        return handler

    def _set_setpoint(self, state: _Module) -> Handler:
        def handler(params: list[str]) -> None:
            scale = PASCALS[state.unit]
            value = parse_numeric(self.one_param(params)) * scale
            if not state.lower_pa <= value <= state.upper_pa:
                raise ScpiCommandError.of(DATA_OUT_OF_RANGE)
            state.restart(self.tau_s)
            state.setpoint_pa = value

        return handler

    def _set_band(self, state: _Module) -> Handler:
        def handler(params: list[str]) -> None:
            state.band_percent = parse_numeric(self.one_param(params), minimum=0.001, maximum=10)

        return handler

    def _set_control(self, state: _Module) -> Handler:
        def handler(params: list[str]) -> None:
            enabled = parse_bool(self.one_param(params))
            state.restart(self.tau_s)
            state.control = enabled

        return handler

    def _read(self, state: _Module) -> str:
        value = state.pressure(self.tau_s)
        if self._noise_pa:
            value += self._rng.gauss(0.0, self._noise_pa)
        return self._show(state, value)

    def _inl(self, state: _Module) -> str:
        value = state.pressure(self.tau_s)
        band = state.band_percent / 100.0 * (state.upper_pa - state.lower_pa)
        inside = state.control and abs(value - state.setpoint_pa) <= band
        return f"{self._show(state, value)},{int(inside)}"

    @staticmethod
    def _show(state: _Module, pascals: float) -> str:
        return f"{pascals / PASCALS[state.unit]:.7e}"


def _echo_header(notation: str, suffix: str) -> str:
    """The short-form header the PACE echoes: ``SENSe2[:PRESsure]`` → ``:SENS2:PRES``."""
    words = []
    for word in notation.replace("[", "").replace("]", "").split(":"):
        if not word:
            continue
        short = "".join(c for c in word if c.isupper())
        words.append(short)
    if words[0] == "SOUR":  # the optional [:LEVel][:IMMediate][:AMPlitude] are not echoed
        words = [w for w in words if w not in {"LEV", "IMM", "AMP"}]
    words[0] += suffix
    return ":" + ":".join(words)


def _echoed(header: str, value: Callable[[_Module], str], state: _Module) -> str:
    return f"{header} {value(state)}"


def start_druck_pace(options: SimulatorOptions) -> TcpSimulator:
    """Start a simulated PACE5000 on TCP and return it.

    The controller works in mbar. ``options.value``: the starting pressure in mbar
    (default 1013.25); ``options.noise``: reading noise in mbar (default 0.01); the control
    time constant is 0.5 s.
    """
    instrument = SimulatedPace(
        serial=options.serial or "3101234",
        pressure=options.value,
        noise=0.01 if options.noise is None else options.noise,
        seed=options.seed,
    )
    server = TcpSimulator(instrument, host=options.host, port=options.port)
    if options.fault is not None:
        server.inject(options.fault)
    return server.start()
