"""caltrace instrument drivers: transports, drivers, typed errors and simulators.

A plain library (no Django, no agent). The pieces procedures use most:

* :mod:`drivers.capabilities` — capability protocols (``DCVoltmeter``, ``Scale``...) and
  declarations, and :func:`~drivers.capabilities.measure`;
* :mod:`drivers.reading` — :class:`Reading` and :class:`Identity`;
* :mod:`drivers.errors` — :class:`DriverError` and its subclasses;
* :mod:`drivers.registry` — driver names → classes and simulators;
* :mod:`drivers.iolog` — the timestamped record of every command and answer.

Importing this package does not import PyVISA, pyserial or pymodbus.
"""

from drivers.errors import (
    AddressError,
    ConnectionLost,
    DeviceError,
    DriverError,
    GarbledResponse,
    IdentityMismatch,
    InstrumentReportedError,
    InstrumentTimeout,
    LostPulse,
    MeasurementOverload,
    MeterBenchFault,
    MeterConstantInvalid,
    ModbusExceptionResponse,
    NoPulses,
    OutOfRange,
    PositionNotMounted,
    SourceOutOfRegulation,
    UnstableReading,
)
from drivers.iolog import IOEntry, IOLog
from drivers.reading import Identity, Reading

__all__ = [
    "AddressError",
    "ConnectionLost",
    "DeviceError",
    "DriverError",
    "GarbledResponse",
    "IOEntry",
    "IOLog",
    "Identity",
    "IdentityMismatch",
    "InstrumentReportedError",
    "InstrumentTimeout",
    "LostPulse",
    "MeasurementOverload",
    "MeterBenchFault",
    "MeterConstantInvalid",
    "ModbusExceptionResponse",
    "NoPulses",
    "OutOfRange",
    "PositionNotMounted",
    "Reading",
    "SourceOutOfRegulation",
    "UnstableReading",
]
