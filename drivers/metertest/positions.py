"""The positions of a meter test bench as instruments under test, and one test run over them.

A meter test bench is one instrument (one link, one source, one reference meter) with N
error calculators. A procedure sees the bench twice: the bench itself in the shared role
(the reference standard: its source and reference meter), and each position as the
instrument under test there (``uut@N``), a :class:`MeterBenchPosition` over the one bench
connection. A position offers the results of its error calculator in the last test as
registers (:data:`POSITION_REGISTERS`), so that a procedure reads them as it reads any
instrument (``read: {role: uut, function: register:pulses}``); a position whose last test
gave a fault (no pulse, a lost pulse) raises that fault when read, and only that position
is affected.

:func:`run_meter_test` carries out one test point on the bench for the positions taking
part: each position armed (its meter's constant and its pulse target), the source
programmed and switched on, the test started, waited for and read, the source switched
off. A position that cannot be armed (no meter there, its constant missing) is left out
with its fault; a fault of the source (out of regulation) or of the link voids the whole
test and is raised, the source left off.

Units: V RMS, A RMS, degrees, Hz, seconds, kWh, imp/kWh; pulses are counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.errors import DriverError, MeterBenchFault, NoPulses, OutOfRange
from drivers.metertest.bench import (
    AccuracyResult,
    MeterTestBench,
    PhaseSetting,
    TestKind,
    check_mounted,
)
from drivers.reading import Reading, utc_now

__all__ = [
    "POSITION_REGISTERS",
    "MeterBenchPosition",
    "MeterTestSetting",
    "phase_angle",
    "run_meter_test",
]

POSITION_REGISTERS: dict[str, str] = {
    "pulses": "1",  # a count: the unit one
    "energy": "kWh",
    "first_pulse": "s",
}
"""What a position reads after a test, and its unit: the pulses its error calculator
counted, the reference energy over its window (accuracy test) or over the whole test (energy
test), the seconds to its first pulse (starting test)."""

_CAPABILITIES = DriverCapabilities(
    (
        Capability(
            Function.REGISTER,
            "error calculator of one position (" + ", ".join(POSITION_REGISTERS) + ")",
            "per register",
            Direction.MEASURE,
            (Span(0.0, 1e12),),
            notes="the results of the position's last test on its meter test bench",
        ),
    )
)


def phase_angle(power_factor: float, load_kind: str) -> float:
    """The phase angle φ (degrees) of the current behind the voltage for ``power_factor``
    (cos φ, 0 < cos φ ≤ 1): positive for an inductive load (the current lags), negative for
    a capacitive one (it leads)."""
    if not (math.isfinite(power_factor) and 0 < power_factor <= 1):
        raise OutOfRange(
            f"power factor {power_factor!r}",
            parameter="power_factor",
            value=power_factor,
            allowed="0 < cos φ ≤ 1",
        )
    if load_kind not in ("inductive", "capacitive"):
        raise OutOfRange(
            f"load kind {load_kind!r}",
            parameter="load_kind",
            value=load_kind,
            allowed="inductive or capacitive",
        )
    angle = math.degrees(math.acos(power_factor))
    return angle if load_kind == "inductive" else -angle


class MeterBenchPosition:
    """Position ``number`` of ``bench``: the meter mounted there, as its error calculator
    sees it. Opening it checks that the position holds a meter
    (:class:`~drivers.errors.PositionNotMounted` otherwise). It owns no link: closing it
    closes nothing, the bench is closed by its own role.

    Implements :class:`~drivers.capabilities.RegisterReader` over
    :data:`POSITION_REGISTERS`.
    """

    name: ClassVar[str] = "caltrace-mtb-position"
    capabilities: ClassVar[DriverCapabilities] = _CAPABILITIES

    def __init__(self, bench: MeterTestBench, number: int) -> None:
        check_mounted(number, bench.mounted)
        self.bench = bench
        self.number = number
        self._values: dict[str, float] = {}
        self._fault: MeterBenchFault | None = None

    @property
    def address(self) -> str:
        """The bench's address and the position (``…#position=3``)."""
        return f"{getattr(self.bench, 'address', 'bench')}#position={self.number}"

    # -- results of the last test ------------------------------------------------------

    def clear(self) -> None:
        """Forget the last test's results (a new test begins)."""
        self._values = {}
        self._fault = None

    def keep(self, values: Mapping[str, float], fault: MeterBenchFault | None = None) -> None:
        """Keep what the last test gave this position: its ``values`` by register, or the
        ``fault`` that stands in their place."""
        self._values = dict(values)
        self._fault = fault

    @property
    def register_names(self) -> tuple[str, ...]:
        """The registers a position offers (:data:`POSITION_REGISTERS`)."""
        return tuple(POSITION_REGISTERS)

    def read_register(self, name: str) -> Reading:
        """The ``name`` result of the position's last test, in its unit; the position's
        fault when the test gave one, and :class:`~drivers.errors.OutOfRange` for a
        result the last test did not give (no test yet, or another kind of test)."""
        if name not in POSITION_REGISTERS:
            raise OutOfRange(
                f"unknown register {name!r}",
                parameter="register",
                value=name,
                allowed=", ".join(POSITION_REGISTERS),
                address=self.address,
            )
        if self._fault is not None:
            raise self._fault
        if name not in self._values:
            raise OutOfRange(
                f"position {self.number}: the last test gave no {name}",
                parameter="register",
                value=name,
                allowed=", ".join(self._values) or "nothing (run a test first)",
                address=self.address,
            )
        value = self._values[name]
        raw = str(int(value)) if name == "pulses" else f"{value:.10g}"
        return Reading(
            value,
            POSITION_REGISTERS[name],
            utc_now(),
            raw=raw,
            function=f"register:{name}",
        )

    def close(self) -> None:
        """Nothing to release: the bench's own role closes the link."""


