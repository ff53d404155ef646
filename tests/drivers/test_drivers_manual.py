"""Manual entry with injected streams: what is accepted, refused, logged and kept."""

from __future__ import annotations

import io

import pytest

from drivers.capabilities import (
    LengthGauge,
    PressureController,
    PressureGauge,
    Thermometer,
    VolumeMeter,
    measure,
)
from drivers.driver import DriverOptions
from drivers.errors import AddressError, IdentityMismatch, OutOfRange
from drivers.iolog import IODirection
from drivers.manual import (
    EntryAborted,
    EntryRefused,
    ManualEntry,
    ManualLengthGauge,
    ManualPressureGauge,
    ManualThermometer,
    ManualVolumeRegister,
    parse_manual_address,
    parse_typed_number,
)
from drivers.registry import get

GAUGE = "manual://pressure?unit=kPa&min=0&max=1600&resolution=10"


def open_gauge(typed: str, address: str = GAUGE) -> tuple[ManualEntry, io.StringIO]:
    output = io.StringIO()
    return ManualEntry.open(address, input=io.StringIO(typed), output=output), output


def test_the_registry_entry_opens_a_pressure_gauge_for_a_pressure_address() -> None:
    cls = get("manual").load_driver()
    gauge = cls.open(GAUGE)
    assert isinstance(gauge, ManualPressureGauge)
    assert isinstance(gauge, PressureGauge)
    assert not isinstance(gauge, PressureController)  # it cannot set a pressure
    assert not isinstance(gauge, Thermometer)
    span = gauge.capability.spans[0]
    assert (span.minimum, span.maximum, span.resolution) == (0.0, 1600.0, 10.0)
    assert gauge.capability.unit == "kPa"


def test_it_accepts_a_decimal_comma_and_keeps_the_typed_text_verbatim() -> None:
    gauge, output = open_gauge(" 12,5 \n")
    reading = measure(gauge, "pressure")
    assert reading.value == 12.5
    assert reading.unit == "kPa"
    assert reading.raw == " 12,5 "
    assert reading.function == "pressure"
    assert reading.timestamp.utcoffset() is not None
    assert "recorded 12.5 kPa" in output.getvalue()


@pytest.mark.parametrize(
    ("typed", "value"),
    [("12.5", 12.5), ("0", 0.0), ("1600", 1600.0), ("+7", 7.0), (",5", 0.5), ("3,", 3.0)],
)
def test_it_reads_plain_decimal_numbers(typed: str, value: float) -> None:
    assert parse_typed_number(typed) == value


