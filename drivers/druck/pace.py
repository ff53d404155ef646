"""Druck PACE5000 / PACE6000 pressure controllers (SCPI, manual K0472 Revision A).

One class drives both models: they share the command set, and a PACE6000 is two PACE5000
control modules in one case. :class:`DruckPace` reads the model from ``*IDN?`` and drives
module 1 unless :meth:`DruckPace.use_module` selects module 2 (PACE6000 only); commands to
module 2 carry the suffix ``2`` (``:SENS2:PRES?``), module 1 none (suffix 1 is the default).

Commands used (confirmed in K0472 unless marked):

* ``:UNIT[x]:PRES <unit>`` / ``?`` — pressure unit; ``:SOUR[x]:PRES <p>`` / ``?`` — the
  setpoint (``:SOURce[x][:PRESsure][:LEVel][:IMMediate][:AMPlitude]``, manual p. 2-2);
  ``:OUTP[x]:STAT ON|OFF`` / ``?`` — control mode on or off (measure only);
  ``:SENS[x]:PRES?`` — the measured pressure; ``:SOUR[x]:PRES:INL <%FS>`` — in-limits band;
  ``:SYST:ERR?`` — the error queue.
* Replies **echo the header**: ``:OUTP:STAT?`` → ``:OUTP:STAT 0`` (p. 4-32). Every answer
  is checked to carry the header of the query it answers, so a stale answer to another
  query is refused as garbled rather than taken as a value.
* ``:SENS[x]:PRES:INL?`` → pressure and in-limits flag (``<p>,<0|1>``): the field layout
  is from memory, **unverified**; the parser also accepts a lone flag.
* ``:INST:LIM[x]?`` (p. 4-17) → "a string representing the range, a number representing
  the upper full-scale and a number representing the lower full-scale", in that order, and
  sensor index x = 1 for module 1's control sensor, 5 for module 2's (K0472 p. 4-17, read
  at https://easymanua.ls/ge/pace-series/manual?p=45). The driver reads the last two
  numbers as upper and lower limits and refuses setpoints outside them; that they are **in
  the current unit is unverified** (p. 4-17 does not say).
* Pressures are expected in NR3 form (``:SENS:PRES 1.0132500e+03``) so that an answer cut
  short is refused instead of read as a smaller number; the exact digits the PACE sends are
  **unverified**: confirm on hardware (a different form fails loudly as GarbledResponse).
* ``*IDN?`` → four fields whose model field contains ``PACE5000`` or ``PACE6000`` (exact
  wording unverified; a ``*IDN`` echo is tolerated).

**The driver's API is in pascals** (readings, setpoints, limits), as its capability
declares: it reads the controller's display unit (``:UNIT:PRES?``) and converts, so a
procedure never depends on what the front panel shows. The raw answer, in the display
unit, is kept in each reading. Unit names accepted by ``:UNIT:PRES`` here are the common
ones (PA, HPA, KPA, MPA, MBAR, BAR, PSI, ATM, TORR, MMHG, INHG); others are refused.

Closing leaves the controller as it is (control on or off): venting or switching control
off is a procedure's decision, not a side effect of releasing the link.
"""

from __future__ import annotations

import math
import re
import time
from typing import ClassVar

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.errors import DeviceError, DriverError, GarbledResponse, InstrumentTimeout, OutOfRange
from drivers.reading import Identity, Reading, utc_now
from drivers.scpi import ScpiDriver, parse_identity
from drivers.transports.base import LineTransport, MessageTransport, SyncMarker
from drivers.validators import format_scpi_number

__all__ = ["PACE_UNITS", "DruckPace", "pace_sync_marker"]

PACE_UNITS: dict[str, tuple[str, float]] = {
    "PA": ("Pa", 1.0),
    "HPA": ("hPa", 100.0),
    "KPA": ("kPa", 1e3),
    "MPA": ("MPa", 1e6),
    "MBAR": ("mbar", 100.0),
    "BAR": ("bar", 1e5),
    "PSI": ("psi", 6894.757293168361),
    "ATM": ("atm", 101325.0),
    "TORR": ("Torr", 101325.0 / 760.0),
    "MMHG": ("mmHg", 133.322387415),
    "INHG": ("inHg", 3386.389),
}
"""``:UNIT:PRES`` names → (unit symbol in readings, pascals per unit)."""

