"""Nonconformities opened on the national registry's word: a recall notice arrived.

The national node traces a standard found out of tolerance through every center and writes
a recall notice per affected certificate and standard (:mod:`labserver.registry.recalls`);
each center receives the notices addressed to it by replication. Here a center turns them
into its own nonconformity (ISO/IEC 17025 7.10), the record a standard found out of
tolerance at home opens (:func:`.services.open_nonconformity`): one per organization and
out-of-tolerance fact, on the organization's standard the upstream one calibrated (the
shallowest the notices name), listing the organization's certificates the notices name,
naming the upstream standard and its owner, audited. The center's quality manager then
decides on each certificate and closes it as on any nonconformity.

Nobody opens it: the node does (``manage.py registry_recalls open``, a scheduled task), so
its audit entry's actor is the system and ``opened_by`` is empty. Run again, it opens
nothing twice (a nonconformity per organization and fact, a unique constraint); notices of
the same fact arriving later (a certificate the national node learned of after) are added
to the nonconformity while it is open. A notice that names a certificate or a standard the
organization does not hold, or that arrives after its nonconformity was closed, is
reported, never dropped: the command says which and exits non-zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from labserver.accounts.models import Organization
from labserver.core import audit
from labserver.core.numbering import next_value
from labserver.issuance.models import Certificate
from labserver.issuance.services import certificate_state
from labserver.registry.models import RecallNoticeFact
from labserver.standards.models import ReferenceStandard, StandardCertificate

from .models import AffectedItem, Nonconformity

__all__ = ["Answered", "NoticeProblem", "open_notified_nonconformities"]


@dataclass(frozen=True)
class NoticeProblem:
    """A notice this node could not act on, and why."""

    key: str
    issuer: str
    why: str

    def __str__(self) -> str:
        return f"notice {self.key} to {self.issuer}: {self.why}"


@dataclass
class Answered:
    """What one organization's notices of one out-of-tolerance fact became."""

    issuer: str
    out_of_tolerance: str
    nonconformity: str = ""
    opened: bool = False
    added: list[str] = field(default_factory=list)
    """The numbers listed by this run (all of them when it opened the nonconformity)."""
    local: bool = False
    """The standard is the organization's own: its own nonconformity answers it."""

    def __str__(self) -> str:
        if self.local:
            return (
                f"{self.issuer}: {self.out_of_tolerance}: the standard is {self.issuer}'s own, "
                "its own nonconformity answers it"
            )
        if self.opened:
            return (
                f"{self.issuer}: nonconformity {self.nonconformity} opened on "
                f"{self.out_of_tolerance}, listing {', '.join(self.added) or 'no certificate'}"
            )
        if self.added:
            return (
                f"{self.issuer}: nonconformity {self.nonconformity}: {', '.join(self.added)} added"
            )
        return f"{self.issuer}: nonconformity {self.nonconformity}: nothing new"


def _addressees() -> dict[str, Organization]:
    """The organizations of this node notices may be addressed to (all but customers)."""
    return {o.code: o for o in Organization.objects.exclude(kind=Organization.Kind.CUSTOMER).all()}


def open_notified_nonconformities() -> tuple[list[Answered], list[NoticeProblem]]:
    """Open (or complete) a nonconformity for every organization of this node and
    out-of-tolerance fact its arrived notices name; a transaction each. What each group
    became, and the notices that could not be acted on."""
    organizations = _addressees()
    groups: dict[tuple[str, str], list[RecallNoticeFact]] = defaultdict(list)
    for notice in RecallNoticeFact.objects.filter(issuer__in=organizations).order_by(
        "out_of_tolerance", "issuer", "depth", "key"
    ):
        groups[(notice.issuer, notice.out_of_tolerance)].append(notice)
    answers: list[Answered] = []
    problems: list[NoticeProblem] = []
    for (issuer, fact), notices in groups.items():
        if notices[0].owner == issuer:
            answers.append(Answered(issuer, fact, local=True))
            continue
        try:
            answer, trouble = _answer(organizations[issuer], fact, notices)
        except IntegrityError:  # another run opened it meanwhile (the unique constraint)
            trouble = [
                NoticeProblem(n.key, issuer, "another run was opening its nonconformity: run again")
                for n in notices
            ]
            answer = Answered(issuer, fact)
        answers.append(answer)
        problems += trouble
    return answers, problems


def _items(
    organization: Organization, notices: list[RecallNoticeFact]
) -> tuple[list[tuple[RecallNoticeFact, AffectedItem]], list[NoticeProblem]]:
    """The affected items (not saved, no nonconformity yet) of the notices this
    organization holds what they name of; the others as problems."""
    numbers = [n.number for n in notices if n.kind == RecallNoticeFact.Kind.CERTIFICATE]
    held = {
        c.number: c
        for c in Certificate.objects.filter(
            organization=organization, number__in=numbers
        ).prefetch_related("events")
    }
    items, problems = [], []
    for notice in notices:
        item = AffectedItem(
            number=notice.number,
            organization_code=organization.code,
            depth=notice.depth,
            via_standard=notice.via_standard,
            used_on=notice.used_on,
        )
        if notice.kind == RecallNoticeFact.Kind.CERTIFICATE:
            certificate = held.get(notice.number)
            if certificate is None:
                problems.append(
                    NoticeProblem(
                        notice.key,
                        notice.issuer,
                        f"certificate {notice.number} is not one {organization.code} issued "
                        "on this node",
                    )
                )
                continue
            item.kind = AffectedItem.Kind.CERTIFICATE
            item.certificate = certificate
            item.status = str(certificate_state(certificate).status)
        else:
            standard = _standard(organization, notice.affected_standard)
            if standard is None:
                problems.append(
                    NoticeProblem(
                        notice.key,
                        notice.issuer,
                        f"standard {notice.affected_standard} is not one of "
                        f"{organization.code}'s on this node",
                    )
                )
                continue
            item.kind = AffectedItem.Kind.STANDARD_CERTIFICATE
            item.standard_certificate = StandardCertificate.objects.filter(
                standard=standard, number=notice.number
            ).first()
            item.status = "recorded"
        items.append((notice, item))
    return items, problems


