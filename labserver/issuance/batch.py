"""Issuing the certificates of many approved runs by one signature act.

The password is entered once (:func:`labserver.measurements.batch.batch_act`); every
certificate is still numbered, built, signed, checked with ``verify_pdf`` and stored by
:func:`.services.issue_signed` in an issuing transaction of its own, exactly as a single
issue: a run whose certificate cannot be produced (not approved, already certified, an
incomplete record, a key that cannot sign) rolls back alone, its number included, so no
number is ever consumed without its certificate, and it is reported with the reason
while the others are issued.
"""

from __future__ import annotations

from collections.abc import Iterable

from labserver.accounts.models import User
from labserver.measurements.batch import ISSUE, BatchResult, batch_act
from labserver.measurements.models import Run

from .services import issue_signed

__all__ = ["issue_certificates"]


def issue_certificates(*, actor: User, runs: Iterable[Run], password: str) -> BatchResult:
    """Issue the certificate of each approved run of ``runs`` (one organization): a
    signatory of it, certified for each run's field; the outcome per run."""

    def sign(run: Run, batch: str) -> str:
        certificate = issue_signed(
            actor=actor, run=run, check_signer=lambda locked: None, batch=batch
        )
        return certificate.number

    return batch_act(ISSUE, actor, runs, password, sign)
