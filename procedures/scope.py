"""The names a procedure's expressions see at a point, shared by the runner and the LIMS.

Kept apart from the runner so that the LIMS sets limits exactly as the bench did without
importing anything that drives instruments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from procedures.definition import PointSpec, TestSpec
from procedures.evaluate import number

__all__ = ["point_scope", "summarize_test"]


def point_scope(
    base: Mapping[str, Any],
    summaries: Mapping[str, Any],
    test: TestSpec,
    spec: PointSpec,
    *,
    where: str = "point",
) -> dict[str, Any]:
    """The names an expression sees at a point: the instrument's parameters and the
    procedure's constants (``base``), what earlier tests give (``summaries``), the point's
    parameters and ``readings`` (the test's readings per point). The LIMS builds the same
    scope to set the limits again."""
    plain = {k: v for k, v in spec.params.items() if not isinstance(v, Mapping)}
    scope = {**base, **summaries, **plain, "readings": test.readings}
    # ``{expression: EXPR}`` values, in file order, over what is in scope so far.
    for name, value in spec.params.items():
        if isinstance(value, Mapping):
            scope[name] = number(str(value["expression"]), scope, where=f"{where}.{name}")
    if spec.nominal_expression is not None:
        scope["nominal"] = number(spec.nominal_expression, scope, where=f"{where}.nominal")
    return scope


def summarize_test(test: TestSpec, points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Numbers a later test may use: ``sd_<test>`` (the standard deviation of the test's
    primary readings, pooled over its points) and ``dof_<test>``."""
    values = [
        s for p in points for s in p["model"]["quantities"][p["readings_quantity"]]["samples"]
    ]
    key = test.id.replace("-", "_").replace(".", "_")
    if len(values) < 2:
        return {}
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return {f"sd_{key}": sd, f"dof_{key}": len(values) - 1}
