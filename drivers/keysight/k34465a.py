"""Keysight 34465A (6½ digits) and 34470A (7½ digits) Truevolt digital multimeters.

Programmed with the manufacturer's SCPI commands: ``CONFigure:<function> <range>``, then
``READ?`` (= ``INITiate`` + ``FETCh?``); ``[SENSe:]<function>:NPLCycles``,
``TRIGger:COUNt``, ``SYSTem:ERRor?``. Readings come back as ``SD.DDDDDDDDESDD`` separated
by commas; ``±9.9E+37`` marks an overload and is raised as
:class:`~drivers.errors.MeasurementOverload`, never returned as a value.

Settings are validated against the instrument's documented values before anything is
sent: a range must be one of the nominal ranges (or ``"auto"``), an integration time one of
the NPLC values the model accepts (0.02, 0.06, 0.2, 1, 10, 100 PLC; 0.001, 0.002 and
0.006 PLC with the DIG option, which firmware 3.0 and later include), a trigger count an
integer from 1 to 1 000 000 000. Anything else raises
:class:`~drivers.errors.OutOfRange`; nothing is rounded to a nearby setting.

Sources for the tables: Truevolt Series Operating and Service Guide (ranges, commands);
NPLC lists, resolution factors and trigger-count limit as in QCoDeS' Keysight 344xxA
driver. Over-range limits (120 % of range, none on 1000 V DC, 750 V AC and 3 A) follow
the data sheet's footnote as we read it: confirm on hardware before relying on them near
full scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from drivers.capabilities import (
    AUTO,
    Capability,
    Direction,
    DriverCapabilities,
    Function,
    RangeSetting,
    Span,
)
from drivers.errors import DriverError, GarbledResponse, MeasurementOverload, OutOfRange
from drivers.reading import Reading, utc_now
from drivers.scpi import ScpiDriver
from drivers.validators import format_scpi_number, strict_choice, strict_int

__all__ = ["DmmConfiguration", "Keysight34465A", "Keysight34470A"]

_NUMBER = re.compile(r"[+-]\d\.\d+E[+-]\d{2,3}")
_OVERLOAD = 9.9e37
_BASE_NPLC = (0.02, 0.06, 0.2, 1.0, 10.0, 100.0)
_DIG_NPLC = (0.001, 0.002, 0.006)
_DEFAULT_NPLC = 10.0
_MAX_TRIGGER_COUNT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class _FunctionSpec:
    function: Function
    scpi: str  # node used in CONF and SENS commands
    quantity: str
    unit: str
    ranges: tuple[float, ...]
    no_overrange: tuple[float, ...]
    nplc: bool  # whether the integration time applies


_SPECS: dict[Function, _FunctionSpec] = {
    Function.DCV: _FunctionSpec(
        Function.DCV, "VOLT:DC", "DC voltage", "V", (0.1, 1.0, 10.0, 100.0, 1000.0), (1000.0,), True
    ),
    Function.ACV: _FunctionSpec(
        Function.ACV,
        "VOLT:AC",
        "AC voltage (RMS)",
        "V",
        (0.1, 1.0, 10.0, 100.0, 750.0),
        (750.0,),
        False,
    ),
    Function.DCI: _FunctionSpec(
        Function.DCI,
        "CURR:DC",
        "DC current",
        "A",
        (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0),
        (3.0,),
        True,
    ),
    Function.RES2W: _FunctionSpec(
        Function.RES2W,
        "RES",
        "resistance (2-wire)",
        "ohm",
        tuple(10.0**n for n in range(2, 10)),
        (),
        True,
    ),
    Function.RES4W: _FunctionSpec(
        Function.RES4W,
        "FRES",
        "resistance (4-wire)",
        "ohm",
        tuple(10.0**n for n in range(2, 10)),
        (),
        True,
    ),
}


def _capabilities(best_resolution: float, digits: str) -> DriverCapabilities:
    caps = []
    for spec in _SPECS.values():
        spans = tuple(
            Span(
                minimum=0.0 if spec.unit == "ohm" else -(r if r in spec.no_overrange else 1.2 * r),
                maximum=r if r in spec.no_overrange else 1.2 * r,
                nominal=r,
                resolution=r * best_resolution,
            )
            for r in spec.ranges
        )
        settings: dict[str, tuple[float | str, ...]] = {"trigger_count": (1, _MAX_TRIGGER_COUNT)}
        if spec.nplc:
            settings["nplc"] = _DIG_NPLC + _BASE_NPLC
        caps.append(
            Capability(
                function=spec.function,
                quantity=spec.quantity,
                unit=spec.unit,
                direction=Direction.MEASURE,
                spans=spans,
                autorange=True,
                settings=settings,
                notes=f"{digits} digits; resolution stated at 100 PLC"
                + ("; NPLC 0.001-0.006 need the DIG option" if spec.nplc else ""),
            )
        )
    return DriverCapabilities(tuple(caps))


@dataclass(frozen=True, slots=True)
class DmmConfiguration:
    """The measurement set-up the driver last sent and the instrument accepted.

    ``range`` is the nominal range in the function's unit or ``"auto"``; ``nplc`` the
    integration time in power-line cycles (None where it does not apply: AC).
    """

    function: Function
    range: RangeSetting
    nplc: float | None
    trigger_count: int


class Keysight34465A(ScpiDriver):
    """Keysight 34465A digital multimeter.

    Implements :class:`~drivers.capabilities.DCVoltmeter`, ``ACVoltmeter``, ``DCAmmeter``,
    ``Ohmmeter2W`` and ``Ohmmeter4W``. The ``measure_*`` methods configure only when the
    function or range changes, so repeated readings cost one ``READ?`` each.
    """

    name: ClassVar[str] = "keysight-34465a"
    models: ClassVar[tuple[str, ...]] = ("34465A",)
    capabilities: ClassVar[DriverCapabilities] = _capabilities(0.03e-6, "6½")

    _config: DmmConfiguration | None = None
    _has_dig: bool = False

    # -- connection ---------------------------------------------------------------------

    def _after_connect(self) -> None:
        options = self.query("*OPT?", _parse_options)
        firmware_major = _firmware_major(self.identity.firmware)
        self._has_dig = "DIG" in options or (firmware_major is not None and firmware_major >= 3)
        self._config = None

    def reset(self) -> None:
        """``*RST``: the instrument's defaults (DC volts, autorange, 10 PLC); reconfigure."""
        self._config = None
        super().reset()

    @property
    def nplc_choices(self) -> tuple[float, ...]:
        """The integration times (PLC) this instrument accepts, ascending."""
        return (_DIG_NPLC + _BASE_NPLC) if self._has_dig else _BASE_NPLC

    @property
    def configuration(self) -> DmmConfiguration | None:
        """The last accepted configuration (None before the first, or after an error)."""
        return self._config

    # -- configuration ------------------------------------------------------------------

    def configure(
        self,
        function: Function | str,
        *,
        range: RangeSetting = AUTO,
        nplc: float | None = None,
        trigger_count: int = 1,
    ) -> DmmConfiguration:
        """Set the measurement function, range, integration time and trigger count.

        ``range``: a nominal range in the function's unit (V, A, ohm) or ``"auto"``.
        ``nplc``: integration time in power-line cycles (DC functions and resistance
        only; None keeps the instrument default of 10 PLC). ``trigger_count``: readings
        per :meth:`read_all`. Refuses what the instrument cannot do (OutOfRange) before
        sending anything; raises InstrumentReportedError if the instrument objects.
        """
        with self.validating():
            spec = self._spec(function)
            range_arg = self._range_argument(spec, range)
            commands = [f"CONF:{spec.scpi} {range_arg}"]
            if nplc is not None:
                nplc = self._valid_nplc(spec, nplc)
                commands.append(f"{spec.scpi}:NPLC {format_scpi_number(nplc)}")
            strict_int("trigger_count", trigger_count, 1, _MAX_TRIGGER_COUNT)
        if trigger_count != 1:
            commands.append(f"TRIG:COUN {trigger_count}")
        self._config = None
        self.write_checked(*commands)
        self._config = DmmConfiguration(
            function=spec.function,
            range=range if range == AUTO else float(range),
            nplc=(nplc if nplc is not None else _DEFAULT_NPLC) if spec.nplc else None,
            trigger_count=trigger_count,
        )
        return self._config

    def set_nplc(self, nplc: float) -> None:
        """Change the integration time (PLC) of the configured function."""
        config = self._require_config()
        spec = _SPECS[config.function]
        with self.validating():
            nplc = self._valid_nplc(spec, nplc)
        self._config = None
        self.write_checked(f"{spec.scpi}:NPLC {format_scpi_number(nplc)}")
        self._config = DmmConfiguration(config.function, config.range, nplc, config.trigger_count)

    def set_trigger_count(self, count: int) -> None:
        """Change the number of readings each :meth:`read_all` returns (1 to 10⁹)."""
        config = self._require_config()
        with self.validating():
            strict_int("trigger_count", count, 1, _MAX_TRIGGER_COUNT)
        self._config = None
        self.write_checked(f"TRIG:COUN {count}")
        self._config = DmmConfiguration(config.function, config.range, config.nplc, count)

    def set_range(self, range: RangeSetting) -> None:
        """Change the range of the configured function (nominal, in its unit, or auto)."""
        config = self._require_config()
        spec = _SPECS[config.function]
        if range == AUTO:
            commands = (f"{spec.scpi}:RANG:AUTO ON",)
        else:
            with self.validating():
                commands = (f"{spec.scpi}:RANG {self._range_argument(spec, range)}",)
        self._config = None
        self.write_checked(*commands)
        new_range: RangeSetting = range if range == AUTO else float(range)
        self._config = DmmConfiguration(
            config.function, new_range, config.nplc, config.trigger_count
        )

    # -- readings -----------------------------------------------------------------------

    def read(self) -> Reading:
        """One reading with the current configuration (trigger count must be 1)."""
        config = self._require_config()
        if config.trigger_count != 1:
            raise DriverError(
                f"trigger count is {config.trigger_count}: use read_all()",
                address=self.address,
            )
        return self.query("READ?", self._parse_one)

    def read_all(self) -> tuple[Reading, ...]:
        """``READ?``: trigger-count readings, all stamped with the time the answer came."""
        self._require_config()
        return self.query("READ?", self._parse_all)

    def fetch_all(self) -> tuple[Reading, ...]:
        """``FETCh?``: the readings of the last measurement, again."""
        self._require_config()
        return self.query("FETC?", self._parse_all)

    def measure_dc_voltage(self, *, range: RangeSetting = AUTO) -> Reading:
        """One DC voltage reading in V (range nominal in V, or auto)."""
        return self._measure(Function.DCV, range)

    def measure_ac_voltage(self, *, range: RangeSetting = AUTO) -> Reading:
        """One AC voltage reading in V RMS (range nominal in V, or auto)."""
        return self._measure(Function.ACV, range)

    def measure_dc_current(self, *, range: RangeSetting = AUTO) -> Reading:
        """One DC current reading in A (range nominal in A, or auto)."""
        return self._measure(Function.DCI, range)

    def measure_resistance_2w(self, *, range: RangeSetting = AUTO) -> Reading:
        """One 2-wire resistance reading in ohm (range nominal in ohm, or auto)."""
        return self._measure(Function.RES2W, range)

    def measure_resistance_4w(self, *, range: RangeSetting = AUTO) -> Reading:
        """One 4-wire resistance reading in ohm (range nominal in ohm, or auto)."""
        return self._measure(Function.RES4W, range)

    # -- internals ----------------------------------------------------------------------

    def _measure(self, function: Function, range: RangeSetting) -> Reading:
        config = self._config
        if (
            config is None
            or config.function != function
            or config.trigger_count != 1
            or not _same_range(config.range, range)
        ):
            self.configure(function, range=range)
        return self.read()

    def _spec(self, function: Function | str) -> _FunctionSpec:
        try:
            return _SPECS[Function(function)]
        except (ValueError, KeyError):
            raise OutOfRange(
                f"the {self.models[0]} does not measure {function!r}",
                parameter="function",
                value=function,
                allowed=", ".join(f.value for f in _SPECS),
            ) from None

    def _range_argument(self, spec: _FunctionSpec, range: RangeSetting) -> str:
        if range == AUTO:
            return "AUTO"
        if isinstance(range, str):
            raise OutOfRange(
                f"range {range!r} is neither a number nor 'auto'",
                parameter="range",
                value=range,
                allowed="a nominal range or 'auto'",
            )
        nominal = self.capabilities.get(spec.function).span(range).nominal
        assert nominal is not None
        return format_scpi_number(nominal)

    def _valid_nplc(self, spec: _FunctionSpec, nplc: float) -> float:
        if not spec.nplc:
            raise OutOfRange(
                f"the integration time does not apply to {spec.quantity}",
                parameter="nplc",
                value=nplc,
                allowed="no integration time for this function",
            )
        return strict_choice("nplc", nplc, self.nplc_choices, "PLC")

    def _require_config(self) -> DmmConfiguration:
        if self._config is None:
            raise DriverError(
                "no accepted configuration: call configure() (or a measure_* method) first",
                address=self.address,
            )
        return self._config

    def _parse_one(self, text: str) -> Reading:
        config = self._config
        assert config is not None
        if "," in text:
            raise GarbledResponse("wrong number of readings", expected="1 reading", received=text)
        return self._reading(text, text, _SPECS[config.function], config, utc_now())

    def _parse_all(self, text: str) -> tuple[Reading, ...]:
        config = self._config
        assert config is not None
        fields = text.split(",")
        if len(fields) != config.trigger_count:
            raise GarbledResponse(
                "wrong number of readings (truncated answer?)",
                expected=f"{config.trigger_count} reading(s)",
                received=text,
            )
        spec = _SPECS[config.function]
        stamp = utc_now()
        return tuple(self._reading(field, text, spec, config, stamp) for field in fields)

    @staticmethod
    def _reading(
        field: str, text: str, spec: _FunctionSpec, config: DmmConfiguration, stamp: datetime
    ) -> Reading:
        """One value of an answer (``text``) as a Reading; overloads and junk raise."""
        if not _NUMBER.fullmatch(field):
            raise GarbledResponse(
                "malformed reading", expected="a number like +1.23456789E+00", received=text
            )
        value = float(field)
        nominal = None if config.range == AUTO else float(config.range)
        if abs(value) >= _OVERLOAD:
            where = "autorange" if nominal is None else f"the {nominal:g} {spec.unit} range"
            raise MeasurementOverload(
                f"overload on {where}: the input exceeds what the range can measure",
                received=text,
            )
        return Reading(
            value=value,
            unit=spec.unit,
            timestamp=stamp,
            raw=field,
            function=spec.function.value,
            range=nominal,
        )


class Keysight34470A(Keysight34465A):
    """Keysight 34470A digital multimeter (7½ digits): the 34465A's commands and ranges."""

    name: ClassVar[str] = "keysight-34470a"
    models: ClassVar[tuple[str, ...]] = ("34470A",)
    capabilities: ClassVar[DriverCapabilities] = _capabilities(0.01e-6, "7½")


def _same_range(configured: RangeSetting, asked: RangeSetting) -> bool:
    if isinstance(configured, str) or isinstance(asked, str):
        return configured == asked
    return abs(configured - asked) <= 1e-9 * max(abs(configured), abs(asked))


def _parse_options(text: str) -> frozenset[str]:
    return frozenset(o.strip().strip('"') for o in text.split(",") if o.strip() not in {"", "0"})


def _firmware_major(firmware: str) -> int | None:
    match = re.match(r"[A-Z]\.(\d+)", firmware)
    return int(match.group(1)) if match else None
