"""A simulated electricity meter's optical port speaking IEC 62056-21 mode C.

The meter answers a request ``/?<address>!`` addressed to it (or to any meter) with its
identification, then an option select asking for the data readout with its data message
at the rate asked for (which it records: on a pseudo-terminal or a socket the rate has no
physical effect). It stays silent for anything else, like a meter ignoring what it does
not understand: a request for another device address, an option select without a
request, programming mode.

Its data block states the serial number under ``serial_code`` (``C.1.0`` unless told
otherwise) and its registers as given, each ``code(value*unit)`` on its own line. Faults,
beyond the transport faults every simulator has (``timeout`` with ``target="any"`` is a
silent meter): :meth:`SimulatedOpticalMeter.corrupt_bcc` sends wrong block check
characters, :meth:`~SimulatedOpticalMeter.drop_serial` leaves the serial number out.

A meter given ``advance`` (the energy its register has counted since it was made, kWh, a
callable: the simulated bench's
:meth:`~drivers.simulators.caltrace_mtb.SimulatedMeterBench.registered_kwh`) writes
its 1.8.0 register moved on by that energy, counted in whole units of the register's last
digit (a register shows what it has counted, never more).

Served on a pseudo-terminal (:class:`~drivers.simulators.pty.PtySimulator`, the probe's
serial port) or on TCP (:class:`SocketSimulator`, address ``socket://host:port``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal

from drivers.optical.iec62056_21 import (
    ACK,
    BAUD_RATES,
    data_message,
    identification_message,
)
from drivers.simulators.base import NO_REPLY, Reply, SimulatorOptions
from drivers.simulators.pty import PtySimulator
from drivers.simulators.tcp import TcpSimulator

__all__ = [
    "DEMO_REGISTERS",
    "SimulatedOpticalMeter",
    "SocketSimulator",
    "counted_register",
    "start_iec62056_meter",
]


def counted_register(start: str, advance_kwh: float) -> str:
    """The register written ``start`` (kWh, as its display writes it, leading zeros and
    decimals kept) once it has counted ``advance_kwh`` more: whole units of its last
    digit only, written to the same width."""
    exact = Decimal(start)
    exponent = int(exact.as_tuple().exponent)
    step = Decimal(1).scaleb(exponent)
    steps = math.floor(Decimal(repr(advance_kwh)) / step)
    moved = exact + steps * step
    decimals = max(0, -exponent)
    return f"{moved:0{len(start)}.{decimals}f}"


DEMO_REGISTERS: dict[str, tuple[str, str]] = {
    "1.8.0": ("001234.567", "kWh"),
    "1.8.1": ("000800.123", "kWh"),
    "1.8.2": ("000434.444", "kWh"),
    "2.8.0": ("000000.000", "kWh"),
}
"""The registers of the demo meter: OBIS code → (value, unit) as written."""


class SimulatedOpticalMeter:
    """Model of a meter's optical port in mode C.

    ``manufacturer``: the three-letter code. ``baud_char``: the highest rate it offers
    (``"5"``: 9600 bit/s). ``identification``: what follows in the identification message.
    ``serial`` and ``serial_code``: its serial number and the OBIS code stating it.
    ``device_address``: the address it answers to besides the empty one ("" for none).
    ``registers``: OBIS code → (value, unit) as written in the data block.
    """

    input_terminator = b"\n"
    output_terminator = b""  # the messages carry their own ends: CR LF, or ETX and a BCC

    def __init__(
        self,
        *,
        manufacturer: str = "CTR",
        baud_char: str = "5",
        identification: str = "EM1-OPT",
        serial: str = "EM-000001",
        serial_code: str = "C.1.0",
        device_address: str = "",
        registers: Mapping[str, tuple[str, str]] | None = None,
        advance: Callable[[], float] | None = None,
    ) -> None:
        if baud_char not in BAUD_RATES:
            raise ValueError(f"not a mode C baud-rate character: {baud_char!r}")
        self.manufacturer = manufacturer
        self.baud_char = baud_char
        self.identification = identification
        self.serial = serial
        self.serial_code = serial_code
        self.device_address = device_address
        self.registers = dict(DEMO_REGISTERS if registers is None else registers)
        self.advance = advance
        """The energy counted since it was made, kWh (None: its registers stand still)."""
        self.baud_rate = 300
        """The rate it last switched to (bit/s)."""
        self._lock = threading.Lock()
        self._signed_on = False
        self._bad_bcc: int | None = 0
        self._serial_dropped = False
        self.readouts = 0
        """How many data messages it has sent."""

    def corrupt_bcc(self, times: int | None = None) -> None:
        """Send a wrong block check character in the next ``times`` data messages (None:
        in every one until :meth:`heal`)."""
        with self._lock:
            self._bad_bcc = times

    def drop_serial(self) -> None:
        """Leave the serial number out of the data block until :meth:`heal`."""
        with self._lock:
            self._serial_dropped = True

    def heal(self) -> None:
        """Clear the meter's own faults."""
        with self._lock:
            self._bad_bcc = 0
            self._serial_dropped = False

    def handle(self, message: str) -> Reply:
        """Answer one message (terminator removed)."""
        with self._lock:
            if message.startswith("/?") and message.endswith("!"):
                address = message[2:-1]
                if address and address != self.device_address:
                    self._signed_on = False
                    return NO_REPLY
                self._signed_on = True
                self.baud_rate = 300
                ident = identification_message(
                    self.manufacturer, self.baud_char, self.identification
                )
                return Reply(ident.decode("ascii"))
            if message.startswith(chr(ACK)) and self._signed_on:
                self._signed_on = False
                return self._readout(message[1:])
            self._signed_on = False
            return NO_REPLY

    def _readout(self, option: str) -> Reply:
        if len(option) != 3 or option[0] != "0" or option[2] != "0":
            return NO_REPLY  # programming mode, or not an option select
        asked = option[1]
        if asked not in BAUD_RATES or asked > self.baud_char:
            return NO_REPLY
        self.baud_rate = BAUD_RATES[asked]
        lines = [] if self._serial_dropped else [f"{self.serial_code}({self.serial})"]
        lines += [
            f"{code}({self._shown(code, value, unit)}*{unit})" if unit else f"{code}({value})"
            for code, (value, unit) in self.registers.items()
        ]
        corrupt = self._bad_bcc is None or self._bad_bcc > 0
        if self._bad_bcc:
            self._bad_bcc -= 1
        message = data_message(lines, bcc=(lambda b: b ^ 0x01) if corrupt else None)
        self.readouts += 1
        return Reply(message.decode("ascii"), measurement=True)

    def _shown(self, code: str, value: str, unit: str) -> str:
        """What register ``code`` shows now: 1.8.0 in kWh moved on by :attr:`advance`."""
        if self.advance is None or code != "1.8.0" or unit != "kWh":
            return value
        return counted_register(value, self.advance())

    def device_error(self, message: str, reply: Reply) -> Reply:
        """A meter has no error report on its optical port: it stays silent."""
        del message, reply
        return NO_REPLY


class SocketSimulator(TcpSimulator):
    """A TCP carrier whose address is pyserial's ``socket://host:port`` (an optical probe
    behind a serial-to-network server), not a VISA resource."""

    @property
    def address(self) -> str:
        """``socket://host:port``."""
        return f"socket://{self.host}:{self.port}"


def start_iec62056_meter(options: SimulatorOptions) -> PtySimulator:
    """Start a simulated meter's optical port on a new pseudo-terminal (POSIX only).

    ``options.serial`` is its serial number (default ``EM-000001``), ``options.value`` its
    active energy import 1.8.0 in kWh (default 1234.567 kWh).
    """
    registers = dict(DEMO_REGISTERS)
    if options.value is not None:
        registers["1.8.0"] = (f"{options.value:010.3f}", "kWh")
    meter = SimulatedOpticalMeter(serial=options.serial or "EM-000001", registers=registers)
    server = PtySimulator(meter)
    if options.fault is not None:
        server.inject(options.fault)
    return server.start()
