"""The agent's errors that its commands report without importing what raises them."""

from __future__ import annotations

__all__ = ["PlanError"]


class PlanError(Exception):
    """The run cannot be planned: no such job, a job for another bench, a procedure or a
    standard the agent does not have; the message says what and what to do."""
