"""Batch review, approval and issuing: one password entry per act, one signature per run.

The runs are submitted by the agent through the API (``tests.support.issuing``), one job
each; the batch services are called as the pages call them. Each certificate is signed
with the DEMO PKI for real and checked on its own by the public verification of an
uploaded file (``verify_upload``, which runs ``verify_pdf``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from labserver.accounts.lockout import SignatureLocked, WrongSignaturePassword
from labserver.accounts.models import SignatureGuard, User
from labserver.core.errors import InvalidEvidence, NotPermitted
from labserver.core.models import AuditEntry, Counter
from labserver.issuance.batch import issue_certificates
from labserver.issuance.models import Certificate
from labserver.issuance.verification import verify_upload
from labserver.measurements.batch import approve_runs, review_runs
from labserver.measurements.models import Run, RunSignature, RunState
from labserver.measurements.services import approve_run, review_run
from tests.support.issuing import disagreeing_run, submitted_run, submitted_runs
from tests.support.lims import PASSWORD, Center, next_job, with_serial

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_pki(demo_pki: Path) -> None:
    """Every certificate here is signed with the DEMO PKI."""


def approved_runs(center: Center, count: int) -> list[Run]:
    with_serial(center)
    runs = submitted_runs(center, count)
    review_runs(actor=center.reviewer, runs=runs, password=PASSWORD)
    approve_runs(actor=center.signatory, runs=runs, password=PASSWORD)
    return [Run.objects.get(pk=run.pk) for run in runs]


def states(runs: list[Run]) -> list[str]:
    return [Run.objects.get(pk=run.pk).state for run in runs]


def actions(*names: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action__in=names).order_by("pk"))


def after(entry: AuditEntry) -> dict[str, Any]:
    assert isinstance(entry.after, dict)
    return entry.after


# ------------------------------------------------------------------ one password, many signatures


def test_one_password_entry_reviews_each_run_with_its_own_signature(center: Center) -> None:
    runs = submitted_runs(center, 3)
    result = review_runs(actor=center.reviewer, runs=runs, password=PASSWORD, comment="ok")
    assert [o.done for o in result.outcomes] == [True, True, True]
    assert states(runs) == [RunState.REVIEWED] * 3
    for run in runs:
        [signature] = RunSignature.objects.filter(run=run, meaning=RunSignature.Meaning.CHECKED)
        assert (signature.user, signature.comment) == (center.reviewer, "ok")
    reviews = actions("run.review")
    assert sorted(e.object_id for e in reviews) == sorted(str(r.pk) for r in runs)
    assert {after(e)["batch"] for e in reviews} == {result.batch}
    [act] = actions("batch.review")
    assert (act.object_id, after(act)["refused"]) == (result.batch, {})
    assert sorted(after(act)["done"]) == sorted(str(r.pk) for r in runs)


def test_one_password_entry_approves_each_run(center: Center) -> None:
    runs = submitted_runs(center, 2)
    review_runs(actor=center.reviewer, runs=runs, password=PASSWORD)
    result = approve_runs(actor=center.signatory, runs=runs, password=PASSWORD)
    assert len(result.done) == 2
    assert states(runs) == [RunState.APPROVED] * 2
    assert len(actions("run.approve")) == 2
    assert RunSignature.objects.filter(meaning=RunSignature.Meaning.AUTHORIZED).count() == 2


def test_one_password_entry_issues_certificates_each_numbered_signed_and_verifiable(
    center: Center,
) -> None:
    runs = approved_runs(center, 3)
    result = issue_certificates(actor=center.signatory, runs=runs, password=PASSWORD)
    numbers = [o.certificate for o in result.outcomes]
    assert all(o.done for o in result.outcomes)
    assert len(set(numbers)) == 3
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3]  # gap-free, in order
    for number in numbers:
        certificate = Certificate.objects.get(number=number)
        data = (Path(settings.MEDIA_ROOT) / certificate.pdf.name).read_bytes()
        verdict = verify_upload(data)
        assert (verdict.status, verdict.number, verdict.problems) == ("valid", number, [])
    issues = actions("certificate.issue")
    assert [e.object_id for e in issues] == numbers
    assert {after(e)["batch"] for e in issues} == {result.batch}
    [act] = actions("batch.issue")
    assert after(act)["certificates"] == numbers


# ------------------------------------------------------------------ the password, once


def test_a_wrong_password_counts_once_and_refuses_the_whole_act(center: Center) -> None:
    runs = submitted_runs(center, 3)
    with pytest.raises(WrongSignaturePassword):
        review_runs(actor=center.reviewer, runs=runs, password="wrong")
    assert states(runs) == [RunState.SUBMITTED] * 3
    assert not RunSignature.objects.filter(meaning=RunSignature.Meaning.CHECKED).exists()
    assert SignatureGuard.objects.get(user=center.reviewer).failures == 1
    [failure] = actions("signature.fail")
    assert (failure.object_type, after(failure)["signing"]) == ("batch", "run.review")
    assert not actions("run.review", "batch.review")


def test_a_wrong_password_issues_nothing_and_consumes_no_number(center: Center) -> None:
    runs = approved_runs(center, 2)
    with pytest.raises(WrongSignaturePassword):
        issue_certificates(actor=center.signatory, runs=runs, password="wrong")
    assert not Certificate.objects.exists()
    assert not Counter.objects.filter(key__startswith="certificate:").exists()


def test_a_locked_signer_is_refused_without_the_password_being_looked_at(
    center: Center, settings: Any
) -> None:
    runs = submitted_runs(center, 2)
    for _ in range(int(settings.CALTRACE_SIGNATURE_FAILURE_LIMIT) - 1):
        with pytest.raises(WrongSignaturePassword):
            review_runs(actor=center.reviewer, runs=runs, password="wrong")
    with pytest.raises(SignatureLocked):
        review_runs(actor=center.reviewer, runs=runs, password="wrong")
    with pytest.raises(SignatureLocked):
        review_runs(actor=center.reviewer, runs=runs, password=PASSWORD)
    assert states(runs) == [RunState.SUBMITTED] * 2


# ------------------------------------------------------------------ a run refused, the others go on


def test_a_run_in_the_wrong_state_is_reported_and_the_others_are_reviewed(center: Center) -> None:
    runs = submitted_runs(center, 3)
    review_run(actor=center.reviewer, run=runs[1], password=PASSWORD)
    result = review_runs(actor=center.reviewer, runs=runs, password=PASSWORD)
    assert [o.done for o in result.outcomes] == [True, False, True]
    assert "is reviewed: only a submitted run is reviewed" in result.outcomes[1].refused
    [act] = actions("batch.review")
    assert after(act)["refused"] == {str(runs[1].pk): result.outcomes[1].refused}


def test_a_run_not_approved_is_reported_and_the_others_are_issued(center: Center) -> None:
    runs = approved_runs(center, 2)
    next_job(center)
    waiting = submitted_run(center)
    result = issue_certificates(
        actor=center.signatory, runs=[runs[0], waiting, runs[1]], password=PASSWORD
    )
    assert [o.done for o in result.outcomes] == [True, False, True]
    assert "only an approved run is certified" in result.outcomes[1].refused
    assert Certificate.objects.count() == 2
    # The refused run took no number: the two issued are 1 and 2.
    assert sorted(int(o.certificate[-6:]) for o in result.done) == [1, 2]


def test_a_run_already_certified_is_reported_not_issued_twice(center: Center) -> None:
    runs = approved_runs(center, 2)
    issue_certificates(actor=center.signatory, runs=runs[:1], password=PASSWORD)
    result = issue_certificates(actor=center.signatory, runs=runs, password=PASSWORD)
    assert [o.done for o in result.outcomes] == [False, True]
    assert "already has certificate" in result.outcomes[0].refused
    assert Certificate.objects.count() == 2


def test_disagreements_are_reviewed_only_when_the_reviewer_acknowledged_them(
    center: Center,
) -> None:
    [agreed] = submitted_runs(center, 1)
    disagreeing = disagreeing_run(center)
    runs = [agreed, disagreeing]
    result = review_runs(actor=center.reviewer, runs=runs, password=PASSWORD)
    assert [o.done for o in result.outcomes] == [True, False]
    assert "1 disagreement(s) between the bench and the server" in result.outcomes[1].refused
    result = review_runs(
        actor=center.reviewer, runs=[disagreeing], password=PASSWORD, acknowledged={disagreeing.pk}
    )
    assert result.outcomes[0].done
    [entry] = [e for e in actions("run.review") if e.object_id == str(disagreeing.pk)]
    assert after(entry)["acknowledged"] == 1


def test_the_four_eyes_hold_per_run(center: Center) -> None:
    runs = submitted_runs(center, 2)
    review_run(actor=center.reviewer, run=runs[0], password=PASSWORD)
    review_runs(actor=center.reviewer, runs=runs[1:], password=PASSWORD)
    # The reviewer also holds the signatory role here: approving their own review is refused.
    from labserver.accounts.services import grant_role

    grant_role(
        actor=None,
        user=center.reviewer,
        organization=center.org,
        role="signatory",
        fields=["electrical"],
    )
    reviewer = User.objects.get(pk=center.reviewer.pk)  # its roles read again
    result = approve_runs(actor=reviewer, runs=runs, password=PASSWORD)
    assert not result.done
    assert all("performed or reviewed" in o.refused for o in result.outcomes)
    approve_run(actor=center.signatory, run=runs[0], password=PASSWORD)


# ------------------------------------------------------------------ roles and organizations


def test_a_batch_needs_the_role_in_the_runs_organization(center: Center) -> None:
    runs = submitted_runs(center, 2)
    with pytest.raises(NotPermitted):
        review_runs(actor=center.metrologist, runs=runs, password=PASSWORD)
    with pytest.raises(NotPermitted):
        approve_runs(actor=center.reviewer, runs=runs, password=PASSWORD)
    assert states(runs) == [RunState.SUBMITTED] * 2
    assert not SignatureGuard.objects.filter(failures__gt=0).exists()


def test_another_centers_signer_cannot_sign_the_runs(center: Center, other_center: Center) -> None:
    runs = submitted_runs(center, 2)
    with pytest.raises(NotPermitted):
        review_runs(actor=other_center.reviewer, runs=runs, password=PASSWORD)
    assert states(runs) == [RunState.SUBMITTED] * 2


def test_a_batch_holds_one_organization_and_at_least_one_run(
    center: Center, other_center: Center
) -> None:
    mine = submitted_runs(center, 1)
    theirs = submitted_runs(other_center, 1)
    with pytest.raises(InvalidEvidence, match="one organization"):
        review_runs(actor=center.reviewer, runs=mine + theirs, password=PASSWORD)
    with pytest.raises(InvalidEvidence, match="at least one run"):
        review_runs(actor=center.reviewer, runs=[], password=PASSWORD)
    assert states(mine + theirs) == [RunState.SUBMITTED] * 2


def test_a_certificate_that_cannot_be_produced_is_reported_and_takes_no_number(
    center: Center,
) -> None:
    """The customer of one instrument has no address, which a certificate must print
    (ISO/IEC 17025 7.8.2.1 e): its issue rolls back, number included; the others are issued
    with consecutive numbers."""
    from labserver.accounts.services import create_organization
    from labserver.instruments.services import register_instrument
    from labserver.jobs import services as jobs

    good = approved_runs(center, 1)
    nowhere = create_organization(actor=None, code="NOADDR", name="No address", kind="customer")
    instrument = register_instrument(
        actor=center.quality_manager,
        organization=center.org,
        owner=nowhere,
        instrument_type=center.instrument.instrument_type,
        manufacturer="Keysight",
        model="34465A",
        serial="NOADDR-1",
    )
    job = jobs.create_job(
        actor=center.quality_manager,
        instrument=instrument,
        procedure=center.procedure,
        bench=center.agent,
    )
    center.job = jobs.accept_job(actor=center.quality_manager, job=job)
    bad = submitted_run(center)
    review_runs(actor=center.reviewer, runs=[bad], password=PASSWORD)
    approve_runs(actor=center.signatory, runs=[bad], password=PASSWORD)
    good += approved_runs(center, 1)
    result = issue_certificates(
        actor=center.signatory, runs=[good[0], bad, good[1]], password=PASSWORD
    )
    assert [o.done for o in result.outcomes] == [True, False, True]
    assert "address" in result.outcomes[1].refused
    assert [int(o.certificate[-6:]) for o in result.done] == [1, 2]
    assert not Certificate.objects.filter(run=bad).exists()
    assert Run.objects.get(pk=bad.pk).state == RunState.APPROVED
