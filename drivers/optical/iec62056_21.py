"""IEC 62056-21 (formerly IEC 61107) mode C data readout: the messages, their checks, and
the readout of a meter's identity and registers through its optical port.

The exchange, every step at the rate named::

    reader → meter   /?<device address>!CR LF                        request (300 bit/s)
    meter  → reader  /XXXZ<identification>CR LF                      identification (300)
    reader → meter   ACK 0 Z 0 CR LF                                 option select (300)
                     (both sides switch to the rate Z proposed)
    meter  → reader  STX <data block> ! CR LF ETX BCC                data message (Z)

``XXX`` is the manufacturer's three-letter code, ``Z`` the highest rate the meter offers
(``0`` 300 bit/s to ``6`` 19200 bit/s in mode C); the identification (at most 16
characters) may start with ``\\W``, an enhanced identification character (``2``: the
meter also speaks HDLC, i.e. DLMS/COSEM). In the option select, the first ``0`` is the
normal protocol procedure and the last ``0`` asks for the data readout (``1`` would be
programming mode, which caltrace never asks for). The data block is lines of data sets
``address(value*unit)``, each line ended by CR LF. The BCC is the XOR of every byte after
STX up to and including ETX.

Sources (public, not the standard's text): the IEC 62056-21 notes of
lvzon/dsmr-p1-parser (``doc/IEC-62056-21-notes.md``: messages, baud-rate characters, BCC
rule, the break message ``SOH B 0 ETX q``); the test vectors of pwitab/iec62056-21
(``tests/test_data.py``). The mode-A and mode-B identifications (letters instead of
digits) are refused, not read: caltrace implements mode C only.

OBIS codes as a readout writes them: ``C.D.E`` (value groups A and B left out), or in full
``A-B:C.D.E*F``; the letters ``C``, ``F``, ``L``, ``P`` stand for 96, 97, 98, 99 in group C
(volkszaehler/vzlogger ``src/Obis.cpp``). Codes are compared on their reduced form (see
:func:`reduced_code`). The meanings used here, from the OBIS list shipped by Gurux
(``OBiscodes.h``, reproducing the DLMS UA list): ``C.1.0`` = 0-0:96.1.0 "Device ID 1,
manufacturing number"; ``0.0.0`` = 1-0:0.0.0 "Electricity ID 1" (often the owner's
number rather than the manufacturer's); ``1.8.0`` = 1-0:1.8.0 active energy import
(+A), time integral 1, total; ``2.8.0`` its export (−A); ``1.8.1``... its tariffs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from drivers.closing import Closing
from drivers.errors import (
    AddressError,
    BlockCheckMismatch,
    DriverError,
    GarbledResponse,
    InstrumentTimeout,
    MalformedDataLine,
    SerialNumberMissing,
    UnexpectedUnit,
)
from drivers.iolog import IOLog
from drivers.optical.link import INITIAL_BAUD_RATE, OpticalLink
from drivers.reading import utc_now

__all__ = [
    "ACK",
    "BAUD_RATES",
    "ENERGY_IMPORT",
    "ETX",
    "SERIAL_CODES",
    "STX",
    "DataSet",
    "EnergyRegister",
    "Identification",
    "MeterReadout",
    "OpticalReader",
    "RegisterMissing",
    "block_check",
    "check_device_address",
    "data_message",
    "identification_message",
    "option_select",
    "parse_data_message",
    "parse_identification",
    "reduced_code",
    "sign_on",
]

STX = 0x02
ETX = 0x03
ACK = 0x06
CRLF = b"\r\n"

BAUD_RATES: dict[str, int] = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
}
"""Mode C's baud-rate characters and their rates (bit/s)."""

SERIAL_CODES: tuple[str, ...] = ("C.1.0", "0.0.0")
"""Where a readout states the meter's serial number, looked for in this order: the
manufacturing number first, then the electricity ID."""

ENERGY_IMPORT = "1.8.0"
"""Active energy import (+A), total of all tariffs."""

