"""A bench file whose positions name their meters' optical ports: each meter's serial
number and registers are read, not typed. Three positions on simulated meters (a
pseudo-terminal and two TCP probes): one read, one silent (reported with its reason, so the
run can skip it), one stating another serial than the file (refused naming the position
and both serials); and the optical key's mistakes refused with the file's line."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from agent.config import ConfigError, OpticalPort, load_bench
from agent.identity import SerialDisagrees, read_identities
from drivers.errors import InstrumentTimeout
from drivers.optical.dlms import DlmsReadout
from drivers.optical.iec62056_21 import MeterReadout
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.dlms_meter import DlmsSimulator, SimulatedDlmsMeter
from drivers.simulators.optical_meter import SimulatedOpticalMeter, SocketSimulator
from drivers.simulators.pty import PtySimulator

TOP = (
    "bench: bench-energy-3\norganization: HN\nlims: http://127.0.0.1:8000\nkey: k.pem\n"
    "token: t.token\noutbox: o.sqlite3\nroles:\n"
    "  source: {driver: caltrace-mtb, address: 'TCPIP::192.0.2.7::5025::SOCKET',"
    " asset_id: HN-E-MTB}\n"
)
BENCH = "TCPIP::192.0.2.7::5025::SOCKET"


def bench_file(tmp_path: Path, positions: str) -> Path:
    (tmp_path / "t.token").write_text("cta_x\n")
    (tmp_path / "t.token").chmod(0o600)
    path = tmp_path / "bench.yaml"
    path.write_text(TOP + positions)  # positions: from line 9
    return path


def position(serial: str, optical: str) -> str:
    return f"{{driver: caltrace-mtb, address: '{BENCH}', serial: {serial}, optical: {optical}}}"


@pytest.fixture
def meters() -> Iterator[tuple[PtySimulator, SocketSimulator, SocketSimulator]]:
    """Three meters on their probes: EM-1 on a pseudo-terminal, EM-2 on TCP and silent,
    EM-9 on TCP at device address 0012, where the bench file will say EM-3."""
    one = PtySimulator(SimulatedOpticalMeter(serial="EM-1"))
    two = SocketSimulator(SimulatedOpticalMeter(serial="EM-2"))
    two.inject(Fault(FaultKind.TIMEOUT, target="any"))
    three = SocketSimulator(
        SimulatedOpticalMeter(
            serial="EM-9", device_address="0012", registers={"1.8.0": ("0012345", "Wh")}
        )
    )
    with one, two, three:
        yield one, two, three


def three_positions(one: str, two: str, three: str) -> str:
    return (
        "positions:\n  count: 3\n  each:\n"
        f"    1: {position('EM-1', '{port: ' + repr(one) + '}')}\n"
        f"    2: {position('EM-2', '{port: ' + repr(two) + '}')}\n"
        f"    3: {position('EM-3', '{port: ' + repr(three) + ', device_address: 0012}')}\n"
    )


def test_each_position_s_meter_is_identified_through_its_optical_port(
    tmp_path: Path, meters: tuple[PtySimulator, SocketSimulator, SocketSimulator]
) -> None:
    one, two, three = meters
    config = load_bench(
        bench_file(tmp_path, three_positions(one.address, two.address, three.address)),
        environ={},
    )
    assert config.optical == {
        1: OpticalPort(one.address),
        2: OpticalPort(two.address),
        3: OpticalPort(three.address, "0012"),
    }
    assert config.public_dict()["positions"][2]["optical"] == two.address

    report = read_identities(config, timeout_s=0.4, retries=0)

    assert list(report.read) == [1]
    first = report.read[1]
    assert (first.serial, first.serial_code) == ("EM-1", "C.1.0")
    assert first.energy_import_kwh == Decimal("1234.567")
    assert first.energy_kwh["2.8.0"] == Decimal("0")
    assert isinstance(first.readout, MeterReadout)
    assert first.readout.identification.manufacturer == "CTR"

    assert list(report.unread) == [2]
    silent = report.unread[2]
    assert silent.silent
    assert isinstance(silent.error, InstrumentTimeout)
    assert report.skip_reasons() == {2: f"the meter's optical port {two.address} does not answer"}

    assert report.refused == {3: ("EM-3", "EM-9")}
    with pytest.raises(SerialDisagrees) as caught:
        report.check()
    assert str(caught.value) == (
        "meter serial numbers disagree with the bench file: "
        "position 3: the bench file states serial EM-3, the meter reads EM-9"
    )
    assert caught.value.disagreements == {3: ("EM-3", "EM-9")}
    with pytest.raises(SerialDisagrees, match="vị trí 3: tệp cấu hình giá ghi số sêri EM-3"):
        report.check("vi")


def test_a_readout_that_cannot_be_used_is_a_reason_to_skip_the_position(
    tmp_path: Path,
) -> None:
    meter = SimulatedOpticalMeter(serial="EM-1")
    meter.corrupt_bcc()
    with PtySimulator(meter) as probe:
        config = load_bench(
            bench_file(
                tmp_path,
                "positions:\n  count: 1\n  each:\n"
                f"    1: {position('EM-1', '{port: ' + repr(probe.address) + '}')}\n",
            ),
            environ={},
        )
        report = read_identities(config, timeout_s=0.4, retries=0, language="vi")
    assert not report.read
    assert not report.refused
    unread = report.unread[1]
    assert not unread.silent
    assert unread.reason.startswith("không dùng được dữ liệu đọc từ công tơ: ")
    assert "block check character is wrong" in unread.reason
    report.check()  # nothing refused


def test_a_meter_that_speaks_dlms_is_read_at_its_dlms_address(tmp_path: Path) -> None:
    with (
        PtySimulator(SimulatedOpticalMeter(serial="EM-1")) as one,
        DlmsSimulator(SimulatedDlmsMeter(serial="EM-2", value=98765, scaler=1), hdlc=True) as two,
    ):
        positions = (
            "positions:\n  count: 2\n  each:\n"
            f"    1: {position('EM-1', '{port: ' + repr(one.address) + '}')}\n"
            f"    2: {position('EM-2', '{port: ' + repr(two.address) + '}')}\n"
        )
        config = load_bench(bench_file(tmp_path, positions), environ={})
        report = read_identities(config, timeout_s=0.4, retries=0)
    assert sorted(report.read) == [1, 2]
    dlms = report.read[2]
    assert (dlms.serial, dlms.serial_code) == ("EM-2", "0.0.96.1.0.255")
    assert dlms.energy_kwh == {"1.8.0": Decimal("987.65")}
    assert isinstance(dlms.readout, DlmsReadout)
    report.check()


def test_a_bench_without_optical_ports_reads_nothing(tmp_path: Path) -> None:
    config = load_bench(
        bench_file(
            tmp_path,
            f"positions:\n  count: 1\n  each:\n    1: {{driver: caltrace-mtb, address: '{BENCH}',"
            " serial: EM-1}\n",
        ),
        environ={},
    )
    report = read_identities(config)
    assert (report.read, report.unread, report.refused) == ({}, {}, {})


@pytest.mark.parametrize(
    ("optical", "message"),
    [
        ("{device_address: '12'}", r":12: positions.each.1.optical.port: missing"),
        ("{port: /dev/ttyUSB0, baud: 300}", r":12: positions.each.1.optical.baud: unknown key"),
        (
            "{port: /dev/ttyUSB0, device_address: '12!3'}",
            r":12: positions.each.1.optical.device_address: device address '12!3' cannot be sent",
        ),
        ("/dev/ttyUSB0", r":12: positions.each.1.optical: must be a mapping"),
        ("{port: ''}", r":12: positions.each.1.optical.port: must not be empty"),
    ],
)
def test_an_optical_port_that_cannot_be_used_is_refused_with_its_line(
    tmp_path: Path, optical: str, message: str
) -> None:
    positions = f"positions:\n  count: 1\n  each:\n    1: {position('EM-1', optical)}\n"
    with pytest.raises(ConfigError, match=message):
        load_bench(bench_file(tmp_path, positions), environ={})


def test_only_a_position_names_an_optical_port(tmp_path: Path) -> None:
    roles = (
        f"  uut: {{driver: caltrace-mtb, address: '{BENCH}', serial: EM-1,"
        " optical: {port: /dev/ttyUSB0}}\n"
    )
    with pytest.raises(ConfigError, match=r":9: roles.uut.optical: unknown key"):
        load_bench(bench_file(tmp_path, roles), environ={})
