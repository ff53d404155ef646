"""A certificate per instrument of a multi-position run, issued by one signature act.

Four water meters in series on the demo's flow bench (the real runner on the simulated
bench, posted as the agent posts it): one reads +5 % and fails, one is not mounted. Each
meter was registered with its own job by the front office; the LIMS finds each position's
job by its serial. Reviewed, approved and issued in batches, one password each: three
certificates (two passes with their marks, the failure a notice of failed verification
without a mark), none for the meter not mounted, numbered in sequence, each signed (pdfsig
and our own check), each found by the public lookup, with its own meter's identity.

The refusals on the center's voltmeter runs made three positions
(:func:`tests.support.position_runs.three_positions`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from labserver.accounts.lockout import WrongSignaturePassword
from labserver.accounts.models import SignatureGuard, User
from labserver.core.errors import Conflict, InvalidTransition, NotPermitted
from labserver.core.models import AuditEntry, Counter
from labserver.issuance.batch import issue_run_certificates
from labserver.issuance.models import Certificate
from labserver.issuance.services import amend_certificate, issue_certificate, preview_certificate
from labserver.issuance.verification import verify_upload
from labserver.jobs.models import Job
from labserver.measurements.batch import approve_runs, review_runs
from labserver.measurements.models import Run, RunPosition
from labserver.measurements.services import reject_run
from scenarios.demo import DEMO_PASSWORD, DemoSummary, load_demo
from tests.support.bench_posts import in_series
from tests.support.demo import work_for
from tests.support.lims import PASSWORD, Center, client_for, post_run, with_serial
from tests.support.pages import signed_in
from tests.support.position_runs import serial_of, three_positions
from tests.support.positions import GOOD, HIGH
from tests.support.readable import pdf_text
from tests.support.tools import require_tool

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


@pytest.fixture
def summary(tmp_path: Path) -> DemoSummary:
    return load_demo(tmp_path / "demo")


def job_states(run: Run) -> dict[int, str]:
    """The state of each position's job now, by position number."""
    positions = RunPosition.objects.filter(run=run, job__isnull=False).select_related("job")
    return {p.number: p.job.state for p in positions if p.job is not None}


def after(entry: AuditEntry) -> dict[str, Any]:
    assert isinstance(entry.after, dict)
    return entry.after


def pdf_of(certificate: Certificate) -> bytes:
    return (Path(settings.MEDIA_ROOT) / str(certificate.pdf.name)).read_bytes()


