"""The calibrated values of a standard's certificate: what each entry must hold.

An entry is read by ``procedures.scope.certified_entry`` (``quantity`` and ``nominal``, to
find the value a run used), ``procedures.scope.bound_quantity`` (``value``, ``U``, ``k``,
``unit``: the model quantity taken from it) and the chain view (those and
``coverage_probability``). Nothing reads any other key, so another key is a typo or
garbage and is refused when the certificate is recorded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from labserver.core.errors import DomainError

__all__ = ["KEYS", "check_values", "readable_values", "value_problem"]


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "required text"
    return None


def _finite(value: Any) -> bool:
    # bool is an int in Python: ``true`` is not a number on a certificate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _number(value: Any) -> str | None:
    return None if _finite(value) else "must be a finite number"


def _positive(value: Any) -> str | None:
    return None if _finite(value) and value > 0 else "must be a positive number"


def _probability(value: Any) -> str | None:
    return None if _finite(value) and 0 < value < 1 else "must be a number between 0 and 1"


# key -> (required, check); k defaults to 2 where it is read (bound_quantity).
KEYS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "quantity": (True, _text),
    "nominal": (True, _number),
    "value": (True, _number),
    "unit": (True, _text),
    "U": (True, _positive),
    "k": (False, _positive),
    "coverage_probability": (False, _probability),
}


def value_problem(entry: Any, *, strict: bool = True) -> tuple[str | None, str] | None:
    """The first thing wrong with one entry as ``(key, message)`` (key None for the entry
    itself), or None. ``strict`` also refuses keys nothing reads."""
    if not isinstance(entry, dict):
        return None, "not an object"
    for key, (required, check) in KEYS.items():
        if key not in entry or entry[key] is None:
            if required:
                return key, "required"
            continue
        problem = check(entry[key])
        if problem is not None:
            return key, problem
    if strict:
        unknown = sorted(str(key) for key in entry if key not in KEYS)
        if unknown:
            return unknown[0], f"unknown key; expected one of {', '.join(KEYS)}"
    return None


def check_values(values: Any) -> None:
    """Refuse ``values`` unless it is a list of well-formed entries, each quantity given
    once per nominal and unit (a second one would make the value a run used ambiguous)."""
    if not isinstance(values, list):
        raise DomainError("values: expected a list of calibrated values", field="values")
    seen: dict[tuple[str, float, str], int] = {}
    for i, entry in enumerate(values):
        problem = value_problem(entry)
        if problem is not None:
            key, message = problem
            where = f"values[{i}]" if key is None else f"values[{i}].{key}"
            raise DomainError(f"{where}: {message}", field=where)
        point = (entry["quantity"], float(entry["nominal"]), entry["unit"])
        if point in seen:
            where = f"values[{i}]"
            raise DomainError(
                f"{where}: repeats {entry['quantity']} at nominal {entry['nominal']:g} "
                f"{entry['unit']} of values[{seen[point]}]",
                field=where,
            )
        seen[point] = i


def readable_values(values: Any) -> list[dict[str, Any]]:
    """The entries of a stored ``values`` that can be read; the rest count as absent.

    Rows recorded before ``check_values`` existed may hold anything: a page that shows
    them must not fail because of one.
    """
    if isinstance(values, str | bytes):
        try:
            values = json.loads(values)
        except ValueError:
            return []
    if not isinstance(values, list):
        return []
    return [v for v in values if value_problem(v, strict=False) is None]
