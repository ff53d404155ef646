"""The work pages through Django's test client: my jobs, a run (points, budgets, chart),
review, approval, rejection and issuing as electronic signatures, and who may do what."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client

from labserver.accounts import services as accounts
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate
from labserver.jobs import services as jobs
from labserver.jobs.models import Job, JobState
from labserver.measurements.models import Run, RunSignature, RunState
from labserver.measurements.services import approve_run, review_run
from tests.support.issuing import submitted_run
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
    with_serial,
)
from tests.support.pages import reviewed, signed_in
from uncertainty.gum import evaluate_gum
from uncertainty.model import parse_model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def state_of(run: Run) -> tuple[str, int, int]:
    """What a refused signature must leave as it was: state, signatures, audit entries."""
    fresh = Run.objects.get(pk=run.pk)
    return fresh.state, fresh.signatures.count(), AuditEntry.objects.count()


# ------------------------------------------------------------------ my jobs


@pytest.mark.parametrize("role", ["metrologist", "reviewer", "signatory"])
def test_my_jobs_lists_the_jobs_of_the_organization(center: Center, role: str) -> None:
    run = submitted_run(center)
    page = signed_in(getattr(center, role)).get("/work/jobs/")
    assert page.status_code == 200
    text = page.content.decode()
    job = center.job
    for shown in (
        job.number,
        "Digital multimeter",
        "Keysight",
        "34465A",
        center.instrument.serial,
        f"{center.procedure.procedure_id} v{center.procedure.version}",
        center.agent.name,
        "Measured",
        f"/work/runs/{run.pk}/",
    ):
        assert shown in text, shown


@pytest.mark.parametrize("role", ["quality_manager", "auditor"])
def test_my_jobs_is_not_for_other_roles(center: Center, role: str) -> None:
    page = signed_in(getattr(center, role)).get("/work/jobs/")
    assert page.status_code == 403
    assert "Metrologist / verifier" in page.content.decode()


def test_my_jobs_asks_to_sign_in() -> None:
    page = Client().get("/work/jobs/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/?next=/work/jobs/")


def test_my_jobs_shows_nothing_of_another_organization(
    center: Center, other_center: Center
) -> None:
    text = signed_in(center.reviewer).get("/work/jobs/").content.decode()
    assert center.instrument.serial in text
    assert other_center.instrument.serial not in text


def test_a_metrologist_sees_the_jobs_assigned_to_them_first(center: Center) -> None:
    qm = center.quality_manager
    later = jobs.create_job(
        actor=qm, instrument=center.instrument, procedure=center.procedure, bench=center.agent
    )
    mine = jobs.create_job(
        actor=qm,
        instrument=center.instrument,
        procedure=center.procedure,
        bench=center.agent,
        assignee=center.metrologist,
    )
    text = signed_in(center.metrologist).get("/work/jobs/").content.decode()
    numbers = re.findall(r"<strong>(\S+)</strong>", text)
    assert numbers[0] == mine.number
    assert {later.number, center.job.number} <= set(numbers[1:])
    assert "assigned to you" in text
    # Others see no job as theirs.
    assert "assigned to you" not in signed_in(center.reviewer).get("/work/jobs/").content.decode()


def test_my_jobs_filters_by_state(center: Center) -> None:
    extra = jobs.create_job(
        actor=center.quality_manager,
        instrument=center.instrument,
        procedure=center.procedure,
        bench=center.agent,
    )
    client = signed_in(center.reviewer)
    accepted = client.get("/work/jobs/", {"state": JobState.ACCEPTED}).content.decode()
    assert center.job.number in accepted
    assert f"<strong>{extra.number}</strong>" not in accepted
    requested = client.get("/work/jobs/", {"state": JobState.REQUESTED}).content.decode()
    assert f"<strong>{extra.number}</strong>" in requested
    assert f"<strong>{center.job.number}</strong>" not in requested
    assert 'value="requested" selected' in requested
    nothing = client.get("/work/jobs/", {"state": JobState.CANCELLED}).content.decode()
    assert 'id="no-jobs"' in nothing


# ------------------------------------------------------------------ a run


@pytest.mark.parametrize(
    "role", ["metrologist", "reviewer", "signatory", "quality_manager", "auditor"]
)
def test_the_run_page_opens_for_each_role_of_the_organization(center: Center, role: str) -> None:
    run = submitted_run(center)
    page = signed_in(getattr(center, role)).get(f"/work/runs/{run.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert center.job.number in text
    assert center.metrologist.full_name in text  # operator, and the "performed" signature
    assert "Performed by" in text
    assert center.standard.asset_id in text


def test_another_organization_s_run_is_not_found(center: Center, other_center: Center) -> None:
    run = submitted_run(center)
    for role in ("metrologist", "reviewer", "signatory", "quality_manager", "auditor"):
        client = signed_in(getattr(other_center, role))
        assert client.get(f"/work/runs/{run.pk}/").status_code == 404, role
        for action in ("review", "approve", "reject", "issue"):
            response = client.post(
                f"/work/runs/{run.pk}/{action}/", {"password": PASSWORD, "reason": "x"}
            )
            assert response.status_code == 404, (role, action)
    assert Run.objects.get(pk=run.pk).state == RunState.SUBMITTED


def test_the_run_page_shows_each_point_s_result_limits_and_verdicts(center: Center) -> None:
    run = submitted_run(center)
    text = signed_in(center.reviewer).get(f"/work/runs/{run.pk}/").content.decode()
    point = run.points.get(index=0)
    # 0.1 V: E = -0.00000022 ± 0.0000027 V (ILAC P14 rounding), limits ± 0.000011 V
    assert point.server_result["U"] == pytest.approx(2.6779e-6, rel=1e-4)
    row = text.split('id="point-0"')[1].split("</tr>")[0]
    assert "E = -0.0000002 V" in row
    assert "0.0000027" in row
    assert "2.00" in row
    assert "-0.000011 … 0.000011" in row
    assert '<span class="pass">pass</span>' in row
    assert "disagree" not in row


def test_a_disagreement_of_the_agent_is_highlighted(center: Center) -> None:
    from tests.support.lims import post_run, run_payload

    payload = run_payload(center)
    payload["points"][1]["conformity"] = "fail"  # the agent said fail, the server says pass
    assert post_run(center, payload).status_code == 201
    text = signed_in(center.reviewer).get(f"/work/runs/{payload['run_id']}/").content.decode()
    row = text.split('id="point-1"')[1].split("</tr>")[0]
    assert "point-row disagree" in text.split('id="point-1"')[0].rsplit("<tr", 1)[1]
    assert "conformity: agent fail, server pass" in row
    assert '<dd id="disagreements" class="fail">1</dd>' in text


def test_the_budget_is_the_server_s_evaluation_of_the_point_s_model(center: Center) -> None:
    run = submitted_run(center)
    text = signed_in(center.reviewer).get(f"/work/runs/{run.pk}/").content.decode()
    point = run.points.get(index=2)
    out = evaluate_gum(parse_model(point.model))["E"]
    assert out.U == pytest.approx(point.server_result["U"], rel=1e-12)
    budget = text.split('id="budget-2"')[1].split("</details>")[0]
    for line in out.budget:
        assert f'<th scope="row">{line.quantity}</th>' in budget
        assert f"{line.contribution:.3e}"[:4] in budget.replace(" × 10", "e")  # 4 digits
    from labserver.work.presentation import sig

    for line in out.budget:
        assert sig(line.u, 4) in budget
        assert sig(line.sensitivity, 4) in budget
        assert sig(line.contribution, 4) in budget
    assert f"k = {out.k:.2f}" in budget
    assert sig(out.U, 4) in budget
    assert "Type A (readings)" in budget
    assert "Type B, rectangular" in budget


def test_a_budget_that_does_not_give_the_stored_result_is_not_shown(center: Center) -> None:
    from labserver.measurements.models import Point
    from labserver.work.presentation import budget_of

    run = submitted_run(center)
    point = Point.objects.get(run=run, index=0)
    point.server_result = {**point.server_result, "U": point.server_result["U"] * 2}
    budget = budget_of(point)  # not saved: the evidence is append-only
    assert budget.rows == []
    assert "not the stored" in budget.problem


def test_the_page_shows_the_budget_the_server_kept_on_receipt(center: Center) -> None:
    from labserver.measurements.models import Point
    from labserver.work.presentation import budget_of

    run = submitted_run(center)
    point = Point.objects.get(run=run, index=2)
    assert point.budget is not None
    assert [line["quantity"] for line in point.budget["lines"]] == ["x", "d_res", "V_s"]
    shown = budget_of(point)
    assert shown.rows
    assert not shown.problem
    # the kept budget is shown, the model is not evaluated again (not saved: append-only)
    point.model = {"outputs": {}, "quantities": {}}
    assert budget_of(point) == shown


def test_a_point_kept_before_budgets_were_kept_has_its_budget_evaluated_again(
    center: Center,
) -> None:
    from labserver.measurements.models import Point
    from labserver.work.presentation import budget_of

    run = submitted_run(center)
    point = Point.objects.get(run=run, index=2)
    kept = budget_of(point)
    point.budget = None  # as stored before migration 0007 (not saved: append-only)
    again = budget_of(point)
    # PostgreSQL keeps the stored model's keys in its own order: the inputs may come in another
    assert sorted(again.rows, key=lambda r: r.quantity) == sorted(
        kept.rows, key=lambda r: r.quantity
    )
    assert dataclasses.replace(again, rows=[]) == dataclasses.replace(kept, rows=[])
    point.server_result = {**point.server_result, "U": point.server_result["U"] * 2}
    assert "evaluating the stored model again gives U" in budget_of(point).problem


def test_the_error_chart_is_inline_svg_with_labelled_axes(center: Center) -> None:
    run = submitted_run(center)
    text = signed_in(center.reviewer).get(f"/work/runs/{run.pk}/").content.decode()
    svg = text.split('<svg class="chart"')[1].split("</svg>")[0]
    assert 'role="img"' in svg
    assert "Nominal (V)" in svg
    assert "E (10⁻⁶ V)" in svg  # errors of a few µV, the scale stated on the axis
    assert svg.count('class="point"') == run.points.count()
    assert svg.count('class="ubar"') == run.points.count()
    assert svg.count('class="limit"') == 2 * run.points.count()
    assert "<script" not in text


def test_the_chart_scales_and_ticks() -> None:
    from labserver.work.chart import _scale_power, nice_ticks

    assert nice_ticks(-11.0, 11.0) == [-15.0, -10.0, -5.0, 0.0, 5.0, 10.0, 15.0]
    assert nice_ticks(0.0, 10.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(-0.22, 2.9) == [-1.0, 0.0, 1.0, 2.0, 3.0]
    assert _scale_power([1.1e-5, -2e-7]) == -6
    assert _scale_power([0.4, 2.0]) == 0
    assert _scale_power([250000.0]) == 3


# ------------------------------------------------------------------ who may sign


def forms_on(text: str) -> set[str]:
    return set(re.findall(r'id="form-(review|approve|reject|issue)"', text))


def test_each_person_sees_only_the_signatures_they_may_give(center: Center) -> None:
    run = submitted_run(center)
    url = f"/work/runs/{run.pk}/"
    assert forms_on(signed_in(center.reviewer).get(url).content.decode()) == {"review", "reject"}
    assert forms_on(signed_in(center.signatory).get(url).content.decode()) == {"reject"}
    for role in ("metrologist", "quality_manager", "auditor"):
        assert forms_on(signed_in(getattr(center, role)).get(url).content.decode()) == set()
    review_run(actor=center.reviewer, run=run, password=PASSWORD)
    assert forms_on(signed_in(center.signatory).get(url).content.decode()) == {
        "approve",
        "reject",
    }
    assert forms_on(signed_in(center.reviewer).get(url).content.decode()) == {"reject"}
    approve_run(actor=center.signatory, run=run, password=PASSWORD)
    assert forms_on(signed_in(center.signatory).get(url).content.decode()) == {"issue"}
    assert forms_on(signed_in(center.reviewer).get(url).content.decode()) == set()


def test_an_auditor_reads_the_run_and_cannot_sign_it(center: Center) -> None:
    run = submitted_run(center)
    client = signed_in(center.auditor)
    text = client.get(f"/work/runs/{run.pk}/").content.decode()
    assert 'id="sign"' not in text
    assert "<textarea" not in text
    assert 'type="password"' not in text
    before = state_of(run)
    response = client.post(f"/work/runs/{run.pk}/review/", {"password": PASSWORD})
    assert response.status_code == 403
    assert "needs the role reviewer" in response.content.decode()
    assert state_of(run) == before


def test_an_auditor_with_a_grant_reads_another_organization_s_run(
    center: Center, other_center: Center
) -> None:
    from labserver.accounts.models import AuditGrant

    run = submitted_run(center)
    AuditGrant.objects.create(
        user=other_center.auditor, organization=center.org, reason="annual audit"
    )
    text = signed_in(other_center.auditor).get(f"/work/runs/{run.pk}/").content.decode()
    assert center.job.number in text
    assert forms_on(text) == set()


def test_a_metrologist_cannot_approve(center: Center) -> None:
    run = reviewed(center)
    before = state_of(run)
    response = signed_in(center.metrologist).post(
        f"/work/runs/{run.pk}/approve/", {"password": PASSWORD}
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert 'id="action-error"' in text
    assert "Not signed, nothing was changed" in text
    assert "approving a run needs the role signatory" in text
    assert state_of(run) == before


def test_the_performer_cannot_review_their_own_run(center: Center) -> None:
    accounts.grant_role(
        actor=None,
        user=center.metrologist,
        organization=center.org,
        role="reviewer",
        fields=["electrical"],
    )
    run = submitted_run(center)
    client = signed_in(center.metrologist)
    assert forms_on(client.get(f"/work/runs/{run.pk}/").content.decode()) == set()
    before = state_of(run)
    response = client.post(f"/work/runs/{run.pk}/review/", {"password": PASSWORD})
    assert response.status_code == 403
    assert "a reviewer cannot review a run they performed" in response.content.decode()
    assert state_of(run) == before


def test_a_wrong_password_is_refused_and_nothing_changes(center: Center) -> None:
    run = submitted_run(center)
    before = state_of(run)
    response = signed_in(center.reviewer).post(
        f"/work/runs/{run.pk}/review/", {"password": "not my password", "comment": "looks fine"}
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert "the password is not correct" in text
    assert "looks fine" in text  # the comment is kept for the next try, the password is not
    assert "not my password" not in text
    # Nothing changes but the record of the failed attempt (21 CFR 11.300(d); issue 15).
    state, signatures, audited = before
    assert state_of(run) == (state, signatures, audited + 1)
    assert AuditEntry.objects.order_by("-pk").values_list("action", flat=True)[0] == (
        "signature.fail"
    )


def test_a_signature_in_the_wrong_state_is_refused(center: Center) -> None:
    run = submitted_run(center)
    before = state_of(run)
    response = signed_in(center.signatory).post(
        f"/work/runs/{run.pk}/approve/", {"password": PASSWORD}
    )
    assert response.status_code == 409
    assert "only a reviewed run can be approved" in response.content.decode()
    response = signed_in(center.signatory).post(
        f"/work/runs/{run.pk}/issue/", {"password": PASSWORD}
    )
    assert response.status_code == 409
    assert "only an approved run is certified" in response.content.decode()
    assert state_of(run) == before


def test_a_rejection_needs_a_reason(center: Center) -> None:
    run = submitted_run(center)
    client = signed_in(center.reviewer)
    before = state_of(run)
    response = client.post(f"/work/runs/{run.pk}/reject/", {"password": PASSWORD, "reason": " "})
    assert response.status_code == 400
    assert "A rejection needs a reason." in response.content.decode()
    assert state_of(run) == before
    response = client.post(
        f"/work/runs/{run.pk}/reject/",
        {"password": PASSWORD, "reason": "readings of point 2 unstable"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == RunState.REJECTED
    signature = run.signatures.get(meaning=RunSignature.Meaning.REJECTED)
    assert (signature.user, signature.comment) == (center.reviewer, "readings of point 2 unstable")
    text = client.get(f"/work/runs/{run.pk}/").content.decode()
    assert "Rejected by" in text
    assert "readings of point 2 unstable" in text


def test_review_approve_and_issue_through_the_pages(center: Center, other_center: Center) -> None:
    with_serial(center)  # the addresses and serials a certificate prints
    run = submitted_run(center)
    url = f"/work/runs/{run.pk}/"
    reviewer = signed_in(center.reviewer)
    response = reviewer.post(url + "review/", {"password": PASSWORD, "comment": "checked"})
    assert response.status_code == 302
    assert response["Location"] == url
    text = reviewer.get(url).content.decode()
    assert "Signed: you checked this run." in text
    assert "Checked by" in text
    signatory = signed_in(center.signatory)
    assert signatory.post(url + "approve/", {"password": PASSWORD}).status_code == 302
    run.refresh_from_db()
    assert run.state == RunState.APPROVED
    # Issuing needs the password again, as every signature does.
    response = signatory.post(url + "issue/", {"password": "wrong"})
    assert response.status_code == 403
    assert not Certificate.objects.filter(run=run).exists()
    response = signatory.post(url + "issue/", {"password": PASSWORD})
    certificate = Certificate.objects.get(run=run)
    assert response.status_code == 302
    assert response["Location"] == f"/work/certificates/{certificate.pk}/"  # what was signed
    assert Job.objects.get(pk=run.job_id).state == JobState.ISSUED
    assert f"Certificate {certificate.number} issued and signed." in (
        signatory.get(response["Location"]).content.decode()
    )
    text = signatory.get(url).content.decode()
    assert f'href="/verify/{certificate.number}"' in text
    assert forms_on(text) == set()
    meanings = [s.meaning for s in run.signatures.order_by("signed_at")]
    assert meanings == ["performed", "checked", "authorized"]

    pdf = signatory.get(f"/work/certificates/{certificate.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    body = pdf.content
    assert pdf["Content-Disposition"] == f'attachment; filename="{certificate.number}.pdf"'
    assert body.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(body).hexdigest() == certificate.pdf_sha256
    dcc = reviewer.get(f"/work/certificates/{certificate.pk}/dcc/")
    assert dcc.status_code == 200
    assert dcc["Content-Type"] == "application/xml"
    assert dcc.content.startswith(b"<?xml")
    # Another organization's people do not find it.
    outsider = signed_in(other_center.signatory)
    assert outsider.get(f"/work/certificates/{certificate.pk}/pdf/").status_code == 404
    assert outsider.get(f"/work/certificates/{certificate.pk}/dcc/").status_code == 404


def test_the_run_page_in_vietnamese(center: Center) -> None:
    run = submitted_run(center)
    client = signed_in(center.reviewer)
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    text = client.get(f"/work/runs/{run.pk}/").content.decode()
    assert "Chữ ký" in text  # Signatures
    assert "Biểu đồ sai số" in text  # Error chart
    assert "Ngân sách độ không đảm bảo đo" in text  # Uncertainty budgets
    jobs_page = client.get("/work/jobs/").content.decode()
    assert "Công việc của tôi" in jobs_page  # My jobs


def test_the_budget_writes_a_practically_infinite_dof_as_infinity(center: Center) -> None:
    # Issue 16: an effective ν of 2.99 × 10¹⁴ (a budget of Type B inputs with one Type A
    # input of many readings) is ∞ on the page, never a power of ten (GUM G.4.1; the
    # threshold is uncertainty.display.INFINITE_DOF).
    from labserver.work.presentation import budget_of
    from uncertainty.display import INFINITE_DOF

    run = submitted_run(center)
    for point in run.points.all():
        out = evaluate_gum(parse_model(point.model))[point.output]
        budget = budget_of(point)
        assert budget.problem == ""
        if out.dof > INFINITE_DOF:
            assert budget.dof == "∞"
        else:
            assert budget.dof == str(int(out.dof))
        assert "× 10" not in budget.dof
        for line, row in zip(out.budget, budget.rows, strict=True):
            assert row.dof == ("∞" if line.dof > INFINITE_DOF else str(int(line.dof)))
