"""The server's own evaluation of a run, and how it differs from the agent's.

Each point is evaluated by :func:`procedures.evaluation.evaluate_point`, the function the
runner evaluated it with on the bench; here its readings are first bound to its model
(:func:`procedures.evaluation.bind_readings`) and its limits set from the procedure, not
from the payload. The agent's numbers are kept beside the server's, and every difference
is flagged; the server's numbers are the ones that count.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from labserver.core.errors import InvalidEvidence
from labserver.standards.values import readable_values
from procedures.acceptance import Limits
from procedures.definition import ProcedureDefinition
from procedures.derived import run_checks, run_curves
from procedures.errors import ProcedureError
from procedures.evaluate import number
from procedures.evaluation import (
    LimitsRule,
    PointNotEvaluated,
    PointRules,
    bind_readings,
)
from procedures.evaluation import evaluate_point as evaluate
from procedures.record import STANDARD_ROLES, Acceptance
from procedures.register import register_quantity
from procedures.scope import bound_quantity, certified_entry, point_scope, summarize_test
from uncertainty.errors import UncertaintyError

# Agreement between the agent's and the server's numbers: both evaluate with the same
# function, but an agent on another platform (another BLAS, another release of numpy) may
# differ in the last digits, which is not a disagreement.
RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PointEvaluation:
    """The server's evaluation of a point: its result (``server_result``), statement,
    uncertainty budget, and where the agent's claims differ from it."""

    result: dict[str, Any]
    conformity: str
    disagreement: list[dict[str, Any]]
    budget: dict[str, Any]


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b), scale)


def refusal(exc: PointNotEvaluated, where: str) -> InvalidEvidence:
    """The evidence refused for a point (``where``: ``points[3]``) that the evaluator
    could not evaluate, naming the point's field at fault."""
    if exc.stage == "limits":
        return InvalidEvidence(f"{where}: the limits cannot be set: {exc}", field=where)
    field = f"{where}.{exc.argument}" if exc.argument else where
    if exc.stage == "gum":
        detail = f"cannot be evaluated: {exc.message}"
    elif exc.stage == "decision":
        detail = str(exc.cause)
    else:
        detail = exc.message
    return InvalidEvidence(f"{field}: {detail}", field=field)


def bind_model(point: dict[str, Any], where: str) -> Any:
    """The point's model, checked to be built on the point's readings
    (:func:`procedures.evaluation.bind_readings`) and parsed; InvalidEvidence naming the
    field otherwise."""
    try:
        return bind_readings(point)
    except PointNotEvaluated as exc:
        raise refusal(exc, where) from None


def _base_scope(definition: ProcedureDefinition, instrument: dict[str, Any]) -> dict[str, Any]:
    """The instrument's parameters the procedure names and the procedure's constants."""
    missing = [n for n in definition.instrument_parameters if n not in instrument]
    if missing:
        raise InvalidEvidence(
            f"job: the instrument's specification lacks {', '.join(missing)}, which procedure "
            f"{definition.id} needs",
            field="job",
        )
    base = {n: instrument[n] for n in definition.instrument_parameters}
    base.update(definition.constants)
    return base


def procedure_scopes(
    definition: ProcedureDefinition,
    points: list[dict[str, Any]],
    instrument: dict[str, Any],
) -> list[dict[str, Any]]:
    """The names each point's expressions see, set from the procedure as the runner sets
    them: the instrument's specification, the procedure's constants, what earlier tests
    give and the point's parameters.

    Each point must be the procedure's point of that index (same test and nominal).
    """
    base = _base_scope(definition, instrument)
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
    scopes: dict[int, dict[str, Any]] = {}
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
            scopes[spec.index] = scope
        summaries.update(summarize_test(test, done))
    return [scopes[p["index"]] for p in points]


def procedure_rules(
    definition: ProcedureDefinition, points: list[dict[str, Any]], scopes: list[dict[str, Any]]
) -> list[LimitsRule | None]:
    """The rule of each point's limits, from the procedure, in the scope
    :func:`procedure_scopes` gives: the limits it sets follow the server's result."""
    out: list[LimitsRule | None] = []
    for point, scope in zip(points, scopes, strict=True):
        test = definition.test(point["test"])
        where = f"procedure {definition.id} test {test.id}"
        out.append(LimitsRule(test.mpe, scope, where) if test.mpe is not None else None)
    return out


