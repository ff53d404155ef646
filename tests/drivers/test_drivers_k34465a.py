"""The Keysight 34465A / 34470A driver against its simulator over TCP through pyvisa-py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import pytest

from drivers.capabilities import (
    AUTO,
    ACVoltmeter,
    DCAmmeter,
    DCVoltmeter,
    Ohmmeter2W,
    Ohmmeter4W,
    Scale,
    measure,
)
from drivers.driver import DriverOptions
from drivers.errors import (
    DriverError,
    IdentityMismatch,
    InstrumentReportedError,
    MeasurementOverload,
    OutOfRange,
)
from drivers.iolog import IODirection
from drivers.keysight.k34465a import Keysight34465A, Keysight34470A
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.tcp import TcpSimulator
from tests.support.driver_options import ANSWER_S


def _writes(dmm: Keysight34465A) -> list[str]:
    return [e.data for e in dmm.io_log if e.direction == IODirection.WRITE]


def test_it_reads_and_checks_the_identity(dmm: Keysight34465A) -> None:
    assert dmm.identity.manufacturer == "Keysight Technologies"
    assert dmm.identity.model == "34465A"
    assert dmm.identity.serial == "MY54500001"
    assert dmm.identity.raw.startswith("Keysight Technologies,34465A,MY54500001,A.02.14")


def test_it_accepts_the_expected_serial(sim: TcpSimulator, options: DriverOptions) -> None:
    with Keysight34465A.open(sim.address, replace(options, expected_serial="MY54500001")) as dmm:
        assert dmm.identity.serial == "MY54500001"


def test_it_refuses_an_instrument_with_another_serial(
    sim: TcpSimulator, options: DriverOptions
) -> None:
    with pytest.raises(IdentityMismatch) as caught:
        Keysight34465A.open(sim.address, replace(options, expected_serial="MY99999999"))
    assert caught.value.expected_identity == "MY99999999"
    assert "MY54500001" in caught.value.actual_identity
    assert caught.value.address == sim.address
    assert caught.value.last_command == "*IDN?"


def test_it_refuses_another_model(sim: TcpSimulator, options: DriverOptions) -> None:
    with pytest.raises(IdentityMismatch, match="34465A, this driver is for 34470A"):
        Keysight34470A.open(sim.address, options)


def test_the_34470a_driver_drives_a_34470a(options: DriverOptions) -> None:
    meter = SimulatedKeysight344xxA(model="34470A", value=1.25, noise=0.0)
    with TcpSimulator(meter) as server, Keysight34470A.open(server.address, options) as dmm:
        reading = dmm.measure_dc_voltage(range=10.0)
    assert dmm.identity.model == "34470A"
    assert reading.value == 1.25


def test_a_reading_carries_value_unit_timestamp_status_and_raw(dmm: Keysight34465A) -> None:
    reading = dmm.measure_dc_voltage(range=10.0)
    assert reading.value == pytest.approx(5.0, abs=1e-4)
    assert reading.unit == "V"
    assert reading.timestamp.tzinfo is UTC
    assert reading.stable is True
    assert reading.status == "ok"
    assert float(reading.raw) == reading.value
    assert reading.function == "dcv"
    assert reading.range == 10.0


@pytest.mark.parametrize(
    ("function", "scpi", "value", "unit", "range_"),
    [
        ("dcv", "VOLT", -2.5, "V", 10.0),
        ("acv", "VOLT:AC", 0.7071, "V", 1.0),
        ("dci", "CURR", 0.0042, "A", 0.01),
        ("res2w", "RES", 1234.5, "ohm", 10e3),
        ("res4w", "FRES", 99.875, "ohm", 100.0),
    ],
)
def test_it_measures_every_function_in_its_unit(
    meter: SimulatedKeysight344xxA,
    dmm: Keysight34465A,
    function: str,
    scpi: str,
    value: float,
    unit: str,
    range_: float,
) -> None:
    meter.set_input(scpi, value, noise=0.0)
    reading = measure(dmm, function, range=range_)
    assert reading.value == pytest.approx(value, rel=1e-6)
    assert reading.unit == unit
    assert meter.function == scpi
    assert meter.sense_range(scpi) == (range_, False)


def test_the_driver_conforms_to_the_meter_protocols_only(dmm: Keysight34465A) -> None:
    for protocol in (DCVoltmeter, ACVoltmeter, DCAmmeter, Ohmmeter2W, Ohmmeter4W):
        assert isinstance(dmm, protocol)
    assert not isinstance(dmm, Scale)
    with pytest.raises(OutOfRange, match="does not measure mass"):
        measure(dmm, "mass")


def test_autorange_lets_the_meter_pick_the_range(
    meter: SimulatedKeysight344xxA, dmm: Keysight34465A
) -> None:
    meter.set_input("VOLT", 42.0, noise=0.0)
    reading = dmm.measure_dc_voltage()
    assert reading.value == 42.0
    assert reading.range is None
    assert meter.sense_range("VOLT") == (100.0, True)
    assert "CONF:VOLT:DC AUTO" in _writes(dmm)


def test_an_overload_raises_and_never_becomes_a_reading(
    meter: SimulatedKeysight344xxA, dmm: Keysight34465A
) -> None:
    meter.set_input("VOLT", 1.5, noise=0.0)
    with pytest.raises(MeasurementOverload) as caught:
        dmm.measure_dc_voltage(range=1.0)
    assert caught.value.received == "+9.90000000E+37"
    assert caught.value.last_command == "READ?"
    meter.set_input("VOLT", -1.5, noise=0.0)
    with pytest.raises(MeasurementOverload):
        dmm.read()
    meter.set_input("VOLT", 1.19, noise=0.0)  # within the 120 % over-range
    assert dmm.read().value == 1.19


def test_repeated_readings_configure_once(dmm: Keysight34465A) -> None:
    for _ in range(3):
        dmm.measure_dc_voltage(range=10.0)
    dmm.measure_dc_voltage(range=100.0)
    confs = [w for w in _writes(dmm) if w.startswith("CONF:")]
    assert confs == ["CONF:VOLT:DC 10.0", "CONF:VOLT:DC 100.0"]
    assert _writes(dmm).count("READ?") == 4


def test_nplc_and_trigger_count_reach_the_instrument(
    meter: SimulatedKeysight344xxA, dmm: Keysight34465A
) -> None:
    config = dmm.configure("dcv", range=10.0, nplc=100, trigger_count=5)
    assert config.nplc == 100.0
    assert meter.sense_nplc("VOLT") == 100.0
    readings = dmm.read_all()
    assert len(readings) == 5
    assert len({r.timestamp for r in readings}) == 1
    assert [r.raw for r in dmm.fetch_all()] == [r.raw for r in readings]
    with pytest.raises(DriverError, match="use read_all"):
        dmm.read()
    dmm.set_trigger_count(1)
    dmm.set_nplc(0.2)
    assert meter.sense_nplc("VOLT") == 0.2
    dmm.set_range(AUTO)
    assert meter.sense_range("VOLT")[1] is True
    dmm.set_range(100.0)
    assert meter.sense_range("VOLT") == (100.0, False)
    assert dmm.read().range == 100.0


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda d: d.configure("dcv", range=5.0), "range"),  # between two ranges
        (lambda d: d.configure("dcv", range=2000.0), "range"),  # beyond the top range
        (lambda d: d.configure("acv", range=1000.0), "range"),  # AC tops at 750 V
        (lambda d: d.configure("dcv", range="10"), "range"),
        (lambda d: d.configure("dcv", nplc=3), "nplc"),
        (lambda d: d.configure("dcv", nplc=0.001), "nplc"),  # needs the DIG option
        (lambda d: d.configure("dcv", nplc=float("nan")), "nplc"),
        (lambda d: d.configure("acv", nplc=1), "nplc"),  # no integration time on AC
        (lambda d: d.configure("dcv", trigger_count=0), "trigger_count"),
        (lambda d: d.configure("dcv", trigger_count=10**9 + 1), "trigger_count"),
        (lambda d: d.configure("dcv", trigger_count=True), "trigger_count"),
        (lambda d: d.configure("frequency"), "function"),
        (lambda d: d.measure_dc_current(range=2.0), "range"),
    ],
)
def test_it_refuses_settings_the_instrument_cannot_do_before_sending_anything(
    dmm: Keysight34465A, call: object, parameter: str
) -> None:
    before = len(dmm.io_log)
    with pytest.raises(OutOfRange) as caught:
        call(dmm)  # type: ignore[operator]
    assert caught.value.parameter == parameter
    assert caught.value.address == dmm.address
    assert isinstance(caught.value, ValueError)
    assert len(dmm.io_log) == before  # nothing was sent


def test_fast_integration_times_need_the_dig_option(options: DriverOptions) -> None:
    meter = SimulatedKeysight344xxA(firmware="A.03.01-03.15-03.01-00.52-03-01", dig=True)
    with TcpSimulator(meter) as server, Keysight34465A.open(server.address, options) as dmm:
        assert dmm.nplc_choices[:3] == (0.001, 0.002, 0.006)
        dmm.configure("dcv", nplc=0.001)
        assert meter.sense_nplc("VOLT") == 0.001


def test_a_refused_command_raises_the_instruments_error(dmm: Keysight34465A) -> None:
    with pytest.raises(InstrumentReportedError) as caught:
        dmm.write_checked("VOLT:DC:NPLC 3000")
    assert (caught.value.code, caught.value.text) == (-222, "Data out of range")
    with pytest.raises(InstrumentReportedError) as caught:
        dmm.write_checked("FOO:BAR 1", "VOLT:DC:NPLC banana")
    assert [(e.code, e.text) for e in caught.value.errors] == [
        (-113, "Undefined header"),
        (-224, "Illegal parameter value"),
    ]
    assert dmm.read_error_queue() == ()


def test_the_error_queue_is_drained_oldest_first(
    meter: SimulatedKeysight344xxA, dmm: Keysight34465A
) -> None:
    for code in (-113, -222, -224):
        meter.push_error(code, f"error {code}")
    assert [e.code for e in dmm.read_error_queue()] == [-113, -222, -224]
    assert dmm.read_error_queue() == ()


def test_an_overflowing_error_queue_ends_with_350(
    meter: SimulatedKeysight344xxA, dmm: Keysight34465A
) -> None:
    for n in range(25):
        meter.push_error(-100 - n, f"error {n}")
    errors = dmm.read_error_queue()
    assert len(errors) == 20
    assert (errors[-1].code, errors[-1].text) == (-350, "Queue overflow")


def test_errors_queued_before_connecting_are_logged_not_raised(
    meter: SimulatedKeysight344xxA, sim: TcpSimulator, options: DriverOptions
) -> None:
    meter.push_error(-113, "Undefined header")
    with Keysight34465A.open(sim.address, options) as dmm:
        events = [e.data for e in dmm.io_log if e.direction == IODirection.EVENT]
    assert 'error queued before connection: -113,"Undefined header"' in events


def test_reading_before_configuring_is_refused(dmm: Keysight34465A) -> None:
    with pytest.raises(DriverError, match="configure"):
        dmm.read()


def test_reset_and_wait_complete(meter: SimulatedKeysight344xxA, dmm: Keysight34465A) -> None:
    dmm.configure("res4w", range=1e3, nplc=1)
    dmm.reset()
    assert meter.function == "VOLT"
    assert meter.sense_nplc("FRES") == 10.0
    dmm.wait_complete(timeout_s=ANSWER_S)


def test_the_io_log_keeps_every_command_and_answer_with_both_clocks(
    dmm: Keysight34465A,
) -> None:
    dmm.measure_dc_voltage(range=10.0)
    log = dmm.io_log.to_dicts()
    assert [(e["direction"], e["data"]) for e in log[:2]] == [
        ("event", "open"),
        ("write", "*IDN?"),
    ]
    assert ("write", "CONF:VOLT:DC 10.0") in [(e["direction"], e["data"]) for e in log]
    assert log[-2]["direction"] == "write"
    assert log[-2]["data"] == "READ?"
    assert log[-1]["direction"] == "read"
    assert log[-1]["data"].endswith("E+00")
    monotonic = [e["monotonic_s"] for e in log]
    assert monotonic == sorted(monotonic)
    assert all(e["utc"].endswith("+00:00") for e in log)
