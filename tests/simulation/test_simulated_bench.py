"""The simulated bench: instruments on their real transports, seeing one physical world.

Every exchange below goes through the real driver and the real transport (VISA over TCP,
a pseudo-terminal, Modbus TCP, the manual-entry prompt) to a simulator whose input is
coupled to what the other instruments and the simulated operator do.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from drivers.druck.pace import DruckPace
from drivers.eurotherm.e3200 import Eurotherm3200
from drivers.fluke.f5522a import Fluke5522A
from drivers.generic.modbus_map import ModbusMapDevice
from drivers.keysight.k34465a import Keysight34465A
from drivers.manual.entry import ManualPressureGauge, ManualThermometer, ManualVolumeRegister
from drivers.mettler.sics import MettlerToledoSics
from drivers.simulators.fluke_5522a import SimulatedFluke5522A
from drivers.simulators.tcp import TcpSimulator
from procedures.bench import BenchRole, Instruction
from simulation.bench import SimulatedBench
from simulation.electrical import UUT_VOLTMETER
from simulation.errors import NoInstrument, SimulationError
from simulation.flow import REFERENCE_METER, UUT_WATER_METER
from simulation.mass import UUT_BALANCE
from simulation.people import SimulatedOperator
from simulation.pressure import UUT_PRESSURE_GAUGE
from simulation.temperature import UUT_THERMOMETER, PrtCoefficients, callendar_van_dusen
from simulation.world import SimulatedWorld

# Configured addresses of a real bench (documentation addresses): the simulators replace them.
DMM = BenchRole("uut", "keysight-34465a", "TCPIP::192.0.2.11::5025::SOCKET", serial="MY54512345")
CALIBRATOR = BenchRole("source", "fluke-5522a", "TCPIP::192.0.2.10::5025::SOCKET")
BALANCE = BenchRole("uut", "mettler-sics", "/dev/ttyUSB0", serial="B123456789")
WEIGHTS = BenchRole("reference", "none", "", asset_id="W-F1-01")
PACE = BenchRole("reference", "druck-pace", "TCPIP::192.0.2.20::5025::SOCKET")
GAUGE = BenchRole("uut", "manual", "manual://pressure?unit=kPa&min=0&max=1000&resolution=10")
BATH = BenchRole("source", "eurotherm-3200", "modbus-tcp://192.0.2.30:502?unit=1&decimals=1")
PRT_READOUT = BenchRole(
    "readout",
    "keysight-34470a",
    "TCPIP::192.0.2.12::5025::SOCKET",
    options={"R0": 100.0, "A": 3.9083e-3, "B": -5.775e-7},
)
THERMOMETER = BenchRole(
    "uut", "manual", "manual://temperature?unit=degC&min=-10&max=110&resolution=0.1"
)
ROOM = BenchRole(
    "environment", "manual", "manual://temperature?unit=degC&min=0&max=50&resolution=0.1"
)
REFERENCE_FLOW_METER = BenchRole("reference", "modbus-map", "modbus-tcp://192.0.2.40:502?unit=1")
WATER_METER = BenchRole(
    "uut", "manual", "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001"
)

TEXT = {"en": "(instruction text)", "vi": "(nội dung hướng dẫn)"}


@contextmanager
def bench_of(
    *roles: BenchRole, seed: int = 1, **world_options: float
) -> Iterator[tuple[SimulatedBench, SimulatedOperator]]:
    world = SimulatedWorld(seed=seed, **world_options)
    with SimulatedBench({r.role: r for r in roles}, world) as bench:
        yield bench, SimulatedOperator(world)


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# -- calibrator and DMM -------------------------------------------------------------------------


def test_the_dmm_measures_what_the_calibrator_sources_with_the_uut_error() -> None:
    with bench_of(CALIBRATOR, DMM) as (bench, _):
        calibrator = bench.instrument("source")
        dmm = bench.instrument("uut")
        assert isinstance(calibrator, Fluke5522A)
        assert isinstance(dmm, Keysight34465A)
        calibrator.set_voltage(10.0)
        calibrator.operate()
        calibrator.wait_settled(timeout_s=10.0)
        reading = dmm.measure_dc_voltage(range=10.0)
        expected = UUT_VOLTMETER.indication(10.0)  # 10.000083 V
        assert reading.unit == "V"
        assert reading.value == pytest.approx(expected, abs=10e-6)  # 5 σ of the 2 µV noise
        assert reading.value - 10.0 > 50e-6  # the UUT's own error shows
        calibrator.standby()
        assert abs(dmm.measure_dc_voltage(range=10.0).value) < 15e-6


def test_closing_the_bench_leaves_the_calibrator_in_standby() -> None:
    # The meter opened after the calibrator: were it closed first, its VISA resource
    # manager (shared by every VISA driver of the process) would take the calibrator's
    # link with it, and the calibrator could not be put in standby.
    with bench_of(CALIBRATOR, DMM) as (bench, _):
        calibrator = bench.instrument("source")
        assert isinstance(calibrator, Fluke5522A)
        calibrator.set_voltage(100.0)
        calibrator.operate()
        assert bench.world.voltage == 100.0
        simulator = bench.simulator("source")
        assert isinstance(simulator, TcpSimulator)
        model = simulator.instrument
        assert isinstance(model, SimulatedFluke5522A)
    # The driver's last word was STBY; the simulator's thread acts on it when it reads it,
    # which a loaded machine may put off for a moment after the link is closed.
    deadline = time.monotonic() + 10.0
    while model.operate and time.monotonic() < deadline:
        time.sleep(0.01)
    assert model.output_at_terminals() == ("V", 0.0, 0.0)
    assert not model.operate


def test_the_simulators_replace_the_configured_addresses() -> None:
    with bench_of(CALIBRATOR, DMM) as (bench, _):
        assert bench.configured_roles["uut"].address == DMM.address
        simulated = bench.roles["uut"].address
        assert simulated.startswith("TCPIP::127.0.0.1::")
        assert simulated != DMM.address
        dmm = bench.instrument("uut")
        assert isinstance(dmm, Keysight34465A)
        assert dmm.identity.serial == "MY54512345"  # the configured serial, checked on opening
    assert bench.roles["uut"].address == DMM.address


def test_the_same_seed_gives_the_same_readings() -> None:
    def readings(seed: int) -> list[float]:
        with bench_of(CALIBRATOR, DMM, seed=seed) as (bench, _):
            calibrator, dmm = bench.instrument("source"), bench.instrument("uut")
            assert isinstance(calibrator, Fluke5522A)
            assert isinstance(dmm, Keysight34465A)
            calibrator.set_voltage(1.0)
            calibrator.operate()
            return [dmm.measure_dc_voltage(range=1.0).value for _ in range(3)]

    assert readings(7) == readings(7)
    assert readings(7) != readings(8)


# -- weights and balance ----------------------------------------------------------------------


def test_the_balance_weighs_the_load_the_operator_places_and_its_eccentricity() -> None:
    with bench_of(WEIGHTS, BALANCE) as (bench, operator):
        balance = bench.instrument("uut")
        assert isinstance(balance, MettlerToledoSics)
        assert balance.read_weight().value == pytest.approx(0.0, abs=0.015)

        operator.instruct(Instruction("place_load", {"load": 2000, "unit": "g"}, TEXT))
        centre = balance.read_weight()
        assert centre.unit == "g"
        assert centre.stable
        # 2000 g + 13 mg linearity; the noise is 3 mg.
        assert centre.value == pytest.approx(UUT_BALANCE.indication(2000.0, "centre"), abs=0.015)

        by_position = {}
        for position in (2, 3, 4, 5):  # OIML R 76-1 A.4.7: 1 is the centre
            operator.instruct(Instruction("position", {"position": position}, TEXT))
            by_position[position] = balance.read_weight().value
            expected = UUT_BALANCE.indication(2000.0, str(position))
            assert by_position[position] == pytest.approx(expected, abs=0.015)
        assert by_position[2] - by_position[5] == pytest.approx(0.044, abs=0.02)

        operator.instruct(Instruction("place_load", {"load": 1, "unit": "kg"}, TEXT))
        assert balance.read_weight().value == pytest.approx(1000.0, abs=0.03)
        operator.instruct(Instruction("remove_load", {}, TEXT))
        assert balance.read_weight().value == pytest.approx(0.0, abs=0.015)
        assert [i.kind for i in operator.instructions] == [
            "place_load", "position", "position", "position", "position", "place_load",
            "remove_load",
        ]  # fmt: skip


def test_a_passive_standard_has_no_instrument() -> None:
    with bench_of(WEIGHTS, BALANCE) as (bench, _):
        with pytest.raises(NoInstrument, match="'reference' is a passive standard"):
            bench.instrument("reference")
        with pytest.raises(NoInstrument, match="no role 'source'"):
            bench.instrument("source")


# -- pressure controller and gauge read by eye ------------------------------------------------


def set_pressure(pace: DruckPace, pascals: float) -> None:
    pace.set_pressure(pascals)
    pace.set_control(True)
    pace.wait_in_limits(timeout_s=5.0)


def test_the_gauge_read_by_eye_shows_the_controllers_pressure_with_hysteresis() -> None:
    with bench_of(PACE, GAUGE) as (bench, _):
        pace, gauge = bench.instrument("reference"), bench.instrument("uut")
        assert isinstance(pace, DruckPace)
        assert isinstance(gauge, ManualPressureGauge)

        set_pressure(pace, 500e3)
        rising = [gauge.read_pressure() for _ in range(3)]
        set_pressure(pace, 650e3)
        set_pressure(pace, 500e3)
        falling = [gauge.read_pressure() for _ in range(3)]

    # Read to a fifth of the 10 kPa interval, with the reader's parallax and the
    # controller's in-limits band.
    tolerance = 2.0 + 4 * UUT_PRESSURE_GAUGE.parallax * 10.0 + 0.2
    for reading in rising:
        assert reading.unit == "kPa"
        expected = UUT_PRESSURE_GAUGE.indication(500.0, 0.0, 1000.0, +1)  # 500.25 kPa
        assert reading.value == pytest.approx(expected, abs=tolerance)
    for reading in falling:
        expected = UUT_PRESSURE_GAUGE.indication(500.0, 0.0, 1000.0, -1)  # 505.25 kPa
        assert reading.value == pytest.approx(expected, abs=tolerance)
    mean = sum(r.value for r in falling) / 3 - sum(r.value for r in rising) / 3
    assert mean == pytest.approx(5.0, abs=2.5)  # the gauge's 0.5 % of span hysteresis
    typed = [r.raw for r in rising + falling]
    assert all(text.replace(",", ".").replace(".", "", 1).isdigit() for text in typed)


def test_the_typist_writes_the_gauges_unit_and_sometimes_a_decimal_comma() -> None:
    bar_gauge = BenchRole("uut", "manual", "manual://pressure?unit=bar&min=0&max=10&resolution=0.2")
    with bench_of(PACE, bar_gauge) as (bench, _):
        pace, gauge = bench.instrument("reference"), bench.instrument("uut")
        assert isinstance(pace, DruckPace)
        assert isinstance(gauge, ManualPressureGauge)
        set_pressure(pace, 400e3)
        readings = [gauge.read_pressure() for _ in range(12)]
        typist = bench.typist("uut")
    assert {r.unit for r in readings} == {"bar"}
    for reading in readings:
        assert reading.value == pytest.approx(4.0, abs=0.1)
    assert any("," in text for text in typist.typed)
    assert any("." in text for text in typist.typed)
    assert all(len(text.replace(",", ".").partition(".")[2]) == 2 for text in typist.typed)
    assert any("pressure reading 1 in bar" in prompt for prompt in typist.prompts)


# -- bath, PRT and thermometers ----------------------------------------------------------------


def settle(bath: Eurotherm3200, celsius: float, *, window_s: float = 0.5) -> None:
    """Wait until every reading of the last ``window_s`` is within 0.08 °C of ``celsius``
    (the controller's readings carry 0.02 °C of noise)."""
    in_band_since: list[float] = []

    def stable() -> bool:
        if abs(bath.read_temperature().value - celsius) > 0.08:
            in_band_since.clear()
            return False
        if not in_band_since:
            in_band_since.append(time.monotonic())
        return time.monotonic() - in_band_since[0] >= window_s

    wait_for(stable)


def test_the_prt_and_the_thermometers_see_the_bath_temperature() -> None:
    with bench_of(BATH, PRT_READOUT, THERMOMETER, ROOM) as (bench, _):
        bath, readout = bench.instrument("source"), bench.instrument("readout")
        thermometer, room = bench.instrument("uut"), bench.instrument("environment")
        assert isinstance(bath, Eurotherm3200)
        assert isinstance(readout, Keysight34465A)
        assert isinstance(thermometer, ManualThermometer)
        assert isinstance(room, ManualThermometer)

        bath.set_temperature(50.0)
        settle(bath, 50.0)
        resistance = readout.measure_resistance_4w()
        typed = thermometer.read_temperature()
        ambient = room.read_temperature()

    assert resistance.unit == "ohm"
    assert resistance.value == pytest.approx(119.40, abs=0.006)  # IEC 60751 table, Pt100
    assert resistance.value == pytest.approx(PrtCoefficients().resistance(50.0), abs=0.003)
    assert typed.unit == "degC"
    assert typed.value == pytest.approx(round(UUT_THERMOMETER.indication(50.0), 1), abs=0.11)
    assert typed.value > 50.05  # the thermometer under test's own error shows
    assert ambient.value == pytest.approx(23.1, abs=0.15)
    assert ambient.raw in {"23,0", "23.0", "23,1", "23.1", "23,2", "23.2"}


def test_callendar_van_dusen_matches_the_iec_60751_table() -> None:
    for celsius, ohms in ((-100.0, 60.26), (0.0, 100.00), (50.0, 119.40), (100.0, 138.51)):
        assert callendar_van_dusen(celsius) == pytest.approx(ohms, abs=0.005)


# -- flow rig ------------------------------------------------------------------------------


def totaliser(meter: ModbusMapDevice) -> float:
    whole = meter.read_register("positive_total").value
    return whole + meter.read_register("positive_total_fraction").value


def test_a_flow_advances_the_reference_totaliser_and_the_water_meter_register() -> None:
    real_s = 0.1 / 1.6 * 3600.0  # 0.1 m3 at 1.6 m3/h: 225 s at the rig's pace
    # Scaled to 0.9 s: long enough for the rate to be read while the water runs, even on a
    # slow machine.
    with bench_of(
        REFERENCE_FLOW_METER, WATER_METER, flow_time_scale=0.9 / real_s, max_flow_s=1.0
    ) as (bench, operator):
        reference, water_meter = bench.instrument("reference"), bench.instrument("uut")
        assert isinstance(reference, ModbusMapDevice)
        assert isinstance(water_meter, ManualVolumeRegister)
        total_before, register_before = totaliser(reference), water_meter.read_volume().value
        assert reference.read_register("flow_rate").value == 0.0

        rates: list[float] = []
        flow = Instruction("set_flow", {"flow_rate": 1.6, "volume": 0.1}, TEXT)
        started = time.monotonic()
        worker = threading.Thread(target=operator.instruct, args=(flow,))
        worker.start()
        wait_for(lambda: bench.world.flow_rate > 0)
        rates.append(reference.read_register("flow_rate").value)
        worker.join()
        elapsed = time.monotonic() - started

        total_after, register_after = totaliser(reference), water_meter.read_volume().value
        assert reference.read_register("flow_rate").value == 0.0

    assert elapsed < real_s / 10  # scaled time, not the rig's
    assert rates[0] == pytest.approx(1.6 * (1 + REFERENCE_METER.error), rel=1e-6)
    assert total_after - total_before == pytest.approx(0.1 * (1 + REFERENCE_METER.error), abs=1e-6)
    expected = 0.1 * (1 + UUT_WATER_METER.error(1.6))  # 0.1006 m3
    assert register_after - register_before == pytest.approx(expected, abs=0.0001)
    assert operator.instructions[0].kind == "set_flow"
    assert operator.instructions[0].at.tzinfo is not None


def test_a_flow_given_by_its_duration_and_the_whole_cubic_metres_of_the_totaliser() -> None:
    with bench_of(REFERENCE_FLOW_METER, WATER_METER) as (bench, operator):
        reference = bench.instrument("reference")
        assert isinstance(reference, ModbusMapDevice)
        operator.instruct(Instruction("set_flow", {"flow_rate": 2.5, "volume": 1.2}, TEXT))
        operator.instruct(Instruction("set_flow", {"flow_rate": 2.5, "duration_s": 36.0}, TEXT))
        assert bench.world.volume == pytest.approx(1.225)
        assert reference.read_register("positive_total").value == 1.0
        fraction = reference.read_register("positive_total_fraction").value
        assert fraction == pytest.approx(0.225 + 1.225 * REFERENCE_METER.error, abs=1e-6)


# -- the operator -------------------------------------------------------------------------------


def test_the_operator_records_every_instruction_and_event() -> None:
    world = SimulatedWorld()
    operator = SimulatedOperator(world)
    operator.instruct(Instruction("connect", {"port": "A"}, TEXT))
    operator.instruct(Instruction("confirm", {}, TEXT))
    operator.instruct(Instruction("polish_the_weights", {}, TEXT))
    operator.show("reading", {"quantity": "mass", "value": 2000.01})
    assert [i.kind for i in operator.instructions] == ["connect", "confirm", "polish_the_weights"]
    assert operator.instructions[0].params == {"port": "A"}
    assert operator.instructions[0].text == TEXT
    assert [(e.event, e.data["value"]) for e in operator.events] == [("reading", 2000.01)]
    with pytest.raises(SimulationError, match="load must be a finite number"):
        operator.instruct(Instruction("place_load", {"load": "heavy"}, TEXT))
    with pytest.raises(SimulationError, match="unknown position"):
        operator.instruct(Instruction("place_load", {"load": 1, "position": 7}, TEXT))
    with pytest.raises(SimulationError, match="volume"):
        operator.instruct(Instruction("set_flow", {"flow_rate": 1.0}, TEXT))
    assert world.load == 0.0


# -- closing ------------------------------------------------------------------------------


def open_descriptors() -> set[str]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        if Path(folder).is_dir():
            return set(os.listdir(folder))
    pytest.skip("no way to list this process's file descriptors")


def test_closing_the_bench_leaves_no_thread_socket_or_descriptor() -> None:
    every_kind: Mapping[str, BenchRole] = {
        "source": CALIBRATOR,
        "uut": DMM,
        "balance": BenchRole("balance", "mettler-sics", "/dev/ttyUSB0"),
        "pressure": PACE,
        "bath": BATH,
        "readout": PRT_READOUT,
        "flow": REFERENCE_FLOW_METER,
        "gauge": GAUGE,
        "weights": WEIGHTS,
    }
    # Warm the libraries' lazily created state (imports, VISA backend) before counting.
    with bench_of(CALIBRATOR, DMM):
        pass
    threads, descriptors = set(threading.enumerate()), open_descriptors()

    world = SimulatedWorld(seed=3)
    bench = SimulatedBench(every_kind, world)
    with bench:
        for role in ("source", "uut", "balance", "pressure", "bath", "readout", "flow", "gauge"):
            assert bench.instrument(role) is not None
        assert len(set(threading.enumerate()) - threads) > 0
    bench.close()  # idempotent

    wait_for(lambda: set(threading.enumerate()) <= threads, timeout_s=10.0)
    # None left open by the bench. (One the worker had open before may have been closed
    # meanwhile by something else of the process: not the bench's to keep.)
    assert open_descriptors() - descriptors == set()
    assert world.voltage == 0.0  # uncoupled: back to the stored value
    world.set_pressure(1e5)  # no longer coupled to the stopped controller


def test_a_role_that_cannot_be_simulated_releases_what_was_started() -> None:
    threads = set(threading.enumerate())
    length_gauge = BenchRole(
        "uut", "manual", "manual://length?unit=mm&min=0&max=10&resolution=0.01"
    )
    bench = SimulatedBench({"source": CALIBRATOR, "uut": length_gauge})
    with pytest.raises(SimulationError, match="length"):
        bench.start()
    wait_for(lambda: set(threading.enumerate()) <= threads, timeout_s=10.0)
    with pytest.raises(NoInstrument, match="not open"):
        bench.instrument("source")


def test_two_sources_of_one_quantity_are_refused() -> None:
    threads = set(threading.enumerate())
    second = BenchRole("source2", "fluke-5522a", "TCPIP::192.0.2.13::5025::SOCKET")
    bench = SimulatedBench({"source": CALIBRATOR, "source2": second})
    with pytest.raises(SimulationError, match="voltage is already coupled"):
        bench.start()
    wait_for(lambda: set(threading.enumerate()) <= threads, timeout_s=10.0)
    assert bench.world.voltage == 0.0
