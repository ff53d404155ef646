"""Simulated Fluke 5522A multi-product calibrator, served on TCP like a LAN-to-GPIB port.

The model speaks the 5522A's remote language for what caltrace uses: ``OUT`` (amplitude
with its unit and multiplier, and a frequency for V and A), ``OPER``, ``OPER?``, ``STBY``,
``ISR?``, ``ERR?``, ``FAULT?``, ``EXPLAIN?``, ``REMOTE``/``LOCAL`` and the IEEE 488.2
common commands (``*OPC?`` answers once the pending output change has settled).

Behaviour:

* powers up (and ``*RST``) in standby at 0 V DC;
* every output change and every ``OPER`` restarts a settling period (``settle_s``,
  seconds); ``ISR?`` shows SETTLED (bit 12) once it has passed, and ``*OPC?`` waits for it;
* ``ISR?`` bit 0 is OPER, bit 7 HIVOLT (a voltage above 33 V programmed), bit 11 REMOTE;
* the error queue holds 16 entries, the last replaced by ``1,"Error queue overflow"`` on
  overflow; ``ERR?`` answers ``0,"No Error"`` when empty (codes and texts of Appendix D);
* an injected device error is a ``104,"Hardware relay trip occurred"`` fault: a D-class
  error, so the calibrator returns to its power-up state (standby) and sends no answer
  (number, text and class ``DDE:FR D`` as in 5522A Operators Manual Appendix D p. D-1,
  read at https://www.easymanua.ls/fluke/5522a/manual?p=421, which also lists
  ``0 (QYE: ) No Error`` and ``1 (DDE:FR ) Error queue overflow``);
* :meth:`SimulatedFluke5522A.trip` queues any fault and drops to standby, like an S-class
  error, for tests of a driver's reaction.

Numbering of refusals: syntax and unknown commands queue ``1300,"Bad syntax"`` (as seen in
5520A fault messages); an amplitude or frequency outside the limits queues ``1200`` with
this simulator's own text, since the manual's number for it was not confirmed here (only
Appendix D's first page, errors 0-105, could be read; 1200 and 1300 remain unverified).
"""

from __future__ import annotations

import re
import time

from drivers.simulators.base import NO_REPLY, Reply, SimulatorOptions
from drivers.simulators.scpi import ScpiCommandError, SimulatedScpiInstrument
from drivers.simulators.tcp import TcpSimulator

__all__ = ["SimulatedFluke5522A", "start_fluke_5522a"]

NO_ERROR = (0, "No Error")
QUEUE_OVERFLOW = (1, "Error queue overflow")
RELAY_TRIP = (104, "Hardware relay trip occurred")
BAD_SYNTAX = (1300, "Bad syntax")
OUTSIDE_LIMITS = (1200, "Output outside the calibrator's limits")

ISR_OPER = 1 << 0
ISR_HIVOLT = 1 << 7
ISR_REMOTE = 1 << 11
ISR_SETTLED = 1 << 12

_AMOUNT = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*")
_UNITS = {
    "V": ("V", 1.0),
    "MV": ("V", 1e-3),
    "UV": ("V", 1e-6),
    "A": ("A", 1.0),
    "MA": ("A", 1e-3),
    "UA": ("A", 1e-6),
    "OHM": ("OHM", 1.0),
    "KOHM": ("OHM", 1e3),
    "MOHM": ("OHM", 1e6),
    "HZ": ("HZ", 1.0),
    "KHZ": ("HZ", 1e3),
    "MHZ": ("HZ", 1e6),
}
# The simulator's own statement of the limits (overall, per function), kept apart from the
# driver's tables so the driver is tested against an independent statement.
_DC_LIMITS = {"V": 1020.0, "A": 20.5}
_AC_LIMITS = {"V": (1e-3, 1020.0, 10.0, 500e3), "A": (29e-6, 20.5, 10.0, 30e3)}
_OHM_LIMIT = 1100e6


