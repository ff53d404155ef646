"""Each position's simulated meter answers on a probe of the transport its bench file names
(a pseudo-terminal for a device, TCP for ``socket://``, a DLMS/COSEM server for
``dlms+…``), stating the position's serial and its register as its display writes it; a
register its display cannot show is refused, never rounded."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from drivers.errors import InstrumentTimeout
from drivers.optical.dlms import DlmsReader
from drivers.optical.iec62056_21 import OpticalReader
from procedures.bench import BenchRole
from simulation.errors import SimulationError
from simulation.optical import SimulatedProbes, register_text

BENCH = "TCPIP::192.0.2.7::5025::SOCKET"


def meter(serial: str, **options: object) -> BenchRole:
    return BenchRole("uut", "caltrace-mtb", BENCH, serial=serial, options=dict(options))


def test_each_position_s_meter_answers_on_the_transport_its_port_names() -> None:
    positions = {
        1: meter("EM-1", register=1234.5),
        2: meter("EM-2", register=7.25, register_decimals=3),
        3: meter("EM-3", register=0.01),
        4: meter("EM-4", optical_silent=True),
    }
    ports = {
        1: ("COM3", ""),
        2: ("socket://10.0.0.21:4001", "0002"),
        3: ("dlms+hdlc://10.0.0.22:4059", ""),
        4: ("socket://10.0.0.21:4004", ""),
    }
    with SimulatedProbes(positions, ports) as probes:
        assert "://" not in probes.address(1)  # a pseudo-terminal: a device, not a URL
        assert probes.address(2).startswith("socket://127.0.0.1:")
        assert probes.address(3).startswith("dlms+hdlc://127.0.0.1:")
        with OpticalReader(probes.address(1), timeout_s=0.5, retries=0) as one:
            first = one.read_out()
        with OpticalReader(
            probes.address(2), device_address="0002", timeout_s=0.5, retries=0
        ) as two:
            second = two.read_out()
        with DlmsReader(probes.address(3), timeout_s=0.5) as three:
            third = three.read_out()
        with (
            pytest.raises(InstrumentTimeout),
            OpticalReader(probes.address(4), timeout_s=0.3, retries=0) as four,
        ):
            four.read_out()
    assert (first.serial, first.active_energy().stated_value) == ("EM-1", "1234.50")
    assert (second.serial, second.active_energy().stated_value) == ("EM-2", "7.250")
    assert (third.serial, third.energy.kwh) == ("EM-3", Decimal("0.01"))
    with pytest.raises(SimulationError, match="no simulated optical port"):
        probes.address(1)  # stopped


def test_a_meter_stated_otherwise_or_a_register_its_display_cannot_show() -> None:
    assert register_text(meter("EM-1")) == "0.00"
    with pytest.raises(
        SimulationError, match=re.escape("register 1.234 is not a register of 2 decimal")
    ):
        register_text(meter("EM-1", register=1.234))
    with pytest.raises(SimulationError, match=re.escape("register -1.0 is not a register")):
        register_text(meter("EM-1", register=-1.0))
    with pytest.raises(SimulationError, match="register_decimals must be a whole number"):
        register_text(meter("EM-1", register_decimals=1.5))
    with pytest.raises(SimulationError, match="position 2 has an optical port and no meter"):
        SimulatedProbes({1: meter("EM-1")}, {2: ("COM4", "")})
    other = {1: meter("EM-1", optical_serial="EM-9")}
    with (
        SimulatedProbes(other, {1: ("COM3", "")}) as probes,
        OpticalReader(probes.address(1), timeout_s=0.5, retries=0) as reader,
    ):
        assert reader.read_out().serial == "EM-9"
