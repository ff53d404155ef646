"""Places in the demo's data files, and the error that names one.

A :class:`Where` is a place in a file (its line and the key path to the value, such as
``groups[1].standards[2].certificate.used[0]``); :class:`DemoDataError` is every mistake in
the data, named at its place. :func:`blame` reports what the LIMS refuses when a record is
created at the place that declared the record (at the very key the LIMS names, where the
data has it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from labserver.core.errors import DomainError

__all__ = ["DemoDataError", "Where", "blame"]


class DemoDataError(ValueError):
    """Demo data that cannot be loaded: the file, the line, the key and what is wrong."""


@dataclass(frozen=True)
class Where:
    """A place in a data file: ``key`` is the path to the value (``standards[2].name``);
    ``lines`` the line of each key of the mapping written there."""

    file: str
    key: str
    line: int | None = None
    lines: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{place}: {self.key}" if self.key else place

    def error(self, message: str) -> DemoDataError:
        return DemoDataError(f"{self}: {message}")

    def at(self, field: str | None) -> Where:
        """The place of ``field`` (as the LIMS names it: ``kind``, ``functions[0].min``) in
        the mapping here, where it has that key; else here."""
        head = re.split(r"[.\[]", field or "", maxsplit=1)[0]
        line = dict(self.lines).get(head)
        if not field or line is None:
            return self
        return Where(self.file, f"{self.key}.{field}" if self.key else field, line)


@contextmanager
def blame(where: Where) -> Iterator[None]:
    """Report what the LIMS refuses while creating a record at the place it was declared:
    the key the LIMS names, where the data has it."""
    try:
        yield
    except DomainError as err:
        raise where.at(err.field).error(f"refused by the LIMS: {err.detail}") from err
    except ValidationError as err:
        fields = list(getattr(err, "error_dict", {}))
        place = where.at(fields[0] if len(fields) == 1 else None)
        raise place.error(f"refused by the LIMS: {'; '.join(err.messages)}") from err
