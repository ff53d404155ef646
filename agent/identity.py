"""Each position's meter identity and registers, read through its optical port.

A bench file's position may name the optical probe of its meter (``optical: {port: ...}``,
see :mod:`agent.config`). :func:`read_identities` reads every such meter out, in parallel
since each probe is a port of its own: in IEC 62056-21 mode C
(:mod:`drivers.optical.iec62056_21`), or in DLMS/COSEM when the port is a
``dlms+tcp://`` or ``dlms+hdlc://`` address (:mod:`drivers.optical.dlms`). It sorts the
positions in three:

* **read**: the serial number the meter states equals the one the bench file states; its
  energy registers are returned in kWh;
* **unread**: the meter did not answer, or its readout could not be used (a wrong block
  check, a malformed line, no serial number, a register in a unit it cannot be in): the
  reason is kept, so the run can skip the position and say why;
* **refused**: the meter states another serial number than the bench file: the wrong
  meter is mounted, or the file is wrong. Nothing read from it may stand for the meter the
  file names, so :meth:`IdentityReport.check` raises :class:`SerialDisagrees` naming the
  position and both serials.

Positions without an optical port are not read and not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from drivers.errors import DriverError, InstrumentTimeout
from drivers.optical.dlms import SERIAL_CODE, DlmsReader, DlmsReadout, is_dlms_address
from drivers.optical.iec62056_21 import ENERGY_IMPORT, MeterReadout, OpticalReader
from procedures.record import MeterIdentity, MeterRegister

from .config import BenchConfig, OpticalPort
from .i18n import translator

__all__ = [
    "IdentityReport",
    "PositionIdentity",
    "PositionUnread",
    "SerialDisagrees",
    "read_identities",
]


@dataclass(frozen=True, slots=True)
class PositionIdentity:
    """A position's meter as read: its ``serial`` (and the OBIS code stating it), its
    active-energy registers in kWh by OBIS code (``1.8.0`` always among them), and the
    whole ``readout`` as evidence (an IEC 62056-21 readout or a DLMS one)."""

    position: int
    serial: str
    serial_code: str
    energy_kwh: Mapping[str, Decimal]
    readout: MeterReadout | DlmsReadout
    port: str = ""
    """The probe's port it was read at."""

    @property
    def energy_import_kwh(self) -> Decimal:
        """Active energy import, total (1.8.0), kWh."""
        return self.energy_kwh[ENERGY_IMPORT]

    @property
    def protocol(self) -> str:
        """``dlms`` or ``iec62056-21`` (:data:`procedures.record.positions.METER_PROTOCOLS`)."""
        return "dlms" if isinstance(self.readout, DlmsReadout) else "iec62056-21"

    def evidence(self) -> MeterIdentity:
        """What was read, for the run record: the registers as the meter stated them (to
        their own resolution, in their own unit: an IEC 62056-21 register as written, a
        DLMS one, value × 10^scaler Wh, in kWh to the same last digit), never rounded."""
        readout = self.readout
        if isinstance(readout, DlmsReadout):
            energy = readout.energy
            # value × 10^scaler Wh, in kWh: the last digit stays the register's own
            kwh = Decimal(energy.value).scaleb(energy.scaler - 3)
            registers = [MeterRegister(ENERGY_IMPORT, _plain(kwh), "kWh")]
        else:
            stated = readout.energy_registers()
            stated.setdefault(ENERGY_IMPORT, readout.active_energy())
            registers = [
                MeterRegister(code, _plain(Decimal(r.stated_value)), r.stated_unit)
                for code, r in sorted(stated.items())
            ]
        return MeterIdentity(
            protocol=self.protocol,
            port=self.port,
            serial=self.serial,
            serial_code=self.serial_code,
            registers=tuple(registers),
            read_at=readout.read_at.isoformat(),
        )


def _plain(value: Decimal) -> str:
    """``value`` as plain decimal text with its own exponent: ``001234.567`` → ``1234.567``
    (the leading zeros of a register's display dropped, its resolution kept)."""
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class PositionUnread:
    """A position whose meter could not be read: ``reason`` for people, ``error`` the
    typed driver error; ``silent`` when the port did not answer at all."""

    position: int
    port: str
    reason: str
    error: DriverError

    @property
    def silent(self) -> bool:
        """True when the meter did not answer (a timeout), not a bad answer."""
        return isinstance(self.error, InstrumentTimeout)


