"""Reading the JSON form of a run record, naming the value at fault.

Every check of a value the record takes from JSON is here, once: a number is a JSON
number (not a string, not a boolean) and finite; a time is ISO 8601 text with its UTC
offset; decimal text is plain (no exponent, no NaN). The LIMS's API fields
(``labserver.measurements.api.serializers``) call the same checks, so the bench, the
outbox and the server refuse the same values with the same words.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from procedures.errors import ProcedureError

__all__ = [
    "Fields",
    "RecordError",
    "aware_time",
    "decimal_text",
    "degrees_of_freedom",
    "finite_number",
    "instant",
    "json_dof",
    "matrix",
    "strict_boolean",
    "uuid_text",
]

T = TypeVar("T")

UTC_OFFSET = "must carry a UTC offset (e.g. 2026-11-22T08:00:00Z)"


class RecordError(ProcedureError, ValueError):
    """A run record (or one of its parts) that cannot be read; ``field`` names the value
    at fault as a path into the JSON (``points[3].readings[2].value``)."""

    def __init__(self, message: str, *, field: str | None) -> None:
        super().__init__(message, argument=field)

    @property
    def field(self) -> str | None:
        return self.argument


# ------------------------------------------------------------------ single values


def finite_number(value: Any) -> float:
    """A JSON number (not a string, not a boolean) that is finite; ints stay ints, so that
    the record writes back the number it read (``0`` is not ``0.0``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError("must be finite")
    return value


def degrees_of_freedom(value: Any) -> float:
    """A positive number, or the text ``"inf"`` (JSON has no infinity): returned as a float,
    ``math.inf`` for ``"inf"``."""
    if value == "inf":
        return math.inf
    number = finite_number(value)
    if number <= 0:
        raise ValueError('must be positive or "inf"')
    return number


def json_dof(value: float) -> float | str:
    """Degrees of freedom as JSON writes them: ``"inf"`` for infinity."""
    return "inf" if math.isinf(value) else value


def decimal_text(value: Any) -> str:
    """A number written as plain decimal text (``"0.5"``, ``"-12"``), as the rules give
    it: no exponent, no NaN or infinity, not a JSON number."""
    if not isinstance(value, str):
        raise ValueError(f"must be decimal text, got {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not number.is_finite() or "e" in value.lower():
        raise ValueError(f"not a plain decimal number: {value!r}")
    return value


def strict_boolean(value: Any) -> bool:
    """A JSON true or false (not "true", not 1)."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def aware_time(value: Any) -> str:
    """ISO 8601 text of a time with its UTC offset, returned as given (the record keeps
    the text the agent wrote: the bytes it signed)."""
    if not isinstance(value, str):
        raise ValueError(f"must be ISO 8601 text, got {type(value).__name__}")
    instant(value)
    return value


def instant(text: str) -> datetime:
    """The aware datetime of ISO 8601 ``text``; a time without its UTC offset is refused."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 datetime: {text!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(UTC_OFFSET)
    return parsed


# ------------------------------------------------------------------ objects


class Fields:
    """One JSON object of a record being read: each getter checks one key and names it
    (``where`` + key) when it refuses the value. Keys the record does not know are left
    alone, as the LIMS's API leaves them."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise RecordError(f"must be an object, got {type(data).__name__}", field=where or None)
        self.data: Mapping[str, Any] = data
        self.where = where

    def at(self, key: str) -> str:
        """The path of ``key`` in the record."""
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return key in self.data

    def given(self, key: str) -> bool:
        """Whether ``key`` is present with a value other than null."""
        return self.data.get(key) is not None

    def required(self, key: str) -> Any:
        if key not in self.data:
            raise RecordError("required", field=self.at(key))
        return self.data[key]

    def check(self, key: str, parse: Callable[[Any], T]) -> T:
        """``parse`` applied to the value of the required ``key``; its ValueError names
        the key."""
        value = self.required(key)
        try:
            return parse(value)
        except ValueError as exc:
            raise RecordError(str(exc), field=self.at(key)) from None

    def optional(self, key: str, parse: Callable[[Any], T]) -> T | None:
        """``parse`` of ``key``'s value, or None when the key is absent or null."""
        return self.check(key, parse) if self.given(key) else None

    def text(self, key: str, *, blank: bool = False) -> str:
        return self.check(key, lambda v: _text(v, blank=blank))

    def optional_text(self, key: str, *, blank: bool = True) -> str | None:
        return self.optional(key, lambda v: _text(v, blank=blank))

    def number(self, key: str) -> float:
        return self.check(key, finite_number)

    def optional_number(self, key: str) -> float | None:
        return self.optional(key, finite_number)

    def integer(self, key: str) -> int:
        return self.check(key, _count)

    def boolean(self, key: str) -> bool:
        return self.check(key, strict_boolean)

    def time(self, key: str) -> str:
        return self.check(key, aware_time)

    def uuid(self, key: str) -> str:
        return self.check(key, uuid_text)

    def mapping(self, key: str) -> Mapping[str, Any]:
        return self.check(key, _mapping)

    def objects(
        self, key: str, parse: Callable[[Any, str], T], *, empty: bool = True
    ) -> tuple[T, ...]:
        """Each item of the list at ``key``, read by ``parse(item, where)``."""
        items = self.check(key, _list)
        if not items and not empty:
            raise RecordError("must not be empty", field=self.at(key))
        return tuple(parse(item, f"{self.at(key)}[{i}]") for i, item in enumerate(items))

    def values(self, key: str, parse: Callable[[Any], T], *, empty: bool = True) -> tuple[T, ...]:
        """Each item of the list at ``key``, checked by ``parse``."""
        items = self.check(key, _list)
        if not items and not empty:
            raise RecordError("must not be empty", field=self.at(key))
        out: list[T] = []
        for i, item in enumerate(items):
            try:
                out.append(parse(item))
            except ValueError as exc:
                raise RecordError(str(exc), field=f"{self.at(key)}[{i}]") from None
        return tuple(out)


def matrix(value: Any) -> tuple[tuple[float, ...], ...]:
    """A list of lists of finite numbers."""
    rows = _list(value)
    out: list[tuple[float, ...]] = []
    for i, row in enumerate(rows):
        try:
            out.append(tuple(finite_number(v) for v in _list(row)))
        except ValueError as exc:
            raise ValueError(f"row {i}: {exc}") from None
    return tuple(out)


def _text(value: Any, *, blank: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {type(value).__name__}")
    if not blank and not value.strip():
        raise ValueError("must not be blank")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def uuid_text(value: Any) -> str:
    """A UUID written as text, returned as given."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise ValueError("not a UUID") from None
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {type(value).__name__}")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"must be a list, got {type(value).__name__}")
    return list(value)
