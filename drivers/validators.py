"""Strict validators for instrument settings: a value is accepted as is or refused.

None of them rounds, clamps or picks the nearest allowed value: an instrument setting that
is not exactly one the instrument documents raises :class:`~drivers.errors.OutOfRange`,
which names the parameter, the value asked and what is allowed (with units).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drivers.errors import OutOfRange

__all__ = ["format_scpi_number", "strict_choice", "strict_int", "strict_interval"]


def strict_choice(parameter: str, value: float, allowed: Sequence[float], unit: str = "") -> float:
    """Return the member of ``allowed`` equal to ``value`` (relative tolerance 1e-9).

    The tolerance only absorbs float spelling (``0.1`` vs ``1e-1``); ``value`` between two
    allowed values is refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _refuse(parameter, value, allowed, unit)
    for candidate in allowed:
        if abs(candidate - value) <= 1e-9 * max(abs(candidate), abs(value)):
            return candidate
    raise _refuse(parameter, value, allowed, unit)


def strict_interval(
    parameter: str, value: float, minimum: float, maximum: float, unit: str = ""
) -> float:
    """Return ``value`` if it is a finite number within [minimum, maximum] (inclusive)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not minimum <= value <= maximum
    ):
        suffix = f" {unit}" if unit else ""
        raise OutOfRange(
            f"{parameter} {value!r}{suffix} is outside what the instrument accepts",
            parameter=parameter,
            value=value,
            allowed=f"{minimum:g} to {maximum:g}{suffix}",
        )
    return float(value)


def strict_int(parameter: str, value: int, minimum: int, maximum: int) -> int:
    """Return ``value`` if it is an int (not a bool) within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise OutOfRange(
            f"{parameter} {value!r} is outside what the instrument accepts",
            parameter=parameter,
            value=value,
            allowed=f"an integer from {minimum} to {maximum}",
        )
    return value


def format_scpi_number(value: float) -> str:
    """Format a float for a SCPI command without losing digits (``repr`` round-trips)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return repr(float(value))


def _refuse(parameter: str, value: object, allowed: Sequence[float], unit: str) -> OutOfRange:
    suffix = f" {unit}" if unit else ""
    listed = ", ".join(f"{a:g}" for a in allowed)
    return OutOfRange(
        f"{parameter} {value!r}{suffix} is not a setting of the instrument",
        parameter=parameter,
        value=value,
        allowed=f"one of {listed}{suffix}",
    )
