"""Meters read through their optical port, as registered drivers: ``iec62056-21`` and
``dlms-cosem``.

Opening reads the meter out once: its identity is the serial number the meter states
(with, in IEC 62056-21, its manufacturer code and identification); ``expected_serial`` is
checked against it. Each ``read_register`` reads the meter out again (a register moves
while the meter runs).

An ``iec62056-21`` address is the probe's (:mod:`drivers.optical.link`), optionally
followed by the meter's device address as ``#device=12345678`` when several meters share
a probe line; a ``dlms-cosem`` address is ``dlms+tcp://HOST:PORT``
(:mod:`drivers.optical.dlms`).
"""

from __future__ import annotations

from typing import ClassVar, Generic, Protocol, Self, TypeVar

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.driver import DriverOptions
from drivers.errors import AddressError, GarbledResponse, IdentityMismatch
from drivers.iolog import IOLog
from drivers.optical.dlms import DlmsReader, DlmsReadout
from drivers.optical.iec62056_21 import (
    ENERGY_IMPORT,
    MeterReadout,
    OpticalReader,
    RegisterMissing,
    reduced_code,
)
from drivers.reading import Identity, Reading

__all__ = ["DlmsMeter", "Iec62056Meter", "split_device_address"]


class _Readout(Protocol):
    @property
    def serial(self) -> str: ...

    @property
    def serial_code(self) -> str: ...


R = TypeVar("R", bound=_Readout)


R_co = TypeVar("R_co", bound=_Readout, covariant=True)


class _Reader(Protocol[R_co]):
    @property
    def io_log(self) -> IOLog: ...

    def read_out(self) -> R_co: ...

    def close(self) -> None: ...


def split_device_address(address: str) -> tuple[str, str]:
    """``(probe address, device address)`` from ``PROBE#device=ADDRESS``."""
    probe, sep, fragment = address.partition("#")
    if not sep:
        return address, ""
    key, eq, device = fragment.partition("=")
    if key != "device" or not eq or not device:
        raise AddressError(
            "unexpected fragment", address=address, expected="<probe address>#device=<address>"
        )
    return probe, device


class _ReadMeter(Generic[R]):
    """What both meter drivers share: a reader, the last readout, the serial checked once."""

    def __init__(self, address: str, reader: _Reader[R], readout: R) -> None:
        self._address = address
        self._reader: _Reader[R] = reader
        self._readout: R = readout

    @staticmethod
    def _first_readout(reader: _Reader[R], address: str, options: DriverOptions) -> R:
        """Read the meter out once and check its serial; the reader is closed on failure."""
        try:
            readout = reader.read_out()
            expected = options.expected_serial
            if expected is not None and readout.serial != expected:
                raise IdentityMismatch(
                    f"the meter states serial {readout.serial}, {expected} was expected",
                    expected_identity=expected,
                    actual_identity=readout.serial,
                    address=address,
                    last_command=readout.serial_code,
                )
        except BaseException:
            reader.close()
            raise
        return readout

    @property
    def address(self) -> str:
        """The address the meter was opened with."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every byte exchanged with the meter."""
        return self._reader.io_log

    @property
    def readout(self) -> R:
        """The last readout."""
        return self._readout

    def close(self) -> None:
        """Release the link; idempotent."""
        self._reader.close()


class Iec62056Meter(_ReadMeter[MeterReadout]):
    """An electricity meter read out in IEC 62056-21 mode C; implements
    :class:`~drivers.capabilities.RegisterReader`."""

    name: ClassVar[str] = "iec62056-21"
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (
            Capability(
                Function.REGISTER,
                "the meter's registers by OBIS code (1.8.0, 2.8.0, C.1.0...)",
                "per register",
                Direction.MEASURE,
                (Span(-1e12, 1e12),),
                notes="IEC 62056-21 mode C data readout through the optical port",
            ),
        )
    )

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Read the meter at ``address`` out once and check its serial number."""
        options = options or DriverOptions()
        probe, device = split_device_address(address)
        reader = OpticalReader(
            probe, device_address=device, timeout_s=options.timeout_s, retries=options.retries
        )
        return cls(address, reader, cls._first_readout(reader, address, options))

    @property
    def identity(self) -> Identity:
        """Manufacturer code, identification and serial number from the last readout."""
        readout = self._readout
        ident = readout.identification
        return Identity(ident.manufacturer, ident.identification, readout.serial, "", ident.raw)

    @property
    def register_names(self) -> tuple[str, ...]:
        """The OBIS codes of the last readout (reduced, see
        :func:`~drivers.optical.iec62056_21.reduced_code`)."""
        return tuple(dict.fromkeys(s.code for s in self._readout.data_sets))

    def read_register(self, name: str) -> Reading:
        """Read the meter out again and return register ``name`` as stated (its unit as the
        meter wrote it); GarbledResponse when its value is not a number or has no unit."""
        self._readout = self._reader.read_out()
        data_set = self._readout.data_set(reduced_code(name))
        try:
            value = float(data_set.value)
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")) or not data_set.unit:
            raise GarbledResponse(
                f"register {data_set.code} is not a number with a unit",
                expected="value*unit",
                received=data_set.text,
                address=self._address,
            )
        return Reading(
            value,
            data_set.unit,
            self._readout.read_at,
            raw=data_set.text,
            function=str(Function.REGISTER),
        )


class DlmsMeter(_ReadMeter[DlmsReadout]):
    """An electricity meter read in DLMS/COSEM at ``dlms+tcp://HOST:PORT``; implements
    :class:`~drivers.capabilities.RegisterReader` for its active energy import, in kWh."""

    name: ClassVar[str] = "dlms-cosem"
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (
            Capability(
                Function.REGISTER,
                "active energy import 1.8.0 (1.0.1.8.0.255), in kWh",
                "kWh",
                Direction.MEASURE,
                (Span(0.0, 1e12),),
                notes="DLMS/COSEM over TCP, public client association",
            ),
        )
    )

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Read the meter at ``address`` once and check its serial number."""
        options = options or DriverOptions()
        reader = DlmsReader(address, timeout_s=options.timeout_s)
        return cls(address, reader, cls._first_readout(reader, address, options))

    @property
    def identity(self) -> Identity:
        """The serial number from the last readout."""
        readout = self._readout
        return Identity("", "", readout.serial, "", raw=f"{readout.serial_code}: {readout.serial}")

    @property
    def register_names(self) -> tuple[str, ...]:
        """The one register read: ``1.8.0``."""
        return (ENERGY_IMPORT,)

    def read_register(self, name: str) -> Reading:
        """Read the meter again and return its active energy import in kWh."""
        if reduced_code(name) != ENERGY_IMPORT:
            raise RegisterMissing(f"only {ENERGY_IMPORT} is read in DLMS", code=name)
        self._readout = self._reader.read_out()
        energy = self._readout.energy
        return Reading(
            float(energy.kwh),
            "kWh",
            self._readout.read_at,
            raw=f"value {energy.value}, scaler {energy.scaler}, unit {energy.unit_code}",
            function=str(Function.REGISTER),
        )
