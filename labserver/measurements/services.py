"""Receiving runs from agents, and review and approval with electronic signatures."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from labserver.accounts.access import require_field, require_role
from labserver.accounts.auth import AgentPrincipal
from labserver.accounts.lockout import check_signature_password, counts_signature_failures
from labserver.accounts.models import Agent, Membership, Role, User
from labserver.core import audit
from labserver.core.errors import (
    BadSignature,
    Conflict,
    InvalidEvidence,
    InvalidTransition,
    NotInRegister,
    NotPermitted,
    StandardNotUsable,
)
from labserver.instruments.models import Instrument, InstrumentType
from labserver.jobs.models import Job, JobState, Procedure, parsed_procedure
from labserver.jobs.services import ACCEPTS_RUNS, locked_job, move_job
from labserver.registry import national
from labserver.standards.models import ReferenceStandard
from procedures.record import Point as RecordPoint
from procedures.record import Position, ProcedureRef, RunRecord, StandardUsed

from .evaluation import (
    DerivedEvaluation,
    PointEvaluation,
    check_certified_quantities,
    check_register_resolutions,
    evaluate_derived,
    evaluate_point,
    procedure_rules,
    procedure_scopes,
    run_conformity,
)
from .models import Point, Reading, Run, RunPosition, RunSignature, RunState, StandardUsage
from .position_jobs import match_position_jobs, move_position_jobs, start_position_jobs

SIGNATURE_HEADER = "X-Caltrace-Signature"


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


@dataclass(frozen=True)
class Received:
    """A run as the LIMS received it: the run record read from the body, the body itself
    (kept as the evidence received, never read again), its canonical SHA-256 and the
    agent's signature over its bytes."""

    record: RunRecord
    body: dict[str, Any]
    digest: str
    signature: str


@dataclass(frozen=True)
class Evaluated:
    """The server's evaluation of a run: each point's, the checks and curves computed
    from the points as the server evaluated them, the run's statement, and how many
    points, checks and curves the agent's claims differ on."""

    points: list[PointEvaluation]
    derived: DerivedEvaluation
    conformity: str
    disagreements: int
    positions: tuple[Evaluated, ...] = ()
    """A multi-position run's: each position's evaluation, in the record's order (the run's
    own ``points`` are then empty)."""


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
    body: dict[str, Any],
    record: RunRecord,
    signature: str,
) -> Submission:
    """Store a run submitted by an agent, re-evaluated by the server. Idempotent by run id.

    ``body`` is the parsed body whose signature the caller verified
    (:func:`verify_signature`), ``record`` the same body read as a run record
    (:meth:`procedures.record.RunRecord.from_json`): everything stored is read from the
    record; the body is kept as received.
    """
    digest = canonical_sha256(body)
    run_id = uuid.UUID(record.header.run_id)
    existing = find_existing(run_id, digest)
    if existing is not None:
        return Submission(existing, created=False)
    try:
        with transaction.atomic():
            run = _store_run(principal, Received(record, body, digest, signature))
    except IntegrityError:
        existing = find_existing(run_id, digest)
        if existing is None:
            raise
        return Submission(existing, created=False)
    return Submission(run, created=True)


