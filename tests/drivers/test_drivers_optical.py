"""A meter's optical port, IEC 62056-21 mode C: the messages and their block check against
published examples, then the readout against the simulated meter on a pseudo-terminal and
on TCP, and every fault typed (no answer, a wrong BCC, a malformed line, no serial number,
a register in a unit it cannot be in)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from drivers.driver import DriverOptions
from drivers.errors import (
    AddressError,
    BlockCheckMismatch,
    GarbledResponse,
    IdentityMismatch,
    InstrumentTimeout,
    MalformedDataLine,
    SerialNumberMissing,
    UnexpectedUnit,
)
from drivers.iolog import IODirection
from drivers.optical.driver import Iec62056Meter, split_device_address
from drivers.optical.iec62056_21 import (
    OpticalReader,
    RegisterMissing,
    block_check,
    data_message,
    option_select,
    parse_data_message,
    parse_identification,
    reduced_code,
    sign_on,
)
from drivers.optical.link import OpticalLink, shown
from drivers.simulators.base import Fault, FaultKind, SimulatorOptions
from drivers.simulators.optical_meter import (
    SimulatedOpticalMeter,
    SocketSimulator,
    start_iec62056_meter,
)
from drivers.simulators.pty import PtySimulator

TIMEOUT_S = 0.4


# -- the messages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "source"),
    [
        # The break message of IEC 62056-21, SOH B 0 ETX q: its BCC covers "B0" ETX.
        # Source: lvzon/dsmr-p1-parser doc/IEC-62056-21-notes.md ("ACK and sign-off").
        (b"\x01B0\x03q", "break"),
        # A password command and a readout data message with their BCCs, from the test
        # vectors of pwitab/iec62056-21 (tests/test_bcc.py, tests/test_data.py).
        (b"\x01P0\x02(1234567)\x03P", "password"),
        (b'\x023:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03"', "readout"),
    ],
)
def test_the_block_check_is_the_xor_after_the_start_character_up_to_etx(
    message: bytes, source: str
) -> None:
    assert block_check(message[1:-1]) == message[-1], source


def test_a_published_data_message_is_read_and_its_check_refused_when_altered() -> None:
    published = b'\x023:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03"'  # pwitab/iec62056-21
    sets = parse_data_message(published)
    assert [(s.address, s.value, s.unit, s.line_number) for s in sets] == [
        ("3:14", "314", "kWh", 1),
        ("4:15", "415", "kWh", 1),
    ]
    with pytest.raises(BlockCheckMismatch) as caught:
        parse_data_message(published[:-1] + b"#")
    assert (caught.value.expected_bcc, caught.value.received_bcc) == (0x22, 0x23)
    assert "expected BCC 0x22" in str(caught.value)
    assert "BCC 0x23" in str(caught.value)


def test_what_a_meter_sends_is_what_the_reader_reads() -> None:
    message = data_message(["C.1.0(EM-7)", "1.8.0(000012.500*kWh)(2611011200)"])
    assert message.startswith(b"\x02C.1.0(EM-7)\r\n")
    assert message[-2:-1] == b"\x03"
    sets = parse_data_message(message)
    assert [s.code for s in sets] == ["C.1.0", "1.8.0"]
    assert sets[1].extra == ("2611011200",)
    assert sets[1].text == "1.8.0(000012.500*kWh)(2611011200)"


@pytest.mark.parametrize(
    ("block", "line_number", "problem"),
    [
        ("C.1.0(EM-7)\r\n1.8.0(12.5*kWh\r\n", 2, "not address"),
        ("C.1.0(EM-7)\r\n\r\n", 2, "empty line"),
        ("C.1.0(EM-7)\r\n1.8.0(1*k*Wh)\r\n", 2, "two '\\*'"),
        ("C.1.0(EM-7)\r\n1.8.0(1*kWh)", 2, "not ended by CR LF"),
    ],
)
def test_a_malformed_data_line_is_refused_naming_the_line(
    block: str, line_number: int, problem: str
) -> None:
    body = block.encode() + b"!\r\n\x03"
    with pytest.raises(MalformedDataLine, match=f"data line {line_number}: {problem}") as caught:
        parse_data_message(b"\x02" + body + bytes([block_check(body)]))
    assert caught.value.line_number == line_number


def test_a_message_that_is_not_a_data_message_is_garbled() -> None:
    with pytest.raises(GarbledResponse, match="not a data message"):
        parse_data_message(b"1.8.0(1*kWh)\r\n!\r\n")
    body = b"1.8.0(1*kWh)\r\n\x03"  # no "!" line
    with pytest.raises(GarbledResponse, match="does not end with ! CR LF"):
        parse_data_message(b"\x02" + body + bytes([block_check(body)]))


def test_the_request_and_the_option_select_are_spelled_as_the_standard_writes_them() -> None:
    assert sign_on() == b"/?!\r\n"
    assert sign_on("45678903") == b"/?45678903!\r\n"
    assert option_select("5") == b"\x06050\r\n"
    with pytest.raises(AddressError, match="'12!3' cannot be sent"):
        sign_on("12!3")
    with pytest.raises(ValueError, match="not a mode C baud-rate character: 'F'"):
        option_select("F")


def test_an_identification_gives_the_manufacturer_the_rate_and_the_enhanced_character() -> None:
    ident = parse_identification(b"/Els6\\2EK280\r\n")  # pwitab/iec62056-21 tests
    assert (ident.manufacturer, ident.baud_char, ident.baud_rate) == ("Els", "6", 19200)
    assert (ident.identification, ident.enhanced) == ("EK280", "2")
    assert ident.reaction_s == 0.02  # third letter in lower case
    assert parse_identification(b"/ISK5MT174-0001\r\n").reaction_s == 0.2


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (b"/ISkFME162\r\n", "not of mode C"),  # mode B: a letter for the rate
        (b"/ISk:ME162\r\n", "not of mode C"),  # mode A
        (b"ISk5ME162\r\n", "not an identification message"),
        (b"/I1k5ME162\r\n", "is not three letters"),
        (b"/ISk5\r\n", "not an identification message"),
        (b"/ISk5" + b"X" * 17 + b"\r\n", "1 to 16 characters"),
    ],
)
def test_an_identification_not_of_mode_c_is_refused(message: bytes, problem: str) -> None:
    with pytest.raises(GarbledResponse, match=problem):
        parse_identification(message)


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("1.8.0", "1.8.0"),
        ("1-0:1.8.0*255", "1.8.0"),
        ("1-0:1.8.0*01", "1.8.0*1"),  # a billing period: not the current register
        ("0-0:96.1.0*255", "C.1.0"),
        ("C.1.0", "C.1.0"),
        ("0.0.0", "0.0.0"),
        ("F.F", "F.F"),
    ],
)
def test_obis_codes_are_compared_on_their_reduced_form(address: str, code: str) -> None:
    assert reduced_code(address) == code


def test_the_io_log_names_the_control_characters() -> None:
    assert shown(b"\x06050\r\n") == "<ACK>050<CR><LF>"
    assert shown(b"\x02x\x03\xfe") == "<STX>x<ETX>\\xfe"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("socket://127.0.0.1", "no host or no port"),
        ("socket://127.0.0.1:5000/x", "takes no path"),
        ("serial:///dev/ttyUSB0?xonxoff=1", "xonxoff=1 is not for an optical port"),
        ("serial:///dev/ttyUSB0?parity=M", "parity=M is not for an optical port"),
        ("serial:///dev/ttyUSB0?speed=300", "unknown serial option 'speed'"),
    ],
)
def test_an_address_that_is_not_an_optical_port_is_refused(address: str, problem: str) -> None:
    with pytest.raises(AddressError, match=problem):
        OpticalLink(address)


def test_a_device_address_rides_after_the_probe_address() -> None:
    assert split_device_address("/dev/ttyUSB0#device=123") == ("/dev/ttyUSB0", "123")
    assert split_device_address("socket://h:1") == ("socket://h:1", "")
    with pytest.raises(AddressError, match="unexpected fragment"):
        split_device_address("/dev/ttyUSB0#serial=1")


# -- against the simulated meter ---------------------------------------------------------------


Served = tuple[SimulatedOpticalMeter, PtySimulator | SocketSimulator]


@pytest.fixture(params=["pty", "tcp"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """A simulated meter on a pseudo-terminal or on TCP, and its carrier."""
    meter = SimulatedOpticalMeter(serial="EM-000042", device_address="12345678")
    server: PtySimulator | SocketSimulator
    server = PtySimulator(meter) if request.param == "pty" else SocketSimulator(meter)
    with server:
        yield meter, server


def reader(address: str, **kwargs: object) -> OpticalReader:
    settings: dict[str, object] = {"timeout_s": TIMEOUT_S, "retries": 0}
    settings.update(kwargs)
    return OpticalReader(address, **settings)  # type: ignore[arg-type]


def test_the_meter_is_read_out_at_the_rate_it_proposes(
    served: Served,
) -> None:
    meter, server = served
    address = server.address
    with reader(address) as optical:
        readout = optical.read_out()
        assert optical.baud_rate == 9600
    assert (readout.serial, readout.serial_code) == ("EM-000042", "C.1.0")
    assert readout.identification.raw == "/CTR5EM1-OPT"
    assert readout.active_energy().kwh == Decimal("1234.567")
    energy = readout.energy_registers()
    assert {code: e.kwh for code, e in energy.items()} == {
        "1.8.0": Decimal("1234.567"),
        "1.8.1": Decimal("800.123"),
        "1.8.2": Decimal("434.444"),
        "2.8.0": Decimal("0.000"),
    }
    assert not energy["1.8.0"].converted
    assert meter.baud_rate == 9600
    log = [(e.direction, e.data) for e in optical.io_log.entries]
    assert (IODirection.WRITE, "/?!<CR><LF>") in log
    assert (IODirection.WRITE, "<ACK>050<CR><LF>") in log
    change = [d for kind, d in log if kind == IODirection.EVENT and "baud rate" in d]
    assert change == [
        "baud rate 300 -> 9600 bit/s ("
        + ("TCP" if address.startswith("socket://") else "pseudo-terminal")
        + ": no physical effect)"
    ]


def test_a_meter_asked_by_its_device_address_answers_and_another_address_is_silence(
    served: Served,
) -> None:
    address = served[1].address
    with reader(address, device_address="12345678") as optical:
        assert optical.read_out().serial == "EM-000042"
    with (
        reader(address, device_address="87654321") as optical,
        pytest.raises(InstrumentTimeout, match="no complete identification"),
    ):
        optical.read_out()


def test_a_meter_that_proposes_a_lower_rate_is_read_at_that_rate() -> None:
    meter = SimulatedOpticalMeter(baud_char="3")
    with PtySimulator(meter) as server, reader(server.address) as optical:
        optical.read_out()
        assert (optical.baud_rate, meter.baud_rate) == (2400, 2400)


def test_a_silent_port_is_a_timeout_naming_the_port(
    served: Served,
) -> None:
    _, server = served
    server.inject(Fault(FaultKind.TIMEOUT, target="any"))
    with reader(server.address) as optical, pytest.raises(InstrumentTimeout) as caught:
        optical.read_out()
    error = caught.value
    assert error.address == server.address
    assert error.last_command == "/?!<CR><LF>"
    assert f"no complete identification from the meter's optical port within {TIMEOUT_S} s" in (
        str(error)
    )
    assert "(no answer)" in str(error)


def test_a_silent_meter_after_its_identification_is_a_timeout_on_the_data_message() -> None:
    meter = SimulatedOpticalMeter()
    with PtySimulator(meter) as server:
        server.inject(Fault(FaultKind.TIMEOUT))  # the readout is the meter's measurement
        with reader(server.address) as optical, pytest.raises(InstrumentTimeout) as caught:
            optical.read_out()
    assert "no complete data message" in str(caught.value)
    assert caught.value.last_command == "<ACK>050<CR><LF>"


def test_a_wrong_bcc_is_refused_naming_the_expected_and_received_characters(
    served: Served,
) -> None:
    meter, server = served
    address = server.address
    meter.corrupt_bcc()
    with reader(address) as optical, pytest.raises(BlockCheckMismatch) as caught:
        optical.read_out()
    error = caught.value
    assert error.received_bcc == error.expected_bcc ^ 0x01
    assert error.address == address
    assert f"expected BCC 0x{error.expected_bcc:02X}" in str(error)


def test_one_wrong_bcc_is_read_again_from_the_request(
    served: Served,
) -> None:
    meter, server = served
    address = server.address
    meter.corrupt_bcc(times=1)
    with reader(address, retries=1, retry_pause_s=0.01) as optical:
        assert optical.read_out().serial == "EM-000042"
    assert meter.readouts == 2
    events = [e.data for e in optical.io_log.entries if e.direction == IODirection.EVENT]
    assert any(e.startswith("retry 1/1 after: the data message's block check") for e in events)


def test_a_garbled_identification_is_refused(served: Served) -> None:
    _, server = served
    server.inject(Fault(FaultKind.GARBLED, target="any"))
    with reader(server.address) as optical, pytest.raises(GarbledResponse):
        optical.read_out()


def test_a_readout_without_the_serial_number_is_refused(
    served: Served,
) -> None:
    meter, server = served
    address = server.address
    meter.drop_serial()
    with reader(address) as optical, pytest.raises(SerialNumberMissing) as caught:
        optical.read_out()
    assert caught.value.codes == ("C.1.0", "0.0.0")
    assert "expected C.1.0 or 0.0.0" in str(caught.value)
    assert caught.value.address == address


def test_the_serial_number_is_taken_where_the_meter_states_it() -> None:
    meter = SimulatedOpticalMeter(serial="38820967", serial_code="0.0.0")
    with PtySimulator(meter) as server, reader(server.address) as optical:
        readout = optical.read_out()
    assert (readout.serial, readout.serial_code) == ("38820967", "0.0.0")


def test_a_malformed_line_from_the_meter_is_refused_naming_the_line() -> None:
    meter = SimulatedOpticalMeter(registers={"1.8.0": ("1(2", "kWh")})
    with (
        PtySimulator(meter) as server,
        reader(server.address) as optical,
        pytest.raises(MalformedDataLine) as caught,
    ):
        optical.read_out()
    assert caught.value.line_number == 2
    assert caught.value.line == "1.8.0(1(2*kWh)"


def test_an_energy_register_in_wh_is_converted_to_kwh_and_says_so() -> None:
    meter = SimulatedOpticalMeter(registers={"1.8.0": ("1234567", "Wh")})
    with PtySimulator(meter) as server, reader(server.address) as optical:
        energy = optical.read_out().active_energy()
    assert energy.kwh == Decimal("1234.567")
    assert (energy.stated_value, energy.stated_unit, energy.converted) == ("1234567", "Wh", True)


@pytest.mark.parametrize("unit", ["kvarh", "MWh", ""])
def test_an_energy_register_in_another_unit_is_refused(unit: str) -> None:
    meter = SimulatedOpticalMeter(registers={"1.8.0": ("1234.567", unit)})
    with PtySimulator(meter) as server, reader(server.address) as optical:
        readout = optical.read_out()
    with pytest.raises(UnexpectedUnit) as caught:
        readout.active_energy()
    assert (caught.value.code, caught.value.unit) == ("1.8.0", unit)
    assert "expected kWh or Wh" in str(caught.value)
    assert f"received {unit or 'no unit'!r}" in str(caught.value)


def test_a_register_that_is_not_a_number_or_not_there_is_refused() -> None:
    meter = SimulatedOpticalMeter(registers={"1.8.0": ("12,5", "kWh")})
    with PtySimulator(meter) as server, reader(server.address) as optical:
        readout = optical.read_out()
    with pytest.raises(GarbledResponse, match=r"register 1\.8\.0 is not a number"):
        readout.active_energy()
    with pytest.raises(RegisterMissing, match=r"no register 2\.8\.0"):
        readout.active_energy("2.8.0")


# -- the registered driver ---------------------------------------------------------------------


def test_the_driver_checks_the_serial_and_reads_registers_again() -> None:
    simulator = start_iec62056_meter(SimulatorOptions(serial="EM-7", value=12.5))
    try:
        options = DriverOptions(timeout_s=TIMEOUT_S, retries=0, expected_serial="EM-7")
        meter = Iec62056Meter.open(simulator.address, options)
        try:
            assert meter.identity.serial == "EM-7"
            assert meter.identity.manufacturer == "CTR"
            assert "1.8.0" in meter.register_names
            reading = meter.read_register("1-0:1.8.0*255")
            assert (reading.value, reading.unit, reading.raw) == (
                12.5,
                "kWh",
                "1.8.0(000012.500*kWh)",
            )
            with pytest.raises(GarbledResponse, match=r"register C\.1\.0 is not a number"):
                meter.read_register("C.1.0")
        finally:
            meter.close()
        wrong = DriverOptions(timeout_s=TIMEOUT_S, retries=0, expected_serial="EM-8")
        with pytest.raises(IdentityMismatch, match="states serial EM-7, EM-8 was expected"):
            Iec62056Meter.open(simulator.address, wrong)
    finally:
        simulator.stop()


def test_an_answer_that_never_ends_is_refused_at_the_link_s_limit() -> None:
    with PtySimulator(SimulatedOpticalMeter()) as server:
        link = OpticalLink(server.address, timeout_s=TIMEOUT_S, max_answer_bytes=8)
        with link:
            link.write(sign_on())
            with pytest.raises(GarbledResponse, match="no end of the data message within 8 bytes"):
                link.read_until(b"\x03", extra=1, what="data message")
