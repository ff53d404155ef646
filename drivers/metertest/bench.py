"""What a meter test bench driver offers, whatever the bench's protocol.

A bench sources voltage and current on up to three phases, measures the energy delivered
with its reference meter, and counts, per position, the pulses of the test output of the
meter mounted there. The error of a position is computed here, from what the bench
counted and measured, by one rule (:func:`meter_error_percent`), whichever adapter read it:

    e = (E_meter - E_ref) / E_ref x 100 %,   E_meter = pulses / constant (imp/kWh).

The checks that turn an impossible count into a typed fault instead of a result
(:func:`check_constant`, :func:`accuracy_outcome`) live here too, so that every adapter
refuses the same things. Units: energy in kWh (the unit meter constants are stated in),
power in W, voltage in V RMS, current in A RMS, phase angle in degrees, time in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from drivers.errors import (
    LostPulse,
    MeterBenchFault,
    MeterConstantInvalid,
    NoPulses,
    OutOfRange,
    PositionNotMounted,
)

__all__ = [
    "AccuracyResult",
    "MeterTestBench",
    "PhaseSetting",
    "PositionOutcome",
    "TestKind",
    "accuracy_outcome",
    "check_constant",
    "check_mounted",
    "check_pulses",
    "meter_error_percent",
]


class TestKind(StrEnum):
    """The tests a bench runs on its positions."""

    __test__ = False  # a name pytest would otherwise collect

    ACCURACY = "accuracy"
    """Each position counts its target number of pulses; the reference energy of that
    window gives the error."""
    CREEP = "creep"
    """No-load test: the pulses each position counts over a duration (voltage only)."""
    STARTING = "starting"
    """Starting test: the time to each position's first pulse, within a duration."""
    ENERGY = "energy"
    """Energy (register) test: the bench applies its programmed load for the duration and
    its reference meter measures the energy applied, so that each meter's register can be
    read before and after (the meters' registers, not their test outputs, are judged)."""


@dataclass(frozen=True, slots=True)
class PhaseSetting:
    """What the source applies on one phase: ``voltage_v`` (V RMS), ``current_a`` (A RMS),
    ``angle_deg`` (the phase angle φ of the current behind the voltage, degrees)."""

    voltage_v: float
    current_a: float
    angle_deg: float = 0.0

    @property
    def active_power_w(self) -> float:
        """U·I·cos φ, W."""
        return self.voltage_v * self.current_a * math.cos(math.radians(self.angle_deg))


@dataclass(frozen=True, slots=True)
class AccuracyResult:
    """One position's accuracy test: the ``pulses`` counted, the meter ``constant``
    (imp/kWh) they are converted with, the ``reference_energy_kwh`` the reference meter
    measured over the same window."""

    position: int
    pulses: int
    constant_imp_per_kwh: float
    reference_energy_kwh: float

    @property
    def meter_energy_kwh(self) -> float:
        """The energy the meter registered by its test output, kWh."""
        return self.pulses / self.constant_imp_per_kwh

    @property
    def error_percent(self) -> float:
        """The meter's relative error, %."""
        return meter_error_percent(
            self.pulses, self.constant_imp_per_kwh, self.reference_energy_kwh
        )


PositionOutcome = AccuracyResult | MeterBenchFault
"""A position's result, or the fault that stands in its place (the others are kept)."""


def meter_error_percent(pulses: int, constant_imp_per_kwh: float, reference_kwh: float) -> float:
    """The relative error of a meter, %: (pulses / constant − E_ref) / E_ref × 100.

    ``constant_imp_per_kwh`` must be positive and ``reference_kwh`` (kWh) positive; both
    are checked by :func:`accuracy_outcome` before a result is built.
    """
    meter_kwh = pulses / constant_imp_per_kwh
    return (meter_kwh - reference_kwh) / reference_kwh * 100.0


def check_constant(position: int, constant_imp_per_kwh: float | None) -> float:
    """Return the meter constant (imp/kWh) of ``position`` if it is a positive finite
    number; :class:`~drivers.errors.MeterConstantInvalid` naming the position otherwise
    (``None`` is a constant missing)."""
    if constant_imp_per_kwh is None:
        raise MeterConstantInvalid(
            f"position {position}: the meter constant (imp/kWh) is missing",
            position=position,
            value=None,
        )
    if (
        isinstance(constant_imp_per_kwh, bool)
        or not isinstance(constant_imp_per_kwh, int | float)
        or not math.isfinite(constant_imp_per_kwh)
        or constant_imp_per_kwh <= 0
    ):
        raise MeterConstantInvalid(
            f"position {position}: the meter constant {constant_imp_per_kwh!r} imp/kWh "
            "is not a positive number",
            position=position,
            value=constant_imp_per_kwh,
        )
    return float(constant_imp_per_kwh)


def check_mounted(position: int, mounted: frozenset[int]) -> int:
    """Return ``position`` if a meter is mounted there; PositionNotMounted otherwise."""
    if isinstance(position, bool) or not isinstance(position, int) or position not in mounted:
        listed = ", ".join(str(p) for p in sorted(mounted)) or "none"
        raise PositionNotMounted(
            f"position {position!r} holds no meter (mounted: {listed})",
            position=position if isinstance(position, int) else None,
            value=tuple(sorted(mounted)),
        )
    return position