def _store_run(principal: AgentPrincipal, received: Received) -> Run:
    """Check the run against the job, the operator and the standards, evaluate it, and
    store it with its points, readings, standards used and the performer's signature."""
    record = received.record
    header = record.header
    agent = principal.agent
    org_id = agent.organization_id
    job = _job_taking(agent, header.job)
    _check_procedure(job.procedure, header.procedure)
    position_jobs = match_position_jobs(agent, job, record.positions) if record.positions else []
    operator = _operator(header.operator, org_id, job.procedure.field)
    # The day of use in the organization's zone, the day its certificate will print.
    used_on = timezone.localdate(header.started, agent.organization.zone)
    supersedes = _superseded(header.supersedes, job)
    check_national_registers(
        operator, agent.organization.code, job, [j for j in position_jobs if j], used_on
    )
    usages = _check_standards(header.standards, org_id, used_on)
    evaluated = _evaluate(job, record, usages, used_on, position_jobs)
    run = _create_run(principal, job, operator, supersedes, received, evaluated)
    points = _create_points(run, record.points, evaluated)
    _create_readings(points, record.points)
    for position, by_server, its_job in zip(
        record.positions, evaluated.positions, position_jobs, strict=True
    ):
        points += _create_position(run, position, by_server, its_job)
    StandardUsage.objects.bulk_create(
        [StandardUsage(run=run, used_on=used_on, **usage) for usage in usages]
    )
    RunSignature.objects.create(
        run=run,
        user=operator,
        name=operator.signature_name(),
        meaning=RunSignature.Meaning.PERFORMED,
        signed_at=record.finished,
        comment=f"submitted by agent {agent.name}",
    )
    if job.state != JobState.IN_PROGRESS:
        job = move_job(job, JobState.IN_PROGRESS, actor=principal)
    move_job(job, JobState.MEASURED, actor=principal)
    start_position_jobs(job, position_jobs, record.positions, actor=principal)
    _answer(run, job, received.digest, record, evaluated)
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
            **({"positions": len(record.positions)} if record.positions else {}),
            "disagreements": evaluated.disagreements,
            "conformity": evaluated.conformity,
            "payload_sha256": received.digest,
            "supersedes": str(supersedes.pk) if supersedes else None,
        },
    )
    return run


def _job_taking(agent: Agent, number: str) -> Job:
    """The job ``number`` of the agent's organization, locked, if it takes a run from
    this agent."""
    job = (
        Job.objects.select_for_update(of=("self",))
        .select_related("procedure", "instrument__instrument_type", "bench", "assignee")
        .filter(organization_id=agent.organization_id, number=number)
        .first()
    )
    if job is None:
        raise InvalidEvidence(f"job: no job {number!r} in this organization", field="job")
    if job.state not in ACCEPTS_RUNS:
        raise InvalidTransition(
            f"job {job.number} is {job.state}: it does not accept runs", field="job"
        )
    if job.bench_id is not None and job.bench_id != agent.pk:
        raise NotPermitted(f"job {job.number} is assigned to another bench", field="job")
    return job


def _check_procedure(procedure: Procedure, ref: ProcedureRef) -> None:
    """The run carried out the procedure version the job requires."""
    if (ref.id, ref.version, ref.hash) != (
        procedure.procedure_id,
        procedure.version,
        procedure.content_hash,
    ):
        raise InvalidEvidence(
            f"procedure: the job requires {procedure.procedure_id} v{procedure.version} "
            f"({procedure.content_hash[:12]}…), the run used {ref.id} v{ref.version} "
            f"({ref.hash[:12]}…)",
            field="procedure",
        )


def _superseded(run_id: str | None, job: Job) -> Run | None:
    """The rejected run of this job that the run supersedes, if it names one."""
    if run_id is None:
        return None
    supersedes = Run.objects.filter(pk=uuid.UUID(run_id), job=job).first()
    if supersedes is None or supersedes.state != RunState.REJECTED:
        raise InvalidEvidence("supersedes: not a rejected run of this job", field="supersedes")
    return supersedes


def _evaluate(
    job: Job,
    record: RunRecord,
    usages: list[dict[str, Any]],
    used_on: date,
    position_jobs: list[Job | None],
) -> Evaluated:
    """Every point evaluated by the server with the procedure's limits, the certified
    quantities checked against the certificates in force, then the checks and curves
    computed from the points as the server evaluated them, not the agent's word.

    A multi-position run: each position the same way, its points read with the shared
    readings of their index beside its own and its instrument's parameters over the
    specification of its own instrument (its job's; the run's job's for a skipped one
    without a job); the run's statement is its worst position's."""
    specification = job.instrument.specification or {}
    if not record.positions:
        return _evaluate_points(
            job,
            [p.to_json() for p in record.points],
            specification,
            usages,
            used_on,
            checks=[c.to_json() for c in record.checks],
            curves={k: c.to_json() for k, c in (record.curves or {}).items()},
        )
    shared = {s.index: [r.to_json() for r in s.readings] for s in record.shared}
    positions = tuple(
        _evaluate_position(
            job,
            i,
            position,
            shared,
            (its_job.instrument.specification or {}) if its_job is not None else specification,
            usages,
            used_on,
        )
        for i, (position, its_job) in enumerate(zip(record.positions, position_jobs, strict=True))
    )
    return Evaluated(
        points=[],
        derived=DerivedEvaluation([], {}, []),
        conformity=run_conformity([p.conformity for p in positions], []),
        disagreements=sum(p.disagreements for p in positions),
        positions=positions,
    )


