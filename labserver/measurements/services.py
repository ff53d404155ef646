"""Receiving runs from agents, and review and approval with electronic signatures."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from labserver.accounts.access import require_field, require_role
from labserver.accounts.auth import AgentPrincipal
from labserver.accounts.lockout import check_signature_password, counts_signature_failures
from labserver.accounts.models import Membership, Role, User
from labserver.core import audit
from labserver.core.errors import (
    BadSignature,
    Conflict,
    InvalidEvidence,
    InvalidTransition,
    NotPermitted,
    StandardNotUsable,
)
from labserver.jobs.models import Job, JobState, Procedure
from labserver.jobs.services import ACCEPTS_RUNS, locked_job, move_job
from labserver.standards.models import ReferenceStandard
from procedures.definition import ProcedureDefinition, definition_from_data

from .evaluation import (
    check_certified_quantities,
    evaluate_derived,
    evaluate_point,
    procedure_limits,
    procedure_scopes,
    run_conformity,
)
from .models import Point, Reading, Run, RunSignature, RunState, StandardUsage

SIGNATURE_HEADER = "X-Caltrace-Signature"


_DEFINITIONS: dict[str, ProcedureDefinition] = {}


def parsed_procedure(procedure: Procedure) -> ProcedureDefinition:
    """The checked definition of a catalog entry (parsed once per content hash)."""
    parsed = _DEFINITIONS.get(procedure.content_hash)
    if parsed is None:
        parsed = definition_from_data(procedure.definition, source=str(procedure))
        _DEFINITIONS[procedure.content_hash] = parsed
    return parsed


def canonical_sha256(data: Any) -> str:
    """SHA-256 of the canonical JSON of a parsed body (key order and spacing do not matter)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_signature(agent_public_key_b64: str, body: bytes, signature_b64: str | None) -> None:
    """Check the agent's Ed25519 signature over the exact request body."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not signature_b64:
        raise BadSignature(f"the payload is not signed: the {SIGNATURE_HEADER} header is missing")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature(f"{SIGNATURE_HEADER}: not valid base64") from None
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(agent_public_key_b64))
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise BadSignature(
            "the signature does not match the payload and the agent's registered key"
        ) from None


@dataclass(frozen=True)
class Submission:
    run: Run
    created: bool


def find_existing(run_id: Any, digest: str) -> Run | None:
    """An earlier submission with this id: the same body is answered again, another is 409."""
    existing = Run.objects.filter(pk=run_id).first()
    if existing is None:
        return None
    if existing.payload_sha256 != digest:
        raise Conflict(f"run {run_id} was already submitted with a different body", field="run_id")
    return existing


def submit_run(
    *,
    principal: AgentPrincipal,
    data: dict[str, Any],
    validated: dict[str, Any],
    signature: str,
) -> Submission:
    """Store a run submitted by an agent, re-evaluated by the server. Idempotent by run id.

    ``data`` is the parsed body whose signature the caller verified
    (:func:`verify_signature`), ``validated`` the same body validated.
    """
    digest = canonical_sha256(data)
    existing = find_existing(validated["run_id"], digest)
    if existing is not None:
        return Submission(existing, created=False)
    try:
        with transaction.atomic():
            run = _store_run(principal, data, validated, digest, signature)
    except IntegrityError:
        existing = find_existing(validated["run_id"], digest)
        if existing is None:
            raise
        return Submission(existing, created=False)
    return Submission(run, created=True)


def _store_run(
    principal: AgentPrincipal, data: dict[str, Any], v: dict[str, Any], digest: str, signature: str
) -> Run:
    agent = principal.agent
    org_id = agent.organization_id
    job = (
        Job.objects.select_for_update(of=("self",))
        .select_related("procedure", "instrument__instrument_type", "bench", "assignee")
        .filter(organization_id=org_id, number=v["job"])
        .first()
    )
    if job is None:
        raise InvalidEvidence(f"job: no job {v['job']!r} in this organization", field="job")
    if job.state not in ACCEPTS_RUNS:
        raise InvalidTransition(
            f"job {job.number} is {job.state}: it does not accept runs", field="job"
        )
    if job.bench_id is not None and job.bench_id != agent.pk:
        raise NotPermitted(f"job {job.number} is assigned to another bench", field="job")
    procedure = job.procedure
    ref = v["procedure"]
    if (ref["id"], ref["version"], ref["hash"]) != (
        procedure.procedure_id,
        procedure.version,
        procedure.content_hash,
    ):
        raise InvalidEvidence(
            f"procedure: the job requires {procedure.procedure_id} v{procedure.version} "
            f"({procedure.content_hash[:12]}…), the run used {ref['id']} v{ref['version']} "
            f"({ref['hash'][:12]}…)",
            field="procedure",
        )
    operator = _operator(v["operator"], org_id, procedure.field)
    used_on = timezone.localdate(v["started_at"])
    supersedes = None
    if v["supersedes"] is not None:
        supersedes = Run.objects.filter(pk=v["supersedes"], job=job).first()
        if supersedes is None or supersedes.state != RunState.REJECTED:
            raise InvalidEvidence("supersedes: not a rejected run of this job", field="supersedes")

    usages = _check_standards(v["standards"], org_id, used_on)

    definition = parsed_procedure(procedure)
    specification = job.instrument.specification or {}
    scopes = procedure_scopes(definition, v["points"], specification)
    limits = procedure_limits(definition, v["points"], specification, scopes)
    evaluations = [
        evaluate_point(
            point,
            f"points[{i}]",
            rule=definition.decision_rule,
            max_ratio=definition.max_uncertainty_ratio,
            limits=point_limits,
        )
        for i, (point, point_limits) in enumerate(zip(v["points"], limits, strict=True))
    ]
    check_certified_quantities(definition, v["points"], scopes, usages, used_on)
    # Checks and curves from the points as the server evaluated them, not the agent's word.
    derived = evaluate_derived(
        definition,
        [{**p, "result": e.result} for p, e in zip(v["points"], evaluations, strict=True)],
        specification,
        claimed_checks=data.get("checks") or [],
        claimed_curves=data.get("curves") or {},
    )
    conformity = run_conformity([e.conformity for e in evaluations], derived.checks)
    # One per disagreeing point, check and curve.
    disagreements = sum(1 for e in evaluations if e.disagreement) + len(
        {
            (d["item"], d.get("check"), tuple(d.get("points", ())), d.get("test"))
            for d in derived.disagreement
        }
    )

    run = Run.objects.create(
        id=v["run_id"],
        organization_id=org_id,
        job=job,
        agent=agent,
        operator=operator,
        procedure=procedure,
        supersedes=supersedes,
        software_version=v["software_version"],
        started_at=v["started_at"],
        finished_at=v["finished_at"],
        environment=data.get("environment", {}),
        raw_io=data.get("raw_io", []),
        payload=data,
        payload_sha256=digest,
        signature=signature,
        response={},
        disagreements=disagreements,
        agent_checks=data.get("checks") or [],
        server_checks=derived.checks,
        agent_curves=data.get("curves") or {},
        server_curves=derived.curves,
        disagreement=derived.disagreement,
        server_conformity=conformity,
    )
    points = Point.objects.bulk_create(
        [
            Point(
                run=run,
                index=p["index"],
                test=p["test"],
                nominal=p["nominal"],
                unit=p["unit"],
                model=p["model"],
                output=p["output"],
                readings_quantity=p["readings_quantity"],
                acceptance=e.result.get("acceptance") or p.get("acceptance") or {},
                agent_result=data["points"][i]["result"],
                server_result=e.result,
                agent_conformity=p.get("conformity", ""),
                server_conformity=e.conformity,
                disagreement=e.disagreement,
            )
            for i, (p, e) in enumerate(zip(v["points"], evaluations, strict=True))
        ]
    )
    if any(p.pk is None for p in points):  # backends without RETURNING
        points = list(Point.objects.filter(run=run).order_by("index"))
        by_index = {p.index: p for p in points}
        points = [by_index[p["index"]] for p in v["points"]]
    Reading.objects.bulk_create(
        [
            Reading(
                point=point,
                index=j,
                quantity=r["quantity"],
                value=r["value"],
                unit=r["unit"],
                timestamp=r["timestamp"],
                stable=r["stable"],
                raw=r["raw"],
            )
            for point, p in zip(points, v["points"], strict=True)
            for j, r in enumerate(p["readings"])
        ]
    )
    StandardUsage.objects.bulk_create(
        [StandardUsage(run=run, used_on=used_on, **usage) for usage in usages]
    )
    RunSignature.objects.create(
        run=run,
        user=operator,
        name=operator.signature_name(),
        meaning=RunSignature.Meaning.PERFORMED,
        signed_at=v["finished_at"],
        comment=f"submitted by agent {agent.name}",
    )
    if job.state != JobState.IN_PROGRESS:
        job = move_job(job, JobState.IN_PROGRESS, actor=principal)
    move_job(job, JobState.MEASURED, actor=principal)
    response = {
        "run_id": str(run.id),
        "job": job.number,
        "state": run.state,
        "payload_sha256": digest,
        "disagreements": disagreements,
        "conformity": conformity,
        "checks": derived.checks,
        "curves": derived.curves,
        "disagreement": derived.disagreement,
        "points": [
            {
                "index": p["index"],
                "server": e.result,
                "conformity": e.conformity,
                "disagreement": e.disagreement,
            }
            for p, e in zip(v["points"], evaluations, strict=True)
        ],
    }
    run.response = json.loads(json.dumps(response))
    Run.objects.filter(pk=run.pk).update(response=run.response)
    audit.record(
        actor=principal,
        action="run.submit",
        object_type="run",
        object_id=run.pk,
        organization_id=org_id,
        after={
            "job": job.number,
            "operator": operator.username,
            "points": len(points),
            "disagreements": disagreements,
            "conformity": conformity,
            "payload_sha256": digest,
            "supersedes": str(supersedes.pk) if supersedes else None,
        },
    )
    return run


def _operator(username: str, org_id: int, field: str) -> User:
    membership = (
        Membership.objects.select_related("user")
        .filter(
            user__username=username,
            organization_id=org_id,
            role=Role.METROLOGIST,
            active=True,
            user__is_active=True,
        )
        .first()
    )
    if membership is None:
        raise NotPermitted(
            f"operator: {username!r} is not an active metrologist of this organization",
            field="operator",
        )
    if field not in (membership.fields or []):
        raise NotPermitted(
            f"operator: {username}'s certification does not cover the field '{field}'",
            field="operator",
        )
    return membership.user


def _check_standards(
    standards: list[dict[str, Any]], org_id: int, used_on: Any
) -> list[dict[str, Any]]:
    by_asset = {
        s.asset_id: s
        for s in ReferenceStandard.objects.filter(
            organization_id=org_id, asset_id__in=[u["asset_id"] for u in standards]
        )
    }
    usages = []
    for i, used in enumerate(standards):
        where = f"standards[{i}]"
        standard = by_asset.get(used["asset_id"])
        if standard is None:
            raise InvalidEvidence(
                f"{where}.asset_id: no reference standard {used['asset_id']!r} in this "
                "organization",
                field=f"{where}.asset_id",
            )
        status = standard.status_on(used_on)
        if not status.usable or status.certificate is None:
            raise StandardNotUsable(
                f"{where}: reference standard {standard.asset_id} cannot be used on {used_on}: "
                f"{status.status.label.lower()} ({status.reason})",
                field=f"{where}.asset_id",
            )
        low, high = used["range"]
        if not standard.covers(used["function"], used["unit"], low, high):
            raise StandardNotUsable(
                f"{where}: reference standard {standard.asset_id} does not cover "
                f"{used['function']} {low}..{high} {used['unit']}",
                field=f"{where}.range",
            )
        usages.append(
            {
                "standard": standard,
                "certificate": status.certificate,
                "role": used["role"],
                "function": used["function"],
                "range_low": low,
                "range_high": high,
                "unit": used["unit"],
            }
        )
    return usages


# ---------------------------------------------------------------- review and approval


SIGNATURE_ACTIONS: dict[str, str] = {
    RunSignature.Meaning.CHECKED: "run.review",
    RunSignature.Meaning.AUTHORIZED: "run.approve",
    RunSignature.Meaning.REJECTED: "run.reject",
}


def _check_signer(actor: User, run: Run, password: str, meaning: str) -> None:
    """The signer's password again; a refusal is counted towards the signature lock."""
    check_signature_password(
        actor,
        password,
        signing=SIGNATURE_ACTIONS[meaning],
        object_type="run",
        object_id=run.pk,
        organization_id=run.organization_id,
    )


