"""The register-map driver: map validation, decoding, and reads over Modbus TCP on loopback."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from drivers.capabilities import RegisterReader, measure
from drivers.errors import (
    AddressError,
    GarbledResponse,
    InstrumentTimeout,
    ModbusExceptionResponse,
    OutOfRange,
)
from drivers.generic.modbus_map import (
    ModbusMapDevice,
    RegisterEntry,
    RegisterMapError,
    decode,
    encode,
    load_register_map,
)
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.modbus_map import (
    ModbusMapSimulator,
    SimulatedMapDevice,
    start_modbus_map,
)
from tests.support.driver_options import BRIEF, LATE_BY_S, STEADY

MAPS = Path(__file__).resolve().parents[2] / "drivers" / "maps"
SDM120 = MAPS / "eastron-sdm120.yaml"
TUF = MAPS / "tuf-2000m.yaml"
SYSTEM10 = MAPS / "onicon-system-10.yaml"

MIXED = """\
device: test rig
registers:
  - {name: s16, address: 10, function: holding, type: int16, scale: 0.1, unit: degC}
  - {name: u16, address: 11, function: holding, type: uint16, unit: count}
  - {name: s32_le, address: 20, function: input, type: int32, word_order: little, unit: L}
  - {name: u32_be, address: 22, function: input, type: uint32, word_order: big, scale: 0.001,
     unit: m3}
  - {name: f32_le, address: 30, function: holding, type: float32, word_order: little, unit: bar}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return write(tmp_path, MIXED)


@pytest.fixture
def device(mixed: Path) -> SimulatedMapDevice:
    values = {"s16": -12.3, "u16": 65535, "s32_le": -100000, "u32_be": 4000000.5, "f32_le": 2.5}
    return SimulatedMapDevice(load_register_map(mixed), values)


@pytest.fixture
def sim(device: SimulatedMapDevice) -> Iterator[ModbusMapSimulator]:
    with ModbusMapSimulator(device) as running:
        yield running


@pytest.fixture
def meter(sim: ModbusMapSimulator, mixed: Path) -> Iterator[ModbusMapDevice]:
    driver = ModbusMapDevice.open(sim.modbus_address, replace(STEADY, map_file=str(mixed)))
    try:
        yield driver
    finally:
        driver.close()


def test_the_shipped_maps_load() -> None:
    sdm = load_register_map(SDM120)
    assert sdm.entries["voltage"].address == 0
    assert sdm.entries["import_active_energy"].unit == "kWh"
    assert {e.function for e in sdm.entries.values()} == {"input"}
    tuf = load_register_map(TUF)
    assert tuf.entries["flow_rate"].word_order == "little"
    assert tuf.entries["positive_total"].type == "int32"


def test_the_flow_computer_map_follows_the_manuals_register_rules() -> None:
    # System-10-MOD guide §2.1/§2.3: holding registers, 4xxxx is location xxxx - 1, floats
    # in 41003..41081 high word first, signed integers only at 40024/40025.
    fc = load_register_map(SYSTEM10)
    assert {e.function for e in fc.entries.values()} == {"holding"}
    for entry in fc.entries.values():
        register = 40001 + entry.address
        assert entry.description.startswith(str(register))
        if entry.type == "float32":
            assert 41003 <= register <= 41081
            assert (register - 41003) % 2 == 0
            assert entry.word_order == "big"
        else:
            assert entry.type == "int16"
            assert register in {40024, 40025}
    units = {e.name: e.unit for e in fc.entries.values()}
    assert units["volume_flow_rate"] == "m3/h"
    assert units["mass_total"] == "kg"
    assert units["supply_temperature"] == units["return_temperature"] == "degC"


SYSTEM10_VALUES = {
    "energy_rate": 351.25, "volume_flow_rate": 36.5, "volume_flow_rate_l_s": 10.125,
    "mass_flow_rate": 36412.0, "supply_temperature": 6.5, "return_temperature": 12.25,
    "energy_total": 1234567.0, "volume_total_l": 98765.5, "volume_total": 98.7655,
    "mass_total": 98512.0, "supply_temperature_int": -1.5, "return_temperature_int": 12.25,
}  # fmt: skip


