"""A reusable SCPI instrument model: parser, command tree, IEEE 488.2 commands, error queue.

Concrete simulators (Keysight 34465A, Fluke 5522A, Druck PACE...) subclass
:class:`SimulatedScpiInstrument` and register their commands with
:meth:`~SimulatedScpiInstrument.command` using the manual's notation:
``[SENSe:]VOLTage[:DC]:NPLCycles`` accepts the short form (``VOLT``), the long form
(``VOLTAGE``), any case, and optional nodes left out. A handler receives the parameters
as strings and returns the answer text (queries) or None. Raising
:class:`ScpiCommandError` queues an error and stops the rest of the message.

What the base does like a real instrument:

* ``;``-separated message units, with the SCPI rule that a header not starting with ``:``
  or ``*`` continues from the previous header's path;
* the common commands ``*IDN? *RST *CLS *OPC *OPC? *WAI *ESE *ESE? *ESR? *SRE *SRE? *STB?
  *TST? *OPT?``;
* ``SYSTem:ERRor[:NEXT]?``: a FIFO queue (``error_queue_size`` entries) whose last slot is
  replaced by ``-350,"Queue overflow"`` when it overflows; ``+0,"No error"`` when empty;
* SCPI error numbers: -102 syntax error, -108 parameter not allowed, -109 missing parameter,
  -113 undefined header, -222 data out of range, -224 illegal parameter value, -230 data
  corrupt or stale (used for injected device errors).

Answers to all the queries of one message are joined with ``;`` into one reply.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers.simulators.base import NO_REPLY, Reply

__all__ = [
    "Handler",
    "ScpiCommandError",
    "SimulatedScpiInstrument",
    "compile_header",
    "parse_bool",
    "parse_numeric",
]

Handler = Callable[[list[str]], str | None]

SYNTAX_ERROR = (-102, "Syntax error")
PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
MISSING_PARAMETER = (-109, "Missing parameter")
UNDEFINED_HEADER = (-113, "Undefined header")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
ILLEGAL_PARAMETER_VALUE = (-224, "Illegal parameter value")
DATA_STALE = (-230, "Data corrupt or stale")
QUEUE_OVERFLOW = (-350, "Queue overflow")


class ScpiCommandError(Exception):
    """Raised by a handler: the instrument queues ``code,"text"``."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f'{code},"{text}"')
        self.code = code
        self.text = text

    @classmethod
    def of(cls, error: tuple[int, str]) -> ScpiCommandError:
        """Build from one of the module's ``(code, text)`` constants."""
        return cls(error[0], error[1])


@dataclass(frozen=True, slots=True)
class _Command:
    pattern: re.Pattern[str]
    query: bool
    handler: Handler
    measurement: bool


_MNEMONIC = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def compile_header(notation: str) -> re.Pattern[str]:
    """Compile a manual-style header (``[SENSe:]VOLTage[:DC]:RANGe``) into a regex.

    Each mnemonic matches its short form (its upper-case letters and trailing digits) or
    its long form, in any case; bracketed parts are optional. Common commands (``*IDN``)
    match literally. The regex is matched against the upper-cased header.
    """
    if notation.startswith("*"):
        return re.compile(re.escape(notation.upper()))
    out: list[str] = []
    i = 0
    while i < len(notation):
        char = notation[i]
        if char == "[":
            out.append("(?:")
            i += 1
        elif char == "]":
            out.append(")?")
            i += 1
        elif char == ":":
            out.append(":")
            i += 1
        else:
            match = _MNEMONIC.match(notation, i)
            if match is None:
                raise ValueError(f"bad SCPI notation {notation!r} at {i}")
            word = match.group(0)
            short = "".join(c for c in word if c.isupper() or c.isdigit())
            forms = {short.upper(), word.upper()}
            out.append("(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")")
            i = match.end()
    return re.compile("".join(out))