_KWH_FACTORS = {"kWh": Decimal(1), "Wh": Decimal("0.001")}
"""The only units an active-energy register is accepted in, and their factor to kWh."""

_DEVICE_ADDRESS = re.compile(r"[0-9A-Za-z ]{1,32}")
_DATA_SET = re.compile(r"([^()/!]{0,16})((?:\([^()/!]*\))+)")
_GROUP = re.compile(r"\(([^()/!]*)\)")
_FULL_CODE = re.compile(r"(?:(\w+)-(\w+):)?([0-9A-Z]+)\.(\d+)(?:\.(\d+))?(?:[*&](\d+))?")
_LETTERS = {"96": "C", "97": "F", "98": "L", "99": "P"}


class RegisterMissing(DriverError, LookupError):
    """A register asked for (``code``) is not in the meter's readout."""

    def __init__(self, message: str, *, code: str, **context: str | None) -> None:
        super().__init__(message, expected=f"a data set {code}(...)", **context)
        self.code = code


# -- the messages --------------------------------------------------------------------------


def block_check(data: bytes) -> int:
    """The block check character of ``data``: the XOR of its bytes (0-255).

    Give it the bytes after STX (or SOH) up to and including ETX.
    """
    bcc = 0
    for byte in data:
        bcc ^= byte
    return bcc


def check_device_address(device_address: str) -> None:
    """Refuse (AddressError) a device address that is not 1 to 32 digits, letters or
    spaces; "" (any meter on the probe) passes."""
    if device_address and not _DEVICE_ADDRESS.fullmatch(device_address):
        raise AddressError(
            f"device address {device_address!r} cannot be sent",
            expected="1 to 32 digits, letters or spaces",
        )


def sign_on(device_address: str = "") -> bytes:
    """The request message ``/?<device address>!CR LF``; an empty address asks any meter
    on the probe (see :func:`check_device_address`)."""
    check_device_address(device_address)
    return b"/?" + device_address.encode("ascii") + b"!" + CRLF


def option_select(baud_char: str) -> bytes:
    """The acknowledgement/option select message asking for the data readout at the rate
    of ``baud_char``: ``ACK 0 Z 0 CR LF``."""
    if baud_char not in BAUD_RATES:
        raise ValueError(f"not a mode C baud-rate character: {baud_char!r}")
    return bytes([ACK]) + b"0" + baud_char.encode("ascii") + b"0" + CRLF


def identification_message(manufacturer: str, baud_char: str, identification: str) -> bytes:
    """The identification message ``/XXXZ<identification>CR LF`` (what a meter sends)."""
    return f"/{manufacturer}{baud_char}{identification}".encode("ascii") + CRLF


def data_message(lines: Sequence[str], *, bcc: Callable[[int], int] | None = None) -> bytes:
    """The data message ``STX <lines, each CR LF> ! CR LF ETX BCC`` (what a meter sends).

    ``bcc`` may alter the block check character (a simulator's corrupted transmission).
    """
    body = b"".join(line.encode("ascii") + CRLF for line in lines) + b"!" + CRLF + bytes([ETX])
    check = block_check(body)
    if bcc is not None:
        check = bcc(check)
    return bytes([STX]) + body + bytes([check])


@dataclass(frozen=True, slots=True)
class Identification:
    """The meter's identification message, parsed.

    ``manufacturer``: its three-letter code. ``baud_char``: the rate character as sent and
    ``baud_rate`` the rate it proposes (bit/s). ``identification``: the rest, without the
    enhanced identification. ``enhanced``: the character after ``\\`` (``"2"``: the meter
    also speaks HDLC), None when absent. ``raw``: the message as received, without CR LF.
    """

    manufacturer: str
    baud_char: str
    baud_rate: int
    identification: str
    enhanced: str | None
    raw: str

    @property
    def reaction_s(self) -> float:
        """How long the meter needs before it can take the next message (seconds): 20 ms
        when the manufacturer code's third letter is lower case, else 200 ms (as the
        lvzon/dsmr-p1-parser notes read the standard; unconfirmed against its text)."""
        return 0.02 if self.manufacturer[2].islower() else 0.2


