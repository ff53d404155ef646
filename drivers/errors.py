"""Typed errors of the drivers package.

Every error raised by a transport or a driver is a :class:`DriverError`. It carries the
instrument's address and the last command sent to it, so that a failed run says which
instrument failed on which exchange. The subclasses also inherit the matching builtin
(``InstrumentTimeout`` is a ``TimeoutError``...), so generic handlers keep working.

A driver never turns a fault into a value: no clamped setpoint, no guessed reading. It
raises one of these instead.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AddressError",
    "BlockCheckMismatch",
    "ConnectionLost",
    "DeviceError",
    "DriverError",
    "GarbledResponse",
    "IdentityMismatch",
    "InstrumentReportedError",
    "InstrumentTimeout",
    "LostPulse",
    "MalformedDataLine",
    "MeasurementOverload",
    "MeterBenchFault",
    "MeterConstantInvalid",
    "ModbusExceptionResponse",
    "NoPulses",
    "OutOfRange",
    "PositionNotMounted",
    "SerialNumberMissing",
    "SourceOutOfRegulation",
    "UnexpectedUnit",
    "UnstableReading",
]


class DriverError(Exception):
    """Base error of the drivers package.

    ``message`` says what went wrong; ``address`` is the instrument address as written by
    the user (a VISA resource string, a serial URL...); ``last_command`` is the last command
    written to the instrument before the failure (``None`` when nothing was sent yet);
    ``expected`` says what the driver expected to receive, ``received`` what it got
    (already decoded, possibly partial). All are kept as attributes for programs and
    rendered in ``str(error)`` for people.
    """

    def __init__(
        self,
        message: str,
        *,
        address: str | None = None,
        last_command: str | None = None,
        expected: str | None = None,
        received: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.address = address
        self.last_command = last_command
        self.expected = expected
        self.received = received

    def __str__(self) -> str:
        parts = [self.message]
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        if self.received is not None:
            parts.append(f"received {self.received!r}")
        if self.address is not None:
            parts.append(f"address {self.address}")
        if self.last_command is not None:
            parts.append(f"last command {self.last_command!r}")
        return "; ".join(parts)

    def with_context(self, *, address: str | None, last_command: str | None) -> DriverError:
        """Fill in the address and last command when the raiser did not know them.

        Returns ``self`` so it can be used as ``raise err.with_context(...)``.
        """
        if self.address is None:
            self.address = address
        if self.last_command is None:
            self.last_command = last_command
        return self


class InstrumentTimeout(DriverError, TimeoutError):
    """The instrument did not answer within the timeout (seconds, see ``timeout_s``)."""

    def __init__(self, message: str, *, timeout_s: float | None = None, **context: str | None):
        super().__init__(message, **context)
        self.timeout_s = timeout_s


class ConnectionLost(DriverError, ConnectionError):
    """The link to the instrument is closed, refused or broken (e.g. closed mid-read)."""


class GarbledResponse(DriverError, ValueError):
    """The instrument answered something that is not a well-formed answer.

    Covers undecodable bytes, answers that do not match the documented format, and
    truncated answers (a number cut short, fewer values than requested).
    """


class MeasurementOverload(DriverError):
    """The instrument reported an overload (over range) instead of a value.

    For SCPI instruments this is the ``+9.9E+37`` answer; the value is not a reading.
    """


@dataclass(frozen=True, slots=True)
class DeviceError:
    """One entry of an instrument's error queue: ``code`` and ``text`` as reported."""

    code: int
    text: str

    def __str__(self) -> str:
        return f'{self.code:+d},"{self.text}"'


class InstrumentReportedError(DriverError):
    """The instrument reported one or more errors (e.g. the SCPI error queue).

    ``errors`` holds every entry drained from the queue, oldest first; ``code`` and
    ``text`` are those of the first one.
    """

    def __init__(
        self, message: str, *, errors: tuple[DeviceError, ...], **context: str | None
    ) -> None:
        if not errors:
            raise ValueError("InstrumentReportedError needs at least one device error")
        super().__init__(message, **context)
        self.errors = errors
        self.code = errors[0].code
        self.text = errors[0].text

    def __str__(self) -> str:
        listed = ", ".join(str(e) for e in self.errors)
        return f"{super().__str__()}; device errors: {listed}"


class ModbusExceptionResponse(DriverError):
    """A Modbus device answered with an exception response (``exception_code``, 1..255)."""

    def __init__(self, message: str, *, exception_code: int, **context: str | None) -> None:
        super().__init__(message, **context)
        self.exception_code = exception_code


class UnstableReading(DriverError):
    """The instrument could not give a stable value (e.g. a balance that does not settle)."""