class SerialDisagrees(ValueError):
    """Positions whose meter states another serial number than the bench file's
    (``disagreements``: position → (serial stated in the file, serial read)), said in
    ``language``."""

    def __init__(self, disagreements: Mapping[int, tuple[str, str]], language: str = "en"):
        _ = translator(language)
        self.disagreements = dict(sorted(disagreements.items()))
        listed = "; ".join(
            _(
                "position {position}: the bench file states serial {stated}, the meter reads {read}"
            ).format(position=n, stated=stated, read=read)
            for n, (stated, read) in self.disagreements.items()
        )
        super().__init__(
            _("meter serial numbers disagree with the bench file: {listed}").format(listed=listed)
        )


@dataclass(frozen=True, slots=True)
class IdentityReport:
    """What the optical ports said, position by position (see the module's docstring)."""

    read: dict[int, PositionIdentity] = field(default_factory=dict)
    unread: dict[int, PositionUnread] = field(default_factory=dict)
    refused: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Position → (serial stated in the bench file, serial read)."""

    def skip_reasons(self) -> dict[int, str]:
        """Position → why it cannot be measured, for every unread position."""
        return {n: u.reason for n, u in sorted(self.unread.items())}

    def check(self, language: str = "en") -> None:
        """Raise :class:`SerialDisagrees` (said in ``language``) when a position's meter
        is not the one the bench file names."""
        if self.refused:
            raise SerialDisagrees(self.refused, language)


def read_identities(
    config: BenchConfig,
    *,
    timeout_s: float = 2.0,
    retries: int = 1,
    language: str = "en",
) -> IdentityReport:
    """Read the meter of every position of ``config`` that has an optical port.

    ``timeout_s``: how long each answer may take (seconds); ``retries``: readouts started
    again after a timeout or a bad answer (IEC 62056-21). Reasons are said in ``language``
    (the driver's own account of a fault stays in English). Never raises for one
    position's fault: see :class:`IdentityReport` (and its :meth:`~IdentityReport.check`).
    """
    ports = sorted(config.optical.items())
    if not ports:
        return IdentityReport()

    def one(item: tuple[int, OpticalPort]) -> PositionIdentity | PositionUnread:
        number, port = item
        try:
            if is_dlms_address(port.port):
                with DlmsReader(port.port, timeout_s=timeout_s) as dlms:
                    read = dlms.read_out()
                energy = {ENERGY_IMPORT: read.energy.kwh}
                return PositionIdentity(number, read.serial, SERIAL_CODE, energy, read, port.port)
            optical = OpticalReader(
                port.port, device_address=port.device_address, timeout_s=timeout_s, retries=retries
            )
            with optical:
                readout = optical.read_out()
                energy = {code: r.kwh for code, r in readout.energy_registers().items()}
                energy.setdefault(ENERGY_IMPORT, readout.active_energy().kwh)
        except DriverError as err:
            return PositionUnread(number, port.port, _reason(err, language), err)
        return PositionIdentity(
            number, readout.serial, readout.serial_code, energy, readout, port.port
        )

    with ThreadPoolExecutor(max_workers=len(ports), thread_name_prefix="optical") as pool:
        outcomes = list(pool.map(one, ports))
    report = IdentityReport()
    for outcome in outcomes:
        if isinstance(outcome, PositionUnread):
            report.unread[outcome.position] = outcome
            continue
        stated = config.positions[outcome.position].serial
        if stated is not None and outcome.serial != stated:
            report.refused[outcome.position] = (stated, outcome.serial)
        else:
            report.read[outcome.position] = outcome
    return report


def _reason(err: DriverError, language: str) -> str:
    _ = translator(language)
    if isinstance(err, InstrumentTimeout):
        return _("the meter's optical port {port} does not answer").format(port=err.address)
    return _("the meter's readout cannot be used: {error}").format(error=err)
