"""Fluke 5522A multi-product calibrator: sources DC/AC voltage and current, and resistance.

The 5522A speaks the IEEE 488.2 common commands plus Fluke's own (not a SCPI tree), the
same language as the 5500A/5520A (5522A Operators Manual, chapters 5-6):

* ``OUT <value> <unit>[, <frequency> HZ]`` programs the output: ``OUT 10.0 V, 0 HZ`` (DC
  volts), ``OUT 1.0 V, 1000.0 HZ`` (AC volts RMS), ``OUT 0.001 A, 0 HZ``, ``OUT 100.0 OHM``.
  The driver always states the frequency of V and A outputs (0 Hz for DC), so a change
  from AC to DC is never left to the calibrator's memory of the last frequency.
* ``OPER`` connects the output, ``STBY`` disconnects it. The 5522A powers up in standby.
* ``*OPC?`` answers ``1`` once pending operations (an ``OUT`` change) are done; ``ISR?``
  returns the Instrument Status Register as a decimal integer: bit 0 OPER (1 = operate),
  bit 7 HIVOLT, bit 11 REMOTE, bit 12 SETTLED (manual Fig. 5-11). :meth:`wait_settled`
  uses both.
* ``ERR?`` pops one entry of the 16-entry error queue as ``<code>,<explanation>``; code 0
  ("No Error") means the queue is empty, code 1 is "Error queue overflow" (Appendix D).
  Errors of class S put the calibrator in standby, class D back to its power-up state.

Safety rule of this driver: **the output is left in standby on close and after any
error**, refusals included. Whatever goes wrong while programming, operating or waiting
(timeout, garbled answer, lost connection, an error the calibrator reports, a value it
cannot source), the driver sends ``STBY`` (best effort, logged) before the error reaches
the caller. A procedure that wants the output back must program it and call
:meth:`Fluke5522A.operate` again.

Limits (refused before anything is sent, never clamped): DC voltage ±1020 V; AC voltage
1 mV to 1020 V RMS; DC current ±20.5 A; AC current 29 µA to 20.5 A RMS; resistance 0 to
1100 MΩ. AC frequency limits depend on the range (see ``_AC_VOLTAGE`` / ``_AC_CURRENT``);
they follow the 5520A/5522A specification tables as we read them and are deliberately
conservative at the top ranges: confirm against the 5522A data sheet before relying on
the band edges. The calibrator rounds a value to its resolution in the selected range.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.errors import (
    DeviceError,
    DriverError,
    GarbledResponse,
    InstrumentReportedError,
    InstrumentTimeout,
    OutOfRange,
)
from drivers.scpi import ScpiDriver
from drivers.validators import format_scpi_number, strict_interval

__all__ = ["Fluke5522A", "OutputSetting", "parse_fluke_error"]

ISR_OPER = 1 << 0
"""Instrument Status Register bit: the output is in operate."""
ISR_HIVOLT = 1 << 7
"""Instrument Status Register bit: the programmed output exceeds 33 V."""
ISR_REMOTE = 1 << 11
"""Instrument Status Register bit: the calibrator is in remote."""
ISR_SETTLED = 1 << 12
"""Instrument Status Register bit: the output has settled."""

_ISR_UNUSED = 0b11110  # bits 1-4 are unused (manual Fig. 5-11): never set in a real answer
_ERROR_ENTRY = re.compile(r'\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*')
_POLL_S = 0.01


@dataclass(frozen=True, slots=True)
class _Band:
    """One source range: upper amplitude limit (unit), resolution, frequency band (Hz)."""

    nominal: float
    limit: float
    resolution: float
    min_hz: float = 0.0
    max_hz: float = 0.0


# DC ranges are symmetric (±limit); AC ranges are RMS, from the previous range's top.
_DC_VOLTAGE = (
    _Band(0.33, 0.3299999, 0.1e-6),
    _Band(3.3, 3.299999, 1e-6),
    _Band(33.0, 32.99999, 10e-6),
    _Band(330.0, 329.9999, 100e-6),
    _Band(1020.0, 1020.0, 1e-3),
)
_AC_VOLTAGE_MIN = 1e-3
_AC_VOLTAGE = (
    _Band(0.033, 0.032999, 1e-6, 10.0, 500e3),
    _Band(0.33, 0.329999, 1e-6, 10.0, 500e3),
    _Band(3.3, 3.29999, 10e-6, 10.0, 500e3),
    _Band(33.0, 32.9999, 100e-6, 10.0, 100e3),
    _Band(330.0, 329.999, 1e-3, 45.0, 10e3),
    _Band(1020.0, 1020.0, 10e-3, 45.0, 1e3),
)
_DC_CURRENT = (
    _Band(330e-6, 329.999e-6, 1e-9),
    _Band(3.3e-3, 3.29999e-3, 10e-9),
    _Band(33e-3, 32.9999e-3, 100e-9),
    _Band(0.33, 0.329999, 1e-6),
    _Band(1.1, 1.09999, 10e-6),
    _Band(3.0, 2.99999, 10e-6),
    _Band(11.0, 10.9999, 100e-6),
    _Band(20.5, 20.5, 100e-6),
)
_AC_CURRENT_MIN = 29e-6
_AC_CURRENT = (
    _Band(330e-6, 329.99e-6, 10e-9, 10.0, 30e3),
    _Band(3.3e-3, 3.29999e-3, 10e-9, 10.0, 30e3),
    _Band(33e-3, 32.9999e-3, 100e-9, 10.0, 30e3),
    _Band(0.33, 0.329999, 1e-6, 10.0, 30e3),
    _Band(1.1, 1.09999, 10e-6, 10.0, 10e3),
    _Band(3.0, 2.99999, 10e-6, 10.0, 10e3),
    _Band(11.0, 10.9999, 100e-6, 45.0, 1e3),
    _Band(20.5, 20.5, 100e-6, 45.0, 1e3),
)
_RESISTANCE_MAX = 1100e6


def _dc_spans(bands: tuple[_Band, ...]) -> tuple[Span, ...]:
    return tuple(Span(-b.limit, b.limit, b.nominal, b.resolution) for b in bands)


def _ac_spans(bands: tuple[_Band, ...], minimum: float) -> tuple[Span, ...]:
    spans = []
    bottom = minimum
    for band in bands:
        spans.append(Span(bottom, band.limit, band.nominal, band.resolution))
        bottom = band.limit
    return tuple(spans)


def _bands_note(bands: tuple[_Band, ...], unit: str) -> str:
    return "; ".join(f"up to {b.limit:g} {unit}: {b.min_hz:g} Hz to {b.max_hz:g} Hz" for b in bands)


_CAPABILITIES = DriverCapabilities(
    (
        Capability(
            Function.DCV,
            "DC voltage",
            "V",
            Direction.SOURCE,
            _dc_spans(_DC_VOLTAGE),
            autorange=True,
            notes="the calibrator selects the range; output in standby until operate",
        ),
        Capability(
            Function.ACV,
            "AC voltage (RMS, sine)",
            "V",
            Direction.SOURCE,
            _ac_spans(_AC_VOLTAGE, _AC_VOLTAGE_MIN),
            autorange=True,
            settings={"frequency_hz": (10.0, 500e3)},
            notes="frequency band per range: " + _bands_note(_AC_VOLTAGE, "V"),
        ),
        Capability(
            Function.DCI,
            "DC current",
            "A",
            Direction.SOURCE,
            _dc_spans(_DC_CURRENT),
            autorange=True,
            notes="above 11 A the duty cycle is limited (manual)",
        ),
        Capability(
            Function.ACI,
            "AC current (RMS, sine)",
            "A",
            Direction.SOURCE,
            _ac_spans(_AC_CURRENT, _AC_CURRENT_MIN),
            autorange=True,
            settings={"frequency_hz": (10.0, 30e3)},
            notes="frequency band per range: " + _bands_note(_AC_CURRENT, "A"),
        ),
        Capability(
            Function.RES2W,
            "resistance",
            "ohm",
            Direction.SOURCE,
            (Span(0.0, _RESISTANCE_MAX),),
            notes="synthesized resistance; lead compensation (ZCOMP) is left as configured",
        ),
    )
)


@dataclass(frozen=True, slots=True)
class OutputSetting:
    """What the driver last programmed: ``function``, ``value`` in ``unit`` (RMS for AC),
    ``frequency_hz`` (0 for DC and resistance) and the exact ``command`` sent."""

    function: Function
    value: float
    unit: str
    frequency_hz: float
    command: str


def parse_fluke_error(text: str) -> DeviceError:
    """Parse one ``ERR?`` answer: ``<code>,<explanation>`` (explanation quoted or not)."""
    match = _ERROR_ENTRY.fullmatch(text)
    if match is None:
        raise GarbledResponse(
            "malformed ERR? answer", expected="<code>,<explanation>", received=text
        )
    return DeviceError(int(match.group(1)), match.group(2))


def _parse_isr(text: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit() or int(stripped) > 0xFFFF or int(stripped) & _ISR_UNUSED:
        raise GarbledResponse(
            "malformed ISR? answer",
            expected="an integer 0..65535 with the unused bits 1-4 clear",
            received=text,
        )
    return int(stripped)


class Fluke5522A(ScpiDriver):
    """Fluke 5522A multi-product calibrator.

    Implements :class:`~drivers.capabilities.VoltageSource`, ``CurrentSource`` and
    ``ResistanceSource``. Typical use: ``set_voltage(10.0)``, ``operate()``,
    ``wait_settled(timeout_s=10)``, read the UUT, ``standby()``. Every failure leaves the
    output in standby (see the module documentation).
    """

    name: ClassVar[str] = "fluke-5522a"
    models: ClassVar[tuple[str, ...]] = ("5522A",)
    capabilities: ClassVar[DriverCapabilities] = _CAPABILITIES
    error_queue_size: ClassVar[int] = 16
    error_query: ClassVar[str] = "ERR?"

    _output: OutputSetting | None = None
    _operate_requested: bool = False

    # -- connection and error queue -----------------------------------------------------

    def _after_connect(self) -> None:
        # A known, safe state: whatever the calibrator was doing, its output goes off.
        self._output = None
        with self._guard():
            self.write_checked("STBY")

    def parse_error(self, text: str) -> DeviceError:
        """Parse one ``ERR?`` answer (code 0: the queue is empty)."""
        return parse_fluke_error(text)

    # -- programming the output ---------------------------------------------------------

    @property
    def output(self) -> OutputSetting | None:
        """The last output the calibrator accepted (None before any, or after an error)."""
        return self._output

    @property
    def operate_requested(self) -> bool:
        """True between a successful :meth:`operate` and the next standby or error."""
        return self._operate_requested

    def set_voltage(self, volts: float, *, frequency_hz: float = 0.0) -> None:
        """Program a voltage: DC (``frequency_hz`` 0, ±1020 V) or AC RMS (1 mV to 1020 V).

        ``volts`` in V (RMS for AC), ``frequency_hz`` in Hz. The operate/standby state is
        not changed. Refused values raise OutOfRange (and put the output in standby).
        """
        with self._guard(), self.validating():
            if _is_dc(frequency_hz):
                value = _valid_dc("voltage", volts, _DC_VOLTAGE, "V")
                command = f"OUT {format_scpi_number(value)} V, 0 HZ"
                function = Function.DCV
            else:
                value, hz = _valid_ac(
                    "voltage", volts, frequency_hz, _AC_VOLTAGE, _AC_VOLTAGE_MIN, "V"
                )
                command = f"OUT {format_scpi_number(value)} V, {format_scpi_number(hz)} HZ"
                function = Function.ACV
            self._program(OutputSetting(function, value, "V", float(frequency_hz), command))

    def set_current(self, amperes: float, *, frequency_hz: float = 0.0) -> None:
        """Program a current: DC (``frequency_hz`` 0, ±20.5 A) or AC RMS (29 µA to 20.5 A).

        ``amperes`` in A (RMS for AC), ``frequency_hz`` in Hz. Refused values raise
        OutOfRange (and put the output in standby).
        """
        with self._guard(), self.validating():
            if _is_dc(frequency_hz):
                value = _valid_dc("current", amperes, _DC_CURRENT, "A")
                command = f"OUT {format_scpi_number(value)} A, 0 HZ"
                function = Function.DCI
            else:
                value, hz = _valid_ac(
                    "current", amperes, frequency_hz, _AC_CURRENT, _AC_CURRENT_MIN, "A"
                )
                command = f"OUT {format_scpi_number(value)} A, {format_scpi_number(hz)} HZ"
                function = Function.ACI
            self._program(OutputSetting(function, value, "A", float(frequency_hz), command))

    def set_resistance(self, ohms: float) -> None:
        """Program a resistance in ohm (0 to 1100 MΩ)."""
        with self._guard(), self.validating():
            value = strict_interval("resistance", ohms, 0.0, _RESISTANCE_MAX, "ohm")
            command = f"OUT {format_scpi_number(value)} OHM"
            self._program(OutputSetting(Function.RES2W, value, "ohm", 0.0, command))

    # -- operate / standby / settling ---------------------------------------------------

    def operate(self) -> None:
        """``OPER``: connect the programmed output to the terminals."""
        with self._guard():
            if self._output is None:
                raise DriverError(
                    "no output programmed: call set_voltage/set_current/set_resistance first",
                    address=self.address,
                )
            self.write_checked("OPER")
            self._operate_requested = True

    def standby(self) -> None:
        """``STBY``: disconnect the output (the safe state)."""
        self._operate_requested = False
        with self._guard():
            self.write_checked("STBY")

    def read_status(self) -> int:
        """``ISR?``: the Instrument Status Register (16-bit integer; see ``ISR_*``)."""
        with self._guard():
            return self.query("ISR?", _parse_isr)

    def is_operating(self) -> bool:
        """True when the calibrator reports its output in operate (ISR bit 0)."""
        return bool(self.read_status() & ISR_OPER)

    def wait_settled(self, *, timeout_s: float) -> None:
        """Block until the output has settled, at most ``timeout_s`` seconds.

        ``*OPC?`` waits for the pending change, then ``ISR?`` is polled until SETTLED.
        If the calibrator dropped to standby on its own (an S- or D-class error) the
        queued errors are raised (InstrumentReportedError); running out of time raises
        InstrumentTimeout. Either way the output is put in standby.
        """
        with self._guard():
            if not timeout_s > 0 or not math.isfinite(timeout_s):
                raise OutOfRange(
                    f"timeout {timeout_s!r} s is not a positive duration",
                    parameter="timeout_s",
                    value=timeout_s,
                    allowed="a finite number of seconds > 0",
                    address=self.address,
                )
            deadline = time.monotonic() + timeout_s
            self.wait_complete(timeout_s=timeout_s)
            while True:
                status = self.query("ISR?", _parse_isr)
                if self._operate_requested and not status & ISR_OPER:
                    self._raise_dropped_to_standby()
                if status & ISR_SETTLED:
                    return
                if time.monotonic() >= deadline:
                    raise InstrumentTimeout(
                        "the output did not settle in time",
                        timeout_s=timeout_s,
                        expected="ISR? with the SETTLED bit (4096)",
                        received=str(status),
                        address=self.address,
                        last_command="ISR?",
                    )
                time.sleep(_POLL_S)

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Put the output in standby (best effort, logged), then release the link."""
        if not getattr(self._transport, "closed", False):
            self._safe_standby("closing")
        super().close()

    # -- internals ----------------------------------------------------------------------

    def _program(self, setting: OutputSetting) -> None:
        self._output = None
        self.write_checked(setting.command)
        self._output = setting

    def _raise_dropped_to_standby(self) -> None:
        self._operate_requested = False
        errors = self.read_error_queue()
        if errors:
            raise InstrumentReportedError(
                "the calibrator went to standby on its own",
                errors=errors,
                address=self.address,
                last_command="ISR?",
            )
        raise DriverError(
            "the calibrator went to standby on its own (no error queued)",
            address=self.address,
            last_command="ISR?",
            expected="OPER bit set in ISR?",
        )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """On any driver error: standby first, then let the error through."""
        try:
            yield
        except DriverError as err:
            if not isinstance(err, OutOfRange):
                self._output = None
            self._safe_standby(f"after {type(err).__name__}")
            raise

    def _safe_standby(self, why: str) -> None:
        self._operate_requested = False
        log = self._transport.io_log
        try:
            self._transport.write("STBY")
        except DriverError as err:
            log.event(f"standby {why} failed: {err.message}")
        else:
            log.event(f"standby {why}")


