"""Eurotherm 3200-series temperature controllers (3216, 3208, 32h8, 3204) used as
calibration baths, over Modbus (RTU on the instrument; TCP through a gateway or the
simulator).

Parameter addresses used, from Eurotherm HA028651 §15.5 (the manual's "Modbus address",
used as the PDU address, 0-based on the wire — confirm on hardware)::

    1    PV.IN   process value (read)
    2    TG.SP   target setpoint — EEPROM, about 100 000 write cycles: NEVER written here
    5    WKG.SP  working setpoint (read only)
    11   RNG.LO  setpoint range low
    12   RNG.HI  setpoint range high
    26   Rm.SP   remote (comms) setpoint: what :meth:`set_temperature` writes
    75   status bitmap "StAt": B5 sensor break, B10 PV over-range (by > 5 % of span),
         B14 remote (comms) setpoint fail; 1 = active (HA028651 Issue 7.0 §15.5 p. 82,
         read at http://88.208.23.73:8080/en/manual/eurotherm/3100/2440580?page=84)
    276  local/remote setpoint select: the address is the manual's own (p. 81, Rm.SP:
         "if selected using the remote setpoint selection (address 276 below)", read at
         ...?page=83); the value written, 1 = remote when not already so, is
         **unverified** (the page listing 276 could not be read), so the driver reads
         it back

**Decimal-point scaling is an explicit configuration, not read from the controller.**
These 16-bit registers carry signed integers scaled by the decimal places the controller
is configured to display (24.2 °C with one decimal place travels as 242). The register
holding that setting is *not* confirmed in any source we could check (525 is rumoured),
and reading the wrong register would silently scale every reading by 10 or 100. So the
address must state it: ``modbus-tcp://HOST:PORT?unit=1&decimals=1`` (``decimals`` 0..3,
taken out of the address before it reaches the Modbus transport); without it the driver
refuses to open (:class:`~drivers.errors.AddressError`). The temperature unit is
likewise configuration: the driver reports ``degC`` and assumes the controller is
configured in °C (its units parameter address is not confirmed either).

Faults are never readings: a sensor break raises :class:`SensorBreak`, a PV over range
:class:`~drivers.errors.MeasurementOverload`; a remote-setpoint failure makes
:meth:`set_temperature` raise :class:`RemoteSetpointFailed` and readings carry the
status ``remote-setpoint-fail`` (the PV itself is still measured). Setpoints outside
RNG.LO..RNG.HI, or finer than the configured resolution, are refused
(:class:`~drivers.errors.OutOfRange`), never clamped or rounded.
"""

from __future__ import annotations

import math
from typing import ClassVar, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.driver import DriverOptions
from drivers.errors import (
    AddressError,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    MeasurementOverload,
    OutOfRange,
)
from drivers.iolog import IOLog
from drivers.reading import Identity, Reading, utc_now
from drivers.transports.modbus import ModbusTransport

__all__ = [
    "REG_PV",
    "REG_RANGE_HIGH",
    "REG_RANGE_LOW",
    "REG_REMOTE_SELECT",
    "REG_REMOTE_SP",
    "REG_STATUS",
    "REG_TARGET_SP",
    "REG_WORKING_SP",
    "STATUS_PV_OVER_RANGE",
    "STATUS_REMOTE_SP_FAIL",
    "STATUS_SENSOR_BREAK",
    "Eurotherm3200",
    "RemoteSetpointFailed",
    "SensorBreak",
    "split_decimals",
]

REG_PV = 1
REG_TARGET_SP = 2
REG_WORKING_SP = 5
REG_RANGE_LOW = 11
REG_RANGE_HIGH = 12
REG_REMOTE_SP = 26
REG_STATUS = 75
REG_REMOTE_SELECT = 276

STATUS_SENSOR_BREAK = 1 << 5
STATUS_PV_OVER_RANGE = 1 << 10
STATUS_REMOTE_SP_FAIL = 1 << 14

REMOTE = 1
"""Value of register 276 selecting the remote setpoint (the address is HA028651 p. 81's; the
value is unverified, so it is read back)."""

MAX_DECIMALS = 3


class SensorBreak(DriverError):
    """The controller reports a broken sensor (status bit B5): there is no reading."""


class RemoteSetpointFailed(DriverError):
    """The controller reports a remote-setpoint failure (status bit B14)."""


