"""What the run page shows of a run's points: the server's results, the uncertainty
budget of each point, and the error chart.

The numbers are the server's. The LIMS keeps each point's budget with its result, as its
evaluator gave them on receipt (:mod:`procedures.evaluation`); a point received before
budgets were kept has its budget evaluated once, by the same evaluator, from its stored
model and readings. Either way the budget is shown only when it gives the stored result,
otherwise the page says that the budget cannot be shown, and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from labserver.core.errors import DomainError
from labserver.measurements.evaluation import RELATIVE_TOLERANCE, bind_model
from labserver.measurements.models import Point
from procedures import evaluation
from procedures.acceptance import Observed, count_words, observed
from procedures.definition import ProcedureDefinition
from procedures.record import UncertaintyRatio
from uncertainty.display import dof_text, observed_text, uncertainty_text, unit_symbol
from uncertainty.errors import UncertaintyError
from uncertainty.reporting import round_result

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

VERDICTS = {
    "pass": gettext_lazy("pass"),
    "fail": gettext_lazy("fail"),
    "conditional pass": gettext_lazy("conditional pass"),
    "conditional fail": gettext_lazy("conditional fail"),
}

FORMS = {
    "type_a": gettext_lazy("Type A (readings)"),
    "type_a_pooled": gettext_lazy("Type A (pooled)"),
    "direct": gettext_lazy("Type B, standard uncertainty"),
    "expanded": gettext_lazy("Type B, from U and k"),
    "normal": gettext_lazy("Type B, normal"),
    "rectangular": gettext_lazy("Type B, rectangular"),
    "triangular": gettext_lazy("Type B, triangular"),
    "arcsine": gettext_lazy("Type B, arcsine (U-shaped)"),
    "student_t": gettext_lazy("Type B, Student's t"),
    "trapezoidal": gettext_lazy("Type B, trapezoidal"),
    "curvilinear_trapezoidal": gettext_lazy("Type B, curvilinear trapezoidal"),
}


# ------------------------------------------------------------------ numbers as text


def plain(value: Any) -> str:
    """A number as its shortest decimal text, fixed point (``1.1e-05`` → ``0.000011``)."""
    if value is None:
        return ""
    try:
        number = Decimal(repr(float(value)))
    except (TypeError, ValueError, InvalidOperation):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def sig(value: Any, digits: int = 4, *, strip: bool = False) -> str:
    """``value`` to ``digits`` significant digits: fixed point between 10⁻⁴ and 10⁶,
    else ``m × 10ⁿ``; ``strip`` drops trailing zeros of a fixed-point text."""
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "∞" if number > 0 else ("−∞" if number < 0 else "—")
    if number == 0:
        return "0"
    exponent = math.floor(math.log10(abs(number)))
    if -4 <= exponent < 6:
        places = max(0, digits - 1 - exponent)
        text = f"{number:.{places}f}"
        if strip and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa = number / 10.0**exponent
    if round(abs(mantissa), digits - 1) >= 10:  # 9.9996 → 10.00: carry into the exponent
        mantissa /= 10
        exponent += 1
    return f"{mantissa:.{digits - 1}f} × 10{str(exponent).translate(SUPERSCRIPT)}"


# ------------------------------------------------------------------ budgets


@dataclass
class BudgetRow:
    quantity: str
    value: str
    unit: str
    kind: str
    u: str
    dof: str
    sensitivity: str
    contribution: str
    share: str  # percentage of u_c², empty for correlated inputs


@dataclass
class Budget:
    rows: list[BudgetRow] = field(default_factory=list)
    output: str = ""
    unit: str = ""
    u: str = ""
    dof: str = ""
    k: str = ""
    U: str = ""
    correlated: bool = False
    problem: str = ""


def _point_data(point: Point) -> dict[str, Any]:
    """The point as the server evaluated it on receipt: its model and its readings."""
    return {
        "model": point.model,
        "output": point.output,
        "readings_quantity": point.readings_quantity,
        "readings": [
            {"quantity": r.quantity, "value": r.value, "unit": r.unit} for r in point.readings.all()
        ],
    }


def _agrees(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b), scale)


def _budget(point: Point) -> tuple[evaluation.Budget, str]:
    """The point's budget as kept on receipt, or (a point received before budgets were
    kept) evaluated again from its stored model and readings; and how the problem of a
    budget that does not give the stored result is put."""
    if point.budget:
        message = _(
            "the stored budget gives %(key)s = %(ours)s, not the stored result's %(theirs)s"
        )
        return evaluation.Budget.from_json(point.budget), message
    model = bind_model(_point_data(point), f"points[{point.index}]")
    message = _(
        "evaluating the stored model again gives %(key)s = %(ours)s, not the stored %(theirs)s"
    )
    return evaluation.evaluate_point(model, point.output, unit=point.unit).budget, message


def budget_of(point: Point) -> Budget:
    """The uncertainty budget of ``point``, as the server evaluated it (see above)."""
    try:
        out, problem = _budget(point)
    except DomainError as exc:
        return Budget(problem=exc.detail)
    except evaluation.PointNotEvaluated as exc:
        return Budget(problem=str(exc))
    stored = point.server_result or {}
    for key, ours in (("value", out.value), ("u", out.u), ("U", out.U), ("k", out.k)):
        theirs = stored.get(key)
        if theirs is None or not _agrees(float(theirs), ours, out.u if key == "value" else 0.0):
            return Budget(
                problem=problem % {"key": key, "ours": repr(ours), "theirs": repr(theirs)}
            )
    variance = out.u**2
    rows = []
    for line in out.lines:
        share = ""
        if not out.correlated and variance > 0:
            share = f"{100 * line.contribution**2 / variance:.1f}"
        rows.append(
            BudgetRow(
                quantity=line.quantity,
                value=sig(line.value, 10, strip=True),
                unit=unit_symbol(line.unit or ""),
                kind=str(FORMS.get(line.distribution, line.distribution)),
                u=sig(line.u, 4),
                dof=dof_text(line.dof),
                sensitivity=sig(line.sensitivity, 4),
                contribution=sig(line.contribution, 4),
                share=share,
            )
        )
    return Budget(
        rows=rows,
        output=out.output,
        unit=unit_symbol(out.unit or point.unit),
        u=sig(out.u, 4),
        # An effective ν above 10⁶ (2.99 × 10¹⁴ from a budget of Type B inputs) is ∞.
        dof=dof_text(out.dof),
        k=f"{out.k:.2f}",
        U=sig(out.U, 4),
        correlated=out.correlated,
    )


# ------------------------------------------------------------------ the points table


@dataclass
class PointRow:
    point: Point
    test: str
    nominal: str
    unit: str
    output: str
    value: str
    U: str
    k: str
    lower: str
    upper: str
    mpe: str
    server_verdict: str
    agent_verdict: str
    verdict_class: str
    disagrees: bool
    disagreement: list[str]
    ratio_flag: bool
    budget: Budget
    limit: str = ""
    """A result judged as it is (a count, a time to the first pulse): its limit as the
    rule says it, "≤ 1 pulses", "≤ 93 s" (the ± band of an error is not one)."""
    shown_unit: str = ""
    """The unit the result is written with when it is not its symbol: a count's words."""