def parse_identification(message: bytes) -> Identification:
    """Parse ``/XXXZ<identification>CR LF``; GarbledResponse if it is not one, or not of
    mode C."""
    text = message.decode("ascii", errors="backslashreplace")
    body = text.removesuffix("\r\n")
    if not body.startswith("/") or len(body) < 6 or not body[1:].isprintable():
        raise GarbledResponse(
            "not an identification message",
            expected="/XXXZ<identification> CR LF",
            received=text,
        )
    manufacturer, baud_char, rest = body[1:4], body[4], body[5:]
    if not (manufacturer.isascii() and manufacturer.isalpha()):
        raise GarbledResponse(
            f"manufacturer code {manufacturer!r} is not three letters",
            expected="/XXXZ<identification>",
            received=body,
        )
    if baud_char not in BAUD_RATES:
        raise GarbledResponse(
            f"baud-rate character {baud_char!r} is not of mode C (mode A and B meters are "
            "not read)",
            expected="a baud-rate character 0 to 6",
            received=body,
        )
    enhanced: str | None = None
    if rest.startswith("\\") and len(rest) >= 2:
        enhanced, rest = rest[1], rest[2:]
    if not rest or len(rest) > 16:
        raise GarbledResponse(
            "identification of 1 to 16 characters expected",
            expected="/XXXZ<identification>",
            received=body,
        )
    return Identification(manufacturer, baud_char, BAUD_RATES[baud_char], rest, enhanced, body)


@dataclass(frozen=True, slots=True)
class DataSet:
    """One data set of a readout: ``address(value*unit)``, as the meter wrote it.

    ``code`` is the address reduced for comparison (:func:`reduced_code`); ``extra`` the
    further bracketed values after the first (a time stamp...); ``line_number`` the data
    line it came from (from 1).
    """

    address: str
    value: str
    unit: str
    line_number: int
    extra: tuple[str, ...] = ()
    code: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", reduced_code(self.address))

    @property
    def text(self) -> str:
        """The data set as written."""
        unit = f"*{self.unit}" if self.unit else ""
        return f"{self.address}({self.value}{unit})" + "".join(f"({e})" for e in self.extra)


def reduced_code(address: str) -> str:
    """The OBIS code of ``address`` as compared here: ``C.D.E``, with ``*F`` kept only for
    a billing period (F other than 255), groups A and B dropped, and 96 to 99 in group C
    written C, F, L, P. An address that is not an OBIS code is returned as written."""
    match = _FULL_CODE.fullmatch(address.strip())
    if match is None:
        return address.strip()
    _, _, c, d, e, f = match.groups()
    c = _LETTERS.get(c, c)
    code = f"{c}.{d}" if e is None else f"{c}.{d}.{e}"
    if f is not None and f != "255":
        code += f"*{int(f)}"
    return code


def parse_data_message(message: bytes) -> tuple[DataSet, ...]:
    """Check and parse ``STX <data block> ! CR LF ETX BCC`` into its data sets.

    Refused: a message that does not start with STX or end with ``! CR LF ETX`` and its
    BCC (GarbledResponse), a BCC that is not the XOR of the bytes after STX up to and
    including ETX (BlockCheckMismatch, naming both), a line that is not data sets
    (MalformedDataLine, naming the line).
    """
    received = message.decode("ascii", errors="backslashreplace")
    if len(message) < 2 or message[0] != STX or message[-2] != ETX:
        raise GarbledResponse(
            "not a data message", expected="STX <data block> ! CR LF ETX BCC", received=received
        )
    expected = block_check(message[1:-1])
    if expected != message[-1]:
        raise BlockCheckMismatch(
            "the data message's block check character is wrong",
            expected_bcc=expected,
            received_bcc=message[-1],
        )
    try:
        text = message[1:-2].decode("ascii")
    except UnicodeDecodeError as err:
        raise GarbledResponse(
            "bytes outside ASCII in the data message", expected="ASCII", received=received
        ) from err
    if not text.endswith("!\r\n"):
        raise GarbledResponse(
            "the data block does not end with ! CR LF",
            expected="<data block> ! CR LF ETX",
            received=received,
        )
    block = text[: -len("!\r\n")]
    lines = block.split("\r\n")
    if lines[-1] != "":
        raise MalformedDataLine("not ended by CR LF", line_number=len(lines), line=lines[-1])
    sets: list[DataSet] = []
    for number, line in enumerate(lines[:-1], start=1):
        sets.extend(_data_sets(line, number))
    return tuple(sets)