def split_decimals(address: str) -> tuple[str, int]:
    """Split ``address`` into the Modbus address and the ``decimals`` option (0..3).

    AddressError when ``decimals`` is missing or not an integer from 0 to 3: the scaling
    of every value depends on it and it cannot be read from the controller reliably.
    """
    parts = urlsplit(address)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    values = [v for k, v in pairs if k == "decimals"]
    expected = "modbus-tcp://HOST:PORT?unit=1&decimals=N (N = the controller's decimal places)"
    if len(values) != 1:
        raise AddressError(
            "the Eurotherm 3200 needs its decimal places in the address: "
            + (
                "given twice"
                if values
                else "the decimal-point register is not confirmed, "
                "so the scaling must be configured"
            ),
            address=address,
            expected=expected,
        )
    text = values[0]
    if not text.isdigit() or not 0 <= int(text) <= MAX_DECIMALS:
        raise AddressError(
            f"decimals must be an integer from 0 to {MAX_DECIMALS}, got {text!r}",
            address=address,
            expected=expected,
        )
    rest = urlencode([(k, v) for k, v in pairs if k != "decimals"])
    return urlunsplit(parts._replace(query=rest)), int(text)


def _int16(word: int) -> int:
    return word - 0x10000 if word >= 0x8000 else word