def procedure_limits(
    definition: ProcedureDefinition,
    points: list[dict[str, Any]],
    instrument: dict[str, Any],
    scopes: list[dict[str, Any]] | None = None,
) -> list[Limits | None]:
    """The acceptance limits of each point at the result its ``result`` states, set from
    the procedure, not from the payload, in the scope :func:`procedure_scopes` gives
    (computed here unless given)."""
    if scopes is None:
        scopes = procedure_scopes(definition, points, instrument)
    out: list[Limits | None] = []
    rules = procedure_rules(definition, points, scopes)
    for i, (point, rule) in enumerate(zip(points, rules, strict=True)):
        try:
            out.append(rule.at(point["result"]["value"]) if rule is not None else None)
        except ProcedureError as exc:
            raise refusal(PointNotEvaluated("limits", exc), f"points[{i}]") from None
    return out


def evaluate_point(
    point: dict[str, Any],
    where: str,
    *,
    rule: str,
    max_ratio: str | None,
    limits: Limits | LimitsRule | None = None,
) -> PointEvaluation:
    """Re-evaluate one point (its JSON: :meth:`procedures.record.Point.to_json`) and
    compare with what the agent reported.

    With ``limits`` (set from the procedure: the test's rule at the point, or limits set
    beforehand) the agent's stated limits are only compared; without, the point's own
    ``acceptance`` is used (a catalog entry that states no rule).
    """
    model = bind_model(point, where)
    stated = point.get("acceptance") or {}
    rules = PointRules(
        decision_rule=rule,
        max_uncertainty_ratio=max_ratio,
        limits=limits,
        stated=(
            None
            if limits is not None
            else Acceptance(stated.get("lower"), stated.get("upper"), stated.get("mpe"))
        ),
    )
    try:
        evaluation = evaluate(model, point["output"], rules, unit=point["unit"])
    except PointNotEvaluated as exc:
        raise refusal(exc, where) from None
    result = evaluation.to_json()
    disagreement: list[dict[str, Any]] = []
    agent = point["result"]
    for key in ("value", "u", "U", "k"):
        if not _close(
            float(agent[key]), float(result[key]), result["u"] if key == "value" else 0.0
        ):
            disagreement.append({"quantity": key, "agent": agent[key], "server": result[key]})
    if evaluation.limits is not None:
        for key in ("lower", "upper", "mpe"):
            theirs = stated.get(key)
            ours = getattr(evaluation.limits, key)
            if theirs is None or not _close(float(theirs), ours, 0.0):
                disagreement.append(
                    {"quantity": f"acceptance.{key}", "agent": theirs, "server": ours}
                )
    if evaluation.decision is not None:
        agent_statement = point.get("conformity") or ""
        if agent_statement != evaluation.conformity:
            disagreement.append(
                {
                    "quantity": "conformity",
                    "agent": agent_statement,
                    "server": evaluation.conformity,
                }
            )
    return PointEvaluation(
        result=result,
        conformity=evaluation.conformity,
        disagreement=disagreement,
        budget=evaluation.budget.to_json(),
    )


# ---------------------------------------------------------------- certificate-bound quantities

# The roles a run's ``standards`` name (procedures.record.STANDARD_ROLES); a procedure role
# of another name (``weights``, ``readout``) is sent as ``reference`` by the agent.
PAYLOAD_ROLES = STANDARD_ROLES


def _standard_uncertainty(entry: dict[str, Any]) -> float | None:
    """The standard uncertainty a model quantity states (``u``, or ``U``/``k``)."""
    try:
        if "u" in entry:
            return float(entry["u"])
        if "U" in entry:
            return float(entry["U"]) / float(entry.get("k", 2))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def _bound(
    definition: ProcedureDefinition, points: list[dict[str, Any]], key: str
) -> Iterator[tuple[int, Mapping[str, Any], Any, str]]:
    """Each model quantity of ``points`` that the procedure binds by ``key``
    (``certificate``, ``resolution_of_readings``): the point's index, the procedure's
    binding, what the point's model gives, and the quantity's field for a refusal."""
    for i, point in enumerate(points):
        test = definition.test(point["test"])
        quantities = point["model"].get("quantities") or {}
        for qname, binding in test.model["quantities"].items():
            if key in binding:
                yield i, binding, quantities.get(qname), f"points[{i}].model.quantities.{qname}"


