"""The MT-SICS balance driver against its simulator on a pseudo-terminal through pyserial."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from drivers.capabilities import Scale, measure
from drivers.driver import DriverOptions
from drivers.errors import (
    ConnectionLost,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentTimeout,
    MeasurementOverload,
    UnstableReading,
)
from drivers.iolog import IODirection
from drivers.mettler.sics import (
    BalanceOverload,
    BalanceUnderload,
    MettlerToledoSics,
    SicsLogicalError,
    SicsSyntaxError,
    SicsTransmissionError,
    TareRangeExceeded,
    ZeroRangeExceeded,
    parse_weight,
)
from drivers.reading import Reading
from drivers.registry import get
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.mettler_sics import SimulatedSicsBalance
from tests.support.driver_options import ANSWER_S, SILENT, over_faults, times_out

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pseudo-terminals are POSIX", allow_module_level=True)

from drivers.simulators.pty import PtySimulator

# How long the driver waits for stability where the point of a test is that it never comes.
WAIT_S = 0.3
never_settles = pytest.mark.parametrize("stable_wait_s", [pytest.param(WAIT_S, id="wait")])


@pytest.fixture
def balance() -> SimulatedSicsBalance:
    """A 220 g balance, 0.1 mg readability, 100 g on the pan, no noise, settled."""
    return SimulatedSicsBalance(load=100.0, noise=0.0, settle_s=0.2)


@pytest.fixture
def sim(balance: SimulatedSicsBalance) -> Iterator[PtySimulator]:
    with PtySimulator(balance) as server:
        yield server


@pytest.fixture
def stable_wait_s() -> float:
    """How long the driver waits for stability: as long as a settling balance may take."""
    return ANSWER_S


@pytest.fixture
def scale(
    sim: PtySimulator, options: DriverOptions, stable_wait_s: float
) -> Iterator[MettlerToledoSics]:
    driver = MettlerToledoSics.open(sim.address, options, stable_wait_s=stable_wait_s)
    try:
        yield driver
    finally:
        driver.close()


def _writes(driver: MettlerToledoSics) -> list[str]:
    return [e.data for e in driver.io_log if e.direction == IODirection.WRITE]


def test_it_reads_type_capacity_firmware_and_serial_number(scale: MettlerToledoSics) -> None:
    assert scale.identity.manufacturer == "Mettler Toledo"
    assert scale.identity.model == "XS205"
    assert scale.identity.serial == "B021002593"
    assert scale.identity.firmware == "2.10"
    assert scale.capacity == (220.0, "g")
    assert _writes(scale) == ["I2", "I3", "I4"]
    assert isinstance(scale, Scale)


def test_it_refuses_a_balance_with_another_serial_number(
    sim: PtySimulator, options: DriverOptions
) -> None:
    with pytest.raises(IdentityMismatch) as caught:
        MettlerToledoSics.open(sim.address, replace(options, expected_serial="B000000000"))
    assert caught.value.last_command == "I4"
    assert caught.value.address == sim.address
    assert "B021002593" in caught.value.actual_identity


def test_a_stable_weight_carries_value_unit_flag_and_the_raw_answer(
    scale: MettlerToledoSics,
) -> None:
    reading = scale.read_weight()
    assert reading.value == 100.0
    assert reading.unit == "g"
    assert reading.stable is True
    assert reading.status == "stable"
    assert reading.raw == "S S   100.0000 g"
    assert reading.function == "mass"
    assert measure(scale, "mass").value == 100.0


def test_the_immediate_weight_is_flagged_dynamic_while_the_load_settles(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics
) -> None:
    balance.set_load(150.0, settle_s=3600.0)
    dynamic = scale.read_weight(stable=False)
    assert dynamic.stable is False
    assert dynamic.status == "dynamic"
    assert dynamic.raw.startswith("S D ")
    balance.set_load(150.0, settle_s=0.0)
    settled = scale.read_weight(stable=False)
    assert (settled.value, settled.stable, settled.status) == (150.0, True, "stable")


def test_a_stable_weight_waits_for_the_balance_to_settle(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics
) -> None:
    def answers() -> list[str]:
        return [e.data for e in scale.io_log if e.direction == IODirection.READ]

    balance.set_load(42.0, settle_s=3600.0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        weighing = pool.submit(scale.read_weight)
        # The balance settles only once it has answered "not stable": on a slow machine
        # a settling time would run out before the first question.
        deadline = time.monotonic() + ANSWER_S
        while "S I" not in answers() and time.monotonic() < deadline:
            time.sleep(0.005)
        balance.set_load(42.0, settle_s=0.0)
        reading = weighing.result(timeout=ANSWER_S)
    assert reading.value == 42.0
    assert reading.stable is True
    # It was asked again, not taken while unstable.
    assert answers().index("S I") < answers().index(reading.raw)


@never_settles
def test_a_balance_that_never_settles_gives_an_unstable_error_and_no_reading(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics
) -> None:
    balance.set_load(42.0, settle_s=60.0)
    result: Reading | None = None
    with pytest.raises(UnstableReading) as caught:
        result = scale.read_weight()
    assert result is None
    assert caught.value.last_command == "S"
    assert caught.value.address == scale.address
    assert f"within {WAIT_S:g} s" in str(caught.value)


@pytest.mark.parametrize(("load", "error"), [(230.0, BalanceOverload), (-10.0, BalanceUnderload)])
def test_overload_and_underload_are_errors_not_values(
    balance: SimulatedSicsBalance,
    scale: MettlerToledoSics,
    load: float,
    error: type[MeasurementOverload],
) -> None:
    balance.set_load(load, settle_s=0.0)
    for stable in (True, False):
        with pytest.raises(error) as caught:
            scale.read_weight(stable=stable)
        assert isinstance(caught.value, MeasurementOverload)
        assert caught.value.last_command == ("S" if stable else "SI")
        assert caught.value.address == scale.address


def test_zero_sets_zero_and_refuses_a_load_outside_the_zero_range(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics
) -> None:
    balance.set_load(1.5, settle_s=0.0)
    scale.zero()
    assert scale.read_weight().value == 0.0
    balance.set_load(101.5, settle_s=0.0)
    assert scale.read_weight().value == 100.0
    for load, side in ((50.0, "+"), (-5.0, "-")):
        balance.set_load(load, settle_s=0.0)
        with pytest.raises(ZeroRangeExceeded) as caught:
            scale.zero()
        assert caught.value.side == side
        assert caught.value.reply == f"Z {side}"
        assert caught.value.last_command == "Z"


@never_settles
def test_zero_and_tare_on_an_unsettled_balance_give_an_unstable_error(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics
) -> None:
    balance.set_load(1.0, settle_s=60.0)
    with pytest.raises(UnstableReading) as zeroing:
        scale.zero()
    assert zeroing.value.last_command == "Z"
    with pytest.raises(UnstableReading) as taring:
        scale.tare()
    assert taring.value.last_command == "T"


def test_tare_returns_the_tare_weight_and_net_readings_follow(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics
) -> None:
    assert scale.tare_weight() == (100.0, "g")
    assert scale.read_weight().value == 0.0
    balance.set_load(120.25, settle_s=0.0)
    assert scale.read_weight().value == 20.25
    assert balance.tare_value == 100.0


@pytest.mark.parametrize(("load", "side"), [(0.0, "-"), (250.0, "+")])
def test_tare_outside_the_taring_range_is_refused(
    balance: SimulatedSicsBalance, scale: MettlerToledoSics, load: float, side: str
) -> None:
    balance.set_load(load, settle_s=0.0)
    with pytest.raises(TareRangeExceeded) as caught:
        scale.tare()
    assert caught.value.side == side
    assert caught.value.last_command == "T"


def test_general_error_answers_are_typed_with_the_command(scale: MettlerToledoSics) -> None:
    with pytest.raises(SicsSyntaxError) as syntax:
        scale.transport.query_parsed("s", parse_weight)  # MT-SICS is upper case only
    assert syntax.value.reply == "ES"
    assert syntax.value.last_command == "s"
    assert syntax.value.address == scale.address
    with pytest.raises(SicsLogicalError) as logical:
        scale.transport.query_parsed("S 5", parse_weight)
    assert logical.value.reply == "EL"
    assert logical.value.last_command == "S 5"
    assert scale.read_weight().value == 100.0


def test_a_transmission_error_is_retried_then_reported(
    balance: SimulatedSicsBalance, sim: PtySimulator, options: DriverOptions
) -> None:
    with MettlerToledoSics.open(sim.address, replace(options, retries=1)) as scale:
        balance.corrupt_next(1)
        assert scale.read_weight().value == 100.0  # one ET, one retry
        balance.corrupt_next(2)
        with pytest.raises(SicsTransmissionError) as caught:
            scale.read_weight()
        assert caught.value.reply == "ET"
        assert caught.value.last_command == "S"
        assert caught.value.address == sim.address


EXPECTED: dict[FaultKind, type[DriverError]] = {
    FaultKind.TIMEOUT: InstrumentTimeout,
    FaultKind.LATE: InstrumentTimeout,
    FaultKind.GARBLED: GarbledResponse,
    FaultKind.TRUNCATED: GarbledResponse,
    FaultKind.DEVICE_ERROR: SicsLogicalError,
}


@over_faults(EXPECTED, silent=SILENT)
def test_each_fault_raises_its_typed_error_and_the_driver_recovers(
    balance: SimulatedSicsBalance,
    sim: PtySimulator,
    scale: MettlerToledoSics,
    kind: FaultKind,
    late_by_s: float,
) -> None:
    sim.inject(Fault(kind, times=1, late_by_s=late_by_s))
    result: Reading | None = None
    with pytest.raises(EXPECTED[kind]) as caught:
        result = scale.read_weight()
    assert result is None
    assert caught.value.address == sim.address
    assert caught.value.last_command == "S"
    balance.set_load(77.0, settle_s=0.0)
    assert scale.read_weight().value == 77.0  # its own answer, not a late one


@times_out
def test_a_late_answer_is_discarded_as_stale(
    balance: SimulatedSicsBalance, sim: PtySimulator, scale: MettlerToledoSics, late_by_s: float
) -> None:
    sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=late_by_s))
    with pytest.raises(InstrumentTimeout):
        scale.read_weight()
    balance.set_load(12.0, settle_s=0.0)
    assert scale.read_weight().value == 12.0
    stale = [e.data for e in scale.io_log if e.direction == IODirection.STALE]
    assert stale == ["S S   100.0000 g"]
    assert "I1" in _writes(scale)  # the resynchronisation marker


def test_a_cable_pulled_mid_answer_is_a_lost_connection(
    sim: PtySimulator, scale: MettlerToledoSics
) -> None:
    sim.inject(Fault(FaultKind.DISCONNECT, times=1))
    with pytest.raises(ConnectionLost) as caught:
        scale.read_weight()
    assert caught.value.last_command == "S"
    assert caught.value.address == sim.address


def test_it_is_registered_with_its_simulator() -> None:
    entry = get("mettler-sics")
    assert entry.load_driver() is MettlerToledoSics
    assert entry.capabilities.offers("mass")
    assert entry.load_simulator() is not None