class SimulatedFluke5522A(SimulatedScpiInstrument):
    """Model of a Fluke 5522A, stateful and thread-safe.

    ``settle_s``: seconds an output change takes to settle. ``value``: the DC voltage
    programmed at power-up (V; default 0). ``serial``/``firmware``: what ``*IDN?`` reports.
    """

    error_queue_size = 16

    def __init__(
        self,
        *,
        serial: str = "9876543",
        firmware: str = "1.0+1.0+1.0+1.0",
        settle_s: float = 0.05,
        value: float | None = None,
    ) -> None:
        if settle_s < 0:
            raise ValueError(f"settle_s must be >= 0 s, got {settle_s}")
        self.settle_s = settle_s
        self._power_up_volts = 0.0 if value is None else value
        self._settled_at = 0.0
        super().__init__(f"FLUKE,5522A,{serial},{firmware}")
        self.unit = "V"
        self.amplitude = 0.0
        self.frequency_hz = 0.0
        self.operate = False
        self.reset_state()
        self.command("OUT", self._out)
        self.command("OPER", self._oper)
        self.command("OPER", self.answer(lambda: "1" if self.operate else "0"), query=True)
        self.command("STBY", self._stby)
        self.command("ISR", self.answer(lambda: str(self.status())), query=True, measurement=True)
        self.command("ERR", self._err, query=True)
        self.command("FAULT", self._fault, query=True)
        self.command("EXPLAIN", self._explain, query=True)
        self.command("REMOTE", self._nothing)
        self.command("LOCAL", self._nothing)

    # -- test and demo controls ---------------------------------------------------------

    def status(self) -> int:
        """The Instrument Status Register now (bits ``ISR_*``)."""
        with self.lock:
            isr = ISR_REMOTE
            if self.operate:
                isr |= ISR_OPER
            if self.unit == "V" and abs(self.amplitude) > 33.0:
                isr |= ISR_HIVOLT
            if time.monotonic() >= self._settled_at:
                isr |= ISR_SETTLED
            return isr

    def output_at_terminals(self) -> tuple[str, float, float]:
        """What the output terminals carry now: (unit ``V``/``A``/``OHM``, amplitude in
        that unit, frequency in Hz); amplitude 0 in standby. A simulated bench reads it
        to couple the calibrator to the meter connected to it."""
        with self.lock:
            amplitude = self.amplitude if self.operate else 0.0
            return self.unit, amplitude, self.frequency_hz

    def trip(self, code: int, text: str) -> None:
        """Queue error ``code`` and drop to standby, as an S-class error does."""
        with self.lock:
            self.push_error(code, text)
            self.operate = False

    def push_error(self, code: int, text: str) -> None:
        """Queue an error; SCPI parse errors of the base become ``1300,"Bad syntax"``."""
        if code < 0:
            code, text = BAD_SYNTAX
        with self.lock:
            if len(self._errors) >= self.error_queue_size:
                self._errors[-1] = QUEUE_OVERFLOW
                return
            self._errors.append((code, text))

    # -- state --------------------------------------------------------------------------

    def reset_state(self) -> None:
        """The power-up / ``*RST`` state: standby, DC volts at the power-up value."""
        self.operate = False
        self.unit = "V"
        self.amplitude = self._power_up_volts
        self.frequency_hz = 0.0
        self._settled_at = time.monotonic() + self.settle_s

    def device_error(self, message: str, reply: Reply) -> Reply:
        """An injected device error: a relay trip (D class) — power-up state, no answer."""
        self.push_error(*RELAY_TRIP)
        self.reset_state()
        return NO_REPLY

    # -- handlers -----------------------------------------------------------------------

    def _register_common(self) -> None:
        # Registered first so it is found before the base's immediate "*OPC?" answer.
        self.command("*OPC", self._opc, query=True)
        super()._register_common()

    def _opc(self, params: list[str]) -> str:
        self.no_params(params)
        remaining = self._settled_at - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)  # a real calibrator holds the answer the same way
        return "1"

    def _out(self, params: list[str]) -> None:
        if not params or len(params) > 2:
            raise ScpiCommandError(*BAD_SYNTAX)
        value, unit = _amount(params[0])
        frequency = 0.0
        if len(params) == 2:
            frequency, freq_unit = _amount(params[1])
            if freq_unit != "HZ" or unit == "OHM":
                raise ScpiCommandError(*BAD_SYNTAX)
        if unit not in {"V", "A", "OHM"}:
            raise ScpiCommandError(*BAD_SYNTAX)
        if unit == "OHM":
            if not 0.0 <= value <= _OHM_LIMIT:
                raise ScpiCommandError(*OUTSIDE_LIMITS)
        elif frequency == 0.0:
            if abs(value) > _DC_LIMITS[unit]:
                raise ScpiCommandError(*OUTSIDE_LIMITS)
        else:
            low, high, f_low, f_high = _AC_LIMITS[unit]
            if not (low <= value <= high and f_low <= frequency <= f_high):
                raise ScpiCommandError(*OUTSIDE_LIMITS)
        self.unit, self.amplitude, self.frequency_hz = unit, value, frequency
        self._settled_at = time.monotonic() + self.settle_s

    def _oper(self, params: list[str]) -> None:
        self.no_params(params)
        if not self.operate:
            self.operate = True
            self._settled_at = time.monotonic() + self.settle_s

    def _stby(self, params: list[str]) -> None:
        self.no_params(params)
        self.operate = False

    def _err(self, params: list[str]) -> str:
        self.no_params(params)
        code, text = self._errors.popleft() if self._errors else NO_ERROR
        return f'{code},"{text}"'

    def _fault(self, params: list[str]) -> str:
        self.no_params(params)
        code, _ = self._errors.popleft() if self._errors else NO_ERROR
        return str(code)

    def _explain(self, params: list[str]) -> str:
        code = self.one_param(params).strip()
        known = dict([NO_ERROR, QUEUE_OVERFLOW, RELAY_TRIP, BAD_SYNTAX, OUTSIDE_LIMITS])
        if not code.isdigit() or int(code) not in known:
            raise ScpiCommandError(*BAD_SYNTAX)
        return f'"{known[int(code)]}"'


def _amount(text: str) -> tuple[float, str]:
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ScpiCommandError(*BAD_SYNTAX)
    unit, scale = _UNITS.get(match.group(2).upper(), ("", 0.0))
    if not unit:
        raise ScpiCommandError(*BAD_SYNTAX)
    return float(match.group(1)) * scale, unit


def start_fluke_5522a(options: SimulatorOptions) -> TcpSimulator:
    """Start a simulated 5522A on TCP (``options.port``, 0 = ephemeral) and return it.

    ``options.value`` is the DC voltage programmed at power-up (V); ``options.noise`` does
    not apply (the model sources, it does not measure).
    """
    instrument = SimulatedFluke5522A(serial=options.serial or "9876543", value=options.value)
    server = TcpSimulator(instrument, host=options.host, port=options.port)
    if options.fault is not None:
        server.inject(options.fault)
    return server.start()
