"""Fixtures for the driver tests: real simulators on real sockets, short timeouts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.driver import DriverOptions
from drivers.keysight.k34465a import Keysight34465A
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator

# Short enough to keep the suite fast, long enough for a loaded CI machine's loopback.
TIMEOUT_S = 0.25
LATE_BY_S = 0.5
FAST = DriverOptions(timeout_s=TIMEOUT_S, retries=0, resync_timeout_s=2.0, open_timeout_s=2.0)


@pytest.fixture
def meter() -> SimulatedKeysight344xxA:
    """A simulated 34465A seeing 5 V DC (noise 2 µV, seed 1)."""
    return SimulatedKeysight344xxA(model="34465A", serial="MY54500001", value=5.0, seed=1)


@pytest.fixture
def sim(meter: SimulatedKeysight344xxA) -> Iterator[TcpSimulator]:
    """The simulated meter served on an ephemeral loopback port."""
    with TcpSimulator(meter) as server:
        yield server


@pytest.fixture
def dmm(sim: TcpSimulator) -> Iterator[Keysight34465A]:
    """The driver connected to the simulator through pyvisa-py, no retries."""
    driver = Keysight34465A.open(sim.address, FAST)
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
def options() -> DriverOptions:
    """Driver options of the suite: short timeout, no retry, bounded resync."""
    return FAST


@pytest.fixture
def late_by_s() -> float:
    """How late a late answer comes (seconds): twice the timeout."""
    return LATE_BY_S