def test_four_meters_reviewed_approved_and_issued_by_one_act_each(
    summary: DemoSummary, tmp_path: Path
) -> None:
    work = work_for(summary, "bench-flow")
    _, response = in_series(work, [GOOD, HIGH, GOOD, GOOD], {4: "not mounted"})
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=response.json()["run_id"])
    reviewer = User.objects.get(username="hn-reviewer")
    signatory = User.objects.get(username="hn-signatory")
    assert job_states(run) == {1: "measured", 2: "measured", 3: "measured", 4: "accepted"}

    # The review page lists the run as an exception (a failed meter, one not mounted),
    # its positions under it, exceptions first.
    page = signed_in(reviewer).get("/work/batch/review/").content.decode()
    lines = re.findall(
        rf'<tr class="position-line( disagree)?" id="run-{run.pk}-position-(\d)"', page
    )
    assert lines == [(" disagree", "2"), (" disagree", "4"), ("", "1"), ("", "3")]
    assert "not mounted" in page

    assert review_runs(actor=reviewer, runs=[run], password=DEMO_PASSWORD).refused == []
    assert job_states(run) == {1: "reviewed", 2: "reviewed", 3: "reviewed", 4: "accepted"}
    page = signed_in(signatory).get("/work/batch/approve/").content.decode()
    assert re.search(
        rf'<tr class="disagree">\s*<td><input type="checkbox" name="runs" value="{run.pk}"', page
    )
    assert f'id="run-{run.pk}-position-2"' in page
    assert approve_runs(actor=signatory, runs=[run], password=DEMO_PASSWORD).refused == []
    assert job_states(run) == {1: "approved", 2: "approved", 3: "approved", 4: "accepted"}

    run.refresh_from_db()
    # A preview of one position's certificate, before anything is issued.
    position_two = RunPosition.objects.get(run=run, number=2)
    preview = preview_certificate(actor=signatory, run=run, position=position_two)
    assert "WM-0002" in pdf_text(preview, tmp_path)

    # The issue page: the run's positions as rows; one act issues them all.
    client = signed_in(signatory)
    page = client.get("/work/batch/issue/").content.decode()
    assert f'name="runs" value="{run.pk}"' in page
    assert f'id="run-{run.pk}-position-4"' in page
    done = client.post("/work/batch/issue/", {"runs": [str(run.pk)], "password": DEMO_PASSWORD})
    assert done.status_code == 200
    html = done.content.decode()
    assert "3 certificates issued." in html

    certificates = list(Certificate.objects.filter(run=run).order_by("sequence"))
    assert [c.position.number for c in certificates if c.position] == [1, 2, 3]
    sequences = [c.sequence for c in certificates]
    assert sequences == list(range(sequences[0], sequences[0] + 3))  # in sequence, no gap
    # Each in the verification series; the meters that passed with their marks, in the
    # marks' series, the failed one a notice without a mark (a failed instrument is never
    # marked).
    assert all(c.kind == "verification" for c in certificates)
    assert [bool(c.mark_number) for c in certificates] == [True, False, True]
    assert certificates[1].valid_until is None
    pdfsig = require_tool("pdfsig")
    for certificate in certificates:
        position = certificate.position
        assert position is not None
        assert position.job is not None
        assert certificate.job == position.job
        data = pdf_of(certificate)
        verdict = verify_upload(data)
        assert (verdict.status, verdict.number, verdict.problems) == (
            "valid",
            certificate.number,
            [],
        )
        path = tmp_path / f"{certificate.number}.pdf"
        path.write_bytes(data)
        checked = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)
        assert "Signature is Valid" in checked.stdout, checked.stdout
        text = pdf_text(data, tmp_path)
        assert position.serial in text
        others = {f"WM-{n:04d}" for n in (2, 3, 4)} - {position.serial}
        assert not any(serial in text for serial in others), certificate.number
        expected = "FAIL" if position.number == 2 else "PASS"
        assert re.search(rf"(ĐẠT|KHÔNG ĐẠT) / {expected}\b", text), (certificate.number, text)
        # The public lookup, by number: this meter's identity.
        found = APIClient().get(f"/api/v1/public/certificates/{certificate.number}").json()
        assert (found["instrument"]["serial"], found["status"]) == (position.serial, "valid")
        shown = APIClient().get(f"/verify/{certificate.number}")
        assert shown.status_code == 200
        assert position.serial in shown.content.decode()
    failed = certificates[1]
    text = re.sub(r"\s+", " ", pdf_text(pdf_of(failed), tmp_path))
    assert "exceed the maximum permissible errors" in text
    assert "NOTICE OF FAILED VERIFICATION" in text
    assert job_states(run) == {1: "issued", 2: "issued", 3: "issued", 4: "accepted"}

    # One audit entry per certificate naming its position and job, and the act's.
    issues = AuditEntry.objects.filter(action="certificate.issue").order_by("pk")
    assert [(after(e)["position"], after(e)["job"]) for e in issues] == [
        (c.position.number, c.job.number) for c in certificates if c.position
    ]
    [act] = AuditEntry.objects.filter(action="batch.issue")
    assert after(act)["certificates"] == [c.number for c in certificates]

    # The labels of the batch on one sheet, from the link of the outcome page.
    link = re.search(r'id="batch-labels" href="([^"]+)"', html)
    assert link is not None
    sheet = client.get(link.group(1).replace("&amp;", "&"))
    assert sheet.status_code == 200, sheet.content[:300]
    labels = pdf_text(sheet.content, tmp_path)
    for certificate in certificates:
        assert (certificate.number in labels) is bool(certificate.mark_number)

    # The run page: each position's certificate by its row; nothing left to issue.
    page = client.get(f"/work/runs/{run.pk}/").content.decode()
    for certificate in certificates:
        assert certificate.number in page
    assert 'id="form-issue"' not in page


# ------------------------------------------------------------------ the center's runs


def approved_three_positions(center: Center) -> Run:
    with_serial(center)
    payload = three_positions(center)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=payload["run_id"])
    review_runs(actor=center.reviewer, runs=[run], password=PASSWORD, acknowledged={run.pk})
    approve_runs(actor=center.signatory, runs=[run], password=PASSWORD)
    run.refresh_from_db()
    assert run.state == "approved"
    return run


def test_a_position_whose_serial_has_no_open_job_refuses_the_whole_run(center: Center) -> None:
    payload = three_positions(center, booked=False)
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["field"] == "positions[1].instrument.serial"
    assert "position 2" in body["detail"], body
    assert "MY00000002" in body["detail"], body
    assert not Run.objects.filter(pk=payload["run_id"]).exists()
    assert Job.objects.get(pk=center.job.pk).state == "accepted"  # nothing moved


