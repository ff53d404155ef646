"""Would the verdict change? The reverse trace's issued certificates, re-evaluated with a
standard's certified value moved by a given amount.

Only what the server can recompute from its own records is recomputed, and with the
server's own code (:mod:`labserver.measurements.evaluation`), never a second evaluator:

- a certificate whose run used the standard **directly** (reverse-trace depth 1): each
  point whose model takes a quantity from that standard's certificate (a procedure
  binding ``{certificate: ROLE, quantity, at, take, unit}``, matched to the run's usage
  of the standard in that role and function, and to the value the stored model carries)
  is evaluated again by GUM with that quantity's value moved by ``shift`` (its
  uncertainty unchanged), its acceptance limits set from the procedure as at ingest,
  and the procedure's decision rule applied (``evaluate_point``); the run's verdict is
  then recomputed as at ingest (``evaluate_derived`` for the test-level checks,
  ``run_conformity`` for the worst statement);
- a point whose model binds no quantity to that standard, and a certificate that
  depends on it only through other standards (depth > 1), are reported "not
  re-evaluated" with the reason: how a shift of this standard moves another standard's
  certified values is not recorded, so it is not guessed.

``shift`` is in the unit of the certificate's value (``unit``); a certificate that states
the bound quantity in another unit refuses the request (400, ``field: unit``). A positive
shift means the standard was worth ``shift`` more than its certificate states (a
calibrator that delivered more, a weight heavier).

A run's verdict is the worst of its points and checks. When some of its points are not
re-evaluated, the new verdict is known only if a re-evaluated point fails (then the run
fails whatever the others say); otherwise it is reported unknown (``changed: null``).
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import prefetch_related_objects

from labserver.core.errors import DomainError, InvalidEvidence
from labserver.issuance.models import Certificate
from labserver.issuance.services import certificate_state
from labserver.jobs.models import parsed_procedure
from labserver.measurements.evaluation import (
    PAYLOAD_ROLES,
    bound_mismatch,
    evaluate_derived,
    evaluate_point,
    procedure_limits,
    procedure_scopes,
    run_conformity,
)
from labserver.measurements.models import Point, Run, StandardUsage
from labserver.measurements.partitions import readings_prefetch
from labserver.standards.models import ReferenceStandard
from labserver.standards.values import readable_values
from labserver.traceability import queries
from procedures.definition import ProcedureDefinition
from procedures.errors import ProcedureError
from procedures.evaluate import number
from procedures.scope import bound_quantity, certified_entry
from uncertainty.errors import UncertaintyError


@dataclass(frozen=True)
class Shift:
    """How far the standard's certified value moved, in the certificate's unit."""

    value: float
    unit: str

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not math.isfinite(self.value):
            raise DomainError(f"shift: not a finite number: {self.value!r}", field="shift")
        if not self.unit.strip():
            raise DomainError("unit: required (the unit of the certificate's value)", field="unit")


@dataclass(frozen=True)
class AffectedCertificate:
    """An issued certificate the reverse trace reached, with its smallest depth and the
    standards it reached it through."""

    certificate_id: int
    depth: int
    through: tuple[tuple[str, int], ...]  # (asset id of the standard used, depth)


def affected_certificates(
    standard: ReferenceStandard, start: date, end: date, *, organization_ids: Iterable[int]
) -> list[AffectedCertificate]:
    """The issued certificates of the reverse trace, one each, in the trace's order."""
    found: dict[int, list[tuple[str, int]]] = {}
    for row in queries.impact_rows(standard, start, end, organization_ids=organization_ids):
        if row["kind"] != "certificate":
            continue
        found.setdefault(row["id"], []).append((row["standard"], row["depth"]))
    return [
        AffectedCertificate(pk, min(d for _, d in uses), tuple(dict.fromkeys(uses)))
        for pk, uses in found.items()
    ]


def reevaluate(
    standard: ReferenceStandard, affected: list[AffectedCertificate], shift: Shift
) -> list[dict[str, Any]]:
    """One answer per affected certificate (see the module's docstring)."""
    certificates = (
        Certificate.objects.select_related("organization", "run__procedure", "run__job__instrument")
        .prefetch_related(
            "events",
            "run__standard_usages__certificate",
            "run__standard_usages__standard",
        )
        .in_bulk([a.certificate_id for a in affected])
    )
    # the readings once the runs are known: within the runs' windows, their years' partitions
    runs = [c.run for c in certificates.values()]
    prefetch_related_objects(runs, readings_prefetch(runs, "points__readings"))
    return [_certificate(standard, certificates[a.certificate_id], a, shift) for a in affected]