_MODELS = ("PACE5000", "PACE6000")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NR3 = re.compile(r"[+-]?\d\.\d+[eE][+-]\d{2,3}")
_ERROR_ENTRY = re.compile(r'\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*')
_POLL_S = 0.02


def pace_sync_marker(token: int) -> SyncMarker:
    """The resynchronisation marker: ``*ESE <token>;*ESE?;*ESE 0``, echo tolerated."""
    if not 1 <= token <= 255:
        raise ValueError(f"token must be 1..255, got {token}")

    def is_answer(text: str) -> bool:
        value = text.strip()
        if value.upper().startswith("*ESE"):
            value = value[4:].strip()
        value = value.removeprefix("+")
        return value.isdigit() and int(value) == token

    return SyncMarker(f"*ESE {token};*ESE?;*ESE 0", is_answer)


def _normal_header(header: str) -> str:
    """Upper-case header with the default suffix 1 dropped (``:INST:SN1`` = ``:INST:SN``)."""
    return re.sub(r"(?<=[A-Z])1(?=:|$)", "", header.strip().upper().lstrip(":"))


def strip_echo(query: str, text: str) -> str:
    """The value part of a PACE answer to ``query``, its echoed header removed.

    Raises GarbledResponse when an instrument-control answer does not echo the header of
    ``query`` (e.g. a stale answer to another query).
    """
    header = query.strip().rstrip("?").split(" ", 1)[0]
    head, _, rest = text.strip().partition(" ")
    if _normal_header(head) == _normal_header(header):
        return rest.strip()
    if header.startswith("*"):
        return text.strip()
    raise GarbledResponse(
        "the answer does not echo the query's header", expected=f"{header} <value>", received=text
    )


def _pressure(text: str) -> float:
    """A pressure value: NR3 only (``1.0132500e+03``), so a cut-off answer is refused."""
    if not _NR3.fullmatch(text.strip()):
        raise GarbledResponse(
            "malformed pressure (truncated?)", expected="a number like 1.0132500e+03", received=text
        )
    return _number(text)


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text.strip()):
        raise GarbledResponse("malformed number", expected="a decimal number", received=text)
    value = float(text)
    if not math.isfinite(value):
        raise GarbledResponse("not a finite number", expected="a finite number", received=text)
    return value