def test_two_positions_of_one_serial_refuse_the_run(center: Center) -> None:
    payload = three_positions(center)
    payload["positions"][1]["instrument"]["serial"] = serial_of(center, 1)
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["field"] == "positions[1].instrument.serial"
    assert "position 1" in body["detail"], body
    assert center.job.number in body["detail"], body


def test_the_run_s_job_must_be_a_measured_position_s(center: Center) -> None:
    payload = three_positions(center)
    payload["positions"][0]["instrument"]["serial"] = "MY00000009"
    response = post_run(center, payload)
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == "positions[0].instrument.serial"


def test_a_rejected_run_sends_every_measured_position_s_job_back(center: Center) -> None:
    with_serial(center)
    payload = three_positions(center)
    assert post_run(center, payload).status_code == 201
    run = Run.objects.get(pk=payload["run_id"])
    assert job_states(run) == {1: "measured", 2: "measured"}
    reject_run(actor=center.reviewer, run=run, password=PASSWORD, reason="the bench leaked")
    assert job_states(run) == {1: "in_progress", 2: "in_progress"}


def test_a_wrong_password_signs_nothing_and_counts_one_failure(center: Center) -> None:
    run = approved_three_positions(center)
    with pytest.raises(WrongSignaturePassword):
        issue_run_certificates(actor=center.signatory, run=run, password="wrong")
    assert not Certificate.objects.exists()
    assert not Counter.objects.filter(key__startswith="certificate:").exists()
    assert SignatureGuard.objects.get(user=center.signatory).failures == 1