def _sign(run: Run, actor: User, meaning: str, state: str, job_state: str, comment: str) -> Run:
    """Record ``actor``'s electronic signature, move the run and its job; one audit entry."""
    RunSignature.objects.create(
        run=run,
        user=actor,
        name=actor.signature_name(),
        meaning=meaning,
        signed_at=timezone.now(),
        comment=comment,
    )
    before = run.state
    run.state = state
    run.save(update_fields=["state"])
    move_job(locked_job(run.job_id), job_state, actor=actor, reason=comment)
    audit.record(
        actor=actor,
        action=SIGNATURE_ACTIONS[meaning],
        object_type="run",
        object_id=run.pk,
        organization_id=run.organization_id,
        before={"state": before},
        after={"state": state, "signed_by": actor.signature_name(), "meaning": meaning},
        reason=comment,
    )
    return run


def _locked_run(run: Run) -> Run:
    return (
        Run.objects.select_for_update(of=("self",))
        .select_related("job", "procedure", "operator")
        .get(pk=run.pk)
    )


def _signers(run: Run) -> dict[str, int]:
    return {s.meaning: s.user_id for s in run.signatures.all()}


@counts_signature_failures
@transaction.atomic
def review_run(*, actor: User, run: Run, password: str, comment: str = "") -> Run:
    """Checked by: a reviewer who did not perform the run."""
    run = _locked_run(run)
    require_role(actor, run.organization_id, Role.REVIEWER, action="reviewing a run")
    _check_signer(actor, run, password, RunSignature.Meaning.CHECKED)
    if run.state != RunState.SUBMITTED:
        raise InvalidTransition(f"run {run.pk} is {run.state}: only a submitted run is reviewed")
    if run.operator_id == actor.pk:
        raise NotPermitted("a reviewer cannot review a run they performed")
    return _sign(
        run, actor, RunSignature.Meaning.CHECKED, RunState.REVIEWED, JobState.REVIEWED, comment
    )


