"""The batch pages through Django's test client: the runs awaiting the person's act,
exceptions first; many ticked, the password entered once, the outcome run by run; the
certificates issued and their labels; who sees and signs what; both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labserver.accounts.models import User
from labserver.accounts.services import grant_role
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate
from labserver.measurements.models import Run, RunState
from tests.support.issuing import approved_verification, disagreeing_run, submitted_runs
from tests.support.lims import PASSWORD, Center, with_serial
from tests.support.pages import signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def listed(html: str) -> list[str]:
    """The run ids in the order the batch table lists them."""
    return re.findall(r'name="runs" value="([0-9a-f-]{36})"', html)


def test_the_review_batch_lists_the_exceptions_first(center: Center) -> None:
    plain = submitted_runs(center, 2)
    odd = disagreeing_run(center)
    page = signed_in(center.reviewer).get("/work/batch/review/")
    assert page.status_code == 200
    html = page.content.decode()
    assert listed(html) == [str(odd.pk), *(str(r.pk) for r in plain)]
    assert "1 disagreement with the bench" in html
    assert f'name="acknowledged" value="{odd.pk}"' in html


def test_one_password_signs_the_runs_ticked_and_shows_each_outcome(center: Center) -> None:
    runs = submitted_runs(center, 3)
    odd = disagreeing_run(center)
    ticked = [*(str(r.pk) for r in runs[:2]), str(odd.pk)]
    page = signed_in(center.reviewer).post(
        "/work/batch/review/", {"runs": ticked, "password": PASSWORD, "comment": "batch"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "2 runs signed, 1 refused." in html
    assert "not acknowledged by the reviewer" in html
    states = {r.pk: r.state for r in Run.objects.all()}
    assert [states[r.pk] for r in runs] == [RunState.REVIEWED, RunState.REVIEWED, "submitted"]
    assert states[odd.pk] == RunState.SUBMITTED


def test_a_wrong_password_signs_nothing_and_says_so(center: Center) -> None:
    runs = submitted_runs(center, 2)
    page = signed_in(center.reviewer).post(
        "/work/batch/review/", {"runs": [str(r.pk) for r in runs], "password": "wrong"}
    )
    assert page.status_code == 403
    assert "Not signed, nothing was changed" in page.content.decode()
    assert {r.state for r in Run.objects.filter(pk__in=[r.pk for r in runs])} == {"submitted"}


def test_no_run_ticked_is_refused_by_name(center: Center) -> None:
    submitted_runs(center, 1)
    page = signed_in(center.reviewer).post("/work/batch/review/", {"password": PASSWORD})
    assert page.status_code == 400
    assert "Tick at least one run." in page.content.decode()


def test_another_centers_runs_are_neither_listed_nor_signed(
    center: Center, other_center: Center
) -> None:
    theirs = submitted_runs(other_center, 1)
    client = signed_in(center.reviewer)
    assert str(theirs[0].pk) not in client.get("/work/batch/review/").content.decode()
    page = client.post("/work/batch/review/", {"runs": [str(theirs[0].pk)], "password": PASSWORD})
    assert page.status_code == 400
    assert Run.objects.get(pk=theirs[0].pk).state == RunState.SUBMITTED


def test_the_runs_the_person_performed_or_reviewed_are_not_theirs_to_sign(
    center: Center,
) -> None:
    # Both may review and approve: only the four eyes keep a run from one of them.
    for user in (center.reviewer, center.metrologist):
        for role in ("reviewer", "signatory"):
            grant_role(
                actor=None, user=user, organization=center.org, role=role, fields=["electrical"]
            )
    [run] = submitted_runs(center, 1)  # performed by the metrologist
    performer = signed_in(User.objects.get(pk=center.metrologist.pk))
    assert str(run.pk) not in listed(performer.get("/work/batch/review/").content.decode())
    reviewer = signed_in(User.objects.get(pk=center.reviewer.pk))
    assert listed(reviewer.get("/work/batch/review/").content.decode()) == [str(run.pk)]
    reviewer.post("/work/batch/review/", {"runs": [str(run.pk)], "password": PASSWORD})
    assert listed(reviewer.get("/work/batch/approve/").content.decode()) == []
    assert listed(signed_in(center.signatory).get("/work/batch/approve/").content.decode()) == [
        str(run.pk)
    ]


def test_a_metrologist_cannot_open_the_batches(center: Center) -> None:
    assert signed_in(center.metrologist).get("/work/batch/review/").status_code == 403
    assert signed_in(center.reviewer).get("/work/batch/sign-all/").status_code == 404
    start = signed_in(center.signatory).get("/work/batch/")
    assert start.status_code == 302
    assert start["Location"] == "/work/batch/approve/"


def test_issuing_a_batch_lists_the_certificates_and_their_labels_on_one_sheet(
    center: Center, tmp_path: Path
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    client = signed_in(signatory)
    assert str(run.pk) in listed(client.get("/work/batch/issue/").content.decode())
    page = client.post("/work/batch/issue/", {"runs": [str(run.pk)], "password": PASSWORD})
    assert page.status_code == 200, page.content.decode()
    html = page.content.decode()
    certificate = Certificate.objects.get(run=run)
    assert certificate.number in html
    assert certificate.mark_number in html
    labels = re.search(r'id="batch-labels" href="([^"]+)"', html)
    assert labels is not None
    sheet = client.get(labels.group(1).replace("&amp;", "&"))
    assert sheet.status_code == 200
    assert sheet["Content-Type"] == "application/pdf"
    assert AuditEntry.objects.filter(action="batch.issue").count() == 1
    # Issued: nothing awaits a certificate any more.
    assert "batch-empty" in client.get("/work/batch/issue/").content.decode()


def test_the_batch_pages_speak_vietnamese(center: Center) -> None:
    with_serial(center)
    submitted_runs(center, 1)
    client = signed_in(center.reviewer)
    client.cookies["django_language"] = "vi"
    html = client.get("/work/batch/review/").content.decode()
    assert "Các lần đo chờ soát xét" in html
    assert "Mật khẩu của bạn, một lần cho mọi lần đo đã chọn" in html
