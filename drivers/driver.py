"""What every driver class offers, whatever its protocol: the contract the registry and the
command line rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from drivers.capabilities import DriverCapabilities
from drivers.iolog import IOLog
from drivers.reading import Identity
from drivers.transports.base import TransportSettings

__all__ = ["Driver", "DriverOptions"]


@dataclass(frozen=True, slots=True)
class DriverOptions:
    """How to open a driver; every field has a safe default.

    ``timeout_s``, ``retries``, ``resync_timeout_s``, ``open_timeout_s``: see
    :class:`~drivers.transports.base.TransportSettings` (seconds). ``expected_serial``: when
    set, the instrument's reported serial number must equal it, or opening fails with
    :class:`~drivers.errors.IdentityMismatch`. ``visa_library``: the PyVISA backend
    (``"@py"`` = pyvisa-py; ``"@ivi"`` or a path for a vendor VISA). ``map_file``: a
    register-map file for map-driven drivers (Modbus).
    """

    timeout_s: float = 2.0
    retries: int = 1
    resync_timeout_s: float | None = None
    open_timeout_s: float = 5.0
    expected_serial: str | None = None
    visa_library: str = "@py"
    map_file: str | None = None

    def transport_settings(self) -> TransportSettings:
        """The transport settings these options describe."""
        return TransportSettings(
            timeout_s=self.timeout_s,
            retries=self.retries,
            resync_timeout_s=self.resync_timeout_s,
            open_timeout_s=self.open_timeout_s,
        )


class Driver(Protocol):
    """The contract of a driver class as the registry and the command line use it.

    ``open`` connects, checks the identity (model, and serial when
    ``options.expected_serial`` is set) and returns a ready driver, or raises a
    :class:`~drivers.errors.DriverError` having released the link. The instance exposes
    the capability protocols of :mod:`drivers.capabilities` it implements.
    """

    name: ClassVar[str]
    capabilities: ClassVar[DriverCapabilities]

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Connect to the instrument at ``address`` and check who it is."""
        ...

    @property
    def address(self) -> str:
        """The address the driver was opened with."""
        ...

    @property
    def io_log(self) -> IOLog:
        """Every command and answer exchanged, timestamped."""
        ...

    @property
    def identity(self) -> Identity:
        """The identity read when the driver was opened."""
        ...

    def close(self) -> None:
        """Leave the instrument in a safe state and release the link; idempotent."""
        ...
