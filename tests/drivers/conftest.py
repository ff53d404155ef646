"""Fixtures for the driver tests: real simulators on real sockets, short timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar

import pytest

from drivers.driver import Driver, DriverOptions
from drivers.iolog import IODirection
from drivers.keysight.k34465a import Keysight34465A
from drivers.simulators.base import SimulatedInstrument
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator

D = TypeVar("D", bound=Driver)

# Short enough to keep the suite fast, long enough for a loaded CI machine's loopback.
TIMEOUT_S = 0.25
LATE_BY_S = 0.5
FAST = DriverOptions(timeout_s=TIMEOUT_S, retries=0, resync_timeout_s=2.0, open_timeout_s=2.0)


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
    """Driver options of the suite: short timeout, no retry, bounded resync."""
    return FAST


@pytest.fixture
def late_by_s() -> float:
    """How late a late answer comes (seconds): twice the timeout."""
    return LATE_BY_S
