"""Issuing the certificates of many approved runs by one signature act, and of every
instrument of a multi-position run by one.

The password is entered once (:func:`labserver.measurements.batch.batch_act`); every
certificate is still numbered, built, signed, checked with ``verify_pdf`` and stored by
:func:`.services.issue_signed` in an issuing transaction of its own, exactly as a single
issue: a run whose certificate cannot be produced (not approved, already certified, an
incomplete record, a key that cannot sign) rolls back alone, its number included, so no
number is ever consumed without its certificate, and it is reported with the reason
while the others are issued.

A multi-position run gives one certificate per measured position (its instrument, its
job): each position is one such issue, refused and rolled back alone with its reason; a
skipped or removed position gets none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from labserver.accounts.models import User
from labserver.core.errors import DomainError, InvalidTransition
from labserver.measurements.batch import ISSUE, BatchResult, Outcome, batch_act
from labserver.measurements.models import Run

from .models import Certificate
from .services import certifiable_positions, issue_signed

__all__ = ["issue_certificates", "issue_run_certificates"]


def _issue_positions(actor: User, run: Run, batch: str) -> list[Outcome]:
    """A certificate for each certifiable position of ``run`` without one yet, each in
    its own issuing transaction; the outcome per position."""
    issued = set(
        Certificate.objects.filter(run=run, position__isnull=False).values_list(
            "position_id", flat=True
        )
    )
    waiting = [p for p in certifiable_positions(run) if p.pk not in issued]
    if not waiting:
        raise InvalidTransition(
            f"run {run.pk}: every measured position already has its certificate", field="run"
        )
    outcomes = []
    for position in waiting:
        try:
            certificate = issue_signed(
                actor=actor,
                run=run,
                check_signer=lambda locked: None,
                position=position,
                batch=batch,
            )
        except DomainError as exc:
            outcomes.append(Outcome(run, refused=exc.detail, position=position.number))
        else:
            outcomes.append(Outcome(run, certificate=certificate.number, position=position.number))
    return outcomes


def _sign(actor: User) -> Callable[[Run, str], list[Outcome]]:
    def sign(run: Run, batch: str) -> list[Outcome]:
        if run.positions.exists():
            return _issue_positions(actor, run, batch)
        certificate = issue_signed(
            actor=actor, run=run, check_signer=lambda locked: None, batch=batch
        )
        return [Outcome(run, certificate=certificate.number)]

    return sign


def issue_certificates(*, actor: User, runs: Iterable[Run], password: str) -> BatchResult:
    """Issue the certificate of each approved run of ``runs`` (one organization), and of
    each measured position of a multi-position one: a signatory of it, certified for each
    run's field; the outcome per run (per position)."""
    return batch_act(ISSUE, actor, runs, password, _sign(actor))


def issue_run_certificates(*, actor: User, run: Run, password: str) -> BatchResult:
    """Issue the certificates of every measured position of the approved multi-position
    ``run`` by one signature act (the password once): the outcome per position."""
    return issue_certificates(actor=actor, runs=[run], password=password)