def test_one_act_issues_each_measured_position_and_a_second_issue_is_a_conflict(
    center: Center,
) -> None:
    run = approved_three_positions(center)
    result = issue_run_certificates(actor=center.signatory, run=run, password=PASSWORD)
    assert [(o.position, o.done) for o in result.outcomes] == [(1, True), (2, True)]
    numbers = [o.certificate for o in result.outcomes]
    first = Certificate.objects.get(number=numbers[0])
    assert first.position is not None
    assert (first.position.number, first.job) == (1, center.job)
    second = Certificate.objects.get(number=numbers[1])
    assert second.job.instrument.serial == serial_of(center, 2)
    # The API shows whose certificate it is.
    shown = center.client("signatory").get(f"/api/v1/certificates/{second.pk}/").json()
    assert (shown["position"], shown["instrument_serial"]) == (2, serial_of(center, 2))

    # Again: through the API, 409; by the service, a conflict; by one act, refused.
    response = center.client("signatory").post(
        "/api/v1/certificates/",
        {"run": str(run.pk), "position": 1, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 409, response.json()
    assert numbers[0] in response.json()["detail"]
    with pytest.raises(Conflict):
        issue_certificate(
            actor=center.signatory, run=run, password=PASSWORD, position=first.position
        )
    again = issue_run_certificates(actor=center.signatory, run=run, password=PASSWORD)
    assert [o.refused for o in again.outcomes] != [""]
    assert Certificate.objects.filter(run=run).count() == 2

    # A skipped position gets none.
    skipped = RunPosition.objects.get(run=run, number=3)
    with pytest.raises(InvalidTransition, match=r"position 3 .* skipped .*not mounted"):
        issue_certificate(actor=center.signatory, run=run, password=PASSWORD, position=skipped)

    # An amendment of a position's certificate keeps the position.
    replacement = amend_certificate(
        actor=center.signatory, certificate=second, password=PASSWORD, reason="typo"
    )
    assert replacement.position == second.position
    assert replacement.job == second.job


def test_one_position_issued_through_the_api(center: Center) -> None:
    run = approved_three_positions(center)
    response = center.client("signatory").post(
        "/api/v1/certificates/",
        {"run": str(run.pk), "position": 2, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["position"] == 2
    assert job_states(run) == {1: "approved", 2: "issued"}  # position 1: not yet
    missing = center.client("signatory").post(
        "/api/v1/certificates/",
        {"run": str(run.pk), "position": 7, "password": PASSWORD},
        format="json",
    )
    assert missing.status_code == 404, missing.json()


def test_another_organization_s_signatory_cannot(center: Center, other_center: Center) -> None:
    run = approved_three_positions(center)
    with pytest.raises(NotPermitted):
        issue_run_certificates(actor=other_center.signatory, run=run, password=PASSWORD)
    response = other_center.client("signatory").post(
        "/api/v1/certificates/",
        {"run": str(run.pk), "position": 1, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 404, response.json()
    assert not Certificate.objects.exists()


def test_the_run_page_issues_every_position_by_one_password(center: Center) -> None:
    run = approved_three_positions(center)
    client = signed_in(center.signatory)
    page = client.get(f"/work/runs/{run.pk}/").content.decode()
    assert 'id="form-issue"' in page
    assert 'id="preview-position-1"' in page
    assert 'id="preview-position-3"' not in page
    preview = client.get(f"/work/runs/{run.pk}/preview.pdf?position=2")
    assert preview.status_code == 200
    assert preview["Content-Type"] == "application/pdf"
    done = client.post(f"/work/runs/{run.pk}/issue/", {"password": PASSWORD})
    assert done.status_code == 200
    assert "2 certificates issued." in done.content.decode()
    page = client.get(f"/work/runs/{run.pk}/").content.decode()
    for certificate in Certificate.objects.filter(run=run):
        assert certificate.number in page
    assert 'id="form-issue"' not in page


def test_each_customer_sees_the_certificates_of_its_own_meters_only(center: Center) -> None:
    """Meters of two customers on one bench: each customer reads its own meter's
    certificate, not its neighbour's (the run's job is the first customer's)."""
    from labserver.accounts import services as accounts
    from labserver.accounts.models import Organization
    from labserver.instruments.models import Instrument
    from tests.support.lims import customer_of, person

    run = approved_three_positions(center)
    neighbour = accounts.create_organization(
        actor=None, code="QT1-CUST2", name="Another customer", kind="customer"
    )
    Organization.objects.filter(pk=neighbour.pk).update(address="3 Neighbour Lane")
    second_job = RunPosition.objects.get(run=run, number=2).job
    assert second_job is not None
    Instrument.objects.filter(pk=second_job.instrument_id).update(owner=neighbour)
    result = issue_run_certificates(actor=center.signatory, run=run, password=PASSWORD)
    assert result.refused == []
    first, second = (o.certificate for o in result.outcomes)
    for user, own in (
        (customer_of(center), first),
        (person(neighbour, "qt1-neighbour", "customer"), second),
    ):
        listed = client_for(user).get("/api/v1/certificates/").json()
        rows = listed["results"] if isinstance(listed, dict) else listed
        assert [row["number"] for row in rows] == [own], user.username


def test_a_position_that_cannot_be_issued_is_reported_and_takes_no_number(
    center: Center,
) -> None:
    """Position 2's owner has no address on record: its certificate cannot state it, so it
    is refused with the reason and rolls back alone; position 1 is issued. Once the
    address is recorded, position 2 takes the next number: no gap."""
    from labserver.accounts import services as accounts
    from labserver.accounts.models import Organization
    from labserver.instruments.models import Instrument

    run = approved_three_positions(center)
    unknown = accounts.create_organization(
        actor=None, code="QT1-CUST3", name="A customer without an address", kind="customer"
    )
    second_job = RunPosition.objects.get(run=run, number=2).job
    assert second_job is not None
    Instrument.objects.filter(pk=second_job.instrument_id).update(owner=unknown)
    result = issue_run_certificates(actor=center.signatory, run=run, password=PASSWORD)
    assert [(o.position, bool(o.certificate)) for o in result.outcomes] == [(1, True), (2, False)]
    assert "customer.address" in result.refused[0].refused
    assert Job.objects.get(pk=second_job.pk).state == "approved"
    [act] = AuditEntry.objects.filter(action="batch.issue")
    assert list(after(act)["refused"]) == [f"{run.pk}#2"]

    Organization.objects.filter(pk=unknown.pk).update(address="4 Found Street")
    again = issue_run_certificates(actor=center.signatory, run=run, password=PASSWORD)
    assert [o.position for o in again.done] == [2]
    sequences = sorted(Certificate.objects.filter(run=run).values_list("sequence", flat=True))
    assert sequences == [1, 2]


def test_a_removed_position_s_job_stays_in_progress_and_gets_no_certificate(
    center: Center,
) -> None:
    with_serial(center)
    payload = three_positions(center)
    payload["positions"][1].update(state="removed", reason="leaks at the seal", points=[])
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=payload["run_id"])
    assert job_states(run) == {1: "measured", 2: "in_progress"}  # to be measured again
    review_runs(actor=center.reviewer, runs=[run], password=PASSWORD)
    approve_runs(actor=center.signatory, runs=[run], password=PASSWORD)
    assert job_states(run) == {1: "approved", 2: "in_progress"}
    result = issue_run_certificates(actor=center.signatory, run=run, password=PASSWORD)
    assert [(o.position, o.done) for o in result.outcomes] == [(1, True)]
    assert job_states(run) == {1: "issued", 2: "in_progress"}
    removed = RunPosition.objects.get(run=run, number=2)
    with pytest.raises(InvalidTransition, match="removed"):
        issue_certificate(actor=center.signatory, run=run, password=PASSWORD, position=removed)