def check_pulses(position: int, pulses: int) -> int:
    """Return the pulses to count at ``position`` if a whole number ≥ 1; OutOfRange
    naming the position otherwise."""
    if isinstance(pulses, bool) or not isinstance(pulses, int) or pulses < 1:
        raise OutOfRange(
            f"position {position}: {pulses!r} pulses to count is not a whole number >= 1",
            parameter=f"position {position} pulses",
            value=pulses,
            allowed="a whole number of pulses >= 1",
        )
    return pulses


def accuracy_outcome(
    position: int,
    *,
    pulses: int,
    target: int,
    constant_imp_per_kwh: float,
    reference_kwh: float,
    plausible_error_percent: float,
) -> PositionOutcome:
    """What one position's accuracy test gave: a result, or the fault in its place.

    * no pulse while the reference meter measured energy: :class:`NoPulses`;
    * a count other than the ``target`` the error calculator was set to stop at, or an
      error beyond ``plausible_error_percent`` (%, the caller's statement of what no
      meter under test can show: a bound from the procedure, never one of ours):
      :class:`LostPulse` — the count cannot be right for the energy applied.

    The fault is returned, not raised, so the other positions' results stand.
    """
    if not (math.isfinite(reference_kwh) and reference_kwh > 0):
        return LostPulse(
            f"position {position}: {pulses} pulses counted for a reference energy of "
            f"{reference_kwh!r} kWh",
            position=position,
            value=pulses,
        )
    if pulses == 0:
        return NoPulses(
            f"position {position}: no pulse counted while the reference meter measured "
            f"{reference_kwh:.6g} kWh",
            position=position,
            value=reference_kwh,
        )
    if pulses != target:
        return LostPulse(
            f"position {position}: {pulses} pulses counted, the error calculator was set "
            f"to stop at {target}",
            position=position,
            value=pulses,
        )
    result = AccuracyResult(position, pulses, constant_imp_per_kwh, reference_kwh)
    if abs(result.error_percent) > plausible_error_percent:
        expected = reference_kwh * constant_imp_per_kwh
        return LostPulse(
            f"position {position}: {pulses} pulses counted where the reference energy "
            f"{reference_kwh:.6g} kWh gives {expected:.4g} at {constant_imp_per_kwh:g} "
            f"imp/kWh (beyond the plausible {plausible_error_percent:g} %)",
            position=position,
            value=pulses,
        )
    return result


@runtime_checkable
class MeterTestBench(Protocol):
    """The methods a procedure calls on any meter test bench (positions are 1-based)."""

    @property
    def positions(self) -> int:
        """How many positions the bench has."""
        ...

    @property
    def mounted(self) -> frozenset[int]:
        """The positions that hold a meter."""
        ...

    @property
    def phases(self) -> int:
        """How many phases the bench's source has (1 or 3)."""
        ...

    def configure_source(self, phases: Sequence[PhaseSetting], *, frequency_hz: float) -> None:
        """Program the source: one setting per phase (1 or 3, at most the bench's
        :attr:`phases`), frequency in Hz."""
        ...

    def source_on(self) -> None:
        """Apply the programmed voltages and currents."""
        ...

    def source_off(self) -> None:
        """Switch the source off (safe state)."""
        ...

    def check_regulation(self) -> None:
        """Raise SourceOutOfRegulation when the source does not hold its setting."""
        ...

    def set_meter_constant(self, position: int, constant_imp_per_kwh: float | None) -> None:
        """Set the constant (imp/kWh) of the meter at ``position``."""
        ...

    def set_pulses(self, position: int, pulses: int) -> None:
        """Set how many pulses ``position`` counts in an accuracy test."""
        ...

    def start_test(self, kind: TestKind, positions: Sequence[int], *, duration_s: float) -> None:
        """Start a test on ``positions``; ``duration_s`` bounds it (seconds)."""
        ...

    def test_done(self) -> bool:
        """True once the running test has ended."""
        ...

    def wait_test(self, *, timeout_s: float) -> None:
        """Block until the test has ended (seconds); InstrumentTimeout otherwise."""
        ...

    def stop_test(self) -> None:
        """Stop the running test (idempotent)."""
        ...

    def read_accuracy(
        self, positions: Sequence[int], *, plausible_error_percent: float
    ) -> Mapping[int, PositionOutcome]:
        """Each position's accuracy result or the fault in its place."""
        ...

    def read_creep(self, positions: Sequence[int]) -> Mapping[int, int]:
        """The pulses each position counted in the no-load test."""
        ...

    def read_starting(self, positions: Sequence[int]) -> Mapping[int, float | None]:
        """Seconds from the start to each position's first pulse (None: no pulse)."""
        ...

    def read_energy(self, positions: Sequence[int]) -> Mapping[int, float]:
        """The energy the reference meter measured at each position over the energy test,
        kWh (a positive number: the bench applied energy)."""
        ...
