"""Errors of the procedures package.

Every error names the argument at fault (``argument``), so that a procedure
file, a form of the LIMS or an API client can point at the value to correct.
"""

from __future__ import annotations


class ProcedureError(Exception):
    """Base of every error raised by :mod:`procedures`."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        self.argument = argument
        self.message = message
        super().__init__(f"{argument}: {message}" if argument else message)


class InvalidValueError(ProcedureError, ValueError):
    """A value is not of a kind the rule can take (not a Decimal, not finite, negative...)."""


class UnknownClassError(InvalidValueError):
    """An accuracy class (or temperature class) that the rule's table does not have."""


class OutOfRangeError(InvalidValueError):
    """A value outside the domain where the rule is defined (a load above Max, a flow
    rate outside Q1..Q4): refused rather than extrapolated or clamped."""


class PlanError(InvalidValueError):
    """A test plan that the rule it follows does not allow (too few weighing-test loads,
    a missing Max): refused before the first point rather than found out after the run."""