def _data_sets(line: str, number: int) -> list[DataSet]:
    if not line:
        raise MalformedDataLine("empty line", line_number=number, line=line)
    out: list[DataSet] = []
    position = 0
    while position < len(line):
        match = _DATA_SET.match(line, position)
        if match is None or match.end() == position:
            raise MalformedDataLine(
                f"not address(value*unit) at character {position + 1}",
                line_number=number,
                line=line,
            )
        groups = _GROUP.findall(match.group(2))
        value, _, unit = groups[0].partition("*")
        if "*" in unit:
            raise MalformedDataLine(f"two '*' in {groups[0]!r}", line_number=number, line=line)
        out.append(DataSet(match.group(1), value, unit, number, tuple(groups[1:])))
        position = match.end()
    return out


# -- what a readout says -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnergyRegister:
    """An active-energy register in kWh (``kwh``, exact), with what the meter stated:
    ``stated_value`` and ``stated_unit`` as written. ``converted`` is True when the meter
    stated Wh and the value was divided by 1000 (the only conversion made)."""

    code: str
    kwh: Decimal
    stated_value: str
    stated_unit: str

    @property
    def converted(self) -> bool:
        """True when the stated unit was Wh."""
        return self.stated_unit != "kWh"


@dataclass(frozen=True, slots=True)
class MeterReadout:
    """One data readout of a meter: its identification, every data set, its serial.

    ``serial`` is the value of the first of :data:`SERIAL_CODES` (or the codes asked
    for) present in the readout, ``serial_code`` that code. ``read_at`` is the UTC time
    the data message was received.
    """

    identification: Identification
    data_sets: tuple[DataSet, ...]
    serial: str
    serial_code: str
    read_at: datetime

    @classmethod
    def of(
        cls,
        identification: Identification,
        data_sets: tuple[DataSet, ...],
        *,
        serial_codes: Sequence[str] = SERIAL_CODES,
        read_at: datetime | None = None,
    ) -> MeterReadout:
        """The readout of these data sets; SerialNumberMissing when none of
        ``serial_codes`` states a serial."""
        by_code = {s.code: s for s in reversed(data_sets)}  # the first one wins
        for code in serial_codes:
            found = by_code.get(code)
            if found is not None and found.value.strip():
                return cls(
                    identification, data_sets, found.value.strip(), code, read_at or utc_now()
                )
        raise SerialNumberMissing("the readout states no serial number", codes=tuple(serial_codes))

    def data_set(self, code: str) -> DataSet:
        """The first data set of reduced code ``code``; RegisterMissing when there is none."""
        wanted = reduced_code(code)
        for data_set in self.data_sets:
            if data_set.code == wanted:
                return data_set
        raise RegisterMissing(f"the readout has no register {wanted}", code=wanted)

    def active_energy(self, code: str = ENERGY_IMPORT) -> EnergyRegister:
        """Active-energy register ``code`` in kWh.

        Accepted in kWh, or in Wh divided by 1000; any other unit, or none, is
        UnexpectedUnit; a value that is not a decimal number is GarbledResponse.
        """
        data_set = self.data_set(code)
        factor = _KWH_FACTORS.get(data_set.unit)
        if factor is None:
            raise UnexpectedUnit(
                f"register {data_set.code} is not stated in kWh or Wh",
                code=data_set.code,
                unit=data_set.unit,
                allowed=tuple(_KWH_FACTORS),
            )
        value = _decimal(data_set)
        return EnergyRegister(data_set.code, value * factor, data_set.value, data_set.unit)

    def energy_registers(self) -> dict[str, EnergyRegister]:
        """Every active-energy register of the readout (import and export, total and per
        tariff: ``1.8.E`` and ``2.8.E`` of the current period), in kWh, by code."""
        codes = [
            s.code for s in self.data_sets if re.fullmatch(r"[12]\.8\.\d+", s.code) is not None
        ]
        return {code: self.active_energy(code) for code in dict.fromkeys(codes)}