def verdict_text(text: str) -> str:
    """A statement of conformity in the page's language (empty when nothing was judged)."""
    return str(VERDICTS.get(text, text)) if text else ""


def _observed(
    point: Point, shown: Observed, definition: ProcedureDefinition | None
) -> tuple[str, str, str, str]:
    """A result judged as it is, as the certificate prints it: the value, its U, its
    limit and the unit written with them. A count: a whole number with what it counts,
    no U; a time: to the coarser of its resolution and U's last digit, with its U."""
    result = point.server_result or {}
    acceptance = result.get("acceptance") or point.acceptance or {}
    value, expanded, limit = result.get("value"), result.get("U"), acceptance.get("mpe")
    if shown.counted is not None:
        language = (get_language() or "en").split("-")[0]
        number = float(value) if isinstance(value, int | float) else math.nan
        whole = number.is_integer()
        count = str(int(number)) if whole else plain(value)
        words = count_words(shown.counted, number if whole else 0, language)
        bound = (
            f"≤ {plain(limit)} {count_words(shown.counted, float(limit), language)}"
            if limit is not None
            else ""
        )
        return count, "", bound, words
    unit = str(result.get("unit") or point.unit)
    resolution = (
        definition.result_resolution(point.test, point.model or {}, unit)
        if definition is not None
        else None
    )
    value_text, u_text = plain(value), plain(expanded)
    if isinstance(value, int | float) and isinstance(expanded, int | float):
        try:
            value_text = observed_text(value, resolution, expanded, where="value")
            u_text = uncertainty_text(expanded)
        except UncertaintyError:
            pass  # not a finite result: shown as stored, never rounded to a guess
    symbol = unit_symbol(unit)
    return value_text, u_text, (f"≤ {plain(limit)} {symbol}" if limit is not None else ""), ""