def _is_dc(frequency_hz: float) -> bool:
    if isinstance(frequency_hz, bool) or not isinstance(frequency_hz, int | float):
        raise OutOfRange(
            f"frequency {frequency_hz!r} is not a number",
            parameter="frequency_hz",
            value=frequency_hz,
            allowed="0 Hz (DC) or an AC frequency in Hz",
        )
    if not math.isfinite(frequency_hz) or frequency_hz < 0:
        raise OutOfRange(
            f"frequency {frequency_hz!r} Hz is not a frequency",
            parameter="frequency_hz",
            value=frequency_hz,
            allowed="0 Hz (DC) or a positive frequency in Hz",
        )
    return frequency_hz == 0


def _valid_dc(quantity: str, value: float, bands: tuple[_Band, ...], unit: str) -> float:
    top = bands[-1].limit
    return strict_interval(f"DC {quantity}", value, -top, top, unit)


def _valid_ac(
    quantity: str,
    value: float,
    frequency_hz: float,
    bands: tuple[_Band, ...],
    minimum: float,
    unit: str,
) -> tuple[float, float]:
    amplitude = strict_interval(f"AC {quantity}", value, minimum, bands[-1].limit, unit)
    band = next(b for b in bands if amplitude <= b.limit)
    if not band.min_hz <= frequency_hz <= band.max_hz:
        raise OutOfRange(
            f"{frequency_hz:g} Hz is outside the band of the {band.nominal:g} {unit} AC range",
            parameter="frequency_hz",
            value=frequency_hz,
            allowed=f"{band.min_hz:g} Hz to {band.max_hz:g} Hz at {amplitude:g} {unit}",
        )
    return amplitude, float(frequency_hz)
