"""Driver options of the driver tests: real simulators on real sockets.

Timeouts: an exchange the instrument answers waits up to ANSWER_S, which costs nothing
when the answer comes, so a loaded machine never fails a test for being slow. Only where
the point of a test is a timeout (a silent, late or cut-off instrument) does the driver
give up after BRIEF_S; a load can only make such an instrument later still. A late answer
comes LATE_BY_S after the question, several times BRIEF_S, so that a slow machine cannot
make it look on time. The fixtures that use them are in ``tests/drivers/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from typing import Protocol, TypeVar

import pytest

from drivers.driver import Driver, DriverOptions
from drivers.iolog import IODirection
from drivers.simulators.base import FaultKind

D = TypeVar("D", bound=Driver)


ANSWER_S = 10.0


BRIEF_S = 0.25


LATE_BY_S = 3 * BRIEF_S


STEADY = DriverOptions(
    timeout_s=ANSWER_S, retries=0, resync_timeout_s=ANSWER_S, open_timeout_s=ANSWER_S
)
"""Options for exchanges that are answered, resynchronisations included."""


BRIEF = replace(STEADY, timeout_s=BRIEF_S)
"""Options for a test whose point is a timeout: the resynchronisation that follows still
waits as long as it takes."""


SILENT = frozenset({FaultKind.TIMEOUT, FaultKind.LATE})
"""Faults that leave the driver waiting in vain, whatever the instrument."""


times_out = pytest.mark.parametrize("options", [pytest.param(BRIEF, id="brief-timeout")])
"""Marks a test whose point is a timeout: the ``options`` fixture gives BRIEF."""


def over_faults(
    kinds: Iterable[FaultKind], *, silent: Collection[FaultKind]
) -> pytest.MarkDecorator:
    """Parametrizes a test over ``kinds`` (as ``kind``) with the ``options`` each needs:
    BRIEF for the kinds in ``silent`` (the error comes from a timeout), STEADY for the
    kinds the instrument answers."""
    cases = [pytest.param(k, BRIEF if k in silent else STEADY, id=str(k)) for k in kinds]
    return pytest.mark.parametrize(("kind", "options"), cases)


class Connect(Protocol):
    """The :func:`connect` fixture: ``connect(DriverClass, address)``."""

    def __call__(self, driver: type[D], address: str) -> D: ...


def writes(driver: Driver) -> list[str]:
    """The commands ``driver`` wrote, in order."""
    return [e.data for e in driver.io_log if e.direction == IODirection.WRITE]