def test_the_flow_computer_map_reads_every_register_over_modbus_tcp() -> None:
    fc = load_register_map(SYSTEM10)
    assert set(SYSTEM10_VALUES) == set(fc.entries)
    with (
        ModbusMapSimulator(SimulatedMapDevice(fc, SYSTEM10_VALUES)) as sim,
        ModbusMapDevice.open(sim.address, STEADY) as computer,
    ):
        assert computer.identity.model == "ONICON System-10 Btu meter (System-10-MOD)"
        for name, value in SYSTEM10_VALUES.items():
            reading = measure(computer, f"register:{name}")
            assert reading.value == pytest.approx(value, rel=1e-7), name
            assert reading.unit == fc.entries[name].unit
        # 6.5 = 0x40D00000 at 41031 (PDU 1030), high word first; -1.5 degC = -150 at 40024
        assert computer.read_register("supply_temperature").raw == "holding 1030 x2 = 40d0 0000"
        assert computer.read_register("supply_temperature_int").raw == "holding 23 x1 = ff6a"


def test_the_map_simulator_serves_the_map_it_is_given() -> None:
    with (
        start_modbus_map(SimulatorOptions(value=20.5, map_file=str(SYSTEM10))) as sim,
        ModbusMapDevice.open(sim.address, STEADY) as computer,
    ):
        assert computer.read_register("return_temperature").value == 20.5
        assert computer.read_register("return_temperature_int").value == pytest.approx(20.5)
    with start_modbus_map(SimulatorOptions()) as default:
        assert default.model.register_map.path == str(SDM120)


def test_every_type_and_word_order_round_trips_bit_exactly() -> None:
    f32 = RegisterEntry("x", 0, "input", "float32", "big", 1.0, "V")
    assert encode(f32, 230.5) == [0x4366, 0x8000]
    little = RegisterEntry("x", 0, "input", "float32", "little", 1.0, "V")
    assert encode(little, 230.5) == [0x8000, 0x4366]
    assert decode(little, [0x8000, 0x4366]) == 230.5
    s32 = RegisterEntry("x", 0, "input", "int32", "big", 1.0, "L")
    assert decode(s32, [0xFFFF, 0xFFFE]) == -2.0
    s16 = RegisterEntry("x", 0, "input", "int16", "big", 0.1, "degC")
    assert decode(s16, [0xFF85]) == pytest.approx(-12.3)
    with pytest.raises(GarbledResponse):
        decode(f32, [0x7FC0, 0x0000])  # NaN is not a reading
    with pytest.raises(ValueError, match="does not fit"):
        encode(RegisterEntry("x", 0, "input", "uint16", "big", 1.0, "n"), -1)


def test_it_reads_every_type_over_modbus_tcp(meter: ModbusMapDevice) -> None:
    assert isinstance(meter, RegisterReader)
    assert meter.register_names == ("s16", "u16", "s32_le", "u32_be", "f32_le")
    expected = {"s16": (-12.3, "degC"), "u16": (65535, "count"), "s32_le": (-100000, "L"),
                "u32_be": (4000000.5, "m3"), "f32_le": (2.5, "bar")}  # fmt: skip
    for name, (value, unit) in expected.items():
        reading = measure(meter, f"register:{name}")
        assert reading.value == pytest.approx(value)
        assert reading.unit == unit
        assert reading.function == f"register:{name}"
    assert measure(meter, "register:f32_le").raw == "holding 30 x2 = 0000 4020"
    assert meter.identity.model == "test rig"


def test_an_unmapped_name_is_refused_without_io(meter: ModbusMapDevice) -> None:
    before = len(meter.io_log)
    with pytest.raises(OutOfRange) as caught:
        meter.read_register("nope")
    assert "s16" in caught.value.allowed
    assert len(meter.io_log) == before


def test_faults_are_typed_and_give_no_reading(
    meter: ModbusMapDevice, sim: ModbusMapSimulator, mixed: Path
) -> None:
    sim.inject(Fault(FaultKind.DEVICE_ERROR, times=1))
    with pytest.raises(ModbusExceptionResponse) as caught:
        meter.read_register("u16")
    assert caught.value.exception_code == 4
    assert caught.value.address == meter.address
    assert caught.value.last_command == "read holding registers 11 x1 (unit 1)"
    # A late answer: the brief timeout on a connection of its own.
    with ModbusMapDevice.open(sim.modbus_address, replace(BRIEF, map_file=str(mixed))) as brief:
        sim.inject(Fault(FaultKind.LATE, times=1, late_by_s=LATE_BY_S))
        with pytest.raises(InstrumentTimeout):
            brief.read_register("u16")
        assert brief.read_register("s16").value == pytest.approx(-12.3)  # not the late u16
    sim.model.values["f32_le"] = math.nan
    with pytest.raises(GarbledResponse):
        meter.read_register("f32_le")