@pytest.mark.parametrize(
    "typed",
    ["abc", "nan", "NaN", "-inf", "Infinity", "1e3", "1.234,5", "1,234.5", "1_000", "١٢", "12 5"],
)
def test_it_refuses_what_is_not_a_plain_number(typed: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_typed_number(typed)


def test_refused_entries_are_asked_again_and_never_become_readings() -> None:
    gauge, output = open_gauge("abc\nnan\n1610\n-0,1\n800\n", GAUGE + "&attempts=5")
    reading = gauge.read()
    assert reading.value == 800.0
    assert reading.raw == "800"
    text = output.getvalue()
    assert text.count("pressure reading 1 in kPa") == 5
    for refused in ("'abc': not a number", "'nan': not a finite number", "'1610': outside"):
        assert f"refused {refused}" in text
    assert text.count("pressure must be a number from 0 to 1600 kPa") == 4
    log = [(e.direction, e.data) for e in gauge.io_log]
    assert [d for d, _ in log].count(IODirection.WRITE) == 5
    assert [data for d, data in log if d == IODirection.READ] == [
        "abc", "nan", "1610", "-0,1", "800",
    ]  # fmt: skip
    assert [d for d, _ in log].count(IODirection.EVENT) == 4


def test_it_gives_up_after_the_allowed_attempts_with_a_typed_error() -> None:
    gauge, _ = open_gauge("abc\n1700\n-5\n800\n")  # default: 3 attempts
    with pytest.raises(EntryRefused) as caught:
        gauge.read()
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.received == "-5"
    assert err.expected == "a number from 0 to 1600 kPa"
    assert err.address == GAUGE
    assert "pressure reading 1" in (err.last_command or "")


@pytest.mark.parametrize("typed", ["", "\n", "   \n", "abc\n"])
def test_an_empty_line_or_end_of_input_aborts_without_a_reading(typed: str) -> None:
    gauge, _ = open_gauge(typed, GAUGE + "&attempts=2")
    with pytest.raises(EntryAborted, match="no pressure reading was entered"):
        gauge.read()


def test_a_thermometer_reads_temperature_and_refuses_to_read_pressure() -> None:
    thermometer, _ = open_gauge(
        "21,37\n", "manual://temperature?unit=degC&min=-10&max=50&resolution=0.1"
    )
    assert isinstance(thermometer, ManualThermometer)
    reading = measure(thermometer, "temperature")
    assert (reading.value, reading.unit, reading.raw) == (21.37, "degC", "21,37")
    with pytest.raises(OutOfRange):
        measure(thermometer, "pressure")


def test_each_reading_prompts_with_its_number() -> None:
    gauge, output = open_gauge("100\n110\n")
    assert [gauge.read().value, gauge.read().value] == [100.0, 110.0]
    assert "pressure reading 2 in kPa" in output.getvalue()


@pytest.mark.parametrize(
    "address",
    [
        "manual:pressure?unit=kPa&min=0&max=1600&resolution=10",
        "manual://flow?unit=L/h&min=0&max=10&resolution=0.01",
        "manual://length?unit=kPa&min=0&max=10&resolution=0.01",
        "manual://volume?unit=gal&min=0&max=10&resolution=0.01",
        "manual://pressure/x?unit=kPa&min=0&max=1600&resolution=10",
        "manual://pressure?unit=kPa&min=0&max=1600",
        "manual://pressure?unit=kPa&min=0&max=1600&resolution=10&colour=red",
        "manual://pressure?unit=kPa&min=0&min=1&max=1600&resolution=10",
        "manual://pressure?unit=degC&min=0&max=1600&resolution=10",
        "manual://pressure?unit=kPa&min=1600&max=0&resolution=10",
        "manual://pressure?unit=kPa&min=0&max=1600&resolution=0",
        "manual://pressure?unit=kPa&min=0&max=1600&resolution=10&attempts=0",
        "manual://pressure?unit=kPa&min=0&max=1600&resolution=10&attempts=x",
        "manual://pressure?unit=kPa&min=0&max=nan&resolution=10",
        "manual://pressure?unit=kPa&min=0&max=1600,5&resolution=10",
    ],
)
def test_it_refuses_a_malformed_address(address: str) -> None:
    with pytest.raises(AddressError):
        parse_manual_address(address)


def test_an_expected_serial_is_refused_rather_than_assumed() -> None:
    with pytest.raises(IdentityMismatch):
        ManualEntry.open(GAUGE, DriverOptions(expected_serial="123"))


def test_a_subclass_refuses_an_address_for_another_quantity() -> None:
    with pytest.raises(AddressError):
        ManualThermometer.open(GAUGE)


DIAL_GAUGE = "manual://length?unit=mm&min=0&max=10&resolution=0.01"
WATER_METER = "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001"


def test_a_dial_gauge_reads_length_in_mm_with_the_same_refusals() -> None:
    gauge, output = open_gauge("0,5 mm\nnan\n10.01\n-0.2\n 3,47 \n", DIAL_GAUGE + "&attempts=5")
    assert isinstance(gauge, ManualLengthGauge)
    assert isinstance(gauge, LengthGauge)
    assert not isinstance(gauge, (PressureGauge, Thermometer, VolumeMeter))
    reading = measure(gauge, "length")
    assert (reading.value, reading.unit, reading.raw, reading.function) == (
        3.47, "mm", " 3,47 ", "length",
    )  # fmt: skip
    shown = output.getvalue()
    assert "refused '0,5 mm': not a number" in shown
    assert "refused 'nan': not a finite number" in shown
    assert "refused '10.01': outside the instrument's range" in shown
    assert "refused '-0.2': outside the instrument's range" in shown
    assert "length must be a number from 0 to 10 mm" in shown
    span = gauge.capability.spans[0]
    assert (gauge.capability.unit, span.resolution) == ("mm", 0.01)
    with pytest.raises(OutOfRange):
        measure(gauge, "volume")


@pytest.mark.parametrize(
    ("address", "typed", "value", "unit"),
    [
        (WATER_METER, "1234,5678", 1234.5678, "m3"),
        ("manual://volume?unit=L&min=0&max=1000&resolution=0.05", "20,05", 20.05, "L"),
    ],
)
def test_a_water_meter_register_reads_volume_in_its_unit(
    address: str, typed: str, value: float, unit: str
) -> None:
    meter, _ = open_gauge(f"1.234,5\ninf\n{typed}\n", address)
    assert isinstance(meter, ManualVolumeRegister)
    assert isinstance(meter, VolumeMeter)
    reading = measure(meter, "volume")
    assert (reading.value, reading.unit, reading.raw) == (value, unit, typed)
    refusals = [e.data for e in meter.io_log if e.direction == IODirection.EVENT]
    assert len(refusals) == 2  # the thousands separator and inf were asked again


def test_volume_entries_exhausted_give_a_typed_error_naming_the_range() -> None:
    meter, _ = open_gauge("-1\nabc\n", WATER_METER + "&attempts=2")
    with pytest.raises(EntryRefused) as caught:
        meter.read()
    assert caught.value.received == "abc"
    assert caught.value.expected == "a number from 0 to 99999.9999 m3"
    assert caught.value.address == WATER_METER + "&attempts=2"


def test_the_manual_driver_declares_every_quantity_it_reads() -> None:
    functions = {str(c.function) for c in get("manual").capabilities.capabilities}
    assert functions == {"pressure", "temperature", "length", "volume"}