def check_certified_quantities(
    definition: ProcedureDefinition,
    points: list[dict[str, Any]],
    scopes: list[dict[str, Any]],
    usages: list[dict[str, Any]],
    used_on: date,
) -> None:
    """Every model quantity that the procedure binds to a standard's certificate
    (``{certificate: ROLE, quantity, at, take, unit}``) carries that certificate's value,
    unit and standard uncertainty ``U/k`` at the bound nominal.

    The standard is the one the run declares in that role for that quantity (``usages``,
    each with the certificate in force on ``used_on``); a quantity that differs, or a
    certificate that gives no value there, refuses the run naming the point's quantity,
    as a model whose samples are not the point's readings is refused.
    """
    for i, binding, given, field in _bound(definition, points, "certificate"):
        scope = scopes[i]
        role = str(binding["certificate"])
        sent_as = role if role in PAYLOAD_ROLES else "reference"
        quantity = str(binding["quantity"])
        candidates = [u for u in usages if u["role"] == sent_as and u["function"] == quantity]
        if not candidates:
            raise InvalidEvidence(
                f"{field}: is bound to the certificate of the standard in role {role}, "
                f"but the run names no standard used in role {sent_as} for {quantity}",
                field=field,
            )
        try:
            at = number(binding.get("at", "nominal"), scope, where=f"{field}.at")
        except ProcedureError as exc:
            raise InvalidEvidence(f"{field}: {exc}", field=field) from None
        problems: list[str] = []
        for usage in candidates:
            certificate = usage["certificate"]
            name = f"certificate {certificate.number} of {usage['standard'].asset_id}"
            entry = certified_entry(readable_values(certificate.values), quantity, at)
            if entry is None:
                problems.append(f"{name} (in force on {used_on}) gives no {quantity} at {at:g}")
                continue
            expected = bound_quantity(binding, entry)
            mismatch = bound_mismatch(given, expected)
            if mismatch is None:
                break
            problems.append(
                f"{mismatch}; {name} (in force on {used_on}) gives {expected['value']:.10g} "
                f"{expected['unit']} with u = {expected['U'] / expected['k']:.6g} "
                f"(U = {expected['U']:g}, k = {expected['k']:g}) at {at:g}"
            )
        else:
            raise InvalidEvidence(f"{field}: {'; '.join(problems)}", field=field)


def check_register_resolutions(
    definition: ProcedureDefinition, points: list[dict[str, Any]]
) -> None:
    """Every model quantity that the procedure binds to a register's resolution
    (``{resolution_of_readings: [R1, R2]}``) is the one the point's own readings give: the
    resolution read from the digits the meter wrote (each reading's ``raw``), bound by
    :func:`procedures.register.register_quantity` as the bench bound it. A quantity that
    differs refuses the run naming the point's quantity."""
    for i, binding, given, field in _bound(definition, points, "resolution_of_readings"):
        point = points[i]
        names = [str(n) for n in binding["resolution_of_readings"]]
        taken = [
            (str(r.get("raw") or ""), str(r.get("unit") or ""))
            for n in names
            for r in point["readings"]
            if (r.get("quantity") or point["readings_quantity"]) == n
        ]
        try:
            expected = register_quantity(names, taken, binding.get("unit"))
        except ProcedureError as exc:
            raise InvalidEvidence(f"{field}: {exc.message}", field=field) from None
        if given != expected:
            raise InvalidEvidence(
                f"{field}: {given!r} is not the resolution of the register readings "
                f"{', '.join(names)} ({expected!r})",
                field=field,
            )


def bound_mismatch(given: Any, expected: dict[str, Any]) -> str | None:
    """How the model's quantity differs from what the certificate gives, or None."""
    if not isinstance(given, dict) or "value" not in given:
        return "the model states no value for it"
    try:
        value = float(given["value"])
    except (TypeError, ValueError):
        return f"the model's value {given['value']!r} is not a number"
    if not _close(value, expected["value"], 0.0):
        return f"the model's value is {value:.10g}"
    if expected["unit"] and given.get("unit") != expected["unit"]:
        return f"the model's unit is {given.get('unit')!r}"
    u = _standard_uncertainty(given)
    if u is None or not _close(u, expected["U"] / expected["k"], 0.0):
        return f"the model's standard uncertainty is {u if u is not None else 'not stated'}"
    return None


# ---------------------------------------------------------------- checks and curves

# Curves: the same weighted fit through numbers that agree to RELATIVE_TOLERANCE may
# amplify the rounding by the conditioning of the normal equations.
CURVE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class DerivedEvaluation:
    checks: list[dict[str, Any]]
    curves: dict[str, dict[str, Any]]
    disagreement: list[dict[str, Any]]


def evaluate_derived(
    definition: ProcedureDefinition,
    points: list[dict[str, Any]],
    instrument: dict[str, Any],
    *,
    claimed_checks: list[dict[str, Any]],
    claimed_curves: dict[str, dict[str, Any]],
) -> DerivedEvaluation:
    """The run's test-level checks and curves, computed by the server from ``points``
    (the run's points with the server's own results) with the procedure's code, and
    every difference from what the agent claimed.

    A check or curve the server cannot compute refuses the run (a complete run of the
    procedure always gives them at the bench).
    """
    base = _base_scope(definition, instrument)
    ordered = sorted(points, key=lambda p: int(p["index"]))
    try:
        checks = run_checks(definition, base, ordered)
    except ProcedureError as exc:
        raise InvalidEvidence(f"checks: cannot be evaluated: {exc}", field="checks") from None
    try:
        curves = run_curves(definition, base, ordered)
    except (ProcedureError, UncertaintyError) as exc:
        raise InvalidEvidence(f"curves: cannot be fitted: {exc}", field="curves") from None
    disagreement = _checks_disagreement(claimed_checks, checks)
    disagreement += _curves_disagreement(claimed_curves, curves)
    return DerivedEvaluation(checks, curves, disagreement)


