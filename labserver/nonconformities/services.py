"""The out-of-tolerance workflow (ISO/IEC 17025 7.10): opening a nonconformity with its
reverse trace, deciding per affected certificate, closing."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from labserver.accounts.access import has_role, readable_organization_ids, require_role
from labserver.accounts.lockout import counts_signature_failures
from labserver.accounts.models import Role, User
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError, InvalidTransition
from labserver.core.numbering import next_value
from labserver.issuance.models import Certificate, CertificateStatus
from labserver.issuance.services import certificate_state, revoke_certificate
from labserver.standards.models import ReferenceStandard
from labserver.standards.services import mark_out_of_tolerance
from labserver.traceability import queries

from . import reevaluation
from .models import AffectedItem, Decision, Nonconformity

KEEPERS = (Role.QUALITY_MANAGER,)


def _require_open(nonconformity: Nonconformity) -> None:
    if nonconformity.status != Nonconformity.Status.OPEN:
        raise InvalidTransition(
            f"nonconformity {nonconformity.number} is {nonconformity.status}", field="status"
        )


def _locked(nonconformity: Nonconformity) -> Nonconformity:
    return (
        Nonconformity.objects.select_for_update(of=("self",))
        .select_related("organization", "standard")
        .get(pk=nonconformity.pk)
    )


@transaction.atomic
def open_nonconformity(
    *,
    actor: User,
    standard: ReferenceStandard,
    out_of_tolerance_since: date,
    found_on: date,
    description: str,
    shift: float | None = None,
    shift_unit: str = "",
) -> Nonconformity:
    """Open the nonconformity of a standard found out of tolerance (ISO/IEC 17025 7.10):
    a quality manager of the standard's organization marks the standard out of tolerance
    since ``out_of_tolerance_since`` (``mark_out_of_tolerance``, its own audit entry) and
    records the reverse trace from that day to today as it stands now: every issued
    certificate and downstream standard certificate of the organizations the quality
    manager reads. With ``shift`` (in ``shift_unit``, the certificate's unit) each issued
    certificate's verdict is re-evaluated and the answer kept with its row.

    One open nonconformity per standard at a time (409 otherwise).
    """
    require_role(actor, standard.organization_id, *KEEPERS, action="opening a nonconformity")
    if not description.strip():
        raise DomainError("description: required", field="description")
    today = timezone.localdate()
    if found_on > today:
        raise DomainError(f"found_on: {found_on} is in the future", field="found_on")
    if out_of_tolerance_since > found_on:
        raise DomainError(
            "out_of_tolerance_since: after found_on: a standard is found out of tolerance "
            "on or after the day it went out",
            field="out_of_tolerance_since",
        )
    if (shift is None) != (not shift_unit):
        raise DomainError("shift_unit: give the shift and its unit together", field="shift_unit")
    shifted = reevaluation.Shift(shift, shift_unit) if shift is not None else None
    if Nonconformity.objects.filter(standard=standard, status=Nonconformity.Status.OPEN).exists():
        raise Conflict(
            f"standard: {standard.asset_id} already has an open nonconformity", field="standard"
        )
    standard = mark_out_of_tolerance(
        actor=actor, standard=standard, since=out_of_tolerance_since, reason=description.strip()
    )
    org = standard.organization
    year = timezone.localdate().year
    sequence = next_value(f"nonconformity:{org.code}:{year}")
    nonconformity = Nonconformity.objects.create(
        organization=org,
        number=f"{org.code}-NC-{year}-{sequence:04d}",
        standard=standard,
        out_of_tolerance_since=out_of_tolerance_since,
        found_on=found_on,
        description=description.strip(),
        shift=shift,
        shift_unit=shift_unit,
        opened_by=actor,
        opened_at=timezone.now(),
    )
    orgs = readable_organization_ids(actor)
    rows = list(queries.impact_rows(standard, out_of_tolerance_since, today, organization_ids=orgs))
    verdicts: dict[int, dict[str, Any]] = {}
    if shifted is not None:
        affected = reevaluation.affected_certificates(
            standard, out_of_tolerance_since, today, organization_ids=orgs
        )
        for answer in reevaluation.reevaluate(standard, affected, shifted):
            verdicts[answer["id"]] = {
                "shift": shift,
                "unit": shift_unit,
                "stored_verdict": answer["stored_verdict"],
                "re_evaluated_verdict": answer["re_evaluated_verdict"],
                "changed": answer["changed"],
                "not_re_evaluated": len(answer["not_re_evaluated"]),
            }
    AffectedItem.objects.bulk_create(
        [
            AffectedItem(
                nonconformity=nonconformity,
                kind=row["kind"],
                certificate_id=row["id"] if row["kind"] == "certificate" else None,
                standard_certificate_id=row["id"] if row["kind"] != "certificate" else None,
                number=row["number"],
                status=row["status"],
                organization_code=row["organization"],
                depth=row["depth"],
                via_standard=row["standard"],
                used_on=row["used_on"],
                function=row["function"] or "",
                range_low=row["range_low"],
                range_high=row["range_high"],
                unit=row["unit"] or "",
                reevaluation=verdicts.get(row["id"], {}) if row["kind"] == "certificate" else {},
            )
            for row in rows
        ]
    )
    issued = sorted({r["number"] for r in rows if r["kind"] == "certificate"})
    audit.record(
        actor=actor,
        action="nonconformity.open",
        object_type="nonconformity",
        object_id=nonconformity.number,
        organization_id=org.pk,
        after={
            "standard": standard.asset_id,
            "out_of_tolerance_since": out_of_tolerance_since,
            "found_on": found_on,
            "trace_to": today,
            "shift": shift,
            "shift_unit": shift_unit,
            "certificates": issued,
            "standard_certificates": sorted(
                {r["number"] for r in rows if r["kind"] != "certificate"}
            ),
        },
        reason=nonconformity.description,
    )
    return nonconformity


def affected_certificate_ids(nonconformity: Nonconformity) -> set[int]:
    """The issued certificates of the snapshot: each needs a decision."""
    return set(
        nonconformity.affected.filter(kind=AffectedItem.Kind.CERTIFICATE).values_list(
            "certificate_id", flat=True
        )
    )


def current_decisions(nonconformity: Nonconformity) -> dict[int, Decision]:
    """The decision in force for each decided certificate (the one nothing superseded)."""
    return {
        d.certificate_id: d
        for d in nonconformity.decisions.filter(superseded_by__isnull=True).select_related(
            "certificate", "decided_by"
        )
    }


@counts_signature_failures  # its recall signs a revocation inside this transaction
@transaction.atomic
def decide(
    *,
    actor: User,
    nonconformity: Nonconformity,
    certificate: Certificate,
    action: str,
    reason: str,
    password: str = "",
) -> Decision:
    """Record what is done about one affected certificate (a quality manager of the
    nonconformity's organization). A later decision supersedes the earlier one, which
    stays. ``recall`` revokes the certificate through
    ``issuance.services.revoke_certificate`` when the decider may revoke it there
    (signatory or quality manager of its organization; the password re-entered), else it
    is recorded as pending; ``amend`` is recorded (the amendment is a new run and
    certificate, issued later)."""
    nonconformity = _locked(nonconformity)
    require_role(
        actor, nonconformity.organization_id, *KEEPERS, action="deciding on a nonconformity"
    )
    _require_open(nonconformity)
    if action not in Decision.Action.values:
        raise DomainError(
            f"action: expected one of {', '.join(Decision.Action.values)}", field="action"
        )
    if not reason.strip():
        raise DomainError("reason: a decision states its reason", field="reason")
    if certificate.pk not in affected_certificate_ids(nonconformity):
        raise DomainError(
            f"certificate: {certificate.number} is not among the certificates affected by "
            f"{nonconformity.number}",
            field="certificate",
        )
    previous = current_decisions(nonconformity).get(certificate.pk)
    recall = Decision.Recall.NONE
    if action == Decision.Action.RECALL:
        if certificate_state(certificate).status == CertificateStatus.REVOKED:
            recall = Decision.Recall.ALREADY_REVOKED
        elif has_role(actor, certificate.organization_id, Role.SIGNATORY, Role.QUALITY_MANAGER):
            revoke_certificate(
                actor=actor,
                certificate=certificate,
                password=password,
                reason=f"{nonconformity.number}: {reason.strip()}",
            )
            recall = Decision.Recall.REVOKED
        else:
            recall = Decision.Recall.PENDING
    decision = Decision.objects.create(
        nonconformity=nonconformity,
        certificate=certificate,
        action=action,
        reason=reason.strip(),
        decided_by=actor,
        decided_at=timezone.now(),
        recall=recall,
        supersedes=previous,
    )
    audit.record(
        actor=actor,
        action="nonconformity.decide",
        object_type="nonconformity",
        object_id=nonconformity.number,
        organization_id=nonconformity.organization_id,
        before={"certificate": certificate.number, "action": previous.action} if previous else None,
        after={
            "certificate": certificate.number,
            "action": action,
            "recall": recall,
            "decision": decision.pk,
        },
        reason=decision.reason,
    )
    return decision


@transaction.atomic
def close_nonconformity(
    *, actor: User, nonconformity: Nonconformity, note: str = ""
) -> Nonconformity:
    """Close a nonconformity (a quality manager): every affected certificate decided, no
    recall left pending (409 naming them otherwise)."""
    nonconformity = _locked(nonconformity)
    require_role(actor, nonconformity.organization_id, *KEEPERS, action="closing a nonconformity")
    _require_open(nonconformity)
    decided = current_decisions(nonconformity)
    undecided = affected_certificate_ids(nonconformity) - set(decided)
    if undecided:
        numbers = sorted(
            Certificate.objects.filter(pk__in=undecided).values_list("number", flat=True)
        )
        raise InvalidTransition(
            f"nonconformity {nonconformity.number} cannot be closed: no decision yet for "
            f"{', '.join(numbers)}",
            field="decisions",
        )
    pending = sorted(
        d.certificate.number for d in decided.values() if d.recall == Decision.Recall.PENDING
    )
    if pending:
        raise InvalidTransition(
            f"nonconformity {nonconformity.number} cannot be closed: the recall of "
            f"{', '.join(pending)} is pending (revoke it, then record the decision again)",
            field="decisions",
        )
    nonconformity.status = Nonconformity.Status.CLOSED
    nonconformity.closed_by = actor
    nonconformity.closed_at = timezone.now()
    nonconformity.closing_note = note.strip()
    nonconformity.save(update_fields=["status", "closed_by", "closed_at", "closing_note"])
    audit.record(
        actor=actor,
        action="nonconformity.close",
        object_type="nonconformity",
        object_id=nonconformity.number,
        organization_id=nonconformity.organization_id,
        before={"status": Nonconformity.Status.OPEN},
        after={
            "status": Nonconformity.Status.CLOSED,
            "decisions": {d.certificate.number: d.action for d in decided.values()},
        },
        reason=nonconformity.closing_note,
    )
    return nonconformity