def parse_numeric(
    text: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
    specials: dict[str, float] | None = None,
) -> float:
    """Parse a SCPI numeric parameter (``10``, ``1e-3``, ``MIN``, ``MAX``, ``DEF``...).

    Out of [minimum, maximum] raises -222 ``Data out of range``; non-numeric text
    raises -224 ``Illegal parameter value``.
    """
    word = text.strip().upper()
    names = {"MIN": minimum, "MINIMUM": minimum, "MAX": maximum, "MAXIMUM": maximum}
    names |= {"DEF": default, "DEFAULT": default}
    if specials:
        names |= {k.upper(): v for k, v in specials.items()}
    if word in names:
        value = names[word]
        if value is None:
            raise ScpiCommandError.of(ILLEGAL_PARAMETER_VALUE)
        return value
    try:
        value = float(word)
    except ValueError:
        raise ScpiCommandError.of(ILLEGAL_PARAMETER_VALUE) from None
    if value != value:  # NaN
        raise ScpiCommandError.of(ILLEGAL_PARAMETER_VALUE)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ScpiCommandError.of(DATA_OUT_OF_RANGE)
    return value


def parse_bool(text: str) -> bool:
    """Parse a SCPI boolean (``ON``, ``OFF``, ``1``, ``0``)."""
    word = text.strip().upper()
    if word in {"ON", "1"}:
        return True
    if word in {"OFF", "0"}:
        return False
    raise ScpiCommandError.of(ILLEGAL_PARAMETER_VALUE)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    if '"' not in text and "'" not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quote:
        raise ScpiCommandError.of(SYNTAX_ERROR)
    parts.append("".join(current))
    return parts