def _check_key(check: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    return str(check["check"]), tuple(int(p) for p in check["points"])


def _checks_disagreement(
    claimed: list[dict[str, Any]], server: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    theirs = {_check_key(c): c for c in claimed}
    ours = {_check_key(c): c for c in server}
    out: list[dict[str, Any]] = []
    for key, check in ours.items():
        flag = {"item": "check", "check": key[0], "points": list(key[1])}
        agent = theirs.get(key)
        if agent is None:
            out.append({**flag, "quantity": "check", "agent": None, "server": check})
            continue
        for name in ("value", "limit", "at"):
            a, b = agent.get(name), check.get(name)
            if not _same_decimal(a, b):
                out.append({**flag, "quantity": name, "agent": a, "server": b})
        for name in ("passed", "unit", "at_unit", "test", "rule"):
            if agent.get(name) != check.get(name):
                out.append(
                    {**flag, "quantity": name, "agent": agent.get(name), "server": check[name]}
                )
    for key, check in theirs.items():
        if key not in ours:
            out.append(
                {
                    "item": "check",
                    "check": key[0],
                    "points": list(key[1]),
                    "quantity": "check",
                    "agent": check,
                    "server": None,
                }
            )
    return out


def _same_decimal(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return Decimal(a) == Decimal(b)


def _curves_disagreement(
    claimed: dict[str, dict[str, Any]], server: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for test_id in sorted(set(claimed) | set(server)):
        flag = {"item": "curve", "test": test_id}
        agent, ours = claimed.get(test_id), server.get(test_id)
        if agent is None or ours is None:
            out.append({**flag, "quantity": "curve", "agent": agent, "server": ours})
            continue
        for name in ("fit", "degree", "x", "y", "weighted", "generalized", "shared", "dof"):
            if name == "shared":  # a set of terms: the model's order is the JSON's
                if sorted(agent.get(name) or []) != sorted(ours.get(name) or []):
                    out.append(
                        {**flag, "quantity": name, "agent": agent.get(name), "server": ours[name]}
                    )
                continue
            if agent.get(name) != ours[name]:
                out.append(
                    {**flag, "quantity": name, "agent": agent.get(name), "server": ours[name]}
                )
        if [p["index"] for p in agent["points"]] != [p["index"] for p in ours["points"]]:
            out.append(
                {
                    **flag,
                    "quantity": "points",
                    "agent": [p["index"] for p in agent["points"]],
                    "server": [p["index"] for p in ours["points"]],
                }
            )
            continue
        for name in ("coefficients", "u_coefficients"):
            theirs, mine = agent[name], ours[name]
            if len(theirs) != len(mine):
                out.append({**flag, "quantity": name, "agent": theirs, "server": mine})
                continue
            for j, (a, b) in enumerate(zip(theirs, mine, strict=True)):
                scale = ours["u_coefficients"][j] if name == "coefficients" else 0.0
                if not _near(a, b, scale):
                    out.append({**flag, "quantity": f"{name}[{j}]", "agent": a, "server": b})
        for name in ("x0", "residual_sd", "chi_square"):
            a, b = agent.get(name), ours.get(name)
            if (a is None) != (b is None) or (
                a is not None and b is not None and not _near(float(a), float(b), 0.0)
            ):
                out.append({**flag, "quantity": name, "agent": a, "server": b})
    return out


def _near(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= CURVE_TOLERANCE * max(abs(a), abs(b), scale)


# Order of the statements, worst first: a run's verdict is its worst point or check.
_VERDICTS = ("fail", "conditional fail", "conditional pass", "pass")


def run_conformity(point_statements: list[str], checks: list[dict[str, Any]]) -> str:
    """The run's statement of conformity: ``fail`` when a point or a test-level check
    fails, else the worst point statement (a passed check counts as ``pass``); empty
    when nothing was judged (a calibration without limits or checks)."""
    statements = [s for s in point_statements if s]
    statements += ["pass" if c["passed"] else "fail" for c in checks]
    for verdict in _VERDICTS:
        if verdict in statements:
            return verdict
    return ""
