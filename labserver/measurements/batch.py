"""Batches: many runs reviewed or approved by one signature act (the password entered once).

A batch is the work of one person on runs of one organization. What is atomic:

* **the act's password**, checked once before any run is touched, in a transaction of its
  own, with the signature lock of :mod:`labserver.accounts.lockout` applied once: a wrong
  password counts one failure and refuses the whole act (nothing signed); a locked signer
  is refused without the password being looked at;
* **each run**, signed in a transaction of its own with the same checks as a single
  signature (the state, the four eyes, the field) and its own electronic signature record
  and audit entry naming the batch. A run that is refused is reported with the reason and
  rolls back alone; the others go on. A run signed stays signed if a later one fails.
  An unexpected error (a fault, not a refusal) stops the act where it is: the runs signed
  before it stay signed, each with its own audit entry, and the act's entry is not written.

One more audit entry records the act itself (``batch.review``, ``batch.approve``,
``batch.issue``): who, which runs were signed and which were refused, and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from django.db import transaction

from labserver.accounts.access import require_role
from labserver.accounts.lockout import check_signature_password, counts_signature_failures
from labserver.accounts.models import Role, User
from labserver.core import audit
from labserver.core.errors import DomainError, InvalidEvidence, InvalidTransition

from .models import Run
from .services import (
    locked_run,
    require_approver_field,
    sign_approval,
    sign_review,
)

__all__ = [
    "APPROVAL",
    "ISSUE",
    "REVIEW",
    "Act",
    "BatchResult",
    "Outcome",
    "approve_runs",
    "batch_act",
    "review_runs",
]


@dataclass(frozen=True)
class Outcome:
    """What the act did to one run, or to one ``position`` of a multi-position run (its
    instrument's certificate): done (with the certificate's number, when one was issued),
    or refused with the reason."""

    run: Run
    refused: str = ""
    certificate: str = ""
    position: int | None = None

    @property
    def key(self) -> str:
        """The run's id, and the position's number after ``#`` when it is one's."""
        return str(self.run.pk) if self.position is None else f"{self.run.pk}#{self.position}"

    @property
    def done(self) -> bool:
        return not self.refused


@dataclass(frozen=True)
class BatchResult:
    """The act's id (in every audit entry it wrote) and its outcome for each run, in the
    order given."""

    batch: str
    outcomes: list[Outcome]

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.done]

    @property
    def by_position(self) -> bool:
        """Whether an outcome is a position's (a multi-position run's certificates)."""
        return any(o.position is not None for o in self.outcomes)


def _organization_of(runs: list[Run]) -> int:
    """The one organization of the batch's runs; a batch of none, or of several, is refused."""
    if not runs:
        raise InvalidEvidence("runs: choose at least one run", field="runs")
    organizations = {run.organization_id for run in runs}
    if len(organizations) != 1:
        raise InvalidEvidence("runs: a batch holds the runs of one organization", field="runs")
    return organizations.pop()


@counts_signature_failures
@transaction.atomic
def _check_password(actor: User, password: str, *, signing: str, batch: str, org: int) -> None:
    check_signature_password(
        actor, password, signing=signing, object_type="batch", object_id=batch, organization_id=org
    )


@dataclass(frozen=True)
class Act:
    """A kind of batch: the role it needs and the signature it puts on each run (the audit
    action of that signature)."""

    role: str
    signing: str


REVIEW = Act(Role.REVIEWER, "run.review")
APPROVAL = Act(Role.SIGNATORY, "run.approve")
ISSUE = Act(Role.SIGNATORY, "certificate.issue")


def batch_act(
    act: Act,
    actor: User,
    runs: Iterable[Run],
    password: str,
    sign: Callable[[Run, str], list[Outcome]],
) -> BatchResult:
    """The frame of every batch: the runs of one organization, ``actor`` holding the act's
    role in it, the password checked once for the act's signing, then ``sign(run, batch)``
    for each run, whose :class:`DomainError` refuses that run only; ``sign`` returns the
    outcomes it reached for the run: one (with the number of the certificate it issued,
    if it issued one), or one per position whose certificate it issued or refused.

    ``sign`` makes its own transaction, so this must not run inside one for the runs to be
    independent (the issuing transaction insists: it is durable)."""
    unique = list({run.pk: run for run in runs}.values())
    org = _organization_of(unique)
    require_role(actor, org, act.role, action=f"signing a batch ({act.signing})")
    batch = str(uuid.uuid4())
    _check_password(actor, password, signing=act.signing, batch=batch, org=org)
    outcomes = []
    for run in unique:
        try:
            outcomes.extend(sign(run, batch))
        except DomainError as exc:
            outcomes.append(Outcome(run, refused=exc.detail))
    result = BatchResult(batch, outcomes)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=f"batch.{act.signing.split('.')[-1]}",
            object_type="batch",
            object_id=batch,
            organization_id=org,
            after={
                "signing": act.signing,
                "done": list(dict.fromkeys(str(o.run.pk) for o in result.done)),
                "certificates": [o.certificate for o in result.done if o.certificate],
                "refused": {o.key: o.refused for o in result.refused},
            },
        )
    return result


def review_runs(
    *,
    actor: User,
    runs: Iterable[Run],
    password: str,
    comment: str = "",
    acknowledged: Collection[uuid.UUID] = (),
) -> BatchResult:
    """ "Checked by" on many runs, one password: a reviewer of their organization.

    A run whose server evaluation disagrees with the bench's is reviewed only when its id
    is in ``acknowledged`` (the reviewer has read the disagreements); otherwise it is
    refused and reported, and the count is in its audit entry when it is reviewed."""

    def sign(run: Run, batch: str) -> list[Outcome]:
        with transaction.atomic():
            locked = locked_run(run)
            if locked.disagreements and locked.pk not in acknowledged:
                raise InvalidTransition(
                    f"job {locked.job.number}: {locked.disagreements} disagreement(s) between "
                    "the bench and the server not acknowledged by the reviewer",
                    field="acknowledged",
                )
            sign_review(
                actor, locked, comment, batch=batch, acknowledged=locked.disagreements or None
            )
        return [Outcome(run)]

    return batch_act(REVIEW, actor, runs, password, sign)


def approve_runs(
    *, actor: User, runs: Iterable[Run], password: str, comment: str = ""
) -> BatchResult:
    """ "Authorized by" on many runs, one password: a signatory of their organization,
    certified for each run's field (a run of a field they are not certified for is
    refused and reported), neither performer nor reviewer of it."""

    def sign(run: Run, batch: str) -> list[Outcome]:
        with transaction.atomic():
            locked = locked_run(run)
            require_approver_field(actor, locked)
            sign_approval(actor, locked, comment, batch=batch)
        return [Outcome(run)]

    return batch_act(APPROVAL, actor, runs, password, sign)