class SimulatedScpiInstrument:
    """Base of SCPI instrument models.

    ``identity`` is the ``*IDN?`` answer. Subclasses register commands in their
    constructor and implement :meth:`reset_state` (what ``*RST`` restores).
    """

    input_terminator: bytes = b"\n"
    output_terminator: bytes = b"\n"
    error_queue_size: int = 20

    def __init__(self, identity: str, *, options: str = "0") -> None:
        self.identity = identity
        self.options = options
        self.lock = threading.RLock()
        self._errors: deque[tuple[int, str]] = deque()
        self._commands: list[_Command] = []
        self._cache: dict[tuple[str, bool], _Command | None] = {}
        self._ese = 0
        self._sre = 0
        self._esr = 0
        self._register_common()

    # -- registration -------------------------------------------------------------------

    def command(
        self, notation: str, handler: Handler, *, query: bool = False, measurement: bool = False
    ) -> None:
        """Register ``handler`` for ``notation`` (a query if ``query``).

        ``measurement`` marks answers carrying readings (faults target those).
        """
        self._commands.append(_Command(compile_header(notation), query, handler, measurement))
        self._cache.clear()

    def _register_common(self) -> None:
        self.command("*IDN", self.answer(lambda: self.identity), query=True)
        self.command("*RST", self._rst)
        self.command("*CLS", self._cls)
        self.command("*OPC", self._nothing)
        self.command("*OPC", self.answer(lambda: "1"), query=True)
        self.command("*WAI", self._nothing)
        self.command("*TST", self.answer(lambda: "+0"), query=True)
        self.command("*OPT", self.answer(lambda: self.options), query=True)
        self.command("*ESE", self._set_ese)
        self.command("*ESE", self.answer(lambda: f"+{self._ese}"), query=True)
        self.command("*ESR", self._read_esr, query=True)
        self.command("*SRE", self._set_sre)
        self.command("*SRE", self.answer(lambda: f"+{self._sre}"), query=True)
        self.command("*STB", self.answer(lambda: f"+{self._stb()}"), query=True)
        self.command("SYSTem:ERRor[:NEXT]", self._next_error, query=True)

    def answer(self, value: Callable[[], str]) -> Handler:
        """A query handler taking no parameter and answering ``value()``."""

        def handler(params: list[str]) -> str:
            self.no_params(params)
            return value()

        return handler

    def _nothing(self, params: list[str]) -> None:
        self.no_params(params)

    # -- error queue --------------------------------------------------------------------

    def push_error(self, code: int, text: str) -> None:
        """Queue an error like the instrument does (overflow replaces the last slot)."""
        with self.lock:
            if code <= -100 and code > -200:
                self._esr |= 0x20  # command error
            elif code <= -200 and code > -300:
                self._esr |= 0x10  # execution error
            elif code <= -300 and code > -400:
                self._esr |= 0x08  # device-dependent error
            if len(self._errors) >= self.error_queue_size:
                self._errors[-1] = QUEUE_OVERFLOW
                return
            self._errors.append((code, text))

    @property
    def queued_errors(self) -> tuple[tuple[int, str], ...]:
        """The errors waiting in the queue, oldest first (for tests)."""
        with self.lock:
            return tuple(self._errors)

    def _next_error(self, params: list[str]) -> str:
        self.no_params(params)
        if not self._errors:
            return '+0,"No error"'
        code, text = self._errors.popleft()
        return f'{code:+d},"{text}"'

    # -- SimulatedInstrument ------------------------------------------------------------

    def device_error(self, message: str, reply: Reply) -> Reply:
        """A device error on this message: queue -230 and send nothing (SCPI behaviour)."""
        self.push_error(*DATA_STALE)
        return NO_REPLY

    def handle(self, message: str) -> Reply:
        """Execute one program message; reply with the joined query answers."""
        with self.lock:
            answers: list[str] = []
            measurement = False
            path = ""
            try:
                units = _split_outside_quotes(message, ";")
            except ScpiCommandError as err:
                self.push_error(err.code, err.text)
                return NO_REPLY
            for unit in units:
                unit = unit.strip()
                if not unit:
                    continue
                header, _, rest = unit.partition(" ")
                if "\t" in header:
                    header, _, more = header.partition("\t")
                    rest = f"{more} {rest}".strip()
                query = header.endswith("?")
                if query:
                    header = header[:-1]
                key = header.upper()
                if key.startswith("*"):
                    pass
                elif key.startswith(":"):
                    key = key[1:]
                    path = key.rpartition(":")[0]
                else:
                    if path:
                        key = f"{path}:{key}"
                    path = key.rpartition(":")[0]
                command = self._lookup(key, query)
                if command is None:
                    self.push_error(*UNDEFINED_HEADER)
                    break
                params = [p.strip() for p in _split_outside_quotes(rest, ",")] if rest else []
                try:
                    answer = command.handler(params)
                except ScpiCommandError as err:
                    self.push_error(err.code, err.text)
                    break
                if query and answer is not None:
                    answers.append(answer)
                    measurement = measurement or command.measurement
            if not answers:
                return NO_REPLY
            return Reply(";".join(answers), measurement=measurement)

    def _lookup(self, key: str, query: bool) -> _Command | None:
        cache_key = (key, query)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        found = None
        for candidate in self._commands:
            if candidate.query == query and candidate.pattern.fullmatch(key):
                found = candidate
                break
        self._cache[cache_key] = found
        return found

    # -- common commands ----------------------------------------------------------------

    def reset_state(self) -> None:
        """Restore the ``*RST`` state (subclasses extend)."""

    @staticmethod
    def no_params(params: Sequence[str]) -> None:
        """Refuse parameters (-108) for a command that takes none."""
        if params:
            raise ScpiCommandError.of(PARAMETER_NOT_ALLOWED)

    @staticmethod
    def one_param(params: Sequence[str]) -> str:
        """The single parameter of a command; -109 / -108 otherwise."""
        if not params or not params[0]:
            raise ScpiCommandError.of(MISSING_PARAMETER)
        if len(params) > 1:
            raise ScpiCommandError.of(PARAMETER_NOT_ALLOWED)
        return params[0]

    def _rst(self, params: list[str]) -> None:
        self.no_params(params)
        self.reset_state()

    def _cls(self, params: list[str]) -> None:
        self.no_params(params)
        self._errors.clear()
        self._esr = 0

    def _set_ese(self, params: list[str]) -> None:
        self._ese = int(parse_numeric(self.one_param(params), minimum=0, maximum=255))

    def _set_sre(self, params: list[str]) -> None:
        self._sre = int(parse_numeric(self.one_param(params), minimum=0, maximum=255)) & ~0x40

    def _read_esr(self, params: list[str]) -> str:
        self.no_params(params)
        value, self._esr = self._esr, 0
        return f"+{value}"

    def _stb(self) -> int:
        stb = 0
        if self._errors:
            stb |= 0x04  # error/event queue not empty
        if self._esr & self._ese:
            stb |= 0x20
        if stb & self._sre:
            stb |= 0x40
        return stb
