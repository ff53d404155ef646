"""The errors of the simulation."""

from __future__ import annotations

__all__ = ["NoInstrument", "SimulationError"]


class SimulationError(Exception):
    """A simulated bench cannot be built or an instruction cannot be carried out."""


class NoInstrument(SimulationError, LookupError):
    """The role has no opened instrument (a passive standard, or not a role of the bench)."""