class DruckPace(ScpiDriver):
    """Druck PACE5000 / PACE6000 pressure controller.

    Implements :class:`~drivers.capabilities.PressureController`. Pressures and setpoints
    are in Pa whatever the controller displays (:attr:`display_unit`); setpoints outside
    the fitted sensor's full scale are refused (OutOfRange), never clamped.
    """

    name: ClassVar[str] = "druck-pace"
    models: ClassVar[tuple[str, ...]] = _MODELS
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        tuple(
            Capability(
                Function.PRESSURE,
                "pressure",
                "Pa",
                direction,
                (Span(-100e3, 21e6),),
                notes="family span (PACE5000/6000 control sensors up to 210 bar); the "
                "fitted sensor's full scale is read from the controller and enforced; "
                "values in Pa, converted from the controller's display unit",
            )
            for direction in (Direction.MEASURE, Direction.SOURCE)
        )
    )
    error_query: ClassVar[str] = ":SYST:ERR?"

    _module: int = 1
    _unit_name: str = "MBAR"
    _limits: tuple[float, float] = (0.0, 0.0)

    def __init__(self, transport: MessageTransport, *, expected_serial: str | None = None):
        super().__init__(transport, expected_serial=expected_serial)
        if isinstance(transport, LineTransport):
            transport.set_sync_marker(pace_sync_marker)

    # -- identity and connection --------------------------------------------------------

    def read_identity(self) -> Identity:
        """``*IDN?`` (an echoed ``*IDN`` header is tolerated)."""
        return self.query("*IDN?", lambda text: parse_identity(strip_echo("*IDN?", text)))

    def check_identity(self, identity: Identity) -> None:
        """Accept a model field naming a PACE5000 or PACE6000, then check the serial."""
        model = self._model_of(identity)
        if model is not None:
            identity = Identity(
                identity.manufacturer, model, identity.serial, identity.firmware, identity.raw
            )
        super().check_identity(identity)

    def _after_connect(self) -> None:
        self._module = 1
        self._read_setup()

    @property
    def model(self) -> str:
        """``PACE5000`` or ``PACE6000``."""
        model = self._model_of(self.identity)
        assert model is not None  # checked on connection
        return model

    @property
    def module(self) -> int:
        """The control module driven (1, or 2 on a PACE6000)."""
        return self._module

    def use_module(self, module: int) -> None:
        """Drive control module ``module`` (1; 2 on a PACE6000 only) and read its set-up."""
        count = 2 if self.model == "PACE6000" else 1
        if isinstance(module, bool) or module not in range(1, count + 1):
            raise OutOfRange(
                f"the {self.model} has no module {module!r}",
                parameter="module",
                value=module,
                allowed=" or ".join(str(m) for m in range(1, count + 1)),
                address=self.address,
            )
        self._module = module
        self._read_setup()

    # -- units and limits ---------------------------------------------------------------

    unit: ClassVar[str] = "Pa"
    """The unit of every pressure, setpoint and limit at this driver's API."""

    @property
    def display_unit(self) -> str:
        """The unit the controller works in (``mbar``, ``Pa``, ``psi``...)."""
        return PACE_UNITS[self._unit_name][0]

    @property
    def limits(self) -> tuple[float, float]:
        """(lower, upper) full scale of the module's control sensor, in Pa."""
        return self._limits

    def set_unit(self, unit: str) -> None:
        """Select the pressure unit by its ``:UNIT:PRES`` name (``MBAR``, ``PA``, ``PSI``...)."""
        name = unit.strip().upper() if isinstance(unit, str) else ""
        if name not in PACE_UNITS:
            raise OutOfRange(
                f"unknown pressure unit {unit!r}",
                parameter="unit",
                value=unit,
                allowed=", ".join(PACE_UNITS),
                address=self.address,
            )
        self.write_checked(f":UNIT{self._suffix}:PRES {name}")
        self._read_setup()

    # -- PressureController -------------------------------------------------------------

    def read_pressure(self) -> Reading:
        """The measured pressure (``:SENS:PRES?``) in Pa."""
        command = f":SENS{self._suffix}:PRES?"
        scale = self._scale

        def parse(text: str) -> Reading:
            value = _pressure(strip_echo(command, text)) * scale
            return Reading(value, "Pa", utc_now(), raw=text, function=Function.PRESSURE.value)

        return self.query(command, parse)

    def set_pressure(self, setpoint: float) -> None:
        """Set the setpoint in Pa; outside the sensor's full scale: OutOfRange."""
        lower, upper = self._limits
        if (
            isinstance(setpoint, bool)
            or not isinstance(setpoint, int | float)
            or not math.isfinite(setpoint)
            or not lower <= setpoint <= upper
        ):
            raise OutOfRange(
                f"setpoint {setpoint!r} Pa is outside the controller's range",
                parameter="setpoint",
                value=setpoint,
                allowed=f"{lower:g} to {upper:g} Pa",
                address=self.address,
            )
        value = format_scpi_number(setpoint / self._scale)
        self.write_checked(f":SOUR{self._suffix}:PRES {value}")

    def read_setpoint(self) -> float:
        """The setpoint the controller holds (``:SOUR:PRES?``), in Pa."""
        command = f":SOUR{self._suffix}:PRES?"
        scale = self._scale
        return self.query(command, lambda text: _pressure(strip_echo(command, text)) * scale)

    def set_control(self, enabled: bool) -> None:
        """Control mode (True: ``:OUTP:STAT ON``) or measure-only mode (False: ``OFF``)."""
        self.write_checked(f":OUTP{self._suffix}:STAT {'ON' if enabled else 'OFF'}")

    def control_enabled(self) -> bool:
        """True when the controller is in control mode (``:OUTP:STAT?``)."""
        command = f":OUTP{self._suffix}:STAT?"
        return self.query(command, lambda text: _flag(strip_echo(command, text), text))

    def in_limits(self) -> bool:
        """True when the pressure is within the in-limits band (``:SENS:PRES:INL?``)."""
        command = f":SENS{self._suffix}:PRES:INL?"

        def parse(text: str) -> bool:
            fields = [f.strip() for f in strip_echo(command, text).split(",")]
            if len(fields) == 2:
                _pressure(fields[0])
            elif len(fields) != 1:
                raise GarbledResponse(
                    "malformed in-limits answer", expected="<pressure>,<0|1>", received=text
                )
            return _flag(fields[-1], text)

        return self.query(command, parse)

    def set_in_limits_band(self, percent_of_span: float) -> None:
        """The in-limits band (``:SOUR:PRES:INL``), in % of the sensor's full scale."""
        if (
            isinstance(percent_of_span, bool)
            or not isinstance(percent_of_span, int | float)
            or not 0.001 <= percent_of_span <= 10.0
        ):
            raise OutOfRange(
                f"in-limits band {percent_of_span!r} % is not a band the driver sets",
                parameter="in_limits_band",
                value=percent_of_span,
                allowed="0.001 to 10 % of full scale",
                address=self.address,
            )
        self.write_checked(f":SOUR{self._suffix}:PRES:INL {format_scpi_number(percent_of_span)}")

    def wait_in_limits(self, *, timeout_s: float) -> Reading:
        """Poll until in limits (at most ``timeout_s`` seconds), then return a reading."""
        deadline = time.monotonic() + timeout_s
        while not self.in_limits():
            if time.monotonic() >= deadline:
                raise InstrumentTimeout(
                    "the pressure did not come within limits in time",
                    timeout_s=timeout_s,
                    address=self.address,
                    last_command=f":SENS{self._suffix}:PRES:INL?",
                )
            time.sleep(_POLL_S)
        reading = self.read_pressure()
        return Reading(
            reading.value,
            reading.unit,
            reading.timestamp,
            raw=reading.raw,
            status="in-limits",
            function=reading.function,
        )

    # -- error queue --------------------------------------------------------------------

    def parse_error(self, text: str) -> DeviceError:
        """Parse one ``:SYST:ERR?`` answer (echoed header removed; code 0: empty)."""
        match = _ERROR_ENTRY.fullmatch(strip_echo(self.error_query, text))
        if match is None:
            raise GarbledResponse(
                "malformed error-queue answer", expected='<code>,"<text>"', received=text
            )
        return DeviceError(int(match.group(1)), match.group(2))

    # -- internals ----------------------------------------------------------------------

    @property
    def _scale(self) -> float:
        return PACE_UNITS[self._unit_name][1]

    @property
    def _suffix(self) -> str:
        return "" if self._module == 1 else str(self._module)

    def _read_setup(self) -> None:
        unit_query = f":UNIT{self._suffix}:PRES?"
        name = self.query(unit_query, lambda text: _unit_name(strip_echo(unit_query, text), text))
        sensor = 1 if self._module == 1 else 5
        limits_query = f":INST:LIM{sensor if sensor != 1 else ''}?"
        lower, upper = self.query(
            limits_query, lambda text: _limits(strip_echo(limits_query, text))
        )
        scale = PACE_UNITS[name][1]
        self._unit_name, self._limits = name, (lower * scale, upper * scale)

    @staticmethod
    def _model_of(identity: Identity) -> str | None:
        text = identity.model.upper().replace(" ", "")
        return next((m for m in _MODELS if m in text), None)


def _flag(value: str, raw: str) -> bool:
    if value.strip() in {"0", "1"}:
        return value.strip() == "1"
    raise GarbledResponse("malformed flag", expected="0 or 1", received=raw)


def _unit_name(value: str, raw: str) -> str:
    name = value.strip().upper()
    if name not in PACE_UNITS:
        raise DriverError(
            f"the controller uses a unit this driver does not know: {value!r}",
            expected=", ".join(PACE_UNITS),
            received=raw,
        )
    return name


def _limits(value: str) -> tuple[float, float]:
    fields = [f.strip() for f in value.split(",")]
    if len(fields) < 2:
        raise GarbledResponse(
            "malformed range answer", expected="<range>,<upper>,<lower>", received=value
        )
    upper, lower = _number(fields[-2]), _number(fields[-1])
    if not lower < upper:
        raise GarbledResponse("range limits out of order", expected="upper > lower", received=value)
    return lower, upper
