"""Manual entry: an instrument read by eye, its value typed by the operator at a prompt.

For instruments with no data link: a pressure gauge's pointer, a liquid-in-glass
thermometer, a dial gauge, the register of a water meter. The driver prompts, reads one
line, and either accepts it as the reading or refuses it and asks again; it never
invents, rounds or clamps a value.

**Address** (parsed strictly; anything else raises :class:`~drivers.errors.AddressError`)::

    manual://QUANTITY?unit=UNIT&min=MIN&max=MAX&resolution=STEP[&attempts=N]

* ``QUANTITY``: ``pressure``, ``temperature``, ``length`` or ``volume`` (the probe
  functions of the same name);
* ``unit``: the unit printed on the dial, one of :data:`MANUAL_UNITS` for the quantity
  (e.g. ``kPa``, ``bar``, ``kgf/cm2``, ``degC``, ``mm`` for a dial gauge, ``L`` or ``m3``
  for a water-meter register); readings are in this unit;
* ``min`` / ``max``: the instrument's range in ``unit`` (``min < max``); typed values
  outside it are refused;
* ``resolution``: the scale interval in ``unit`` (> 0), declared in the capability for
  the uncertainty budget; typed values are **not** rounded to it (reading to a fraction
  of an interval is the operator's judgement);
* ``attempts``: how many refused entries end the reading with
  :class:`EntryRefused` (1 to 100, default 3).

Examples: ``manual://pressure?unit=kPa&min=0&max=1600&resolution=10``;
``manual://length?unit=mm&min=0&max=10&resolution=0.01`` (a 0-10 mm dial gauge);
``manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001`` (a water-meter
register read to its smallest drum or pointer).

**What the operator may type**: a decimal number in plain digits, with an optional sign
and **either a decimal point or a decimal comma** (``12.5`` or ``12,5``): Vietnamese
operators write the decimal comma, so ``12,5`` is twelve and a half, and ``12,500`` is
12.5, not twelve thousand five hundred. Thousands separators, exponents, ``nan``, ``inf``
and non-ASCII digits are refused, and so is a value outside ``[min, max]``; the refusal
names the quantity and the allowed range and the prompt is asked again. An empty line or
the end of input (Ctrl-D) aborts with :class:`EntryAborted`: no reading.

**Evidence**: each reading keeps the typed line verbatim (only the line terminator is
removed) as :attr:`~drivers.reading.Reading.raw`, stamped (UTC) when the line arrived;
the I/O log records each prompt as a write, each typed line as a read and each refusal as
an event. The answer timeout of :class:`~drivers.driver.DriverOptions` does not apply:
an operator is waited for.

**Streams**: the prompt is read from ``input`` and written to ``output``, by default the
terminal's standard input and standard **error** (standard output stays free for the
command line's JSON).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import ClassVar, Self, TextIO
from urllib.parse import parse_qsl, urlsplit

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.driver import DriverOptions
from drivers.errors import AddressError, DriverError, IdentityMismatch
from drivers.iolog import IOLog
from drivers.reading import Identity, Reading, utc_now

__all__ = [
    "MANUAL_UNITS",
    "EntryAborted",
    "EntryRefused",
    "ManualEntry",
    "ManualEntryConfig",
    "ManualLengthGauge",
    "ManualPressureGauge",
    "ManualThermometer",
    "ManualVolumeRegister",
    "parse_manual_address",
    "parse_typed_number",
]

MANUAL_UNITS: dict[str, tuple[str, ...]] = {
    "pressure": (
        "Pa", "hPa", "kPa", "MPa", "mbar", "bar", "psi", "kgf/cm2", "mmHg", "mmH2O", "inHg",
        "atm", "Torr",
    ),
    "temperature": ("degC", "K", "degF"),
    "length": ("mm", "um", "m", "in"),
    "volume": ("L", "mL", "m3"),
}  # fmt: skip
"""Quantities a manual entry reads → the units its address may name (as on the dial)."""

_OPTIONS = ("unit", "min", "max", "resolution", "attempts")
_REQUIRED = ("unit", "min", "max", "resolution")
_ADDRESS_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# ASCII digits only: float() would also take "1_0", "١٢" or " 1e3 ", none of which an
# operator reading a dial means.
_TYPED_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_MAX_ATTEMPTS = 100


def _shown(number: float) -> str:
    """A limit as the operator should see it: every digit of the address, no rounding
    (``:g`` would show a register's 99999.9999 m3 as 100000)."""
    return format(number, ".15g")


class EntryAborted(DriverError):
    """The operator ended the entry (empty line or end of input): no reading was taken."""


class EntryRefused(DriverError, ValueError):
    """Every allowed attempt was refused (not a number, not finite, out of range).

    ``received`` is the last refused line, ``expected`` the allowed range with its unit.
    """


@dataclass(frozen=True, slots=True)
class ManualEntryConfig:
    """What a manual entry reads: ``quantity`` in ``unit`` within [``minimum``, ``maximum``]
    (in ``unit``), scale interval ``resolution`` (in ``unit``), at most ``attempts`` refused
    entries per reading.
    """

    quantity: str
    unit: str
    minimum: float
    maximum: float
    resolution: float
    attempts: int = 3

    def __post_init__(self) -> None:
        if self.quantity not in MANUAL_UNITS:
            raise ValueError(f"unknown quantity {self.quantity!r}")
        if self.unit not in MANUAL_UNITS[self.quantity]:
            raise ValueError(f"{self.unit!r} is not a unit of {self.quantity}")
        if not all(math.isfinite(v) for v in (self.minimum, self.maximum, self.resolution)):
            raise ValueError("min, max and resolution must be finite")
        if not self.minimum < self.maximum:
            raise ValueError(f"min {_shown(self.minimum)} must be below max {_shown(self.maximum)}")
        if not 0 < self.resolution <= self.maximum - self.minimum:
            raise ValueError(
                f"resolution {_shown(self.resolution)} must be > 0 and at most the span "
                f"{_shown(self.maximum - self.minimum)}"
            )
        if not 1 <= self.attempts <= _MAX_ATTEMPTS:
            raise ValueError(f"attempts must be 1 to {_MAX_ATTEMPTS}, got {self.attempts}")

    @property
    def allowed(self) -> str:
        """The allowed range as text, with its unit (e.g. ``0 to 1600 kPa``)."""
        return f"{_shown(self.minimum)} to {_shown(self.maximum)} {self.unit}"


def parse_manual_address(address: str) -> ManualEntryConfig:
    """Parse ``manual://QUANTITY?unit=U&min=A&max=B&resolution=R[&attempts=N]``.

    Numbers use a decimal point; ``min``, ``max``, ``resolution`` are in ``unit``. Unknown,
    repeated or missing options, and anything outside the form, raise AddressError.
    """
    parts = urlsplit(address)
    if parts.scheme != "manual" or not address.startswith("manual://"):
        raise AddressError(
            "a manual entry address starts with manual://", received=address, address=address
        )
    quantity = parts.netloc
    if quantity not in MANUAL_UNITS:
        raise AddressError(
            f"manual entry reads {' or '.join(MANUAL_UNITS)}, not {quantity!r}", address=address
        )
    if parts.path or parts.fragment:
        raise AddressError(
            "unexpected path or fragment", expected=f"manual://{quantity}?...", address=address
        )
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise AddressError(
            "malformed options", expected="unit=..&min=..&max=..&resolution=..", address=address
        ) from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key not in _OPTIONS:
            raise AddressError(
                f"unknown option {key!r}", expected=f"one of {', '.join(_OPTIONS)}", address=address
            )
        if key in options:
            raise AddressError(f"option {key!r} given twice", address=address)
        options[key] = value
    missing = [key for key in _REQUIRED if key not in options]
    if missing:
        raise AddressError(f"missing option(s) {', '.join(missing)}", address=address)
    unit = options["unit"]
    if unit not in MANUAL_UNITS[quantity]:
        raise AddressError(
            f"unit {unit!r} is not a {quantity} unit",
            expected=f"one of {', '.join(MANUAL_UNITS[quantity])}",
            address=address,
        )
    attempts_text = options.get("attempts", "3")
    if not attempts_text.isascii() or not attempts_text.isdigit():
        raise AddressError(
            f"attempts must be a whole number, got {attempts_text!r}", address=address
        )
    try:
        return ManualEntryConfig(
            quantity=quantity,
            unit=unit,
            minimum=_address_number("min", options["min"], address),
            maximum=_address_number("max", options["max"], address),
            resolution=_address_number("resolution", options["resolution"], address),
            attempts=int(attempts_text),
        )
    except ValueError as err:
        raise AddressError(str(err), address=address) from None


def _address_number(key: str, text: str, address: str) -> float:
    if not _ADDRESS_NUMBER.fullmatch(text):
        raise AddressError(f"option {key} must be a decimal number, got {text!r}", address=address)
    return float(text)


# What the entry says to the operator, in each language of the procedures' texts (the
# agent's ``--language``); the errors it raises stay in English, as every error of the
# drivers, for the run's record. The English texts are the original ones.
_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "prompt": "{quantity} reading {n} in {unit} ({allowed}, scale interval {interval} "
        "{unit}; empty line aborts): ",
        "allowed": "{low} to {high} {unit}",
        "must": "{quantity} must be a number from {allowed}",
        "unreadable": "refused: not readable text; {must}",
        "refused": "refused {typed}: {why}; {must}",
        "outside": "refused {typed}: outside the instrument's range; {must}",
        "recorded": "recorded {value} {unit}",
    },
    "vi": {
        "prompt": "{quantity} số đọc {n} theo {unit} ({allowed}, giá trị độ chia {interval} "
        "{unit}; dòng trống để dừng): ",
        "allowed": "từ {low} đến {high} {unit}",
        "must": "{quantity} phải là một số {allowed}",
        "unreadable": "bị từ chối: không đọc được văn bản; {must}",
        "refused": "bị từ chối {typed}: {why}; {must}",
        "outside": "bị từ chối {typed}: ngoài phạm vi đo của thiết bị; {must}",
        "recorded": "đã ghi {value} {unit}",
        "not a finite number": "không phải một số hữu hạn",
        "not a number (type digits with one decimal comma or point, e.g. 12,5)": (
            "không phải một số (gõ chữ số với một dấu thập phân, phẩy hoặc chấm, ví dụ 12,5)"
        ),
        "pressure": "áp suất",
        "temperature": "nhiệt độ",
        "length": "chiều dài",
        "volume": "thể tích",
    },
}
LANGUAGES = tuple(_TEXTS)