def _certificate(
    standard: ReferenceStandard,
    certificate: Certificate,
    affected: AffectedCertificate,
    shift: Shift,
) -> dict[str, Any]:
    run = certificate.run
    answer: dict[str, Any] = {
        "id": certificate.pk,
        "number": certificate.number,
        "status": str(certificate_state(certificate).status),
        "organization": certificate.organization.code,
        "run": str(uuid.UUID(str(run.pk))),
        "depth": affected.depth,
        "stored_verdict": run.server_conformity,
        "re_evaluated_verdict": None,
        "changed": None,
        "points": [],
        "not_re_evaluated": [],
        "checks": None,
    }
    indirect = [(asset, d) for asset, d in affected.through if d > 1]
    reasons = [
        f"depends on {standard.asset_id} indirectly, through {asset} (depth {d}): how the "
        f"shift moves {asset}'s certified values is not recorded"
        for asset, d in indirect
    ]
    direct = [u for u in run.standard_usages.all() if u.standard_id == standard.pk]
    points = sorted(run.points.all(), key=lambda p: p.index)
    if not direct:
        answer["not_re_evaluated"] = [{"index": None, "reason": r} for r in reasons]
        return answer
    if not points:
        answer["not_re_evaluated"] = [
            {"index": None, "reason": "the run has no points stored: nothing to re-evaluate"}
        ]
        return answer
    try:
        definition = parsed_procedure(run.procedure)
    except ProcedureError as exc:
        answer["not_re_evaluated"] = [
            {"index": None, "reason": f"the run's procedure cannot be read: {exc}"}
        ]
        return answer
    _points(answer, definition, run, points, direct, shift)
    for r in reasons:
        answer["not_re_evaluated"].append({"index": None, "reason": r})
    _verdict(answer, definition, run, points)
    for entry in answer["points"]:
        del entry["result"]
    return answer


def _stored_point(point: Point) -> dict[str, Any]:
    """The point as the server evaluated it at ingest, from the stored rows."""
    return {
        "index": point.index,
        "test": point.test,
        "nominal": point.nominal,
        "unit": point.unit,
        "model": copy.deepcopy(point.model),
        "output": point.output,
        "readings_quantity": point.readings_quantity,
        "readings": [
            {"value": r.value, "unit": r.unit, "quantity": r.quantity}
            for r in sorted(point.readings.all(), key=lambda r: r.index)
        ],
        "result": point.agent_result,
        "acceptance": point.acceptance,
        "conformity": point.agent_conformity,
    }


def _bound_to_standard(
    definition: ProcedureDefinition,
    stored: dict[str, Any],
    scope: dict[str, Any],
    direct: list[StandardUsage],
    shift: Shift,
    where: str,
) -> tuple[list[str], str | None]:
    """The model quantities of the point taken from the standard's certificate (as the
    run's check of certified quantities matched them), or the reason there are none."""
    test = definition.test(stored["test"])
    bound: list[str] = []
    for qname, binding in test.model["quantities"].items():
        if "certificate" not in binding:
            continue
        role = str(binding["certificate"])
        sent_as = role if role in PAYLOAD_ROLES else "reference"
        quantity = str(binding["quantity"])
        for usage in direct:
            if usage.role != sent_as or usage.function != quantity:
                continue
            try:
                at = number(binding.get("at", "nominal"), scope, where=f"{where}.{qname}.at")
            except ProcedureError as exc:
                return [], f"the nominal of {qname} cannot be set: {exc}"
            entry = certified_entry(readable_values(usage.certificate.values), quantity, at)
            if entry is None:
                continue
            entry_unit = str(entry.get("unit", ""))
            if entry_unit != shift.unit:
                raise DomainError(
                    f"unit: the shift is in {shift.unit!r}, but certificate "
                    f"{usage.certificate.number} of {usage.standard.asset_id} states "
                    f"{quantity} in {entry_unit!r}",
                    field="unit",
                )
            expected = bound_quantity(binding, entry)
            if expected["unit"] != entry_unit:
                return [], (
                    f"{qname} is taken in {expected['unit']!r} from a certificate value in "
                    f"{entry_unit!r}: the shift is not converted"
                )
            if bound_mismatch(stored["model"]["quantities"].get(qname), expected) is None:
                bound.append(qname)
                break
    if not bound:
        asset = direct[0].standard.asset_id
        return [], f"the model of test {stored['test']} binds no quantity to {asset}'s certificate"
    return bound, None