def _evaluate_position(
    job: Job,
    i: int,
    position: Position,
    shared: dict[int, list[dict[str, Any]]],
    specification: dict[str, Any],
    usages: list[dict[str, Any]],
    used_on: date,
) -> Evaluated:
    """One position's points and checks evaluated; a refusal names the position."""
    points = []
    for point in position.points:
        data = point.to_json()
        data["readings"] = shared.get(point.index, []) + data["readings"]
        points.append(data)
    try:
        evaluated = _evaluate_points(
            job,
            points,
            {**specification, **(position.instrument.parameters or {})},
            usages,
            used_on,
            checks=[c.to_json() for c in position.checks],
            curves={},
        )
    except InvalidEvidence as exc:
        field = f"positions[{i}].{exc.field}" if exc.field else f"positions[{i}]"
        raise InvalidEvidence(f"positions[{i}].{exc.detail}", field=field) from None
    if position.state != "measured" and evaluated.conformity != "fail":
        # A position removed after some points passed is not judged: what it did not
        # finish is no pass (as the bench states it, procedures.record.Position.verdict).
        return replace(evaluated, conformity="")
    return evaluated


def _evaluate_points(
    job: Job,
    points: list[dict[str, Any]],
    specification: dict[str, Any],
    usages: list[dict[str, Any]],
    used_on: date,
    *,
    checks: list[dict[str, Any]],
    curves: dict[str, dict[str, Any]],
) -> Evaluated:
    """``points`` (their JSON) evaluated, with the checks and curves derived from them."""
    definition = parsed_procedure(job.procedure)
    if not points:  # a position skipped, or removed before its first point
        return Evaluated([], DerivedEvaluation([], {}, []), "", 0)
    scopes = procedure_scopes(definition, points, specification)
    evaluations = [
        evaluate_point(
            point,
            f"points[{i}]",
            rule=definition.decision_rule,
            max_ratio=definition.max_uncertainty_ratio,
            limits=limits,
        )
        for i, (point, limits) in enumerate(
            zip(points, procedure_rules(definition, points, scopes), strict=True)
        )
    ]
    check_certified_quantities(definition, points, scopes, usages, used_on)
    check_register_resolutions(definition, points)
    derived = evaluate_derived(
        definition,
        [{**p, "result": e.result} for p, e in zip(points, evaluations, strict=True)],
        specification,
        claimed_checks=checks,
        claimed_curves=curves,
    )
    conformity = run_conformity([e.conformity for e in evaluations], derived.checks)
    # One per disagreeing point, check and curve.
    disagreements = sum(1 for e in evaluations if e.disagreement) + len(
        {
            (d["item"], d.get("check"), tuple(d.get("points", ())), d.get("test"))
            for d in derived.disagreement
        }
    )
    return Evaluated(evaluations, derived, conformity, disagreements)


