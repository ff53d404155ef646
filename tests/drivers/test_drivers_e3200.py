"""The Eurotherm 3200 bath driver against its simulator over Modbus TCP on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from drivers.capabilities import TemperatureSource, measure
from drivers.errors import (
    AddressError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentTimeout,
    MeasurementOverload,
    ModbusExceptionResponse,
    OutOfRange,
)
from drivers.eurotherm.e3200 import (
    REG_REMOTE_SP,
    REG_TARGET_SP,
    Eurotherm3200,
    RemoteSetpointFailed,
    SensorBreak,
    split_decimals,
)
from drivers.iolog import IODirection
from drivers.registry import get
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.eurotherm_3200 import Eurotherm3200Simulator, SimulatedEurotherm3200
from tests.support.driver_options import BRIEF, LATE_BY_S, STEADY


@pytest.fixture
def bath() -> SimulatedEurotherm3200:
    """A bath at 25 °C, range -40..150 °C, noise 0.01 °C, two decimals, tau 0.2 s."""
    return SimulatedEurotherm3200(
        temperature=25.0, setpoint=25.0, range_low=-40.0, range_high=150.0,
        noise=0.01, tau_s=0.2, decimals=2, seed=7,
    )  # fmt: skip


@pytest.fixture
def sim(bath: SimulatedEurotherm3200) -> Iterator[Eurotherm3200Simulator]:
    with Eurotherm3200Simulator(bath) as running:
        yield running


@pytest.fixture
def controller(sim: Eurotherm3200Simulator) -> Iterator[Eurotherm3200]:
    driver = Eurotherm3200.open(sim.address, STEADY)
    try:
        yield driver
    finally:
        driver.close()


def test_decimals_are_required_in_the_address_and_stripped_before_modbus() -> None:
    assert split_decimals("modbus-tcp://h:1502?unit=3&decimals=1") == (
        "modbus-tcp://h:1502?unit=3",
        1,
    )
    for bad in ("modbus-tcp://h:1502?unit=1", "modbus-tcp://h?decimals=4",
                "modbus-tcp://h?decimals=x", "modbus-tcp://h?decimals=1&decimals=2"):  # fmt: skip
        with pytest.raises(AddressError) as caught:
            Eurotherm3200.open(bad, STEADY)
        assert caught.value.address == bad


def test_it_reads_the_range_and_the_scaled_process_value(
    controller: Eurotherm3200, sim: Eurotherm3200Simulator
) -> None:
    assert isinstance(controller, TemperatureSource)
    assert controller.limits == (-40.0, 150.0)
    assert controller.resolution == pytest.approx(0.01)
    reading = measure(controller, "temperature")
    assert reading.unit == "degC"
    assert reading.value == pytest.approx(25.0, abs=0.06)
    assert round(reading.value * 100) == pytest.approx(reading.value * 100)
    assert reading.stable
    assert reading.status == "ok"
    assert reading.raw.startswith("PV.IN[1]=")
    assert reading.timestamp.tzinfo is not None
    writes = [e.data for e in controller.io_log if e.direction == IODirection.WRITE]
    assert "03 00 01 00 01" in writes  # PV.IN, a holding register read, logged in hex


def test_negative_temperatures_are_signed_16_bit(sim: Eurotherm3200Simulator) -> None:
    sim.model.local_setpoint = -30.0
    sim.model.noise = 0.0
    sim.model.tau_s = 1e-6
    with Eurotherm3200.open(sim.address, STEADY) as driver:
        assert driver.read_temperature().value == pytest.approx(-30.0)


def test_a_sweep_uses_the_remote_setpoint_and_never_writes_the_eeprom_setpoint(
    controller: Eurotherm3200, bath: SimulatedEurotherm3200
) -> None:
    for setpoint in (30.0, 60.5, -12.25):
        controller.set_temperature(setpoint)
        assert controller.read_working_setpoint() == pytest.approx(setpoint)
        assert controller.read_remote_setpoint() == pytest.approx(setpoint)
    assert bath.remote_selected
    assert bath.target_setpoint_writes == 0
    written = [e.data for e in controller.io_log if e.direction == IODirection.WRITE]
    assert not any(w.startswith(f"06 00 {REG_TARGET_SP:02x}") for w in written)
    assert any(w.startswith("06 00 1a") for w in written)  # Rm.SP = 26


def test_the_bath_approaches_the_setpoint_with_its_time_constant(
    controller: Eurotherm3200, bath: SimulatedEurotherm3200
) -> None:
    bath.noise = 0.0
    controller.set_temperature(45.0)
    first = controller.read_temperature().value
    assert 25.0 <= first < 45.0
    time.sleep(0.3)
    later = controller.read_temperature().value
    assert first < later < 45.0
    time.sleep(1.5)
    assert controller.read_temperature().value == pytest.approx(45.0, abs=0.01)


def test_the_noise_is_seeded(sim: Eurotherm3200Simulator) -> None:
    def series(seed: int) -> list[int]:
        model = SimulatedEurotherm3200(temperature=20, setpoint=20, noise=0.05, seed=seed)
        return [model.read(3, 1, 1) for _ in range(5)]  # type: ignore[misc]

    assert series(3) == series(3)
    assert series(3) != series(4)


@pytest.mark.parametrize("setpoint", [150.01, -40.5, 1e9, float("nan"), float("inf"), 25.001])
def test_setpoints_outside_the_range_or_resolution_are_refused_not_clamped(
    controller: Eurotherm3200, bath: SimulatedEurotherm3200, setpoint: float
) -> None:
    before = len(controller.io_log)
    with pytest.raises(OutOfRange) as caught:
        controller.set_temperature(setpoint)
    assert caught.value.parameter == "setpoint"
    assert caught.value.address == controller.address
    assert len(controller.io_log) == before  # nothing was sent
    assert bath.remote_setpoint == 25.0


def test_a_sensor_break_is_an_error_and_no_reading(
    controller: Eurotherm3200, bath: SimulatedEurotherm3200
) -> None:
    bath.break_sensor()
    with pytest.raises(SensorBreak) as caught:
        measure(controller, "temperature")
    assert caught.value.address == controller.address
    assert "status[75]=0x0020" in (caught.value.received or "")
    bath.break_sensor(False)
    assert controller.read_temperature().status == "ok"


def test_an_over_range_process_value_is_an_overload(
    controller: Eurotherm3200, bath: SimulatedEurotherm3200
) -> None:
    bath.pv_over_range()
    with pytest.raises(MeasurementOverload):
        controller.read_temperature()


def test_a_remote_setpoint_failure_is_reported(
    controller: Eurotherm3200, bath: SimulatedEurotherm3200
) -> None:
    bath.remote_setpoint_fail()
    with pytest.raises(RemoteSetpointFailed):
        controller.set_temperature(40.0)
    reading = controller.read_temperature()
    assert (reading.stable, reading.status) == (False, "remote-setpoint-fail")


def test_an_exception_response_is_typed_with_its_code(
    controller: Eurotherm3200, sim: Eurotherm3200Simulator
) -> None:
    sim.inject(Fault(FaultKind.DEVICE_ERROR, times=1))
    with pytest.raises(ModbusExceptionResponse) as caught:
        controller.read_temperature()
    assert caught.value.exception_code == 4
    assert caught.value.address == controller.address
    assert caught.value.last_command == "read holding registers 1 x1 (unit 1)"
    assert controller.read_temperature().status == "ok"


def test_a_silent_controller_times_out_and_the_next_read_is_fresh(
    sim: Eurotherm3200Simulator, bath: SimulatedEurotherm3200
) -> None:
    with Eurotherm3200.open(sim.address, BRIEF) as controller:
        sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=LATE_BY_S))
        with pytest.raises(InstrumentTimeout):
            controller.read_temperature()
        bath.noise = 0.0
        assert controller.read_working_setpoint() == 25.0  # not the late PV answer
        sim.inject(Fault(FaultKind.TIMEOUT, target="any"))
        with pytest.raises(InstrumentTimeout):
            controller.read_status()


def test_an_expected_serial_cannot_be_checked_and_is_refused(
    sim: Eurotherm3200Simulator,
) -> None:
    options = replace(STEADY, expected_serial="12345")
    with pytest.raises(IdentityMismatch):
        Eurotherm3200.open(sim.address, options)


def test_the_registry_entry_starts_the_simulator() -> None:
    entry = get("eurotherm-3200")
    factory = entry.load_simulator()
    assert factory is not None
    simulator = factory(SimulatorOptions(value=37.0, noise=0.0))
    try:
        driver = entry.load_driver().open(simulator.address, STEADY)
        try:
            assert measure(driver, "temperature").value == pytest.approx(37.0)
        finally:
            driver.close()
        simulator.inject(Fault(FaultKind.GARBLED, times=1))  # made by the fault proxy
        driver = entry.load_driver().open(simulator.address, STEADY)
        try:
            with pytest.raises(GarbledResponse):
                measure(driver, "temperature")
        finally:
            driver.close()
    finally:
        simulator.stop()


def test_writing_outside_the_controller_range_is_refused_by_the_simulator_too(
    bath: SimulatedEurotherm3200,
) -> None:
    assert bath.write(REG_REMOTE_SP, [20000]) == 3  # 200.00 °C > RNG.HI
    assert bath.write(5, [100]) == 2  # WKG.SP is read only
