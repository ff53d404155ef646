"""The names a procedure's expressions see at a point, shared by the runner and the LIMS.

Kept apart from the runner so that the LIMS sets limits exactly as the bench did without
importing anything that drives instruments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from procedures.definition import PointSpec, TestSpec
from procedures.evaluate import number

__all__ = ["bound_quantity", "certified_entry", "point_scope", "summarize_test"]


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


def certified_entry(
    values: Iterable[Mapping[str, Any]], quantity: str, at: float
) -> Mapping[str, Any] | None:
    """The entry of a certificate's ``values`` that gives ``quantity`` at the nominal
    ``at`` (in the certificate's unit of that nominal): exactly there, never interpolated
    or extrapolated; None when the certificate gives none."""
    for value in values:
        if value.get("quantity") == quantity and _same(float(value["nominal"]), at):
            return value
    return None


def bound_quantity(binding: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The model quantity that a ``{certificate: ROLE, quantity, at, take, unit}`` binding
    of a procedure's model takes from the certificate ``entry``: the certified value (or,
    with ``take: correction``, value − nominal), its expanded uncertainty ``U`` with its
    coverage factor ``k`` (2 when the certificate states none), in the binding's unit
    (else the certificate's)."""
    take = binding.get("take", "value")
    value = float(entry["value"]) - (float(entry["nominal"]) if take == "correction" else 0.0)
    return {
        "value": value,
        "U": float(entry["U"]),
        "k": float(entry.get("k", 2)),
        "unit": binding.get("unit", str(entry.get("unit", ""))),
    }


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
