"""Fixtures for the driver tests: real simulators on real sockets, opened with the suite's
driver options (:mod:`tests.support.driver_options`, which says why they are what they are).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.driver import Driver, DriverOptions
from drivers.keysight.k34465a import Keysight34465A
from drivers.simulators.base import SimulatedInstrument
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import LATE_BY_S, STEADY, Connect, D


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


@pytest.fixture
def options() -> DriverOptions:
    """Driver options of the suite: STEADY, no retry (:data:`times_out` and
    :func:`over_faults` give BRIEF instead)."""
    return STEADY


@pytest.fixture
def late_by_s() -> float:
    """How late a late answer comes (seconds): several times the brief timeout."""
    return LATE_BY_S
