"""The numeric options of a bench role that tune its simulation (error profiles, noise)."""

from __future__ import annotations

import math

from procedures.bench import BenchRole

from .errors import SimulationError

__all__ = ["number_option"]


def number_option(role: BenchRole, key: str, default: float) -> float:
    """The role's option ``key`` as a finite number, ``default`` where the role has none;
    anything else (a string, a boolean, an infinity) is refused, never guessed."""
    value = role.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimulationError(f"role {role.role!r}: option {key} must be a number, got {value!r}")
    return float(value)
