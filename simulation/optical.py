"""The optical ports of a simulated bench's meters: each position's meter answers on its probe.

A position of a meter test bench whose bench file names an optical port (``optical:
{port: ...}``) is read through it before the first point (``agent.identity``). On the
simulated bench, :class:`SimulatedProbes` serves each such position's meter on a real
transport of the kind its port names: a ``dlms+tcp://`` or ``dlms+hdlc://`` address on a
DLMS/COSEM simulator (:mod:`drivers.simulators.dlms_meter`), a ``socket://`` address on TCP,
anything else (a serial device, the probe's USB port) on a pseudo-terminal, both in IEC
62056-21 mode C (:mod:`drivers.simulators.optical_meter`).

The meter is the position's: it states the serial number of the position's role (the one
the bench file and the job state) and its active energy register 1.8.0. Options of the
position's role (numbers, units as said):

* ``register``: the 1.8.0 register before the test, kWh (default 0: a new meter), shown
  with ``register_decimals`` decimals (default 2); a register with more decimals than its
  display shows is refused, never rounded;
* ``optical_serial``: the serial number the meter states, where another meter than the
  file's is mounted (to rehearse that refusal);
* ``optical_silent``: true, its optical port does not answer.

On the simulated bench (:class:`simulation.bench.SimulatedBench`) the position's optical
port is a role of its own (``optical@N``, ``optical`` for a run of one meter), its meter's
register counting the energy the simulated meter test bench applied to it
(:func:`start_probe` with ``advance``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from decimal import Decimal
from typing import Final, Protocol, Self

from drivers.optical.addresses import is_dlms_address
from drivers.simulators.base import Fault, FaultKind
from drivers.simulators.dlms_meter import DlmsSimulator, SimulatedDlmsMeter
from drivers.simulators.optical_meter import SimulatedOpticalMeter, SocketSimulator
from drivers.simulators.pty import PtySimulator
from procedures.bench import BenchRole

from .errors import SimulationError
from .options import number_option

__all__ = ["DEFAULT_REGISTER_DECIMALS", "SimulatedProbes", "register_text", "start_probe"]

DEFAULT_REGISTER_DECIMALS: Final = 2
"""Decimals of a simulated meter's energy register (kWh) where its role does not say."""


class _Probe(Protocol):
    @property
    def address(self) -> str: ...

    def inject(self, fault: Fault) -> None: ...

    def stop(self) -> None: ...


def register_text(role: BenchRole) -> str:
    """The 1.8.0 register of the meter of ``role`` as its display writes it, kWh (option
    ``register`` with ``register_decimals`` decimals); SimulationError for a register
    that is negative or has more decimals than its display shows."""
    value = number_option(role, "register", 0.0)
    decimals = number_option(role, "register_decimals", float(DEFAULT_REGISTER_DECIMALS))
    if decimals != int(decimals) or not 0 <= decimals <= 6:
        raise SimulationError(
            f"role {role.role!r}: option register_decimals must be a whole number 0 to 6, "
            f"got {decimals:g}"
        )
    exact = Decimal(repr(value))
    shown = exact.quantize(Decimal(1).scaleb(-int(decimals)))
    if value < 0 or shown != exact:
        raise SimulationError(
            f"role {role.role!r}: option register {value!r} is not a register of "
            f"{int(decimals)} decimal(s), kWh"
        )
    return format(shown, "f")


class SimulatedProbes:
    """The simulated meters of ``positions`` (position → its role) answering on the
    optical ports ``ports`` (position → the port the bench file names, and the meter's
    device address, "" for none). :meth:`address` is where each answers once started.
    Use it as a context manager."""

    def __init__(
        self, positions: Mapping[int, BenchRole], ports: Mapping[int, tuple[str, str]]
    ) -> None:
        missing = sorted(set(ports) - set(positions))
        if missing:
            raise SimulationError(f"position {missing[0]} has an optical port and no meter")
        self._positions = dict(positions)
        self._ports = dict(ports)
        self._probes: dict[int, _Probe] = {}
        self._stack = ExitStack()

    def address(self, position: int) -> str:
        """Where the meter of ``position`` answers (its simulator's address)."""
        try:
            return self._probes[position].address
        except KeyError:
            raise SimulationError(f"position {position} has no simulated optical port") from None

    def start(self) -> Self:
        """Start every meter's port; on failure, those started are stopped."""
        try:
            for number, (port, device_address) in sorted(self._ports.items()):
                probe = start_probe(self._positions[number], port, device_address)
                self._stack.callback(probe.stop)
                self._probes[number] = probe
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every meter's port; idempotent."""
        try:
            self._stack.close()
        finally:
            self._probes.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_probe(
    role: BenchRole, port: str, device_address: str, advance: Callable[[], float] | None = None
) -> _Probe:
    """Start the simulated meter of ``role`` answering on a transport of the kind ``port``
    names (see the module's docstring), as its options describe it; ``advance``: the
    energy its register has counted since (kWh, a callable; None: it stands still)."""
    serial = str(role.options.get("optical_serial") or role.serial or "")
    register = register_text(role)
    probe: _Probe
    if is_dlms_address(port):
        # the register in Wh: value × 10^scaler, the display's last digit its unit
        decimals = len(register.partition(".")[2])
        value = int(Decimal(register).scaleb(decimals))
        meter = SimulatedDlmsMeter(serial=serial, value=value, scaler=3 - decimals, advance=advance)
        probe = DlmsSimulator(meter, hdlc=port.startswith("dlms+hdlc")).start()
    else:
        optical = SimulatedOpticalMeter(
            serial=serial,
            device_address=device_address,
            registers={"1.8.0": (register, "kWh")},
            advance=advance,
        )
        carrier = SocketSimulator if port.startswith("socket://") else PtySimulator
        probe = carrier(optical).start()
    if role.options.get("optical_silent"):
        probe.inject(Fault(FaultKind.TIMEOUT, target="any"))
    return probe