class Eurotherm3200:
    """A Eurotherm 3200-series controller driving a calibration bath.

    Implements :class:`~drivers.capabilities.TemperatureSource`: temperatures in °C
    (``degC``), setpoints written to the remote setpoint only (the EEPROM target setpoint
    is never written), refused outside the controller's RNG.LO..RNG.HI.
    """

    name: ClassVar[str] = "eurotherm-3200"
    unit: ClassVar[str] = "degC"
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        tuple(
            Capability(
                Function.TEMPERATURE,
                "temperature",
                "degC",
                direction,
                (Span(-200.0, 1800.0),),
                notes="family span; the controller's RNG.LO..RNG.HI (registers 11/12) is "
                "read on opening and enforced; resolution = 10^-decimals °C, the decimal "
                "places being given in the address (decimals=N)",
            )
            for direction in (Direction.MEASURE, Direction.SOURCE)
        )
    )

    def __init__(self, transport: ModbusTransport, *, address: str, decimals: int) -> None:
        self._transport = transport
        self._address = address
        self._decimals = decimals
        self._factor: int = int(10**decimals)
        self._limits = (0.0, 0.0)
        self._identity = Identity(
            "Eurotherm", "3200", "", "", raw="not read: no confirmed identity register"
        )

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Connect, read the setpoint range and status; the link is closed on failure.

        ``address`` must carry ``decimals=N`` (see the module documentation). A configured
        ``expected_serial`` is refused: the 3200's serial-number register is not confirmed,
        so it cannot be checked.
        """
        options = options or DriverOptions()
        modbus_address, decimals = split_decimals(address)
        if options.expected_serial is not None:
            raise IdentityMismatch(
                "the Eurotherm 3200 driver cannot read a serial number to check",
                expected_identity=options.expected_serial,
                actual_identity="unknown",
                address=address,
            )
        transport = ModbusTransport(modbus_address, settings=options.transport_settings())
        try:
            driver = cls(transport, address=address, decimals=decimals)
            driver._connect()
        except BaseException:
            transport.close()
            raise
        return driver

    def _connect(self) -> None:
        low_word, high_word = self._read(REG_RANGE_LOW, 2)
        low, high = self._scaled(low_word), self._scaled(high_word)
        if not low < high:
            raise GarbledResponse(
                "the controller's setpoint range is empty",
                expected="RNG.LO < RNG.HI",
                received=f"{low} .. {high}",
                address=self._address,
                last_command=self._transport.last_command,
            )
        self._limits = (low, high)

    # -- Driver ------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The address as given (``decimals`` option included)."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every Modbus request and response, timestamped."""
        return self._transport.io_log

    @property
    def identity(self) -> Identity:
        """``Eurotherm 3200``: the series has no identity register we could confirm."""
        return self._identity

    def close(self) -> None:
        """Release the link; the bath keeps its setpoint (cooling down is a procedure's
        decision). Idempotent."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- settings ----------------------------------------------------------------------------

    @property
    def decimals(self) -> int:
        """Decimal places of every value (from the address)."""
        return self._decimals

    @property
    def resolution(self) -> float:
        """The step of every value, °C (10^-decimals)."""
        return 1.0 / self._factor

    @property
    def limits(self) -> tuple[float, float]:
        """(RNG.LO, RNG.HI) in °C, read on opening."""
        return self._limits

    # -- TemperatureSource -------------------------------------------------------------------

    def read_temperature(self) -> Reading:
        """The process value in °C.

        The status word is read *after* the value, and the value is only returned when
        that status shows neither a sensor break (:class:`SensorBreak`) nor an over-range
        PV (:class:`~drivers.errors.MeasurementOverload`).
        """
        (pv_word,) = self._read(REG_PV)
        status = self.read_status()
        raw = f"PV.IN[{REG_PV}]={pv_word} status[{REG_STATUS}]=0x{status:04x}"
        self._check_measurement(status, raw)
        value = self._scaled(pv_word)
        failing = bool(status & STATUS_REMOTE_SP_FAIL)
        return Reading(
            value,
            self.unit,
            utc_now(),
            raw=raw,
            stable=not failing,
            status="remote-setpoint-fail" if failing else "ok",
            function=Function.TEMPERATURE.value,
        )

    def set_temperature(self, setpoint: float) -> None:
        """Set the bath's setpoint (°C) through the remote setpoint (register 26).

        Refused (OutOfRange) when not finite, outside RNG.LO..RNG.HI or finer than the
        configured resolution. Selects the remote setpoint (276) when it is not selected,
        writes it, reads it back, and raises :class:`RemoteSetpointFailed` when the
        controller flags the remote setpoint as failed. Never writes TG.SP (EEPROM).
        """
        low, high = self._limits
        if (
            isinstance(setpoint, bool)
            or not isinstance(setpoint, int | float)
            or not math.isfinite(setpoint)
            or not low <= setpoint <= high
        ):
            raise OutOfRange(
                f"setpoint {setpoint!r} °C is outside the controller's range",
                parameter="setpoint",
                value=setpoint,
                allowed=f"{low:g} to {high:g} degC",
                address=self._address,
            )
        exact = setpoint * self._factor
        counts = round(exact)
        if abs(exact - counts) > 1e-6 * max(1.0, abs(exact)):
            raise OutOfRange(
                f"setpoint {setpoint!r} °C is finer than the controller's resolution",
                parameter="setpoint",
                value=setpoint,
                allowed=f"a multiple of {self.resolution:g} degC",
                address=self._address,
            )
        (selected,) = self._read(REG_REMOTE_SELECT)
        if selected != REMOTE:
            self._write(REG_REMOTE_SELECT, REMOTE)
            (selected,) = self._read(REG_REMOTE_SELECT)
            if selected != REMOTE:
                raise self._garbled("the remote setpoint was not selected", f"{REMOTE}", selected)
        word = counts & 0xFFFF
        self._write(REG_REMOTE_SP, word)
        (echo,) = self._read(REG_REMOTE_SP)
        if echo != word:
            raise self._garbled("the remote setpoint did not take", str(word), echo)
        status = self.read_status()
        if status & STATUS_REMOTE_SP_FAIL:
            raise RemoteSetpointFailed(
                "the controller reports a remote setpoint failure (status B14)",
                received=f"status 0x{status:04x}",
                address=self._address,
                last_command=self._transport.last_command,
            )

    # -- other reads -------------------------------------------------------------------------

    def read_working_setpoint(self) -> float:
        """The setpoint the controller is controlling to (WKG.SP, register 5), °C."""
        (word,) = self._read(REG_WORKING_SP)
        return self._scaled(word)

    def read_remote_setpoint(self) -> float:
        """The remote setpoint (Rm.SP, register 26), °C."""
        (word,) = self._read(REG_REMOTE_SP)
        return self._scaled(word)

    def read_status(self) -> int:
        """The status bitmap (register 75), as a 16-bit integer."""
        (status,) = self._read(REG_STATUS)
        return status

    # -- machinery ---------------------------------------------------------------------------

    def _check_measurement(self, status: int, raw: str) -> None:
        if status & STATUS_SENSOR_BREAK:
            raise SensorBreak(
                "the controller reports a sensor break (status B5): no reading",
                received=raw,
                address=self._address,
                last_command=self._transport.last_command,
            )
        if status & STATUS_PV_OVER_RANGE:
            raise MeasurementOverload(
                "the controller reports the process value over range (status B10)",
                received=raw,
                address=self._address,
                last_command=self._transport.last_command,
            )

    def _read(self, register: int, count: int = 1) -> tuple[int, ...]:
        try:
            return self._transport.read_holding_registers(register, count)
        except DriverError as err:
            err.address = self._address
            raise

    def _write(self, register: int, word: int) -> None:
        if register == REG_TARGET_SP:  # pragma: no cover - a guard, never reached
            raise AssertionError("TG.SP is EEPROM: the driver never writes it")
        try:
            self._transport.write_register(register, word)
        except DriverError as err:
            err.address = self._address
            raise

    def _scaled(self, word: int) -> float:
        return _int16(word) / self._factor

    def _garbled(self, message: str, expected: str, received: int) -> GarbledResponse:
        return GarbledResponse(
            message,
            expected=expected,
            received=str(received),
            address=self._address,
            last_command=self._transport.last_command,
        )