def _create_run(
    principal: AgentPrincipal,
    job: Job,
    operator: User,
    supersedes: Run | None,
    received: Received,
    evaluated: Evaluated,
) -> Run:
    record = received.record
    header = record.header
    stored = [
        r.taken_at
        for points in (record.points, *(position.points for position in record.positions))
        for p in points
        for r in p.readings
    ]
    return Run.objects.create(
        id=uuid.UUID(header.run_id),
        organization_id=principal.agent.organization_id,
        job=job,
        agent=principal.agent,
        operator=operator,
        procedure=job.procedure,
        supersedes=supersedes,
        software_version=header.software_version,
        started_at=header.started,
        finished_at=record.finished,
        # the window of the readings stored below (the shared ones stay in the payload)
        readings_from=min(stored, default=None),
        readings_until=max(stored, default=None),
        environment=dict(header.environment or {}),
        raw_io=[dict(entry) for entry in record.raw_io],
        payload=received.body,
        payload_sha256=received.digest,
        signature=received.signature,
        response={},
        disagreements=evaluated.disagreements,
        agent_checks=[c.to_json() for c in record.checks],
        server_checks=evaluated.derived.checks,
        agent_curves={k: c.to_json() for k, c in (record.curves or {}).items()},
        server_curves=evaluated.derived.curves,
        disagreement=evaluated.derived.disagreement,
        server_conformity=evaluated.conformity,
    )


def _create_position(
    run: Run, position: Position, evaluated: Evaluated, job: Job | None
) -> list[Point]:
    """A position of the run with its instrument's job, its points and their own readings
    (the shared ones are in the run's payload, once)."""
    row = RunPosition.objects.create(
        run=run,
        number=position.position,
        job=job,
        serial=position.instrument.serial,
        instrument_type=position.instrument.type,
        parameters=dict(position.instrument.parameters or {}),
        state=position.state,
        reason=position.reason or "",
        agent_checks=[c.to_json() for c in position.checks],
        server_checks=evaluated.derived.checks,
        disagreement=evaluated.derived.disagreement,
        disagreements=evaluated.disagreements,
        server_conformity=evaluated.conformity,
        identity=position.identity.to_json() if position.identity is not None else None,
    )
    points = _create_points(run, position.points, evaluated, position=row)
    _create_readings(points, position.points)
    return points


def _create_points(
    run: Run,
    record_points: tuple[RecordPoint, ...],
    evaluated: Evaluated,
    *,
    position: RunPosition | None = None,
) -> list[Point]:
    """The points (of the run, or of one of its positions) with the agent's and the
    server's results and the server's budget, in the record's order."""
    points = Point.objects.bulk_create(
        [
            Point(
                run=run,
                position=position,
                index=p.index,
                test=p.test,
                nominal=p.nominal,
                unit=p.unit,
                model=p.model,
                output=p.output,
                readings_quantity=p.readings_quantity,
                acceptance=(
                    e.result.get("acceptance")
                    or (p.acceptance.to_json() if p.acceptance is not None else {})
                ),
                agent_result=p.result.to_json(),
                server_result=e.result,
                budget=e.budget,
                agent_conformity=p.conformity,
                server_conformity=e.conformity,
                disagreement=e.disagreement,
            )
            for p, e in zip(record_points, evaluated.points, strict=True)
        ]
    )
    if any(p.pk is None for p in points):  # backends without RETURNING
        by_index = {p.index: p for p in Point.objects.filter(run=run, position=position)}
        points = [by_index[p.index] for p in record_points]
    return points


def _create_readings(points: list[Point], record_points: tuple[RecordPoint, ...]) -> None:
    Reading.objects.bulk_create(
        [
            Reading(
                point=point,
                index=j,
                quantity=p.quantity_of(r),
                value=r.value,
                unit=r.unit,
                timestamp=r.taken_at,
                stable=r.stable,
                raw=r.raw,
            )
            for point, p in zip(points, record_points, strict=True)
            for j, r in enumerate(p.readings)
        ]
    )