@counts_signature_failures
@transaction.atomic
def approve_run(*, actor: User, run: Run, password: str, comment: str = "") -> Run:
    """Authorized by: a signatory certified for the field, neither performer nor reviewer."""
    run = _locked_run(run)
    require_role(actor, run.organization_id, Role.SIGNATORY, action="approving a run")
    require_field(
        actor, run.organization_id, Role.SIGNATORY, run.procedure.field, action="approving a run"
    )
    _check_signer(actor, run, password, RunSignature.Meaning.AUTHORIZED)
    if run.state != RunState.REVIEWED:
        raise InvalidTransition(f"run {run.pk} is {run.state}: only a reviewed run can be approved")
    signers = _signers(run)
    if actor.pk in (run.operator_id, signers.get(RunSignature.Meaning.CHECKED)):
        raise NotPermitted("a run cannot be approved by the person who performed or reviewed it")
    return _sign(
        run, actor, RunSignature.Meaning.AUTHORIZED, RunState.APPROVED, JobState.APPROVED, comment
    )


@counts_signature_failures
@transaction.atomic
def reject_run(*, actor: User, run: Run, password: str, reason: str) -> Run:
    """Send a run back with a reason; the job returns to in progress for a new run."""
    run = _locked_run(run)
    require_role(
        actor, run.organization_id, Role.REVIEWER, Role.SIGNATORY, action="rejecting a run"
    )
    _check_signer(actor, run, password, RunSignature.Meaning.REJECTED)
    if not reason.strip():
        raise InvalidEvidence("reason: a rejection needs a reason", field="reason")
    if run.state not in (RunState.SUBMITTED, RunState.REVIEWED):
        raise InvalidTransition(f"run {run.pk} is {run.state}: it cannot be rejected")
    if run.operator_id == actor.pk:
        raise NotPermitted("a run cannot be rejected by the person who performed it")
    return _sign(
        run, actor, RunSignature.Meaning.REJECTED, RunState.REJECTED, JobState.IN_PROGRESS, reason
    )
