"""Fixtures for the driver tests: real simulators on real sockets.

Timeouts: an exchange the instrument answers waits up to ANSWER_S, which costs nothing
when the answer comes, so a loaded machine never fails a test for being slow. Only where
the point of a test is a timeout (a silent, late or cut-off instrument) does the driver
give up after BRIEF_S; a load can only make such an instrument later still. A late answer
comes LATE_BY_S after the question, several times BRIEF_S, so that a slow machine cannot
make it look on time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace
from typing import Protocol, TypeVar

import pytest

from drivers.driver import Driver, DriverOptions
from drivers.iolog import IODirection
from drivers.keysight.k34465a import Keysight34465A
from drivers.simulators.base import FaultKind, SimulatedInstrument
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator

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


@pytest.fixture
def meter() -> SimulatedKeysight344xxA:
    """A simulated 34465A seeing 5 V DC (noise 2 µV, seed 1)."""
    return SimulatedKeysight344xxA(model="34465A", serial="MY54500001", value=5.0, seed=1)


@pytest.fixture
def simulated(meter: SimulatedKeysight344xxA) -> SimulatedInstrument:
    """The instrument :func:`sim` serves: the meter here; a test module overrides it."""
    return meter


@pytest.fixture
def sim(simulated: SimulatedInstrument) -> Iterator[TcpSimulator]:
    """The simulated instrument served on an ephemeral loopback port."""
    with TcpSimulator(simulated) as server:
        yield server


class Connect(Protocol):
    """The :func:`connect` fixture: ``connect(DriverClass, address)``."""

    def __call__(self, driver: type[D], address: str) -> D: ...


@pytest.fixture
def connect(options: DriverOptions) -> Iterator[Connect]:
    """Open drivers with the suite's options; each is closed when the test ends.

    A fixture using it requests ``sim`` first, so its drivers close (leaving outputs safe)
    before the simulator stops.
    """
    opened: list[Driver] = []

    def open_driver(driver: type[D], address: str) -> D:
        instance = driver.open(address, options)
        opened.append(instance)
        return instance

    yield open_driver
    for instance in reversed(opened):
        instance.close()


@pytest.fixture
def dmm(sim: TcpSimulator, connect: Connect) -> Keysight34465A:
    """The driver connected to the simulator through pyvisa-py, no retries."""
    return connect(Keysight34465A, sim.address)


def writes(driver: Driver) -> list[str]:
    """The commands ``driver`` wrote, in order."""
    return [e.data for e in driver.io_log if e.direction == IODirection.WRITE]


@pytest.fixture
def options() -> DriverOptions:
    """Driver options of the suite: STEADY, no retry (:data:`times_out` and
    :func:`over_faults` give BRIEF instead)."""
    return STEADY


@pytest.fixture
def late_by_s() -> float:
    """How late a late answer comes (seconds): several times the brief timeout."""
    return LATE_BY_S