def _answer(run: Run, job: Job, digest: str, record: RunRecord, evaluated: Evaluated) -> None:
    """The answer to the submission, kept to be given again for the same body."""
    response = {
        "run_id": str(run.id),
        "job": job.number,
        "state": run.state,
        "payload_sha256": digest,
        "disagreements": evaluated.disagreements,
        "conformity": evaluated.conformity,
        "checks": evaluated.derived.checks,
        "curves": evaluated.derived.curves,
        "disagreement": evaluated.derived.disagreement,
        "points": [
            {
                "index": p.index,
                "server": e.result,
                "conformity": e.conformity,
                "disagreement": e.disagreement,
            }
            for p, e in zip(record.points, evaluated.points, strict=True)
        ],
    }
    if record.positions:
        response["positions"] = [
            {
                "position": p.position,
                "state": p.state,
                "conformity": e.conformity,
                "disagreements": e.disagreements,
                "checks": e.derived.checks,
                "points": [
                    {"index": q.index, "server": qe.result, "conformity": qe.conformity}
                    for q, qe in zip(p.points, e.points, strict=True)
                ],
            }
            for p, e in zip(record.positions, evaluated.positions, strict=True)
        ]
    run.response = json.loads(json.dumps(response))
    Run.objects.filter(pk=run.pk).update(response=run.response)


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


def check_national_registers(
    operator: User, organization: str, job: Job, more_jobs: list[Job], on: date
) -> None:
    """On a node where the national registers are enforced (``CALTRACE_NATIONAL_REGISTERS``):
    the operator holds a verifier's certification in force on ``on`` for the procedure's
    field or instrument type, and, for a verification, every instrument of a type whose
    legal category requires pattern approval has an approval in force on ``on``, in the
    registers as replicated to this node (:mod:`labserver.registry.national`). Elsewhere,
    nothing is checked."""
    if not national.enforced():
        return
    procedure = job.procedure
    membership = Membership.objects.filter(
        user=operator, organization__code=organization, role=Role.METROLOGIST
    ).first()
    instrument_type = job.instrument.instrument_type
    refusal = national.verifier_refusal(
        username=operator.username,
        certificate_number=membership.certificate_number if membership else "",
        organization=organization,
        field=procedure.field,
        instrument_type=instrument_type.code,
        on=on,
    )
    if refusal:
        raise NotInRegister(refusal, field="operator")
    if procedure.kind != Procedure.Kind.VERIFICATION:
        return
    instruments: list[Instrument] = [job.instrument, *(j.instrument for j in more_jobs)]
    for instrument in {i.pk: i for i in instruments}.values():
        if instrument.instrument_type.legal_category != InstrumentType.LegalCategory.GROUP_1:
            continue
        refusal = national.pattern_refusal(
            serial=instrument.serial,
            pattern=instrument.pattern.number if instrument.pattern else None,
            on=on,
        )
        if refusal:
            raise NotInRegister(refusal, field="instrument")


