"""Simulators of the supported instruments, on the real transports.

They are product, not test helpers: the demo and anyone trying caltrace without a bench
use them. See :mod:`drivers.simulators.base` for the pieces every simulator shares,
:mod:`drivers.simulators.tcp` and :mod:`drivers.simulators.pty` for the carriers, and
:mod:`drivers.simulators.scpi` for the reusable SCPI instrument model.
"""

from drivers.simulators.base import (
    Fault,
    FaultKind,
    FaultPlan,
    Reply,
    RunningSimulator,
    SimulatedInstrument,
    SimulatorFactory,
    SimulatorOptions,
)

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Reply",
    "RunningSimulator",
    "SimulatedInstrument",
    "SimulatorFactory",
    "SimulatorOptions",
]