def _standard(organization: Organization, asset_id: str) -> ReferenceStandard | None:
    return ReferenceStandard.objects.filter(organization=organization, asset_id=asset_id).first()


@transaction.atomic
def _answer(
    organization: Organization, fact: str, notices: list[RecallNoticeFact]
) -> tuple[Answered, list[NoticeProblem]]:
    answer = Answered(organization.code, fact)
    existing = (
        Nonconformity.objects.select_for_update(of=("self",))
        .filter(organization=organization, notified_by=fact)
        .first()
    )
    if existing is not None:
        listed = set(existing.affected.values_list("number", "kind"))
        notices = [n for n in notices if (n.number, _kind(n)) not in listed]
        answer.nonconformity = existing.number
        if not notices:
            return answer, []
        if existing.status != Nonconformity.Status.OPEN:
            return answer, [
                NoticeProblem(
                    n.key,
                    n.issuer,
                    f"arrived after nonconformity {existing.number} was closed: open a new "
                    "one by hand, or reopen the question with the national registry",
                )
                for n in notices
            ]
    items, problems = _items(organization, notices)
    if not items:
        return answer, problems
    if existing is None:
        existing = _open(organization, [n for n, _ in items])
        if existing is None:
            return answer, problems + [
                NoticeProblem(
                    n.key,
                    n.issuer,
                    f"no standard of {organization.code} on this node to open the "
                    f"nonconformity on (the notices name {n.via_owner} {n.via_standard})",
                )
                for n, _ in items
            ]
        answer.opened = True
    for _, item in items:
        item.nonconformity = existing
    AffectedItem.objects.bulk_create([item for _, item in items])
    answer.nonconformity = existing.number
    answer.added = [item.number for _, item in items]
    first = items[0][0]
    audit.record(
        actor=None,
        action="nonconformity.open" if answer.opened else "nonconformity.notified",
        object_type="nonconformity",
        object_id=existing.number,
        organization_id=organization.pk,
        after={
            "standard": existing.standard.asset_id,
            "notified_by": fact,
            "upstream": f"{first.owner}/{first.standard}",
            "out_of_tolerance_since": existing.out_of_tolerance_since,
            "found_on": existing.found_on,
            "certificates": sorted(
                i.number for _, i in items if i.kind == AffectedItem.Kind.CERTIFICATE
            ),
            "standard_certificates": sorted(
                i.number for _, i in items if i.kind != AffectedItem.Kind.CERTIFICATE
            ),
            "notices": [n.key for n, _ in items],
        },
        reason="notified by the national registry",
    )
    return answer, problems


def _kind(notice: RecallNoticeFact) -> str:
    if notice.kind == RecallNoticeFact.Kind.CERTIFICATE:
        return AffectedItem.Kind.CERTIFICATE
    return AffectedItem.Kind.STANDARD_CERTIFICATE


def _open(organization: Organization, notices: list[RecallNoticeFact]) -> Nonconformity | None:
    """The nonconformity, on the organization's standard the shallowest standard notice
    names (else the standard the certificates relied on, when this node holds it)."""
    anchor, standard = None, None
    for notice in notices:  # shallowest first
        if notice.kind == RecallNoticeFact.Kind.STANDARD:
            standard = _standard(organization, notice.affected_standard)
        else:
            standard = ReferenceStandard.objects.filter(
                organization__code=notice.via_owner, asset_id=notice.via_standard
            ).first()
        if standard is not None:
            anchor = notice
            break
    if anchor is None or standard is None:
        return None
    year = timezone.localdate().year
    sequence = next_value(f"nonconformity:{organization.code}:{year}")
    via = f" through {anchor.affected_standard}" if anchor.affected_standard else ""
    return Nonconformity.objects.create(
        organization=organization,
        number=f"{organization.code}-NC-{year}-{sequence:04d}",
        standard=standard,
        out_of_tolerance_since=anchor.window_start,
        found_on=timezone.localdate(),
        description=(
            f"Notified by the national registry: standard {anchor.standard} of "
            f"{anchor.owner}, found out of tolerance on {anchor.found_on.isoformat()} "
            f"(out of tolerance since {anchor.since.isoformat()}), was relied on{via}, "
            f"at depth {anchor.depth} (registry fact {anchor.out_of_tolerance})."
        ),
        opened_by=None,
        opened_at=timezone.now(),
        notified_by=anchor.out_of_tolerance,
        upstream_owner=anchor.owner,
        upstream_standard=anchor.standard,
    )