@dataclass(frozen=True, slots=True)
class MeterTestSetting:
    """One test point: the ``kind`` of test, what the source applies on each of its
    phases (``phases``, 1 or 3) at ``frequency_hz``, and ``duration_s`` (seconds of the
    bench's clock) after which the bench ends it. For an accuracy test,
    ``plausible_error_percent`` is the procedure's bound beyond which a count cannot be
    right (%)."""

    kind: TestKind
    phases: tuple[PhaseSetting, ...]
    frequency_hz: float
    duration_s: float
    plausible_error_percent: float = 100.0


def run_meter_test(
    bench: MeterTestBench,
    positions: Sequence[MeterBenchPosition],
    setting: MeterTestSetting,
    *,
    constants: Mapping[int, float | None],
    targets: Mapping[int, int],
    timeout_s: float,
) -> dict[int, MeterBenchFault]:
    """Carry out one test point on ``bench`` for ``positions``; each position keeps its
    results (read them through its registers).

    Each position is armed first with its meter's constant (``constants``, imp/kWh;
    required by an accuracy test, None or absent: missing; set by any other test that
    gives it) and, for an accuracy test, its pulse target (``targets``). A
    position that cannot be armed is left out of the test: the returned mapping gives its
    fault by number (the others' results stand). ``timeout_s`` bounds the wait (real
    seconds). A fault of the source or of the link is raised, the source switched off.
    """
    refused: dict[int, MeterBenchFault] = {}
    taking_part: list[MeterBenchPosition] = []
    for position in positions:
        position.clear()
        accuracy = setting.kind == TestKind.ACCURACY
        if accuracy or position.number in constants:
            try:
                bench.set_meter_constant(position.number, constants.get(position.number))
                if accuracy:
                    bench.set_pulses(position.number, targets[position.number])
            except MeterBenchFault as fault:
                refused[position.number] = fault
                continue
            except OutOfRange as exc:
                refused[position.number] = _position_fault(position.number, exc)
                continue
        taking_part.append(position)
    if not taking_part:
        return refused
    numbers = [p.number for p in taking_part]
    bench.configure_source(setting.phases, frequency_hz=setting.frequency_hz)
    bench.source_on()
    try:
        bench.start_test(setting.kind, numbers, duration_s=setting.duration_s)
        bench.wait_test(timeout_s=timeout_s)
        _keep_results(bench, taking_part, setting)
    finally:
        bench.source_off()
    return refused


def _keep_results(
    bench: MeterTestBench, positions: Sequence[MeterBenchPosition], setting: MeterTestSetting
) -> None:
    numbers = [p.number for p in positions]
    by_number = {p.number: p for p in positions}
    if setting.kind == TestKind.ACCURACY:
        outcomes = bench.read_accuracy(
            numbers, plausible_error_percent=setting.plausible_error_percent
        )
        for number, outcome in outcomes.items():
            if isinstance(outcome, AccuracyResult):
                values = {"pulses": float(outcome.pulses), "energy": outcome.reference_energy_kwh}
                by_number[number].keep(values)
            else:
                by_number[number].keep({}, outcome)
    elif setting.kind == TestKind.CREEP:
        for number, pulses in bench.read_creep(numbers).items():
            by_number[number].keep({"pulses": float(pulses)})
    elif setting.kind == TestKind.ENERGY:
        for number, energy in bench.read_energy(numbers).items():
            by_number[number].keep({"energy": energy})
    else:
        for number, first in bench.read_starting(numbers).items():
            if first is None:
                fault = NoPulses(
                    f"position {number}: no pulse within the starting test's "
                    f"{setting.duration_s:g} s: the meter did not start",
                    position=number,
                    value=None,
                )
                by_number[number].keep({}, fault)
            else:
                by_number[number].keep({"first_pulse": first})


def _position_fault(number: int, exc: DriverError) -> MeterBenchFault:
    return MeterBenchFault(f"position {number}: {exc.message}", position=number, value=None)
