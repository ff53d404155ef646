"""Errors of the uncertainty engine.

Every error names what is at fault: the quantity, output or key of the model
file (``where``), so that a metrologist can correct the file without guessing.
"""

from __future__ import annotations


class UncertaintyError(Exception):
    """Base of every error raised by :mod:`uncertainty`."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message


class ModelError(UncertaintyError, ValueError):
    """A model file (or the data given to a function) is not valid."""


class ExpressionError(ModelError):
    """An output expression is not allowed, or names something unknown."""


class CorrelationError(ModelError):
    """A correlation coefficient or the correlation matrix is not valid."""


class UnitError(ModelError):
    """The units of a model are inconsistent."""


class EvaluationError(UncertaintyError, ArithmeticError):
    """A model cannot be evaluated (not finite at the estimates, singular fit...)."""
