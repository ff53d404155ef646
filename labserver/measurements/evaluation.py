"""The server's own evaluation of a point: the model, bound to the readings, by GUM.

The agent's numbers are kept beside the server's, and every difference is
flagged; the server's numbers are the ones that count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from labserver.core.errors import InvalidEvidence
from procedures.acceptance import Limits, limits_for
from procedures.definition import ProcedureDefinition
from procedures.errors import ProcedureError
from procedures.scope import point_scope, summarize_test
from uncertainty.conformity import DecisionRule, check_uncertainty_ratio, decide_conformity
from uncertainty.errors import UncertaintyError
from uncertainty.gum import evaluate_gum, json_number
from uncertainty.model import Model, parse_model

# Agreement between the agent's and the server's numbers: the same model
# evaluated by the same method differs only by floating-point rounding.
RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PointEvaluation:
    result: dict[str, Any]
    conformity: str
    disagreement: list[dict[str, Any]]


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b), scale)


def bind_model(point: dict[str, Any], where: str) -> Model:
    """Check that the point's model is built on the point's readings, then parse it.

    Readings are grouped by the model quantity they are samples of (``quantity``,
    default ``readings_quantity``); each group must be exactly that quantity's
    ``samples``, in order and in its unit, and every quantity with samples must have
    its readings in the point.
    """
    quantities = point["model"].get("quantities")
    if not isinstance(quantities, dict):
        field = f"{where}.model.quantities"
        raise InvalidEvidence(f"{field}: expected a mapping of quantities", field=field)
    groups: dict[str, list[dict[str, Any]]] = {}
    for reading in point["readings"]:
        groups.setdefault(reading.get("quantity") or point["readings_quantity"], []).append(reading)
    if point["readings_quantity"] not in groups:
        field = f"{where}.readings_quantity"
        raise InvalidEvidence(
            f"{field}: no reading is a sample of {point['readings_quantity']!r}", field=field
        )
    for name, readings in groups.items():
        spec = quantities.get(name)
        if not isinstance(spec, dict):
            field = f"{where}.readings"
            raise InvalidEvidence(
                f"{field}: the model has no quantity {name!r} to hold the readings", field=field
            )
        values = [r["value"] for r in readings]
        if spec.get("samples") != values:
            field = f"{where}.model.quantities.{name}.samples"
            raise InvalidEvidence(
                f"{field}: do not match the point's readings of {name} ({len(values)} readings)",
                field=field,
            )
        units = {r["unit"] for r in readings}
        unit = spec.get("unit")
        if len(units) > 1 or (unit is not None and units != {unit}):
            field = f"{where}.model.quantities.{name}.unit"
            raise InvalidEvidence(
                f"{field}: {unit!r} differs from the unit of the readings "
                f"({', '.join(sorted(units))})",
                field=field,
            )
    for name, spec in quantities.items():
        if isinstance(spec, dict) and "samples" in spec and name not in groups:
            field = f"{where}.model.quantities.{name}.samples"
            raise InvalidEvidence(
                f"{field}: samples that are not among the point's readings", field=field
            )
    try:
        model = parse_model(point["model"])
    except UncertaintyError as exc:
        field = f"{where}.model" + (f".{exc.where}" if exc.where else "")
        raise InvalidEvidence(f"{field}: {exc.message}", field=field) from None
    if point["output"] not in {o.name for o in model.outputs}:
        field = f"{where}.output"
        raise InvalidEvidence(f"{field}: the model has no output {point['output']!r}", field=field)
    return model


def procedure_limits(
    definition: ProcedureDefinition,
    points: list[dict[str, Any]],
    instrument: dict[str, Any],
) -> list[Limits | None]:
    """The acceptance limits of each point, set from the procedure, not from the payload.

    Each point must be the procedure's point of that index (same test and nominal). The
    scope of the rule is the runner's: the instrument's specification, the procedure's
    constants, what earlier tests give and the point's parameters.
    """
    missing = [n for n in definition.instrument_parameters if n not in instrument]
    if missing:
        raise InvalidEvidence(
            f"job: the instrument's specification lacks {', '.join(missing)}, which procedure "
            f"{definition.id} needs",
            field="job",
        )
    base = {n: instrument[n] for n in definition.instrument_parameters}
    base.update(definition.constants)
    by_test: dict[str, list[dict[str, Any]]] = {}
    for i, point in enumerate(points):
        where = f"points[{i}]"
        try:
            spec = definition.point(point["index"])
        except KeyError:
            raise InvalidEvidence(
                f"{where}.index: procedure {definition.id} has no point {point['index']}",
                field=f"{where}.index",
            ) from None
        if spec.test != point["test"]:
            raise InvalidEvidence(
                f"{where}: point {spec.index} of {definition.id} is of test {spec.test}, "
                f"not {point['test']}",
                field=f"{where}.test",
            )
        by_test.setdefault(spec.test, []).append(point)
    summaries: dict[str, Any] = {}
    limits_by_index: dict[int, Limits | None] = {}
    for test in definition.tests:
        done = by_test.get(test.id, [])
        for point in done:
            spec = definition.point(point["index"])
            i = points.index(point)
            try:
                scope = point_scope(base, summaries, test, spec, where=f"points[{i}]")
            except ProcedureError as exc:
                raise InvalidEvidence(f"points[{i}]: {exc}", field=f"points[{i}]") from None
            if not _close(float(scope["nominal"]), point["nominal"], 0.0):
                raise InvalidEvidence(
                    f"points[{i}]: point {spec.index} of {definition.id} is {spec.test} at "
                    f"{scope['nominal']:g} {spec.unit}, not at {point['nominal']:g}",
                    field=f"points[{i}].nominal",
                )
            if test.mpe is None:
                limits_by_index[spec.index] = None
                continue
            scope["result"] = point["result"]["value"]
            try:
                limits_by_index[spec.index] = limits_for(
                    test.mpe, scope, where=f"procedure {definition.id} test {test.id}"
                )
            except ProcedureError as exc:
                raise InvalidEvidence(
                    f"points[{i}]: the limits cannot be set: {exc}", field=f"points[{i}]"
                ) from None
        summaries.update(summarize_test(test, done))
    return [limits_by_index[p["index"]] for p in points]


def evaluate_point(
    point: dict[str, Any],
    where: str,
    *,
    rule: str,
    max_ratio: str | None,
    limits: Limits | None = None,
) -> PointEvaluation:
    """Re-evaluate one point and compare with what the agent reported.

    With ``limits`` (set from the procedure) the agent's stated limits are only
    compared; without, the point's own ``acceptance`` is used (a catalog entry that
    states no rule).
    """
    model = bind_model(point, where)
    try:
        gum = evaluate_gum(model)[point["output"]]
    except UncertaintyError as exc:
        field = f"{where}.model" + (f".{exc.where}" if exc.where else "")
        raise InvalidEvidence(f"{field}: cannot be evaluated: {exc.message}", field=field) from None
    result: dict[str, Any] = {
        "value": gum.value,
        "u": gum.u,
        "U": gum.U,
        "k": gum.k,
        "dof": json_number(gum.dof),
        "coverage_probability": gum.coverage_probability,
        "unit": gum.unit or point["unit"],
    }
    disagreement: list[dict[str, Any]] = []
    agent = point["result"]
    for key in ("value", "u", "U", "k"):
        if not _close(float(agent[key]), float(result[key]), gum.u if key == "value" else 0.0):
            disagreement.append({"quantity": key, "agent": agent[key], "server": result[key]})
    conformity = ""
    acceptance = point.get("acceptance") or {}
    if limits is not None:
        for key in ("lower", "upper", "mpe"):
            theirs = acceptance.get(key)
            ours = getattr(limits, key)
            if theirs is None or not _close(float(theirs), ours, 0.0):
                disagreement.append(
                    {"quantity": f"acceptance.{key}", "agent": theirs, "server": ours}
                )
        acceptance = limits.as_payload()
        result["acceptance"] = acceptance
    lower, upper = acceptance.get("lower"), acceptance.get("upper")
    if lower is not None or upper is not None:
        try:
            decision = decide_conformity(
                gum.value,
                lower_limit=lower,
                upper_limit=upper,
                expanded_uncertainty=gum.U,
                coverage_factor=gum.k,
                rule=DecisionRule(rule),
            )
        except (UncertaintyError, ValueError) as exc:
            field = f"{where}.acceptance"
            raise InvalidEvidence(f"{field}: {exc}", field=field) from None
        conformity = str(decision.statement)
        result["decision_rule"] = rule
        result["acceptance_interval"] = [decision.acceptance_lower, decision.acceptance_upper]
        mpe = acceptance.get("mpe")
        if mpe is not None and max_ratio is not None:
            ratio = check_uncertainty_ratio(gum.U, mpe, max_ratio=Fraction(max_ratio))
            result["uncertainty_ratio"] = ratio.ratio
            result["uncertainty_ratio_met"] = ratio.met
        agent_statement = point.get("conformity") or ""
        if agent_statement != conformity:
            disagreement.append(
                {"quantity": "conformity", "agent": agent_statement, "server": conformity}
            )
    for key in ("value", "u", "U", "k"):
        if not math.isfinite(float(result[key])):
            field = f"{where}.model"
            raise InvalidEvidence(f"{field}: the result is not finite", field=field)
    return PointEvaluation(result=result, conformity=conformity, disagreement=disagreement)
