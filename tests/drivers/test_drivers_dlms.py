"""A DLMS/COSEM meter read with the dlms-cosem library (the real client, unmocked) against
the simulated meter on TCP: the serial number and the energy register with its scaler and
unit, and every fault typed."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from drivers.driver import DriverOptions
from drivers.errors import (
    AddressError,
    ConnectionLost,
    IdentityMismatch,
    InstrumentTimeout,
    SerialNumberMissing,
    UnexpectedUnit,
)
from drivers.iolog import IODirection
from drivers.optical.dlms import AssociationRefused, DlmsReader
from drivers.optical.driver import DlmsMeter
from drivers.optical.iec62056_21 import RegisterMissing
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.dlms_meter import DlmsSimulator, SimulatedDlmsMeter, start_dlms_meter

TIMEOUT_S = 0.4


@pytest.fixture
def meter() -> SimulatedDlmsMeter:
    return SimulatedDlmsMeter(serial="EM-000077", value=1234567, scaler=0)


@pytest.fixture(params=["wrapper", "hdlc"])
def sim(meter: SimulatedDlmsMeter, request: pytest.FixtureRequest) -> Iterator[DlmsSimulator]:
    """The meter on TCP, framed with the IEC 62056-47 wrapper or in HDLC."""
    with DlmsSimulator(meter, hdlc=request.param == "hdlc") as server:
        yield server


def read(sim: DlmsSimulator) -> DlmsReader:
    return DlmsReader(sim.address, timeout_s=TIMEOUT_S)


def test_the_serial_and_the_energy_register_are_read_with_its_scaler_and_unit(
    sim: DlmsSimulator, meter: SimulatedDlmsMeter
) -> None:
    with read(sim) as reader:
        readout = reader.read_out()
    assert readout.serial == "EM-000077"
    assert readout.logical_device_name == "CTREM1000001"
    assert readout.energy.kwh == Decimal("1234.567")
    assert (readout.energy.value, readout.energy.scaler, readout.energy.unit_code) == (
        1234567,
        0,
        30,
    )
    assert meter.gets == [
        "0.0.96.1.0.255/2",
        "0.0.42.0.0.255/2",
        "1.0.1.8.0.255/2",
        "1.0.1.8.0.255/3",
    ]
    written = [e.data for e in reader.io_log.entries if e.direction == IODirection.WRITE]
    if sim.hdlc:
        # SNRM (control 0x93) from client 16 (0x21) to server 1 (0x03), then I-frames
        # carrying the LLC header E6 E6 00 and the AARQ (0x60) first; DISC (0x53) last
        assert written[0].split()[3:6] == ["03", "21", "93"]
        assert written[1].split()[8:12] == ["e6", "e6", "00", "60"]
        assert written[-1].split()[5] == "53"
    else:
        # the wrapper: version 1, client 16 (0x10), server 1, then the AARQ (0x60) first
        assert written[0].startswith("00 01 00 10 00 01 00")
        assert written[0].split()[8] == "60"


@pytest.mark.parametrize(("value", "scaler", "kwh"), [(1234, 3, "1234"), (12345, -1, "1.2345")])
def test_the_scaler_is_a_power_of_ten_of_the_stated_wh(
    meter: SimulatedDlmsMeter, sim: DlmsSimulator, value: int, scaler: int, kwh: str
) -> None:
    meter.value, meter.scaler = value, scaler
    with read(sim) as reader:
        assert reader.read_out().energy.kwh == Decimal(kwh)


def test_a_meter_without_a_logical_device_name_is_read_all_the_same(
    meter: SimulatedDlmsMeter, sim: DlmsSimulator
) -> None:
    meter.logical_device_name = ""
    with read(sim) as reader:
        readout = reader.read_out()
    assert readout.logical_device_name is None
    assert readout.energy.kwh == Decimal("1234.567")


def test_a_register_in_another_unit_is_refused(
    meter: SimulatedDlmsMeter, sim: DlmsSimulator
) -> None:
    meter.unit = 32  # varh
    with read(sim) as reader, pytest.raises(UnexpectedUnit) as caught:
        reader.read_out()
    assert caught.value.unit == "DLMS unit 32"
    assert caught.value.code == "1.0.1.8.0.255"


def test_a_meter_without_a_serial_is_refused(meter: SimulatedDlmsMeter, sim: DlmsSimulator) -> None:
    meter.has_serial = False
    with read(sim) as reader, pytest.raises(SerialNumberMissing) as caught:
        reader.read_out()
    assert caught.value.codes == ("0.0.96.1.0.255",)
    assert caught.value.address == sim.address


def test_a_refused_association_is_typed(meter: SimulatedDlmsMeter, sim: DlmsSimulator) -> None:
    meter.refuse_association = True
    with read(sim) as reader, pytest.raises(AssociationRefused, match="REJECTED_PERMANENT"):
        reader.read_out()
    assert meter.gets == []


def test_a_silent_meter_is_a_timeout_naming_the_port_and_the_request(sim: DlmsSimulator) -> None:
    sim.inject(Fault(FaultKind.TIMEOUT, target="any"))
    with read(sim) as reader, pytest.raises(InstrumentTimeout) as caught:
        reader.read_out()
    assert caught.value.address == sim.address
    assert caught.value.last_command == ("SNRM" if sim.hdlc else "AARQ")
    assert f"no answer from the meter within {TIMEOUT_S} s" in str(caught.value)


def test_a_meter_that_hangs_up_is_a_lost_connection(sim: DlmsSimulator) -> None:
    sim.inject(Fault(FaultKind.DISCONNECT, times=1))
    with read(sim) as reader, pytest.raises(ConnectionLost) as caught:
        reader.read_out()
    assert caught.value.last_command == "GET 0.0.96.1.0.255 attribute 2"
    with read(sim) as reader:
        assert reader.read_out().serial == "EM-000077"


def test_a_meter_that_is_not_there_is_a_lost_connection() -> None:
    meter = SimulatedDlmsMeter()
    server = DlmsSimulator(meter)
    address = server.address
    server.stop()  # bound, never served, now closed
    with DlmsReader(address, timeout_s=TIMEOUT_S) as reader, pytest.raises(ConnectionLost):
        reader.read_out()


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("tcp://127.0.0.1:4059", "not a DLMS address"),
        ("dlms+serial:///dev/ttyUSB0", "not a DLMS address"),
        ("dlms+tcp://127.0.0.1", "no host or no port"),
        ("dlms+tcp://127.0.0.1:4059?client=1", "unknown option 'client=1'"),
        ("dlms+tcp://127.0.0.1:4059?server=0", "unknown option 'server=0'"),
    ],
)
def test_an_address_that_is_not_a_dlms_meter_is_refused(address: str, problem: str) -> None:
    with pytest.raises(AddressError, match=problem):
        DlmsReader(address)


def test_the_simulator_has_only_the_faults_it_can_make(sim: DlmsSimulator) -> None:
    with pytest.raises(ValueError, match="no garbled fault"):
        sim.inject(Fault(FaultKind.GARBLED))


def test_the_registered_driver_checks_the_serial_and_reads_the_energy_in_kwh() -> None:
    simulator = start_dlms_meter(SimulatorOptions(serial="EM-5", value=42.125))
    try:
        options = DriverOptions(timeout_s=TIMEOUT_S, retries=0, expected_serial="EM-5")
        meter = DlmsMeter.open(simulator.address, options)
        try:
            assert meter.identity.serial == "EM-5"
            assert meter.register_names == ("1.8.0",)
            reading = meter.read_register("1-0:1.8.0*255")
            assert (reading.value, reading.unit) == (42.125, "kWh")
            assert reading.raw == "value 42125, scaler 0, unit 30"
            with pytest.raises(RegisterMissing, match=r"only 1\.8\.0 is read"):
                meter.read_register("2.8.0")
        finally:
            meter.close()
        wrong = DriverOptions(timeout_s=TIMEOUT_S, retries=0, expected_serial="EM-6")
        with pytest.raises(IdentityMismatch, match="states serial EM-5, EM-6 was expected"):
            DlmsMeter.open(simulator.address, wrong)
    finally:
        simulator.stop()
    with pytest.raises(ValueError, match="no truncated fault"):
        start_dlms_meter(SimulatorOptions(fault=Fault(FaultKind.TRUNCATED)))