def _points(
    answer: dict[str, Any],
    definition: ProcedureDefinition,
    run: Run,
    points: list[Point],
    direct: list[StandardUsage],
    shift: Shift,
) -> None:
    stored = [_stored_point(p) for p in points]
    specification = run.job.instrument.specification or {}
    try:
        scopes = procedure_scopes(definition, stored, specification)
    except InvalidEvidence as exc:
        answer["not_re_evaluated"] = [
            {"index": p.index, "reason": f"cannot be set up again: {exc.detail}"} for p in points
        ]
        return
    for i, (point, before, scope) in enumerate(zip(points, stored, scopes, strict=True)):
        where = f"points[{i}]"
        bound, reason = _bound_to_standard(definition, before, scope, direct, shift, where)
        if reason is not None:
            answer["not_re_evaluated"].append({"index": point.index, "reason": reason})
            continue
        shifted = copy.deepcopy(before)
        for qname in bound:
            q = shifted["model"]["quantities"][qname]
            q["value"] = float(q["value"]) + shift.value
        try:
            after = _evaluate(definition, shifted, scope, specification, where)
        except (InvalidEvidence, UncertaintyError, ProcedureError) as exc:
            answer["not_re_evaluated"].append(
                {"index": point.index, "reason": f"cannot be re-evaluated: {exc}"}
            )
            continue
        old = point.server_result
        answer["points"].append(
            {
                "index": point.index,
                "test": point.test,
                "nominal": point.nominal,
                "unit": point.unit,
                "quantities": bound,
                "stored": {
                    "error": old.get("value"),
                    "U": old.get("U"),
                    "conformity": point.server_conformity,
                    "acceptance": old.get("acceptance") or point.acceptance or None,
                },
                "re_evaluated": {
                    "error": after.result["value"],
                    "U": after.result["U"],
                    "conformity": after.conformity,
                    "acceptance": after.result.get("acceptance") or shifted["acceptance"] or None,
                    "acceptance_interval": after.result.get("acceptance_interval"),
                    "decision_rule": after.result.get("decision_rule"),
                },
                "result": after.result,
                "changed": after.conformity != point.server_conformity,
            }
        )


def _evaluate(
    definition: ProcedureDefinition,
    point: dict[str, Any],
    scope: dict[str, Any],
    specification: dict[str, Any],
    where: str,
) -> Any:
    """The server's evaluation of the shifted point, as at ingest: the GUM result first
    (limits may depend on it, as they depend on the reported result at ingest), then the
    limits from the procedure and the decision rule."""
    rule = definition.decision_rule
    ratio = definition.max_uncertainty_ratio
    first = evaluate_point({**point, "acceptance": {}}, where, rule=rule, max_ratio=ratio)
    point["result"] = {k: first.result[k] for k in ("value", "u", "U", "k")}
    [limits] = procedure_limits(definition, [point], specification, [scope])
    return evaluate_point(point, where, rule=rule, max_ratio=ratio, limits=limits)


def _verdict(
    answer: dict[str, Any], definition: ProcedureDefinition, run: Run, points: list[Point]
) -> None:
    done = {p["index"]: p for p in answer["points"]}
    stored = run.server_conformity
    if not done:
        return
    if len(done) < len(points) or answer["not_re_evaluated"]:
        if any(p["re_evaluated"]["conformity"] == "fail" for p in done.values()):
            answer["re_evaluated_verdict"] = "fail"
            answer["changed"] = stored != "fail"
        return
    results = []
    for point in points:
        entry = _stored_point(point)
        entry["result"] = done[point.index]["result"]
        results.append(entry)
    try:
        derived = evaluate_derived(
            definition,
            results,
            run.job.instrument.specification or {},
            claimed_checks=[],
            claimed_curves={},
        )
    except InvalidEvidence as exc:
        answer["not_re_evaluated"].append(
            {"index": None, "reason": f"the test-level checks cannot be recomputed: {exc}"}
        )
        return
    verdict = run_conformity(
        [done[p.index]["re_evaluated"]["conformity"] for p in points], derived.checks
    )
    answer["re_evaluated_verdict"] = verdict
    answer["changed"] = verdict != stored
    answer["checks"] = derived.checks
