"""A meter read through its optical port, as registered drivers: ``iec62056-21`` and
``dlms-cosem`` (at the end of this module).

Opening reads the meter out once: its identity is the manufacturer code, the
identification and the serial number the readout states; ``expected_serial`` is checked
against it. Each :meth:`Iec62056Meter.read_register` reads the meter out again (a
register moves while the meter runs) and returns the register as stated, unit included.

The address is the probe's (:mod:`drivers.optical.link`), optionally followed by the
meter's device address as ``#device=12345678`` when several meters share a probe line.
"""

from __future__ import annotations

from typing import ClassVar, Self

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.driver import DriverOptions
from drivers.errors import AddressError, GarbledResponse, IdentityMismatch
from drivers.iolog import IOLog
from drivers.optical.dlms import SERIAL_CODE, DlmsReader, DlmsReadout
from drivers.optical.iec62056_21 import (
    ENERGY_IMPORT,
    MeterReadout,
    OpticalReader,
    RegisterMissing,
    reduced_code,
)
from drivers.reading import Identity, Reading

__all__ = ["DlmsMeter", "Iec62056Meter", "split_device_address"]

_CAPABILITIES = DriverCapabilities(
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


class Iec62056Meter:
    """An electricity meter read out in IEC 62056-21 mode C; implements
    :class:`~drivers.capabilities.RegisterReader`."""

    name: ClassVar[str] = "iec62056-21"
    capabilities: ClassVar[DriverCapabilities] = _CAPABILITIES

    def __init__(self, address: str, reader: OpticalReader, readout: MeterReadout) -> None:
        self._address = address
        self._reader = reader
        self._readout = readout

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Read the meter at ``address`` out once and check its serial number."""
        options = options or DriverOptions()
        probe, device = split_device_address(address)
        reader = OpticalReader(
            probe, device_address=device, timeout_s=options.timeout_s, retries=options.retries
        )
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
        return cls(address, reader, readout)

    @property
    def address(self) -> str:
        """The address the meter was opened with."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every byte exchanged with the meter."""
        return self._reader.io_log

    @property
    def readout(self) -> MeterReadout:
        """The last readout."""
        return self._readout

    @property
    def identity(self) -> Identity:
        """Manufacturer code, identification and serial number from the first readout."""
        first = self._readout
        ident = first.identification
        return Identity(ident.manufacturer, ident.identification, first.serial, "", ident.raw)

    @property
    def register_names(self) -> tuple[str, ...]:
        """The OBIS codes of the first readout (reduced, see
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

    def close(self) -> None:
        """Release the probe; idempotent."""
        self._reader.close()


class DlmsMeter:
    """An electricity meter read in DLMS/COSEM at ``dlms+tcp://HOST:PORT``
    (:mod:`drivers.optical.dlms`); implements :class:`~drivers.capabilities.RegisterReader`
    for its active energy import register, in kWh."""

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

    def __init__(self, address: str, reader: DlmsReader, readout: DlmsReadout) -> None:
        self._address = address
        self._reader = reader
        self._readout = readout

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Read the meter at ``address`` once and check its serial number."""
        options = options or DriverOptions()
        reader = DlmsReader(address, timeout_s=options.timeout_s)
        try:
            readout = reader.read_out()
            expected = options.expected_serial
            if expected is not None and readout.serial != expected:
                raise IdentityMismatch(
                    f"the meter states serial {readout.serial}, {expected} was expected",
                    expected_identity=expected,
                    actual_identity=readout.serial,
                    address=address,
                    last_command=f"GET {SERIAL_CODE} attribute 2",
                )
        except BaseException:
            reader.close()
            raise
        return cls(address, reader, readout)

    @property
    def address(self) -> str:
        """The address the meter was opened with."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every byte exchanged with the meter, in hexadecimal."""
        return self._reader.io_log

    @property
    def identity(self) -> Identity:
        """The serial number read when the meter was opened."""
        serial = self._readout.serial
        return Identity("", "", serial, "", raw=f"{SERIAL_CODE}: {serial}")

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

    def close(self) -> None:
        """Nothing stays open between readouts; idempotent."""
        self._reader.close()
