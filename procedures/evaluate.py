"""Numbers written as expressions in a procedure (``"nominal/2"``), evaluated at a point.

The grammar is that of measurement models (:mod:`uncertainty.expressions`): parsed,
never ``eval``-ed. Names are the point's scope; a name bound to text (an accuracy class)
cannot take part in arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from procedures.errors import ProcedureError
from uncertainty.errors import ExpressionError
from uncertainty.expressions import compile_node, parse_expression

__all__ = ["evaluate_expression", "number"]


def evaluate_expression(text: str, scope: Mapping[str, Any], *, where: str) -> float:
    """The value of ``text`` with the numbers of ``scope``; a finite float or an error."""
    names = sorted(scope)
    try:
        node = parse_expression(text, {n: i for i, n in enumerate(names)}, where=where)
    except ExpressionError as exc:
        raise ProcedureError(exc.message, argument=where) from None
    values: list[float] = []
    for name in names:
        value = scope[name]
        values.append(float(value) if _is_number(value) else math.nan)
    with np.errstate(all="ignore"):
        result = float(compile_node(node)(np.array(values, dtype=np.float64)))
    if not math.isfinite(result):
        texts = [n for n in names if not _is_number(scope[n]) and n in text]
        why = f" ({', '.join(texts)} {'is' if len(texts) == 1 else 'are'} text)" if texts else ""
        raise ProcedureError(f"{text!r} is not a finite number{why}", argument=where)
    return result


def number(value: Any, scope: Mapping[str, Any], *, where: str) -> float:
    """A number as written in a definition: a literal, or an expression over ``scope``."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        return evaluate_expression(value, scope, where=where)
    raise ProcedureError(f"expected a number or an expression, got {value!r}", argument=where)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
