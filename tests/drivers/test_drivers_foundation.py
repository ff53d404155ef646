"""The foundation's data types: errors, readings, the I/O log, capabilities, validators,
and the registry (every registered driver against its own simulator)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from drivers.capabilities import AUTO, Capability, Direction, Function, Span, measure
from drivers.errors import (
    AddressError,
    ConnectionLost,
    DeviceError,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentReportedError,
    InstrumentTimeout,
    MeasurementOverload,
    ModbusExceptionResponse,
    OutOfRange,
    UnstableReading,
)
from drivers.iolog import IODirection, IOLog
from drivers.reading import Reading
from drivers.registry import UnknownDriver, entries, get, names, register
from drivers.simulators.base import SimulatorOptions
from drivers.validators import format_scpi_number, strict_choice, strict_int, strict_interval
from tests.support.driver_options import STEADY

# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (InstrumentTimeout("x"), TimeoutError),
        (ConnectionLost("x"), ConnectionError),
        (GarbledResponse("x"), ValueError),
        (OutOfRange("x", parameter="p", value=1, allowed="none"), ValueError),
        (AddressError("x"), ValueError),
        (MeasurementOverload("x"), DriverError),
        (UnstableReading("x"), DriverError),
        (ModbusExceptionResponse("x", exception_code=2), DriverError),
        (IdentityMismatch("x", expected_identity="a", actual_identity="b"), DriverError),
    ],
)
def test_every_error_is_a_driver_error_and_its_builtin(
    error: DriverError, builtin: type[Exception]
) -> None:
    assert isinstance(error, DriverError)
    assert isinstance(error, builtin)


def test_an_error_says_what_where_and_after_which_command() -> None:
    error = GarbledResponse(
        "malformed reading",
        expected="a number",
        received="+1.0#",
        address="TCPIP::h::5025::SOCKET",
        last_command="READ?",
    )
    assert str(error) == (
        "malformed reading; expected a number; received '+1.0#'; "
        "address TCPIP::h::5025::SOCKET; last command 'READ?'"
    )
    filled = InstrumentTimeout("no answer").with_context(address="A", last_command="C")
    assert (filled.address, filled.last_command) == ("A", "C")
    kept = InstrumentTimeout("x", address="A1").with_context(address="A2", last_command="C")
    assert kept.address == "A1"


def test_a_reported_error_carries_every_device_error() -> None:
    errors = (DeviceError(-113, "Undefined header"), DeviceError(-222, "Data out of range"))
    error = InstrumentReportedError("refused", errors=errors, address="A")
    assert (error.code, error.text) == (-113, "Undefined header")
    assert str(error).endswith('device errors: -113,"Undefined header", -222,"Data out of range"')
    with pytest.raises(ValueError, match="at least one"):
        InstrumentReportedError("refused", errors=())


# -- readings and the I/O log --------------------------------------------------------------


def test_a_reading_refuses_what_is_not_a_measured_value() -> None:
    now = datetime.now(UTC)
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            Reading(value=value, unit="V", timestamp=now, raw="x")
    with pytest.raises(ValueError, match="timezone"):
        Reading(value=1.0, unit="V", timestamp=datetime(2026, 1, 1), raw="x")
    with pytest.raises(ValueError, match="unit"):
        Reading(value=1.0, unit="", timestamp=now, raw="x")
    local = datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))
    as_dict = Reading(value=1.5, unit="V", timestamp=local, raw="+1.5E+00").to_dict()
    assert as_dict["timestamp"] == "2026-01-01T07:00:00+07:00"
    assert as_dict["value"] == 1.5
    assert as_dict["stable"] is True


def test_the_io_log_exports_dicts_and_can_be_drained() -> None:
    log = IOLog()
    log.write("READ?")
    log.read("+1.0E+00")
    log.event("timeout after 1 s")
    log.record(IODirection.STALE, "+2.0E+00")
    exported = log.to_dicts()
    assert [(e["direction"], e["data"]) for e in exported] == [
        ("write", "READ?"),
        ("read", "+1.0E+00"),
        ("event", "timeout after 1 s"),
        ("stale", "+2.0E+00"),
    ]
    first = datetime.fromisoformat(exported[0]["utc"])
    assert first.tzinfo is not None
    assert abs((datetime.now(UTC) - first).total_seconds()) < 5
    assert len(log.drain()) == 4
    assert len(log) == 0
    bounded = IOLog(maxlen=2)
    for n in range(5):
        bounded.write(str(n))
    assert [e.data for e in bounded] == ["3", "4"]


# -- capabilities and validators -----------------------------------------------------------


def test_a_capability_names_its_ranges_and_refuses_others() -> None:
    cap = Capability(
        function=Function.DCV,
        quantity="DC voltage",
        unit="V",
        direction=Direction.MEASURE,
        spans=(Span(-1.2, 1.2, nominal=1.0), Span(-12.0, 12.0, nominal=10.0)),
        autorange=True,
    )
    assert cap.nominal_ranges == (1.0, 10.0)
    assert cap.span(10.0).maximum == 12.0
    assert cap.span(1e1).nominal == 10.0
    with pytest.raises(OutOfRange) as caught:
        cap.span(5.0)
    assert caught.value.allowed == "one of 1, 10 V or auto"
    assert cap.to_dict()["spans"][0] == {
        "nominal": 1.0,
        "minimum": -1.2,
        "maximum": 1.2,
        "resolution": None,
    }
    with pytest.raises(ValueError, match="exceeds"):
        Span(2.0, 1.0)


def test_measure_refuses_unknown_functions_and_misplaced_ranges() -> None:
    with pytest.raises(OutOfRange, match="unknown function"):
        measure(object(), "frequency")
    with pytest.raises(OutOfRange, match="does not measure dcv"):
        measure(object(), "dcv")
    with pytest.raises(OutOfRange, match="range does not apply"):
        measure(object(), "mass", range=10.0)
    with pytest.raises(OutOfRange, match="does not measure register:kWh"):
        measure(object(), "register:kWh", range=AUTO)


def test_validators_accept_exact_settings_and_refuse_the_rest() -> None:
    assert strict_choice("nplc", 1e-1 * 2, (0.02, 0.2, 1.0), "PLC") == 0.2
    for bad in (0.3, 0.0, math.nan, math.inf, True):
        with pytest.raises(OutOfRange):
            strict_choice("nplc", bad, (0.02, 0.2, 1.0), "PLC")
    assert strict_interval("setpoint", 10, 0, 10, "V") == 10.0
    with pytest.raises(OutOfRange, match="outside"):
        strict_interval("setpoint", 10.000001, 0, 10, "V")
    assert strict_int("count", 3, 1, 5) == 3
    for bad_count in (0, 6, 2.0, False):
        with pytest.raises(OutOfRange):
            strict_int("count", bad_count, 1, 5)  # type: ignore[arg-type]
    assert format_scpi_number(0.1) == "0.1"
    assert format_scpi_number(1e-6) == "1e-06"
    assert format_scpi_number(10) == "10"


# -- registry ------------------------------------------------------------------------------


def test_the_registry_knows_the_issue_names() -> None:
    assert {"keysight-34465a", "keysight-34470a"} <= set(names())
    entry = get("keysight-34465a")
    assert entry.load_driver().name == "keysight-34465a"
    assert entry.capabilities.offers(Function.RES4W)
    assert not entry.capabilities.offers(Function.DCV, Direction.SOURCE)
    with pytest.raises(UnknownDriver, match="keysight-34465a"):
        get("keysight-3458a")


def test_registering_twice_or_malformed_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("keysight-34465a", "drivers.keysight.k34465a:Keysight34465A")
    with pytest.raises(ValueError, match="module:attribute"):
        register("someone-else", "drivers.keysight.k34465a.Keysight34465A")


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.name)
def test_every_registered_driver_reads_its_own_simulator(entry: object) -> None:
    from drivers.registry import DriverEntry

    assert isinstance(entry, DriverEntry)
    factory = entry.load_simulator()
    if factory is None:
        pytest.skip(f"{entry.name} has no simulator")
    driver_cls = entry.load_driver()
    simulator = factory(SimulatorOptions(seed=1))
    try:
        driver = driver_cls.open(simulator.address, STEADY)
        try:
            assert driver.identity.raw
            measuring = [
                c
                for c in driver_cls.capabilities.capabilities
                if c.direction == Direction.MEASURE and c.function != Function.REGISTER
            ]
            for capability in measuring[:1]:  # sources are checked by their own tests
                reading = measure(driver, str(capability.function))
                assert reading.unit == capability.unit
            assert driver.io_log.to_dicts()
        finally:
            driver.close()
    finally:
        simulator.stop()