def _check_standards(
    standards: tuple[StandardUsed, ...], org_id: int, used_on: Any
) -> list[dict[str, Any]]:
    """Each standard the run names, usable on the date of use and covering its range:
    the ``StandardUsage`` fields of each, with the certificate in force."""
    by_asset = {
        s.asset_id: s
        for s in ReferenceStandard.objects.filter(
            organization_id=org_id, asset_id__in=[u.asset_id for u in standards]
        )
    }
    usages = []
    for i, used in enumerate(standards):
        where = f"standards[{i}]"
        standard = by_asset.get(used.asset_id)
        if standard is None:
            raise InvalidEvidence(
                f"{where}.asset_id: no reference standard {used.asset_id!r} in this organization",
                field=f"{where}.asset_id",
            )
        status = standard.status_on(used_on)
        if not status.usable or status.certificate is None:
            raise StandardNotUsable(
                f"{where}: reference standard {standard.asset_id} cannot be used on {used_on}: "
                f"{status.status.label.lower()} ({status.reason})",
                field=f"{where}.asset_id",
            )
        if not standard.covers(used.function, used.unit, used.low, used.high):
            raise StandardNotUsable(
                f"{where}: reference standard {standard.asset_id} does not cover "
                f"{used.function} {used.low}..{used.high} {used.unit}",
                field=f"{where}.range",
            )
        usages.append(
            {
                "standard": standard,
                "certificate": status.certificate,
                "role": used.role,
                "function": used.function,
                "range_low": used.low,
                "range_high": used.high,
                "unit": used.unit,
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


def _sign(
    run: Run,
    actor: User,
    meaning: str,
    state: str,
    job_state: str,
    comment: str,
    **more: Any,
) -> Run:
    """Record ``actor``'s electronic signature, move the run and its job; one audit entry
    (``more``: what else it states, e.g. the batch the signature was given in)."""
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
    move_position_jobs(run, job_state, actor=actor, reason=comment)
    audit.record(
        actor=actor,
        action=SIGNATURE_ACTIONS[meaning],
        object_type="run",
        object_id=run.pk,
        organization_id=run.organization_id,
        before={"state": before},
        after={
            "state": state,
            "signed_by": actor.signature_name(),
            "meaning": meaning,
            **more,
        },
        reason=comment,
    )
    return run


def locked_run(run: Run) -> Run:
    """``run`` read again with its row locked until the transaction ends."""
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
    run = locked_run(run)
    require_role(actor, run.organization_id, Role.REVIEWER, action="reviewing a run")
    _check_signer(actor, run, password, RunSignature.Meaning.CHECKED)
    return sign_review(actor, run, comment)


def sign_review(actor: User, run: Run, comment: str, **more: Any) -> Run:
    """The reviewer's signature on ``run`` (locked, role and password checked by the
    caller): refused unless the run is submitted and was performed by someone else."""
    if run.state != RunState.SUBMITTED:
        raise InvalidTransition(f"run {run.pk} is {run.state}: only a submitted run is reviewed")
    if run.operator_id == actor.pk:
        raise NotPermitted("a reviewer cannot review a run they performed")
    return _sign(
        run,
        actor,
        RunSignature.Meaning.CHECKED,
        RunState.REVIEWED,
        JobState.REVIEWED,
        comment,
        **more,
    )


@counts_signature_failures
@transaction.atomic
def approve_run(*, actor: User, run: Run, password: str, comment: str = "") -> Run:
    """Authorized by: a signatory certified for the field, neither performer nor reviewer;
    on a node enforcing the national registers, only while they let the run stand."""
    run = locked_run(run)
    require_role(actor, run.organization_id, Role.SIGNATORY, action="approving a run")
    require_approver_field(actor, run)
    _check_signer(actor, run, password, RunSignature.Meaning.AUTHORIZED)
    return sign_approval(actor, run, comment)


def require_approver_field(actor: User, run: Run) -> None:
    """The signatory's certification covers the field of the run's procedure."""
    require_field(
        actor, run.organization_id, Role.SIGNATORY, run.procedure.field, action="approving a run"
    )


def sign_approval(actor: User, run: Run, comment: str, **more: Any) -> Run:
    """The signatory's signature on ``run`` (locked, role, field and password checked by the
    caller): refused unless the run is reviewed and neither performed nor reviewed by them,
    and, on a node enforcing the national registers, unless they still let the run stand on
    the day it was performed (:func:`check_national_registers`)."""
    if run.state != RunState.REVIEWED:
        raise InvalidTransition(f"run {run.pk} is {run.state}: only a reviewed run can be approved")
    if national.enforced():  # no query at all where the registers are not enforced
        check_national_registers(
            run.operator,
            run.organization.code,
            run.job,
            [
                p.job
                for p in run.positions.select_related("job__instrument__instrument_type")
                if p.job is not None
            ],
            timezone.localdate(run.started_at, run.organization.zone),
        )
    signers = _signers(run)
    if actor.pk in (run.operator_id, signers.get(RunSignature.Meaning.CHECKED)):
        raise NotPermitted("a run cannot be approved by the person who performed or reviewed it")
    return _sign(
        run,
        actor,
        RunSignature.Meaning.AUTHORIZED,
        RunState.APPROVED,
        JobState.APPROVED,
        comment,
        **more,
    )


@counts_signature_failures
@transaction.atomic
def reject_run(*, actor: User, run: Run, password: str, reason: str) -> Run:
    """Send a run back with a reason; the job returns to in progress for a new run."""
    run = locked_run(run)
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