def test_a_map_that_disagrees_with_the_device_gets_an_exception_not_a_value(
    sim: ModbusMapSimulator, tmp_path: Path
) -> None:
    wrong = write(tmp_path, "device: d\nregisters:\n  - {name: a, address: 500, "
                  "function: input, type: uint16, unit: V}\n")  # fmt: skip
    options = replace(STEADY, map_file=str(wrong))
    with pytest.raises(ModbusExceptionResponse) as caught:
        ModbusMapDevice.open(sim.modbus_address, options)  # refused on opening
    assert caught.value.exception_code == 2


def test_the_map_may_come_in_the_address_but_never_twice_different(
    sim: ModbusMapSimulator, mixed: Path
) -> None:
    with ModbusMapDevice.open(sim.address, STEADY) as driver:
        assert driver.read_register("u16").value == 65535
    with pytest.raises(AddressError, match="register-map file"):
        ModbusMapDevice.open(sim.modbus_address, STEADY)
    with pytest.raises(AddressError, match="different register maps"):
        ModbusMapDevice.open(sim.address, replace(STEADY, map_file=str(SDM120)))


BAD_MAPS = [
    ("", 0, None, "empty"),
    ("device: d\n", 1, "registers", "missing"),
    ("device: d\nregisters: []\n", 2, "registers", "non-empty"),
    ("device: d\nregisters:\n  - name: a\n    address: 1\n    function: coil\n"
     "    type: uint16\n    unit: V\n", 5, "function", "holding, input"),
    ("device: d\nregisters:\n  - name: a\n    address: x1\n    function: input\n"
     "    type: uint16\n    unit: V\n", 4, "address", "integer"),
    ("device: d\nregisters:\n  - name: a\n    address: 65535\n    function: input\n"
     "    type: float32\n    word_order: big\n    unit: V\n", 4, "address", "0..65534"),
    ("device: d\nregisters:\n  - name: a\n    address: 1\n    function: input\n"
     "    type: float64\n    unit: V\n", 6, "type", "int16"),
    ("device: d\nregisters:\n  - name: a\n    address: 1\n    function: input\n"
     "    type: float32\n    unit: V\n", 3, "word_order", "missing"),
    ("device: d\nregisters:\n  - name: a\n    address: 1\n    function: input\n"
     "    type: uint16\n    word_order: middle\n    unit: V\n", 7, "word_order", "big, little"),
    ("device: d\nregisters:\n  - name: a\n    address: 1\n    function: input\n"
     "    type: uint16\n    scale: 0\n    unit: V\n", 7, "scale", "non-zero"),
    ("device: d\nregisters:\n  - name: a\n    address: 1\n    function: input\n"
     "    type: uint16\n    unit: V\n    units: V\n", 8, "units", "unknown key"),
    ("device: d\nregisters:\n  - {name: a, address: 1, function: input, type: uint16, unit: V}\n"
     "  - {name: a, address: 2, function: input, type: uint16, unit: V}\n", 4, "name", "twice"),
    ("device: d\nregisters:\n  - {name: a, address: 1, function: input, type: uint16}\n",
     3, "unit", "missing"),
    ("device: d\ndevice: e\nregisters: []\n", 2, "device", "given twice"),
    ("device: d\nregisters:\n  - {name: a, address: [1, }\n", 3, None, "not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "key", "message"), BAD_MAPS)
def test_map_errors_name_the_file_the_line_and_the_key(
    tmp_path: Path, text: str, line: int, key: str | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RegisterMapError) as caught:
        load_register_map(path)
    error = caught.value
    assert error.file == str(path)
    assert error.line == (line or None)
    assert error.key == key
    assert message in str(error)
    assert str(error).startswith(f"{path}:{line}: " if line else f"{path}: ")


def test_a_missing_map_file_is_a_map_error(tmp_path: Path) -> None:
    with pytest.raises(RegisterMapError, match="cannot read"):
        load_register_map(tmp_path / "absent.yaml")