def _decimal(data_set: DataSet) -> Decimal:
    try:
        value = Decimal(data_set.value.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise GarbledResponse(
            f"register {data_set.code} is not a number",
            expected="a decimal number",
            received=data_set.text,
        )
    return value


# -- the reader ----------------------------------------------------------------------------


class OpticalReader(Closing):
    """Reads a meter through its optical port in IEC 62056-21 mode C.

    ``address``: the probe's link (see :mod:`drivers.optical.link`). ``device_address``:
    the meter's address sent in the request ("" for whichever meter is on the probe).
    ``timeout_s``: how long each answer, and each silence within an answer, may take
    (seconds). ``retries``: readouts started again from the request after a timeout, a
    wrong BCC or a garbled answer (the meter is left ``retry_pause_s`` seconds to return
    to its initial state first). ``serial_codes``: where the serial number is looked for.
    """

    def __init__(
        self,
        address: str,
        *,
        device_address: str = "",
        timeout_s: float = 2.0,
        retries: int = 1,
        retry_pause_s: float = 1.5,
        serial_codes: Sequence[str] = SERIAL_CODES,
        io_log: IOLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        self._request = sign_on(device_address)
        self.device_address = device_address
        self._link = OpticalLink(address, timeout_s=timeout_s, io_log=io_log)
        self._retries = retries
        self._retry_pause_s = retry_pause_s
        self._serial_codes = tuple(serial_codes)
        self._sleep = sleep

    @property
    def address(self) -> str:
        """The probe's address."""
        return self._link.address

    @property
    def io_log(self) -> IOLog:
        """Every byte exchanged with the meter."""
        return self._link.io_log

    @property
    def baud_rate(self) -> int:
        """The rate the link is at now (bit/s)."""
        return self._link.baud_rate

    def read_out(self) -> MeterReadout:
        """Sign on, switch to the meter's rate, read and check its data message.

        Raises InstrumentTimeout (no answer, naming the port), BlockCheckMismatch,
        GarbledResponse, MalformedDataLine, SerialNumberMissing, ConnectionLost; every
        error carries the port's address and the last message sent.
        """
        for attempt in range(1 + self._retries):
            try:
                return self._read_out_once()
            except (InstrumentTimeout, GarbledResponse) as err:
                if attempt == self._retries or isinstance(err, MalformedDataLine):
                    raise self._context(err) from err.__cause__
                self.io_log.event(f"retry {attempt + 1}/{self._retries} after: {err.message}")
                self._sleep(self._retry_pause_s)
            except DriverError as err:
                raise self._context(err) from err.__cause__
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_out_once(self) -> MeterReadout:
        link = self._link
        link.open()
        if link.baud_rate != INITIAL_BAUD_RATE:
            link.set_baud_rate(INITIAL_BAUD_RATE)
        link.discard_input()
        link.write(self._request)
        identification = parse_identification(link.read_until(CRLF, what="identification"))
        self._sleep(identification.reaction_s)
        link.write(option_select(identification.baud_char))
        if identification.baud_rate != link.baud_rate:
            link.set_baud_rate(identification.baud_rate)
        message = link.read_until(bytes([ETX]), extra=1, what="data message")
        read_at = utc_now()
        start = message.find(bytes([STX]))
        data_sets = parse_data_message(message[max(start, 0) :])
        return MeterReadout.of(
            identification, data_sets, serial_codes=self._serial_codes, read_at=read_at
        )

    def _context(self, err: DriverError) -> DriverError:
        return err.with_context(address=self._link.address, last_command=self._link.last_command)

    def close(self) -> None:
        """Release the port; idempotent."""
        self._link.close()
