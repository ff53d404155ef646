"""Simulated Keysight 34465A / 34470A Truevolt DMM, served on a TCP port like LAN port 5025.

The model follows the manufacturer's SCPI command set for what caltrace uses:
``CONFigure``, ``MEASure?``, ``READ?``, ``INITiate``, ``FETCh?``, ``[SENSe:]FUNCtion``,
per-function ``RANGe``, ``RANGe:AUTO`` and ``NPLCycles``, ``TRIGger:COUNt``,
``SAMPle:COUNt``, ``SYSTem:ERRor?`` and the IEEE 488.2 common commands.

Readings are the configured input plus Gaussian noise from a seeded generator, rounded
to the last digit the range and integration time resolve, in the instrument's
``SD.DDDDDDDDESDD`` format. A value beyond the range (120 % of the nominal range; the
1000 V DC, 750 V AC and 3 A ranges have no over-range here) reads ``+9.90000000E+37``
(``-9.9E+37`` when negative), as Truevolt meters report an overload. With autorange the
model picks the smallest range that holds the value.

The model answers at once unless ``timing`` is set: then each reading takes the meter's
integration time, NPLC / line frequency (10 PLC on 50 Hz mains: 0.2 s, the data sheet's
5 readings/s), as a bench benchmark needs to compare software against a real reading's
cost. Auto-zero, settling delays and the LAN's own latency are not modelled, so the real
meter is slower still.

Kept apart from the driver's tables on purpose: the simulator stands for the instrument,
so the driver is tested against an independent statement of what the instrument accepts.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from drivers.simulators.base import SimulatorOptions
from drivers.simulators.scpi import (
    DATA_OUT_OF_RANGE,
    DATA_STALE,
    ILLEGAL_PARAMETER_VALUE,
    PARAMETER_NOT_ALLOWED,
    Handler,
    ScpiCommandError,
    SimulatedScpiInstrument,
    parse_bool,
    parse_numeric,
)
from drivers.simulators.tcp import TcpSimulator

__all__ = ["SimulatedKeysight344xxA", "start_keysight_34465a", "start_keysight_34470a"]

OVERLOAD = 9.9e37
_SETTINGS_CONFLICT = (-221, "Settings conflict")

# Resolution in parts of range per integration time (NPLC), from the Truevolt data sheet
# tables as reproduced by QCoDeS; the DIG option adds 0.001, 0.002 and 0.006 PLC.
_RESOLUTION = {
    "34465A": {0.02: 3e-6, 0.06: 1.5e-6, 0.2: 0.7e-6, 1.0: 0.3e-6, 10.0: 0.1e-6, 100.0: 0.03e-6},
    "34470A": {0.02: 1e-6, 0.06: 0.5e-6, 0.2: 0.3e-6, 1.0: 0.1e-6, 10.0: 0.03e-6, 100.0: 0.01e-6},
}
_DIG_RESOLUTION = {
    "34465A": {0.001: 30e-6, 0.002: 15e-6, 0.006: 6e-6},
    "34470A": {0.001: 30e-6, 0.002: 10e-6, 0.006: 3e-6},
}


@dataclass
class _Sense:
    """State of one measurement function."""

    name: str  # as *FUNC? reports it, without quotes
    ranges: tuple[float, ...]
    no_overrange: tuple[float, ...]
    nplc_applies: bool
    default_input: float
    default_noise: float
    range: float = 0.0
    auto: bool = True
    nplc: float = 10.0

    def limit(self, rng: float) -> float:
        return rng if rng in self.no_overrange else 1.2 * rng


def _senses() -> dict[str, _Sense]:
    decades = tuple(10.0**n for n in range(2, 10))  # 100 ohm .. 1 Gohm
    return {
        "VOLT": _Sense("VOLT", (0.1, 1.0, 10.0, 100.0, 1000.0), (1000.0,), True, 1.0, 2e-6),
        "VOLT:AC": _Sense("VOLT:AC", (0.1, 1.0, 10.0, 100.0, 750.0), (750.0,), False, 1.0, 2e-5),
        "CURR": _Sense(
            "CURR",
            (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0),
            (3.0,),
            True,
            1e-3,
            2e-9,
        ),
        "RES": _Sense("RES", decades, (), True, 100.0, 2e-4),
        "FRES": _Sense("FRES", decades, (), True, 100.0, 1e-4),
    }


_FUNCTION_NAMES = {
    "VOLT": "VOLT",
    "VOLT:DC": "VOLT",
    "VOLTAGE": "VOLT",
    "VOLTAGE:DC": "VOLT",
    "VOLT:AC": "VOLT:AC",
    "VOLTAGE:AC": "VOLT:AC",
    "CURR": "CURR",
    "CURR:DC": "CURR",
    "CURRENT": "CURR",
    "CURRENT:DC": "CURR",
    "RES": "RES",
    "RESISTANCE": "RES",
    "FRES": "FRES",
    "FRESISTANCE": "FRES",
}

# Command-tree nodes of each function, in the manual's notation.
_NODES = {
    "VOLT": "VOLTage[:DC]",
    "VOLT:AC": "VOLTage:AC",
    "CURR": "CURRent[:DC]",
    "RES": "RESistance",
    "FRES": "FRESistance",
}


class SimulatedKeysight344xxA(SimulatedScpiInstrument):
    """Model of a Keysight 34465A or 34470A (``model``), stateful and thread-safe.

    ``value``: the input seen by every function (V, A or ohm), None for per-function
    defaults (1 V, 1 V, 1 mA, 100 ohm, 100 ohm); change one with :meth:`set_input`.
    ``noise``: standard deviation of the Gaussian noise (same unit), None for
    per-function defaults of a few ppm. ``seed``: seed of the noise generator. ``dig``:
    whether the DIG option (fast integration times) is installed. ``timing``: whether a
    reading takes its integration time (see the module's docstring); ``line_frequency_hz``:
    the mains frequency a power-line cycle counts (50 Hz in Việt Nam).
    """

    def __init__(
        self,
        *,
        model: str = "34465A",
        serial: str = "MY54500001",
        firmware: str = "A.02.14-02.40-02.14-00.49-03-01",
        value: float | None = None,
        noise: float | None = None,
        seed: int = 0,
        dig: bool = False,
        timing: bool = False,
        line_frequency_hz: float = 50.0,
    ) -> None:
        if model not in _RESOLUTION:
            raise ValueError(f"unknown model {model!r}")
        super().__init__(
            f"Keysight Technologies,{model},{serial},{firmware}",
            options=f"0,0,{'DIG' if dig else '0'},MEM,0",
        )
        if not line_frequency_hz > 0:
            raise ValueError(f"line frequency must be positive, not {line_frequency_hz}")
        self.model = model
        self.timing = timing
        self.line_frequency_hz = line_frequency_hz
        self._rng = random.Random(seed)
        self._resolution = dict(_RESOLUTION[model])
        if dig:
            self._resolution |= _DIG_RESOLUTION[model]
        self._nplc_choices = tuple(sorted(self._resolution))
        self._senses = _senses()
        self._inputs = {
            k: (s.default_input if value is None else value) for k, s in self._senses.items()
        }
        self._noise = {
            k: (s.default_noise if noise is None else noise) for k, s in self._senses.items()
        }
        self._sources: dict[str, Callable[[], float]] = {}
        self.function = "VOLT"
        self.trigger_count = 1.0
        self.sample_count = 1
        self._memory: list[str] = []
        self.reset_state()
        self._register()

    # -- test and demo controls ---------------------------------------------------------

    def set_input(self, function: str, value: float, *, noise: float | None = None) -> None:
        """Set what the meter sees for ``function`` (``VOLT``, ``VOLT:AC``, ``CURR``,
        ``RES``, ``FRES``; unit V, A or ohm), and optionally its noise."""
        with self.lock:
            self._inputs[function] = value
            if noise is not None:
                self._noise[function] = noise

    def set_input_source(self, function: str, source: Callable[[], float] | None) -> None:
        """Make ``source()`` what the meter sees for ``function`` (unit V, A or ohm), asked
        at the moment of each measurement: how a simulated bench couples the meter to
        what the other instruments do. None goes back to the fixed input of
        :meth:`set_input`. ``source`` is called with the meter's lock held: it must not
        call back into this meter."""
        if function not in self._senses:
            raise ValueError(f"unknown function {function!r}")
        with self.lock:
            if source is None:
                self._sources.pop(function, None)
            else:
                self._sources[function] = source

    def sense_range(self, function: str) -> tuple[float, bool]:
        """The current range and autorange flag of ``function`` (for tests)."""
        with self.lock:
            sense = self._senses[function]
            return sense.range, sense.auto

    def sense_nplc(self, function: str) -> float:
        """The integration time (PLC) of ``function`` (for tests)."""
        with self.lock:
            return self._senses[function].nplc

    # -- state --------------------------------------------------------------------------

    def reset_state(self) -> None:
        """The ``*RST`` state: DC volts, autorange, 10 PLC, one trigger, one sample."""
        for sense in self._senses.values():
            sense.auto = True
            sense.range = sense.ranges[-1]
            sense.nplc = 10.0
        self.function = "VOLT"
        self.trigger_count = 1.0
        self.sample_count = 1
        self._memory = []

    def _register(self) -> None:
        for function, node in _NODES.items():
            sense = self._senses[function]
            self.command(f"CONFigure:{node}", self._configure_handler(function))
            self.command(
                f"MEASure:{node}",
                self._measure_handler(function),
                query=True,
                measurement=True,
            )
            self.command(f"[SENSe:]{node}:RANGe", self._range_handler(sense))
            self.command(
                f"[SENSe:]{node}:RANGe",
                self.answer(partial(_range_text, sense)),
                query=True,
            )
            self.command(f"[SENSe:]{node}:RANGe:AUTO", self._auto_handler(sense))
            self.command(
                f"[SENSe:]{node}:RANGe:AUTO",
                self.answer(partial(_auto_text, sense)),
                query=True,
            )
            if sense.nplc_applies:
                self.command(f"[SENSe:]{node}:NPLCycles", self._nplc_handler(sense))
                self.command(
                    f"[SENSe:]{node}:NPLCycles",
                    self.answer(partial(_nplc_text, sense)),
                    query=True,
                )
        self.command("CONFigure", self._conf_query, query=True)
        self.command("READ", self._read, query=True, measurement=True)
        self.command("INITiate[:IMMediate]", self._initiate)
        self.command("FETCh", self._fetch, query=True, measurement=True)
        self.command("[SENSe:]FUNCtion[:ON]", self._set_function)
        self.command(
            "[SENSe:]FUNCtion[:ON]",
            self.answer(lambda: f'"{self.function}"'),
            query=True,
        )
        self.command("TRIGger:COUNt", self._set_trigger_count)
        self.command("TRIGger:COUNt", self.answer(lambda: _nr3(self.trigger_count)), query=True)
        self.command("SAMPle:COUNt", self._set_sample_count)
        self.command("SAMPle:COUNt", self.answer(lambda: f"+{self.sample_count}"), query=True)
        self.command("SYSTem:LFRequency", self.answer(lambda: "+50"), query=True)

    # -- handlers -----------------------------------------------------------------------

    def _configure_handler(self, function: str) -> Handler:
        def handler(params: list[str]) -> None:
            self._configure(function, params)

        return handler

    def _measure_handler(self, function: str) -> Handler:
        def handler(params: list[str]) -> str:
            self._configure(function, params)
            return self._read([])

        return handler

    def _configure(self, function: str, params: list[str]) -> None:
        if len(params) > 2:
            raise ScpiCommandError.of(PARAMETER_NOT_ALLOWED)
        sense = self._senses[function]
        range_text = params[0] if params else "AUTO"
        if range_text.strip().upper() in {"AUTO", "DEF", "DEFAULT"}:
            auto, rng = True, sense.range
        else:
            auto, rng = False, self._pick_range(sense, range_text)
        if len(params) == 2:
            # Resolution: accepted (MIN/MAX/DEF or a number) but the model keeps 10 PLC.
            parse_numeric(params[1], minimum=0.0, maximum=math.inf, default=0.0)
        sense.auto, sense.range = auto, rng
        if sense.nplc_applies:
            sense.nplc = 10.0
        self.function = function
        self.trigger_count = 1.0
        self.sample_count = 1
        self._memory = []

    def _pick_range(self, sense: _Sense, text: str) -> float:
        value = parse_numeric(
            text, minimum=-sense.ranges[-1], maximum=sense.ranges[-1], default=sense.ranges[-1]
        )
        word = text.strip().upper()
        if word in {"MIN", "MINIMUM"}:
            return sense.ranges[0]
        if word in {"MAX", "MAXIMUM"}:
            return sense.ranges[-1]
        for rng in sense.ranges:  # the instrument picks the range that holds the value
            if abs(value) <= rng:
                return rng
        raise ScpiCommandError.of(DATA_OUT_OF_RANGE)

    def _range_handler(self, sense: _Sense) -> Handler:
        def handler(params: list[str]) -> None:
            sense.range = self._pick_range(sense, self.one_param(params))
            sense.auto = False

        return handler

    def _auto_handler(self, sense: _Sense) -> Handler:
        def handler(params: list[str]) -> None:
            text = self.one_param(params)
            if text.strip().upper() == "ONCE":
                sense.range = self._autorange(sense, self._input(sense.name))
                sense.auto = False
            else:
                sense.auto = parse_bool(text)

        return handler

    def _nplc_handler(self, sense: _Sense) -> Handler:
        choices = self._nplc_choices

        def handler(params: list[str]) -> None:
            value = parse_numeric(
                self.one_param(params), minimum=choices[0], maximum=choices[-1], default=10.0
            )
            # In between two integration times: the next longer one (as for ranges).
            sense.nplc = next(c for c in choices if c >= value - 1e-12)

        return handler

    def _set_function(self, params: list[str]) -> None:
        text = self.one_param(params).strip().strip("\"'").upper()
        function = _FUNCTION_NAMES.get(text)
        if function is None:
            raise ScpiCommandError.of(ILLEGAL_PARAMETER_VALUE)
        self.function = function

    def _set_trigger_count(self, params: list[str]) -> None:
        self.trigger_count = parse_numeric(
            self.one_param(params), minimum=1, maximum=1e9, default=1, specials={"INF": OVERLOAD}
        )
        if self.trigger_count != OVERLOAD:
            self.trigger_count = float(int(self.trigger_count))

    def _set_sample_count(self, params: list[str]) -> None:
        self.sample_count = int(
            parse_numeric(self.one_param(params), minimum=1, maximum=1e9, default=1)
        )

    def _conf_query(self, params: list[str]) -> str:
        self.no_params(params)
        sense = self._senses[self.function]
        step = sense.range * self._resolution.get(sense.nplc, 1e-6)
        return f'"{sense.name} {_nr3(sense.range)},{_nr3(step)}"'

    def _initiate(self, params: list[str]) -> None:
        self.no_params(params)
        if self.trigger_count == OVERLOAD:
            raise ScpiCommandError.of(_SETTINGS_CONFLICT)
        self._memory = self._take(int(self.trigger_count) * self.sample_count)

    def _fetch(self, params: list[str]) -> str:
        self.no_params(params)
        if not self._memory:
            raise ScpiCommandError.of(DATA_STALE)
        return ",".join(self._memory)

    def _read(self, params: list[str]) -> str:
        self._initiate(params)
        return ",".join(self._memory)

    # -- readings -----------------------------------------------------------------------

    def _autorange(self, sense: _Sense, value: float) -> float:
        for rng in sense.ranges:
            if abs(value) <= sense.limit(rng):
                return rng
        return sense.ranges[-1]

    def _input(self, function: str) -> float:
        source = self._sources.get(function)
        return self._inputs[function] if source is None else source()

    def _take(self, count: int) -> list[str]:
        sense = self._senses[self.function]
        base = self._input(self.function)
        noise = self._noise[self.function]
        gauss = self._rng.gauss
        if self.timing:
            # The meter integrates for NPLC power-line cycles per reading; functions
            # without NPLC (AC) are counted as 1 PLC here.
            plc = sense.nplc if sense.nplc_applies else 1.0
            time.sleep(count * plc / self.line_frequency_hz)
        out: list[str] = []
        for _ in range(count):
            value = base + gauss(0.0, noise) if noise else base
            if sense.auto:
                sense.range = self._autorange(sense, value)
            rng = sense.range
            if abs(value) > sense.limit(rng):
                out.append("+9.90000000E+37" if value >= 0 else "-9.90000000E+37")
                continue
            factor = self._resolution.get(sense.nplc, 1e-6) if sense.nplc_applies else 1e-6
            # The last digit shown: the power of ten at or below the resolution.
            digits = -math.floor(math.log10(rng * factor) + 1e-9)
            out.append(f"{round(value, digits):+.8E}")
        return out


def _nr3(value: float) -> str:
    return f"{value:+.8E}"


def _range_text(sense: _Sense) -> str:
    return _nr3(sense.range)


def _auto_text(sense: _Sense) -> str:
    return "1" if sense.auto else "0"


def _nplc_text(sense: _Sense) -> str:
    return _nr3(sense.nplc)


def _start(model: str, options: SimulatorOptions) -> TcpSimulator:
    instrument = SimulatedKeysight344xxA(
        model=model,
        serial=options.serial or "MY54500001",
        value=options.value,
        noise=options.noise,
        seed=options.seed,
    )
    server = TcpSimulator(instrument, host=options.host, port=options.port)
    if options.fault is not None:
        server.inject(options.fault)
    return server.start()


def start_keysight_34465a(options: SimulatorOptions) -> TcpSimulator:
    """Start a simulated 34465A on TCP (``options.port``, 0 = ephemeral) and return it."""
    return _start("34465A", options)


def start_keysight_34470a(options: SimulatorOptions) -> TcpSimulator:
    """Start a simulated 34470A on TCP (``options.port``, 0 = ephemeral) and return it."""
    return _start("34470A", options)
