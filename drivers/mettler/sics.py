"""Mettler Toledo balances and scales over MT-SICS level 0/1 (serial, RS-232).

MT-SICS is a line protocol: upper-case ASCII commands ended by CR LF, answers ended by CR
LF, whose first word repeats the command (``S S     100.00 g`` answers ``S``). This driver
uses the level 0/1 commands every MT-SICS balance implements:

==========  ====================================================================
``I2``      balance data: type, capacity and unit (``I2 A "XS205 220.00000 g"``)
``I3``      software version (``I3 A "2.10"``)
``I4``      serial number (``I4 A "B021002593"``)
``S``       stable weight: ``S S <value> <unit>``, or ``S I`` (not executable: busy, or
            no stability within the balance's time limit), ``S +`` overload, ``S -``
            underload
``SI``      weight immediately: ``S S`` (stable) or ``S D`` (dynamic) with the value
``Z``       zero: ``Z A`` done, ``Z I`` not executable (not stable), ``Z +`` / ``Z -``
            outside the zero-setting range
``T``       tare: ``T S <tare> <unit>`` done, ``T I`` not executable, ``T +`` / ``T -``
            outside the taring range
``ES``      syntax error (command not recognised), ``ET`` transmission error (parity,
            break), ``EL`` logical error (cannot execute, bad parameter)
==========  ====================================================================

Sources: the MT-SICS command lists and the ``S`` description of the AL/AT/ML operating
instructions (Mettler Toledo, "S I: command not executable ... or timeout as stability was
not reached"), the MT-SICS reference 11780711 table of contents (``I2`` balance data,
``I4`` serial number, general errors ``ES``/``ET``/``EL``). The ``T S <tare> <unit>``
success answer and the ``T +``/``T -`` meanings follow the level-1 reference as we read it.

Every error answer becomes a typed error carrying the address and the command that
drew it; none of them ever becomes a reading. ``S I`` is asked again until the configured
``stable_wait_s`` has passed, then raised as :class:`~drivers.errors.UnstableReading`.
An ``ET`` answer (the balance received corrupted bytes) is sent again, within the same
bounded number of retries as the transport's.

Resynchronisation: MT-SICS has no command that echoes a token, so the marker is ``I1``
(MT-SICS level and versions), which this driver never sends otherwise: after a timeout,
everything before the ``I1`` answer is a stale answer and is discarded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import ClassVar, Literal, Self, TypeVar

from drivers.base import MessageDriver
from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.driver import DriverOptions
from drivers.errors import (
    DriverError,
    GarbledResponse,
    MeasurementOverload,
    UnstableReading,
)
from drivers.reading import Identity, Reading, utc_now
from drivers.transports.base import MessageTransport, SyncMarker

__all__ = [
    "BalanceOverload",
    "BalanceUnderload",
    "MettlerToledoSics",
    "SicsError",
    "SicsLogicalError",
    "SicsSyntaxError",
    "SicsTransmissionError",
    "TareRangeExceeded",
    "ZeroRangeExceeded",
    "parse_weight",
    "sics_sync_marker",
]

T = TypeVar("T")

# Weighing units an MT-SICS balance may report (as spelled on the interface).
UNITS = frozenset({"g", "kg", "mg", "ug", "t", "ct", "lb", "oz", "ozt", "dwt", "GN", "tl", "mo"})

_WEIGHT = re.compile(r"S ([SD]) +([-+]?\d+(?:\.\d+)?) +(\S+)")
_TARE = re.compile(r"T S +([-+]?\d+(?:\.\d+)?) +(\S+)")
_QUOTED = re.compile(r'"([^"]*)"')
_CAPACITY = re.compile(r"(.*?)\s+(\d+(?:\.\d+)?)\s+(\S+)")


class SicsError(DriverError):
    """The balance answered with an error instead of a result; ``reply`` is that answer."""

    def __init__(self, message: str, *, reply: str, **context: str | None) -> None:
        super().__init__(message, received=reply, **context)
        self.reply = reply


class SicsSyntaxError(SicsError):
    """``ES``: the balance did not recognise the command."""


class SicsTransmissionError(SicsError):
    """``ET``: the balance received corrupted bytes (parity error, break).

    The answer itself arrived whole, so the link is in step: the driver sends the command
    again (up to the transport's ``retries``) without resynchronising.
    """


class SicsLogicalError(SicsError):
    """``EL``: the command is recognised but cannot be executed (or a parameter is wrong)."""


class BalanceOverload(MeasurementOverload):
    """``S +``: the load is above the weighing range; no value."""


class BalanceUnderload(MeasurementOverload):
    """``S -``: the load is below the weighing range (pan removed...); no value."""


class ZeroRangeExceeded(SicsError):
    """``Z +`` / ``Z -``: the load is outside the zero-setting range (``side`` ``+``/``-``)."""

    def __init__(self, message: str, *, side: str, reply: str, **context: str | None) -> None:
        super().__init__(message, reply=reply, **context)
        self.side = side


class TareRangeExceeded(SicsError):
    """``T +`` / ``T -``: the load is outside the taring range (``side`` ``+``/``-``)."""

    def __init__(self, message: str, *, side: str, reply: str, **context: str | None) -> None:
        super().__init__(message, reply=reply, **context)
        self.side = side


def sics_sync_marker(token: int) -> SyncMarker:
    """The resynchronisation marker: ``I1``, an answer this driver never asks otherwise.

    MT-SICS has no echo command, so the token cannot travel; the marker is recognised by
    its header (``I1 A ...``).
    """
    if not 1 <= token <= 255:
        raise ValueError(f"token must be 1..255, got {token}")
    return SyncMarker("I1", lambda text: text.startswith("I1 A"))


def _general_error(text: str) -> None:
    """Raise the typed error of a general MT-SICS error answer (``ES``, ``ET``, ``EL``)."""
    stripped = text.strip()
    if stripped == "ES":
        raise SicsSyntaxError("the balance did not recognise the command (ES)", reply=text)
    if stripped == "ET":
        raise SicsTransmissionError("the balance received a corrupted command (ET)", reply=text)
    if stripped == "EL":
        raise SicsLogicalError("the balance cannot execute the command (EL)", reply=text)


_WeightAnswer = tuple[Literal["S", "D"], float, str] | Literal["I", "+", "-"]


def parse_weight(text: str) -> _WeightAnswer:
    """Parse an answer to ``S`` or ``SI``.

    Returns ``(flag, value, unit)`` with flag ``"S"`` (stable) or ``"D"`` (dynamic) and the
    value in ``unit``, or the status letter of ``S I``, ``S +``, ``S -``. Raises the typed
    general errors and :class:`~drivers.errors.GarbledResponse` for anything else.
    """
    _general_error(text)
    if text in {"S I", "S +", "S -"}:
        return text[2]  # type: ignore[return-value]
    match = _WEIGHT.fullmatch(text.strip())
    if match is None or match.group(3) not in UNITS:
        raise GarbledResponse(
            "malformed weight answer", expected="S S|D <value> <unit>", received=text
        )
    flag: Literal["S", "D"] = "S" if match.group(1) == "S" else "D"
    return flag, float(match.group(2)), match.group(3)


def _parse_status(header: str, allowed: frozenset[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        _general_error(text)
        head, _, status = text.partition(" ")
        if head != header or status not in allowed:
            raise GarbledResponse(
                f"malformed {header} answer",
                expected=" | ".join(f"{header} {s}" for s in sorted(allowed)),
                received=text,
            )
        return status

    return parse


def _parse_quoted(header: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        _general_error(text)
        if not text.startswith(f"{header} A "):
            raise GarbledResponse(
                f"malformed {header} answer", expected=f'{header} A "<text>"', received=text
            )
        match = _QUOTED.fullmatch(text[len(header) + 3 :].strip())
        if match is None:
            raise GarbledResponse(
                f"malformed {header} answer", expected=f'{header} A "<text>"', received=text
            )
        return match.group(1)

    return parse


def _parse_tare(text: str) -> tuple[float, str] | str:
    _general_error(text)
    if text in {"T I", "T +", "T -"}:
        return text[2]
    match = _TARE.fullmatch(text.strip())
    if match is None or match.group(2) not in UNITS:
        raise GarbledResponse("malformed T answer", expected="T S <tare> <unit>", received=text)
    return float(match.group(1)), match.group(2)


def _with_text(parse: Callable[[str], T]) -> Callable[[str], tuple[str, T]]:
    def both(text: str) -> tuple[str, T]:
        return text, parse(text)

    return both


class MettlerToledoSics(MessageDriver):
    """A Mettler Toledo balance (or any MT-SICS level 0/1 balance) on a serial port.

    Implements :class:`~drivers.capabilities.Scale`. Weights are reported in the unit the
    balance sends (its unit 1, normally ``g``), never converted. ``stable_wait_s``
    (seconds) is how long :meth:`read_weight`, :meth:`zero` and :meth:`tare` keep asking
    while the balance answers "not executable" (``I``), polling every ``poll_s`` seconds.
    The identity's model comes from ``I2``, its firmware from ``I3``, its serial from ``I4``.
    """

    name: ClassVar[str] = "mettler-sics"
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (
            Capability(
                function=Function.MASS,
                quantity="mass",
                unit="g",
                direction=Direction.MEASURE,
                spans=(Span(minimum=0.0, maximum=6.4e7),),
                notes="MT-SICS level 0/1; the balance's capacity and unit come from I2 at "
                "connection (see `capacity`); readings keep the unit the balance sends",
            ),
        )
    )
    write_termination: ClassVar[str] = "\r\n"
    read_termination: ClassVar[str] = "\r\n"
    default_stable_wait_s: ClassVar[float] = 10.0
    poll_s: ClassVar[float] = 0.1

    def __init__(
        self,
        transport: MessageTransport,
        *,
        expected_serial: str | None = None,
        stable_wait_s: float | None = None,
    ) -> None:
        super().__init__(transport, expected_serial=expected_serial)
        wait = self.default_stable_wait_s if stable_wait_s is None else stable_wait_s
        if not wait >= 0:
            raise ValueError(f"stable_wait_s must be >= 0 s, got {wait!r}")
        self._stable_wait_s = wait
        self._capacity: tuple[float, str] | None = None

    @classmethod
    def open(
        cls,
        address: str,
        options: DriverOptions | None = None,
        *,
        stable_wait_s: float | None = None,
    ) -> Self:
        """Open the balance at ``address`` (device path, ``serial://`` URL or VISA
        ``ASRL`` resource), read and check its identity; the port is closed on failure."""
        options = options or DriverOptions()
        expected_serial = options.expected_serial
        return cls._open_connected(
            address,
            options,
            sics_sync_marker,
            lambda transport: cls(
                transport, expected_serial=expected_serial, stable_wait_s=stable_wait_s
            ),
        )

    def connect(self) -> Identity:
        """Read ``I2`` (type, capacity), ``I3`` (software) and ``I4`` (serial number)."""
        data = self._query("I2", _parse_quoted("I2"))
        firmware = self._query("I3", _parse_quoted("I3"))
        serial = self._query("I4", _parse_quoted("I4"))
        match = _CAPACITY.fullmatch(data.strip())
        model = match.group(1) if match else data.strip()
        if match is not None:
            self._capacity = (float(match.group(2)), match.group(3))
        raw = f'I2 A "{data}"; I3 A "{firmware}"; I4 A "{serial}"'
        identity = Identity("Mettler Toledo", model, serial, firmware, raw=raw)
        self._check_serial(identity, last_command="I4")
        self._identity = identity
        return identity

    # -- Driver protocol ----------------------------------------------------------------

    @property
    def capacity(self) -> tuple[float, str] | None:
        """The maximum capacity and its unit as stated by ``I2`` (None if it did not say)."""
        return self._capacity

    # -- Scale ----------------------------------------------------------------------------

    def read_weight(self, *, stable: bool = True) -> Reading:
        """One weight in the balance's unit (usually g).

        ``stable=True`` sends ``S`` and, while the balance answers ``S I``, asks again
        until ``stable_wait_s`` has passed, then raises UnstableReading. ``stable=False``
        sends ``SI`` and returns the value with its flag (``stable=False``, status
        ``dynamic`` for ``S D``). ``S +``/``S -`` raise BalanceOverload/BalanceUnderload.
        """
        command = "S" if stable else "SI"
        deadline = time.monotonic() + self._stable_wait_s
        while True:
            raw, answer = self._query(command, _with_text(parse_weight))
            if isinstance(answer, tuple):
                flag, value, unit = answer
                return Reading(
                    value=value,
                    unit=unit,
                    timestamp=utc_now(),
                    raw=raw,
                    stable=flag == "S",
                    status="stable" if flag == "S" else "dynamic",
                    function=str(Function.MASS),
                )
            if answer == "+":
                raise BalanceOverload(
                    "the balance is in overload (S +)",
                    received="S +",
                    address=self.address,
                    last_command=command,
                )
            if answer == "-":
                raise BalanceUnderload(
                    "the balance is in underload (S -)",
                    received="S -",
                    address=self.address,
                    last_command=command,
                )
            if not stable or time.monotonic() >= deadline:
                raise UnstableReading(
                    "the balance gave no stable weight"
                    + (f" within {self._stable_wait_s:g} s" if stable else " (busy)"),
                    received="S I",
                    address=self.address,
                    last_command=command,
                )
            time.sleep(self.poll_s)

    def zero(self) -> None:
        """``Z``: set zero (clears the tare); UnstableReading when it never settles,
        ZeroRangeExceeded when the load is outside the zero-setting range."""
        parse = _parse_status("Z", frozenset({"A", "I", "+", "-"}))
        deadline = time.monotonic() + self._stable_wait_s
        while True:
            status = self._query("Z", parse)
            if status == "A":
                return
            if status in {"+", "-"}:
                raise ZeroRangeExceeded(
                    f"the load is {'above' if status == '+' else 'below'} the zero-setting "
                    f"range (Z {status})",
                    side=status,
                    reply=f"Z {status}",
                    address=self.address,
                    last_command="Z",
                )
            if time.monotonic() >= deadline:
                raise UnstableReading(
                    f"the balance could not zero within {self._stable_wait_s:g} s (Z I)",
                    received="Z I",
                    address=self.address,
                    last_command="Z",
                )
            time.sleep(self.poll_s)

    def tare(self) -> None:
        """``T``: tare the load on the pan; see :meth:`tare_weight`."""
        self.tare_weight()

    def tare_weight(self) -> tuple[float, str]:
        """``T``: tare and return the tare weight and its unit (``T S <tare> <unit>``).

        UnstableReading when the balance never settles within ``stable_wait_s`` (``T I``),
        TareRangeExceeded for ``T +`` / ``T -``.
        """
        deadline = time.monotonic() + self._stable_wait_s
        while True:
            answer = self._query("T", _parse_tare)
            if isinstance(answer, tuple):
                return answer
            if answer in {"+", "-"}:
                raise TareRangeExceeded(
                    f"the load is {'above' if answer == '+' else 'below'} the taring range "
                    f"(T {answer})",
                    side=answer,
                    reply=f"T {answer}",
                    address=self.address,
                    last_command="T",
                )
            if time.monotonic() >= deadline:
                raise UnstableReading(
                    f"the balance could not tare within {self._stable_wait_s:g} s (T I)",
                    received="T I",
                    address=self.address,
                    last_command="T",
                )
            time.sleep(self.poll_s)

    # -- plumbing -------------------------------------------------------------------------

    def _query(self, command: str, parse: Callable[[str], T]) -> T:
        attempts = 1 + self._transport.settings.retries
        for attempt in range(attempts):
            try:
                return self._transport.query_parsed(command, parse)
            except SicsTransmissionError as err:
                if attempt + 1 == attempts:
                    raise
                self.io_log.event(f"retry {attempt + 1}/{attempts - 1} after: {err.message}")
        raise AssertionError("unreachable")  # pragma: no cover