def point_rows(
    points: list[Point], definition: ProcedureDefinition | None = None
) -> list[PointRow]:
    """One row per point: the server's result rounded as a certificate rounds it (ILAC
    P14: U to two significant digits, the value to the same decimal place), the limits,
    both verdicts, the disagreements, and the budget. A result judged as it is against its
    limit (:data:`procedures.acceptance.RESULT_RULES`) is written as the certificate
    writes it: a count whole, with its words and no U; a time to what the bench resolves
    (its resolution from ``definition``, the run's procedure)."""
    rows = []
    for point in points:
        result = point.server_result or {}
        acceptance = result.get("acceptance") or point.acceptance or {}
        value, expanded = result.get("value"), result.get("U")
        shown = observed(acceptance)
        limit, shown_unit = "", ""
        if shown is not None:
            value_text, u_text, limit, shown_unit = _observed(point, shown, definition)
        elif value is not None and expanded:
            rounded = round_result(float(value), float(expanded))
            value_text, u_text = rounded.value_text, rounded.uncertainty_text
        else:
            value_text, u_text = plain(value), plain(expanded)
        flags = [
            _("%(what)s: agent %(agent)s, server %(server)s")
            % {
                "what": d.get("quantity", ""),
                "agent": plain(d.get("agent"))
                if isinstance(d.get("agent"), float | int)
                else d.get("agent"),
                "server": plain(d.get("server"))
                if isinstance(d.get("server"), float | int)
                else d.get("server"),
            }
            for d in point.disagreement or []
        ]
        server = point.server_conformity
        rows.append(
            PointRow(
                point=point,
                test=point.test,
                nominal=plain(point.nominal),
                unit=unit_symbol(point.unit),
                output=point.output,
                value=value_text,
                U=u_text,
                k=f"{float(result['k']):.2f}" if result.get("k") is not None else "",
                lower=plain(acceptance.get("lower")),
                upper=plain(acceptance.get("upper")),
                mpe=plain(acceptance.get("mpe")),
                server_verdict=verdict_text(server),
                agent_verdict=verdict_text(point.agent_conformity),
                verdict_class="pass" if server == "pass" else ("fail" if server else ""),
                disagrees=bool(point.disagreement),
                disagreement=flags,
                ratio_flag=shown is None and UncertaintyRatio.flagged(result),
                budget=budget_of(point),
                limit=limit,
                shown_unit=shown_unit,
            )
        )
    return rows


def limit_documents(points: list[Point], definition: ProcedureDefinition) -> list[str]:
    """The documents the server set the run's limits by (each point's
    ``server_result.acceptance.document``), each once, in the order of the points. A
    class table the procedure states (``class_limits:``, the center's transcription) is
    cited in the page's language, as the certificate cites it."""
    stated = definition.class_limits
    translated = (
        {c.citation: c.citation_in("vi") for c in stated.classes.values()}
        if stated is not None and (get_language() or "").startswith("vi")
        else {}
    )
    out: list[str] = []
    for point in points:
        acceptance = (point.server_result or {}).get("acceptance") or {}
        document = str(acceptance.get("document") or "").strip()
        text = translated.get(document, document)
        if text and text not in out:
            out.append(text)
    return out