class IdentityMismatch(DriverError):
    """The instrument's identity differs from the expected model or serial number."""

    def __init__(
        self,
        message: str,
        *,
        expected_identity: str,
        actual_identity: str,
        **context: str | None,
    ) -> None:
        super().__init__(message, **context)
        self.expected_identity = expected_identity
        self.actual_identity = actual_identity


class OutOfRange(DriverError, ValueError):
    """A setting the instrument cannot do (range, setpoint, NPLC...): refused, never clamped.

    ``parameter`` names the setting, ``value`` is what was asked, ``allowed`` describes
    what the instrument accepts (units included).
    """

    def __init__(
        self,
        message: str,
        *,
        parameter: str,
        value: object,
        allowed: str,
        **context: str | None,
    ) -> None:
        super().__init__(message, expected=allowed, **context)
        self.parameter = parameter
        self.value = value
        self.allowed = allowed


class AddressError(DriverError, ValueError):
    """An instrument address that cannot be parsed (bad VISA resource, unknown option...)."""


# -- meter test benches ----------------------------------------------------------------------


class MeterBenchFault(DriverError):
    """A fault of one position of a meter test bench, or of its power source.

    ``position`` is the bench position at fault (1-based; ``None`` for the power source),
    ``value`` the value at fault as read or asked (pulses, imp/kWh, V...). A fault is
    never turned into a result: the position's reading is refused, the others stand.
    """

    def __init__(
        self, message: str, *, position: int | None, value: object, **context: str | None
    ) -> None:
        super().__init__(message, **context)
        self.position = position
        self.value = value


class NoPulses(MeterBenchFault):
    """A position counted no pulse while the reference meter measured energy
    (``value``: the reference energy, kWh): the meter's test output is not seen."""


class LostPulse(MeterBenchFault):
    """A position's pulse count cannot be right for the energy applied (``value``: the
    pulses counted): a pulse lost or added by the test output or the error calculator."""


class SourceOutOfRegulation(MeterBenchFault):
    """The bench's power source did not hold what was programmed (``phase`` 1-3, the
    ``quantity`` and its measured ``value``); the test made under it is void."""

    def __init__(
        self,
        message: str,
        *,
        phase: int,
        quantity: str,
        value: float,
        **context: str | None,
    ) -> None:
        super().__init__(message, position=None, value=value, **context)
        self.phase = phase
        self.quantity = quantity


class PositionNotMounted(MeterBenchFault, LookupError):
    """A position asked for holds no meter, or does not exist on the bench
    (``value``: the positions mounted)."""


class MeterConstantInvalid(MeterBenchFault, ValueError):
    """A meter constant (imp/kWh) missing (``value`` None) or not a positive finite number."""


# -- meters read through their optical port (IEC 62056-21) ----------------------------------


class BlockCheckMismatch(GarbledResponse):
    """A data message whose block check character is not the one its bytes give.

    ``expected_bcc`` is the BCC computed from the bytes received (after STX up to and
    including ETX), ``received_bcc`` the one the meter sent; both 0-255. The readout is
    refused whole: a flipped bit in a register value looks like any other value.
    """

    def __init__(
        self, message: str, *, expected_bcc: int, received_bcc: int, **context: str | None
    ) -> None:
        super().__init__(
            message,
            expected=f"BCC 0x{expected_bcc:02X}",
            received=f"BCC 0x{received_bcc:02X}",
            **context,
        )
        self.expected_bcc = expected_bcc
        self.received_bcc = received_bcc


class MalformedDataLine(GarbledResponse):
    """A line of a readout's data block that is not ``address(value*unit)...``
    (``line_number`` from 1 within the data block, ``line`` as received)."""

    def __init__(self, message: str, *, line_number: int, line: str, **context: str | None) -> None:
        super().__init__(f"data line {line_number}: {message}", received=line, **context)
        self.line_number = line_number
        self.line = line


class SerialNumberMissing(DriverError, LookupError):
    """A readout that states no serial number under any of the OBIS codes looked for
    (``codes``, in the order they were looked for)."""

    def __init__(self, message: str, *, codes: tuple[str, ...], **context: str | None) -> None:
        super().__init__(message, expected=" or ".join(codes), **context)
        self.codes = codes


class UnexpectedUnit(DriverError, ValueError):
    """A register read in a unit it cannot be in (``code``: its OBIS code, ``unit``: the
    unit as stated, empty when none was; ``allowed``: the units accepted). A unit is
    converted only where the conversion is stated (Wh to kWh), never guessed."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        unit: str,
        allowed: tuple[str, ...],
        **context: str | None,
    ) -> None:
        super().__init__(
            message, expected=" or ".join(allowed), received=unit or "no unit", **context
        )
        self.code = code
        self.unit = unit
        self.allowed = allowed