def parse_typed_number(text: str) -> float:
    """The number an operator typed: ``12.5``, ``12,5`` (decimal comma), ``-3``, ``,5``.

    Surrounding spaces are ignored. Raises ValueError, saying why, for anything else:
    thousands separators, exponents, ``nan``/``inf``, non-ASCII digits, words.
    """
    stripped = text.strip()
    if _NOT_FINITE.fullmatch(stripped):
        raise ValueError("not a finite number")
    if not _TYPED_NUMBER.fullmatch(stripped):
        raise ValueError("not a number (type digits with one decimal comma or point, e.g. 12,5)")
    return float(stripped.replace(",", "."))


class ManualEntry:
    """An instrument read by eye; see the module docstring for the address and the input.

    :meth:`open` returns the subclass for the address's quantity
    (:class:`ManualPressureGauge`, :class:`ManualThermometer`, :class:`ManualLengthGauge`,
    :class:`ManualVolumeRegister`), which implements the
    matching capability protocol so :func:`~drivers.capabilities.measure` prompts for it.
    :meth:`read` prompts for one value in the configured unit.
    """

    name: ClassVar[str] = "manual"
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        tuple(
            Capability(
                Function(quantity),
                quantity,
                "as addressed",
                Direction.MEASURE,
                (),
                notes="typed by the operator; unit, range and scale interval from the address",
            )
            for quantity in MANUAL_UNITS
        )
    )

    def __init__(
        self,
        config: ManualEntryConfig,
        *,
        address: str = "",
        input: TextIO | None = None,
        output: TextIO | None = None,
        io_log: IOLog | None = None,
        language: str = "en",
        label: str = "",
    ) -> None:
        if language not in _TEXTS:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        self._config = config
        self._texts = _TEXTS[language]
        # which of several instruments read by eye is asked for (a meter at a position of a
        # bench with positions: "P2 WM-0002"), before the prompt
        self._label = label
        self._address = address or (
            f"manual://{config.quantity}?unit={config.unit}&min={config.minimum!r}"
            f"&max={config.maximum!r}&resolution={config.resolution!r}"
            f"&attempts={config.attempts}"
        )
        self._input = input if input is not None else sys.stdin
        self._output = output if output is not None else sys.stderr
        self._io_log = io_log if io_log is not None else IOLog()
        self._count = 0
        self._identity = Identity(
            manufacturer="", model=f"manual entry ({config.quantity})", serial="", firmware="",
            raw="",
        )  # fmt: skip

    @classmethod
    def open(
        cls,
        address: str,
        options: DriverOptions | None = None,
        *,
        input: TextIO | None = None,
        output: TextIO | None = None,
        language: str = "en",
        label: str = "",
    ) -> Self:
        """Parse ``address`` and return the manual entry for its quantity, prompting in
        ``language`` (``en``, ``vi``); ``label`` names the instrument before each prompt
        where several are read by eye (a meter at a position: ``P2 WM-0002``).

        Nothing is prompted yet. ``options.expected_serial`` cannot be checked on an
        instrument read by eye: it is refused with IdentityMismatch rather than assumed.
        """
        config = parse_manual_address(address)
        if options is not None and options.expected_serial is not None:
            raise IdentityMismatch(
                "an instrument read by eye reports no serial number to check",
                expected_identity=options.expected_serial,
                actual_identity="",
                address=address,
            )
        target = _BY_QUANTITY[config.quantity]
        if not issubclass(target, cls):
            raise AddressError(
                f"{cls.__name__} cannot read {config.quantity}",
                address=address,
            )
        return target(
            config, address=address, input=input, output=output, language=language, label=label
        )

    @property
    def address(self) -> str:
        """The address the entry was opened with."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Prompts (writes), typed lines (reads) and refusals (events), timestamped."""
        return self._io_log

    @property
    def identity(self) -> Identity:
        """A placeholder identity: an instrument read by eye reports none."""
        return self._identity

    @property
    def config(self) -> ManualEntryConfig:
        """The quantity, unit, range and scale interval from the address."""
        return self._config

    @property
    def capability(self) -> Capability:
        """This entry's capability: its quantity, unit, range and scale interval."""
        cfg = self._config
        return Capability(
            Function(cfg.quantity),
            cfg.quantity,
            cfg.unit,
            Direction.MEASURE,
            (Span(cfg.minimum, cfg.maximum, resolution=cfg.resolution),),
            notes="read by eye and typed by the operator",
        )

    def read(self) -> Reading:
        """Prompt until the operator types an acceptable value; return it in the unit.

        Raises EntryAborted on an empty line or end of input, EntryRefused after
        ``attempts`` refused lines. A refused line never becomes a reading.
        """
        cfg = self._config
        self._count += 1
        prompt = self._text(
            "prompt",
            quantity=self._quantity(),
            n=self._count,
            unit=cfg.unit,
            allowed=self._allowed(),
            interval=_shown(cfg.resolution),
        )
        if self._label:
            prompt = f"{self._label}: {prompt}"
        last_refused: str | None = None
        for _ in range(cfg.attempts):
            self._io_log.write(prompt)
            self._say(prompt)
            try:
                line = self._input.readline()
            except UnicodeDecodeError:
                self._io_log.event("undecodable input refused")
                self._say(self._text("unreadable", must=self._must()) + "\n")
                last_refused = "<undecodable>"
                continue
            received = utc_now()
            if line == "":
                self._io_log.event("end of input: entry aborted")
                raise EntryAborted(
                    f"end of input: no {cfg.quantity} reading was entered",
                    address=self._address,
                    last_command=prompt,
                )
            raw = line.removesuffix("\n").removesuffix("\r")
            self._io_log.read(raw)
            if not raw.strip():
                self._io_log.event("empty line: entry aborted")
                raise EntryAborted(
                    f"empty line: no {cfg.quantity} reading was entered",
                    address=self._address,
                    last_command=prompt,
                )
            try:
                value = parse_typed_number(raw)
            except ValueError as why:
                last_refused = raw
                why_text = self._texts.get(str(why), str(why))
                self._refuse(
                    self._text("refused", typed=repr(raw.strip()), why=why_text, must=self._must())
                )
                continue
            if not cfg.minimum <= value <= cfg.maximum:
                last_refused = raw
                self._refuse(self._text("outside", typed=repr(raw.strip()), must=self._must()))
                continue
            self._say(self._text("recorded", value=repr(value), unit=cfg.unit) + "\n")
            return Reading(
                value=value,
                unit=cfg.unit,
                timestamp=received,
                raw=raw,
                function=cfg.quantity,
            )
        raise EntryRefused(
            f"{cfg.attempts} entries refused: no {cfg.quantity} reading was taken",
            address=self._address,
            last_command=prompt,
            expected=f"a number from {cfg.allowed}",
            received=last_refused,
        )

    def close(self) -> None:
        """Nothing to release (the streams belong to the caller); idempotent."""

    def _text(self, key: str, **values: object) -> str:
        return self._texts[key].format(**values)

    def _allowed(self) -> str:
        cfg = self._config
        return self._text(
            "allowed", low=_shown(cfg.minimum), high=_shown(cfg.maximum), unit=cfg.unit
        )

    def _quantity(self) -> str:
        return self._texts.get(self._config.quantity, self._config.quantity)

    def _must(self) -> str:
        return self._text("must", quantity=self._quantity(), allowed=self._allowed())

    def _refuse(self, message: str) -> None:
        self._io_log.event(message)
        self._say(message + "\n")

    def _say(self, text: str) -> None:
        self._output.write(text)
        self._output.flush()


