"""A meter test bench speaking caltrace's own command set (``CALTRACE,MTB-1``).

The command set is caltrace's, not a vendor's: a line-based, SCPI-like text protocol over
TCP, written down in ``docs/reference/meter-test-bench.md``. A bench that speaks it (or a
gateway in front of a vendor's bench) is driven here; a vendor's own protocol gets its own
adapter implementing :class:`~drivers.metertest.bench.MeterTestBench`.

The bench reports raw quantities (pulses counted, reference energy in kWh); the error is
computed by :mod:`drivers.metertest.bench`, and every impossible count becomes the typed
fault of its position there, the other positions' results standing. Before anything is
sent, the driver refuses a position that holds no meter, a meter constant missing or not
positive and a pulse target that is not a whole number ≥ 1, naming the position.

Safety rule: the source is switched off on connection, on close, and after any fault of
the source or the link while it was on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import ClassVar

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.errors import (
    DriverError,
    GarbledResponse,
    InstrumentTimeout,
    OutOfRange,
    SourceOutOfRegulation,
)
from drivers.metertest.bench import (
    PhaseSetting,
    PositionOutcome,
    TestKind,
    accuracy_outcome,
    check_constant,
    check_mounted,
    check_pulses,
)
from drivers.reading import Reading, utc_now
from drivers.scpi import ScpiDriver
from drivers.validators import format_scpi_number, strict_interval

__all__ = ["REGISTERS", "CaltraceMeterBench"]

_POLL_S = 0.01
_QUANTITIES = {"VOLT": "voltage", "CURR": "current", "ANGL": "phase angle", "FREQ": "frequency"}
_TEST_WORDS = {
    TestKind.ACCURACY: "ACC",
    TestKind.CREEP: "CRE",
    TestKind.STARTING: "STAR",
    TestKind.ENERGY: "ENER",
}
REGISTERS: dict[str, tuple[str, str]] = {
    "power": ("MEAS:POW?", "W"),
    "frequency": ("MEAS:FREQ?", "Hz"),
    **{
        f"{name}-{p}": (f"MEAS:PHAS{p}:{word}?", unit)
        for p in (1, 2, 3)
        for name, word, unit in (("voltage", "VOLT", "V"), ("current", "CURR", "A"))
    },
    **{f"angle-{p}": (f"MEAS:PHAS{p}:ANGL?", "deg") for p in (1, 2, 3)},
}
"""The reference meter's readings offered to ``probe --function register:NAME``: the query
and the unit of each."""

_CAPABILITIES = DriverCapabilities(
    (
        Capability(
            Function.REGISTER,
            "reference meter readings (" + ", ".join(REGISTERS) + ")",
            "per register",
            Direction.MEASURE,
            (Span(-1e9, 1e9),),
            notes="meter test bench, caltrace's own command set; "
            "tests run through the MeterTestBench methods",
        ),
    )
)


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise GarbledResponse(f"malformed {what}", expected="a finite number", received=text)
    return value


def _count(text: str, what: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit():
        raise GarbledResponse(f"malformed {what}", expected="a whole number >= 0", received=text)
    return int(stripped)


class CaltraceMeterBench(ScpiDriver):
    """A meter test bench of N positions on caltrace's command set (model ``MTB-1``).

    Implements :class:`~drivers.metertest.bench.MeterTestBench` and
    :class:`~drivers.capabilities.RegisterReader` (the reference meter's readings).
    """

    name: ClassVar[str] = "caltrace-mtb"
    models: ClassVar[tuple[str, ...]] = ("MTB-1",)
    capabilities: ClassVar[DriverCapabilities] = _CAPABILITIES

    _positions: int = 0
    _phases: int = 0
    _mounted: frozenset[int] = frozenset()
    _constants: dict[int, float]
    _targets: dict[int, int]

    def _after_connect(self) -> None:
        # A known, safe state: no test running, the source off, no constant carried over.
        self._constants = {}
        self._targets = {}
        self.write_checked("TEST:STOP", "SOUR:OUTP OFF")
        self._positions = self.query("BENC:POS?", lambda t: _count(t, "BENC:POS? answer"))
        self._mounted = self.query("BENC:MOUN?", self._parse_mounted)
        self._phases = self.query("BENC:PHAS?", _phase_count)

    def _parse_mounted(self, text: str) -> frozenset[int]:
        flags = [f.strip() for f in text.split(",")]
        if len(flags) != self._positions or any(f not in {"0", "1"} for f in flags):
            raise GarbledResponse(
                "malformed BENC:MOUN? answer",
                expected=f"{self._positions} flags 0 or 1",
                received=text,
            )
        return frozenset(i for i, flag in enumerate(flags, start=1) if flag == "1")

    # -- the bench ----------------------------------------------------------------------

    @property
    def positions(self) -> int:
        """How many positions the bench has (read at connection)."""
        return self._positions

    @property
    def mounted(self) -> frozenset[int]:
        """The positions that hold a meter (read at connection)."""
        return self._mounted

    @property
    def phases(self) -> int:
        """How many phases the bench's source has, 1 or 3 (read at connection)."""
        return self._phases

    @contextmanager
    def _source_safe(self) -> Iterator[None]:
        """Switch the source off (best effort, logged) when anything fails inside; the
        bench has done it (``*OPC?``) before the error reaches the caller."""
        try:
            yield
        except DriverError:
            try:
                self.write("SOUR:OUTP OFF")
                self.wait_complete()
            except DriverError as err:
                self.io_log.event(f"could not switch the source off: {err.message}")
            raise

    # -- the source ---------------------------------------------------------------------

    def configure_source(self, phases: Sequence[PhaseSetting], *, frequency_hz: float) -> None:
        """Program 1 or 3 phases (V RMS, A RMS, degrees) and the frequency (Hz); the
        bench's phases not given are set to zero. More phases than the bench's source has
        are refused before anything is sent. The output state is not changed."""
        with self.validating():
            if len(phases) not in (1, 3):
                raise OutOfRange(
                    f"{len(phases)} phases given",
                    parameter="phases",
                    value=len(phases),
                    allowed="1 or 3 phases",
                )
            if len(phases) > self._phases:
                raise OutOfRange(
                    f"{len(phases)} phases given; the bench's source has {self._phases}",
                    parameter="phases",
                    value=len(phases),
                    allowed=f"at most {self._phases} (BENC:PHAS?)",
                )
            strict_interval("frequency", frequency_hz, 1.0, 1000.0, "Hz")
            commands = [f"SOUR:FREQ {format_scpi_number(frequency_hz)}"]
            full = list(phases) + [PhaseSetting(0.0, 0.0)] * (self._phases - len(phases))
            for number, phase in enumerate(full, start=1):
                volts = strict_interval(f"phase {number} voltage", phase.voltage_v, 0.0, 1e3, "V")
                amps = strict_interval(f"phase {number} current", phase.current_a, 0.0, 1e3, "A")
                angle = strict_interval(f"phase {number} angle", phase.angle_deg, -180, 180, "deg")
                prefix = f"SOUR:PHAS{number}"
                commands += [
                    f"{prefix}:VOLT {format_scpi_number(volts)}",
                    f"{prefix}:CURR {format_scpi_number(amps)}",
                    f"{prefix}:ANGL {format_scpi_number(angle)}",
                ]
        with self._source_safe():
            self.write_checked(";:".join(commands))

    def source_on(self) -> None:
        """Apply the programmed output."""
        with self._source_safe():
            self.write_checked("SOUR:OUTP ON")

    def source_off(self) -> None:
        """Switch the source off."""
        self.write_checked("SOUR:OUTP OFF")

    def check_regulation(self) -> None:
        """Raise :class:`~drivers.errors.SourceOutOfRegulation` (and switch the source
        off) when the bench reports a phase that does not hold its setting."""
        with self._source_safe():
            answer = self.query("SOUR:REG?", str).strip()
            if answer == "1":
                return
            fields = [f.strip() for f in answer.split(",")]
            if len(fields) != 4 or fields[0] != "0" or fields[2] not in _QUANTITIES:
                raise GarbledResponse(
                    "malformed SOUR:REG? answer",
                    expected="1, or 0,<phase>,<VOLT|CURR|ANGL|FREQ>,<measured>",
                    received=answer,
                    address=self.address,
                    last_command="SOUR:REG?",
                )
            phase = _count(fields[1], "SOUR:REG? phase")
            quantity = _QUANTITIES[fields[2]]
            measured = _number(fields[3], "SOUR:REG? value")
            raise SourceOutOfRegulation(
                f"the source is out of regulation: phase {phase} {quantity} measured {measured:g}",
                phase=phase,
                quantity=quantity,
                value=measured,
                address=self.address,
                last_command="SOUR:REG?",
            )

    # -- the positions ------------------------------------------------------------------

    def set_meter_constant(self, position: int, constant_imp_per_kwh: float | None) -> None:
        """Set the constant (imp/kWh) of the meter at ``position``; a position with no
        meter, or a constant missing or not positive, is refused before anything is sent."""
        with self.validating():
            check_mounted(position, self._mounted)
            constant = check_constant(position, constant_imp_per_kwh)
        self._constants.pop(position, None)
        self.write_checked(f"POS{position}:CONS {format_scpi_number(constant)}")
        self._constants[position] = constant

    def set_pulses(self, position: int, pulses: int) -> None:
        """Set how many pulses ``position`` counts in an accuracy test (whole, ≥ 1)."""
        with self.validating():
            check_mounted(position, self._mounted)
            check_pulses(position, pulses)
        self._targets.pop(position, None)
        self.write_checked(f"POS{position}:PULS {pulses}")
        self._targets[position] = pulses

    # -- tests --------------------------------------------------------------------------

    def start_test(self, kind: TestKind, positions: Sequence[int], *, duration_s: float) -> None:
        """Start a test on ``positions`` (checked first); the bench ends it after
        ``duration_s`` seconds at the latest. The source must be in regulation."""
        with self.validating():
            self._check_taking_part(kind, positions)
            strict_interval("test duration", duration_s, 1e-3, 1e6, "s")
        self.check_regulation()
        listed = ",".join(str(p) for p in positions)
        with self._source_safe():
            self.write_checked(
                f"TEST:STAR {_TEST_WORDS[kind]},{format_scpi_number(duration_s)},{listed}"
            )

    def _check_taking_part(self, kind: TestKind, positions: Sequence[int]) -> None:
        if not positions:
            raise OutOfRange(
                "no position given", parameter="positions", value=(), allowed="1 or more"
            )
        for position in positions:
            check_mounted(position, self._mounted)
            if kind != TestKind.ACCURACY:
                continue
            check_constant(position, self._constants.get(position))
            if position not in self._targets:
                raise OutOfRange(
                    f"position {position}: no pulse target set for the accuracy test",
                    parameter=f"position {position} pulses",
                    value=None,
                    allowed="set_pulses first",
                )

    def test_done(self) -> bool:
        """True once the test has ended (every position done, or its duration over)."""
        state = self.query("TEST:STAT?", str).strip()
        if state not in {"IDLE", "RUNNING", "DONE"}:
            raise GarbledResponse(
                "malformed TEST:STAT? answer",
                expected="IDLE, RUNNING or DONE",
                received=state,
                address=self.address,
                last_command="TEST:STAT?",
            )
        return state != "RUNNING"

    def wait_test(self, *, timeout_s: float) -> None:
        """Poll until the test has ended; InstrumentTimeout after ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        with self._source_safe():
            while not self.test_done():
                if time.monotonic() > deadline:
                    raise InstrumentTimeout(
                        f"the test did not end within {timeout_s:g} s",
                        timeout_s=timeout_s,
                        address=self.address,
                        last_command="TEST:STAT?",
                    )
                time.sleep(_POLL_S)

    def stop_test(self) -> None:
        """Stop the running test (nothing happens when none runs)."""
        self.write_checked("TEST:STOP")

    def _require_ended(self) -> None:
        """Refuse to read counts while the test runs: they would be partial."""
        if not self.test_done():
            raise DriverError(
                "the test is still running: wait for it to end, or stop it, before reading",
                address=self.address,
                last_command="TEST:STAT?",
            )

    # -- results ------------------------------------------------------------------------

    def read_accuracy(
        self, positions: Sequence[int], *, plausible_error_percent: float
    ) -> Mapping[int, PositionOutcome]:
        """Each position's accuracy result, or the fault in its place
        (:func:`~drivers.metertest.bench.accuracy_outcome`). ``plausible_error_percent``
        (%) is the caller's bound beyond which a count cannot be right. The source must
        still be in regulation, or the whole test is void."""
        with self.validating():
            self._check_taking_part(TestKind.ACCURACY, positions)
            strict_interval("plausible error", plausible_error_percent, 0.0, 100.0, "%")
        self._require_ended()
        self.check_regulation()
        outcomes: dict[int, PositionOutcome] = {}
        for position in positions:
            pulses = self.query(f"POS{position}:COUN?", lambda t: _count(t, "pulse count"))
            energy = self.query(f"POS{position}:ENER?", lambda t: _number(t, "energy"))
            outcomes[position] = accuracy_outcome(
                position,
                pulses=pulses,
                target=self._targets[position],
                constant_imp_per_kwh=self._constants[position],
                reference_kwh=energy,
                plausible_error_percent=plausible_error_percent,
            )
        return outcomes

    def read_creep(self, positions: Sequence[int]) -> Mapping[int, int]:
        """The pulses each position counted during the no-load (creep) test."""
        with self.validating():
            self._check_taking_part(TestKind.CREEP, positions)
        self._require_ended()
        return {
            p: self.query(f"POS{p}:COUN?", lambda t: _count(t, "pulse count")) for p in positions
        }

    def read_starting(self, positions: Sequence[int]) -> Mapping[int, float | None]:
        """Seconds from the start of the starting test to each position's first pulse;
        None for a position that gave none within the test's duration."""
        with self.validating():
            self._check_taking_part(TestKind.STARTING, positions)
        self._require_ended()
        return {p: self.query(f"POS{p}:FIRS?", _first_pulse) for p in positions}

    def read_energy(self, positions: Sequence[int]) -> Mapping[int, float]:
        """The energy the reference meter measured at each position over the energy test,
        kWh; GarbledResponse for an energy that is not a positive number (no energy was
        applied: nothing a register test could be judged against)."""
        with self.validating():
            self._check_taking_part(TestKind.ENERGY, positions)
        self._require_ended()
        self.check_regulation()
        out: dict[int, float] = {}
        for position in positions:
            energy = self.query(f"POS{position}:ENER?", lambda t: _number(t, "energy"))
            if not energy > 0:
                raise GarbledResponse(
                    f"position {position}: the reference energy of the energy test is "
                    f"{energy!r} kWh",
                    expected="a positive energy, kWh",
                    received=repr(energy),
                    address=self.address,
                    last_command=f"POS{position}:ENER?",
                )
            out[position] = energy
        return out

    # -- the reference meter as registers -----------------------------------------------

    @property
    def register_names(self) -> tuple[str, ...]:
        """The reference meter's readings (see :data:`REGISTERS`)."""
        return tuple(REGISTERS)

    def read_register(self, name: str) -> Reading:
        """One reading of the reference meter (``power`` W, ``frequency`` Hz,
        ``voltage-P`` V, ``current-P`` A, ``angle-P`` degrees for phase P)."""
        if name not in REGISTERS:
            raise OutOfRange(
                f"unknown register {name!r}",
                parameter="register",
                value=name,
                allowed=", ".join(REGISTERS),
                address=self.address,
            )
        command, unit = REGISTERS[name]
        raw = self.query(command, str)
        value = _number(raw, f"{command} answer")
        return Reading(value, unit, utc_now(), raw=raw, function=f"register:{name}")

    def close(self) -> None:
        """Stop any test, switch the source off (best effort), release the link."""
        if not getattr(self._transport, "closed", False):
            try:
                self.write("TEST:STOP;:SOUR:OUTP OFF")
                self.wait_complete()
            except DriverError as err:
                self.io_log.event(f"could not switch the source off on close: {err.message}")
        super().close()


def _phase_count(text: str) -> int:
    phases = _count(text, "BENC:PHAS? answer")
    if phases not in (1, 3):
        raise GarbledResponse("malformed BENC:PHAS? answer", expected="1 or 3", received=text)
    return phases


def _first_pulse(text: str) -> float | None:
    if text.strip() == "NONE":
        return None
    seconds = _number(text, "first pulse time")
    if seconds < 0:
        raise GarbledResponse(
            "malformed first pulse time", expected="seconds >= 0 or NONE", received=text
        )
    return seconds
