"""The Callendar–Van Dusen (CVD) function of IEC 60751:2008 and its exact inverse.

An industrial platinum resistance thermometer (PRT) follows, in ITS-90 temperature ``t``
(°C), IEC 60751:2008 clause 4.2::

    R(t) = R0 (1 + A t + B t²)                      0 °C ≤ t ≤ 850 °C
    R(t) = R0 (1 + A t + B t² + C (t − 100) t³)     −200 °C ≤ t < 0 °C

with the standard's nominal coefficients ``A = 3.9083e-3 /°C``, ``B = −5.775e-7 /°C²``,
``C = −4.183e-12 /°C⁴`` (a thermometer's own certificate gives its own). The two
branches meet at ``t = 0`` where ``R = R0``, so the resistance ratio ``W = R/R0`` alone
says which branch a reading belongs to: ``W ≥ 1`` above 0 °C, ``W < 1`` below.

Why not the quadratic inverse everywhere: it ignores ``C`` below 0 °C and reads −9.5 mK
wrong at −40 °C and −0.21 K at −100 °C, more than a calibration's whole budget.

The inverse :func:`cvd_temperature` is exact on both branches: the quadratic's root in a
form without cancellation above 0 °C, and below 0 °C a Newton iteration on the quartic
started from that quadratic root (already within 0.25 K down to −200 °C, so a handful of
steps reach the float resolution); it stops when a step is below :data:`TOLERANCE_K` and
refuses to run longer than :data:`MAX_ITERATIONS`. Everything works elementwise on numpy
arrays, so the same code serves the GUM and the Monte Carlo evaluations.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from .errors import EvaluationError

__all__ = [
    "A_IEC",
    "B_IEC",
    "C_IEC",
    "T_MAX",
    "T_MIN",
    "cvd_resistance",
    "cvd_slope",
    "cvd_temperature",
]

Value: TypeAlias = float | np.floating[Any] | npt.NDArray[np.float64]

A_IEC: Final = 3.9083e-3
"""IEC 60751:2008 4.2, A in /°C."""
B_IEC: Final = -5.775e-7
"""IEC 60751:2008 4.2, B in /°C²."""
C_IEC: Final = -4.183e-12
"""IEC 60751:2008 4.2, C in /°C⁴ (below 0 °C only)."""
T_MIN: Final = -200.0
"""The lowest temperature (°C) the standard's function covers."""
T_MAX: Final = 850.0
"""The highest temperature (°C) the standard's function covers."""
TOLERANCE_K: Final = 1e-9
"""A Newton step below this (K) ends the iteration: a thousand times finer than 1 µK."""
RANGE_MARGIN_K: Final = 0.01
"""A reading this far (K) beyond an end of the range is still taken: a table's rounded
value (18.52 Ω at −200 °C is −200.0002 °C) or a reading's noise at the very end."""
MAX_ITERATIONS: Final = 20
"""More steps than this means the coefficients are not a PRT's: refused, not looped."""


def _ratio(t: Value, a: Value, b: Value, c: Value) -> Value:
    """``W(t) = R(t)/R0`` on the branch ``t`` belongs to."""
    quartic = np.where(np.less(t, 0.0), c * (t - 100.0) * t**3, 0.0)
    return 1.0 + a * t + b * t * t + quartic


def cvd_slope(t: Value, a: Value, b: Value, c: Value) -> Value:
    """``dW/dt`` at ``t`` (°C), per °C, on the branch ``t`` belongs to: the derivative the
    sensitivity ``dt/dR = 1/(R0 · dW/dt)`` of a reading needs."""
    quartic = np.where(np.less(t, 0.0), c * (4.0 * t**3 - 300.0 * t * t), 0.0)
    return a + 2.0 * b * t + quartic


def cvd_resistance(
    t: Value, r0: Value = 100.0, a: Value = A_IEC, b: Value = B_IEC, c: Value = C_IEC
) -> Value:
    """Resistance (Ω, the unit of ``r0``) of a PRT at ``t`` (°C), IEC 60751:2008 4.2."""
    return r0 * _ratio(t, a, b, c)


def cvd_temperature(
    r: Value, r0: Value = 100.0, a: Value = A_IEC, b: Value = B_IEC, c: Value = C_IEC
) -> Value:
    """Temperature (°C) of a PRT that reads ``r`` (Ω, the unit of ``r0``): the exact
    inverse of :func:`cvd_resistance` on the branch ``r`` belongs to.

    Raises :class:`~uncertainty.errors.EvaluationError` naming the resistance when it lies
    outside what the standard's function covers (−200 °C to 850 °C for these
    coefficients), and when the iteration below 0 °C does not converge in
    :data:`MAX_ITERATIONS` steps.
    """
    r_arr = np.asarray(r, dtype=np.float64)
    r0_arr = np.asarray(r0, dtype=np.float64)
    w = r_arr / r0_arr
    w_low = _ratio(T_MIN - RANGE_MARGIN_K, a, b, c)
    w_high = _ratio(T_MAX + RANGE_MARGIN_K, a, b, c)
    outside = ~((w >= w_low) & (w <= w_high))
    if np.any(outside):
        i = int(np.flatnonzero(outside)[0])
        bad = float(np.broadcast_to(r_arr, outside.shape).ravel()[i])
        base = float(np.broadcast_to(r0_arr, outside.shape).ravel()[i])
        raise EvaluationError(
            f"R = {bad!r} Ω with R0 = {base!r} Ω is outside the range of IEC 60751's "
            f"Callendar–Van Dusen function ({T_MIN:g} °C to {T_MAX:g} °C)",
            where="R",
        )
    # The quadratic's root written as 2(W − 1)/(A + sqrt(A² + 4B(W − 1))): no cancellation
    # near 0 °C, and it holds for B = 0. Exact above 0 °C; the start below.
    excess = w - 1.0
    t = 2.0 * excess / (a + np.sqrt(a * a + 4.0 * b * excess))
    below = w < 1.0
    if np.any(below):
        for _ in range(MAX_ITERATIONS):
            step = np.where(below, (_ratio(t, a, b, c) - w) / cvd_slope(t, a, b, c), 0.0)
            t = t - step
            if float(np.max(np.abs(step))) < TOLERANCE_K:
                break
        else:
            i = int(np.argmax(np.abs(step)))
            bad = float(np.broadcast_to(r_arr, np.shape(step)).ravel()[i])
            base = float(np.broadcast_to(r0_arr, np.shape(step)).ravel()[i])
            raise EvaluationError(
                f"the Callendar–Van Dusen inverse did not converge in {MAX_ITERATIONS} "
                f"steps for R = {bad!r} Ω (R0 = {base!r} Ω): are A, B and C a PRT's?",
                where="R",
            )
    if np.ndim(t) == 0:
        return float(t)
    return t