class ManualPressureGauge(ManualEntry):
    """A pressure gauge read by eye (:class:`~drivers.capabilities.PressureGauge`)."""

    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (ManualEntry.capabilities.get(Function.PRESSURE),)
    )

    def read_pressure(self) -> Reading:
        """Prompt for the pressure, in the address's unit."""
        return self.read()


class ManualThermometer(ManualEntry):
    """A thermometer read by eye (:class:`~drivers.capabilities.Thermometer`)."""

    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (ManualEntry.capabilities.get(Function.TEMPERATURE),)
    )

    def read_temperature(self) -> Reading:
        """Prompt for the temperature, in the address's unit."""
        return self.read()


class ManualLengthGauge(ManualEntry):
    """A dial gauge or other length gauge read by eye
    (:class:`~drivers.capabilities.LengthGauge`)."""

    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (ManualEntry.capabilities.get(Function.LENGTH),)
    )

    def read_length(self) -> Reading:
        """Prompt for the length, in the address's unit."""
        return self.read()


class ManualVolumeRegister(ManualEntry):
    """A water meter's register (or another volume indicator) read by eye
    (:class:`~drivers.capabilities.VolumeMeter`)."""

    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (ManualEntry.capabilities.get(Function.VOLUME),)
    )

    def read_volume(self) -> Reading:
        """Prompt for the volume, in the address's unit."""
        return self.read()


_BY_QUANTITY: dict[str, type[ManualEntry]] = {
    "pressure": ManualPressureGauge,
    "temperature": ManualThermometer,
    "length": ManualLengthGauge,
    "volume": ManualVolumeRegister,
}
