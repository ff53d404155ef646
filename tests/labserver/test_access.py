"""Organizations never see each other's records; roles are enforced on every endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from labserver.accounts import services as accounts
from labserver.accounts.models import AuditGrant
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    client_for,
    dmm_built_once,
    person,
    post_run,
    procedure_built_once,
    run_payload,
)

pytestmark = pytest.mark.django_db


def detail_urls(center: Center, run_id: str) -> list[str]:
    return [
        f"/api/v1/organizations/{center.org.pk}/",
        f"/api/v1/agents/{center.agent.pk}/",
        f"/api/v1/instruments/{center.instrument.pk}/",
        f"/api/v1/standards/{center.standard.pk}/",
        f"/api/v1/standards/{center.standard.pk}/status/",
        f"/api/v1/standards/{center.standard.pk}/certificates/",
        f"/api/v1/jobs/{center.job.pk}/",
        f"/api/v1/runs/{run_id}/",
    ]


LISTS = [
    "/api/v1/organizations/",
    "/api/v1/agents/",
    "/api/v1/instruments/",
    "/api/v1/standards/",
    "/api/v1/jobs/",
    "/api/v1/runs/",
    "/api/v1/audit/",
]


def ids_in(response: Any) -> set[str]:
    assert response.status_code == 200, response.json()
    return {str(row["id"]) for row in response.json()["results"]}


def test_another_centers_records_are_not_found(center: Center, other_center: Center) -> None:
    payload = run_payload(center)
    assert post_run(center, payload).status_code == 201
    outsider = other_center.client("quality_manager")
    for url in detail_urls(center, payload["run_id"]):
        response = outsider.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"code": "not_found", "detail": "Not found.", "field": None}
    # and the owner sees every one of them
    insider = center.client("quality_manager")
    for url in detail_urls(center, payload["run_id"]):
        assert insider.get(url).status_code == 200, url


def test_lists_never_show_another_centers_records(center: Center, other_center: Center) -> None:
    post_run(center, run_payload(center))
    mine = {url: ids_in(center.client("quality_manager").get(url)) for url in LISTS}
    theirs = {url: ids_in(other_center.client("quality_manager").get(url)) for url in LISTS}
    for url in LISTS:
        assert mine[url], url
        assert not (mine[url] & theirs[url]), url
    # searching by the other center's serial finds nothing either
    found = other_center.client("metrologist").get(
        "/api/v1/instruments/", {"search": center.instrument.serial}
    )
    assert ids_in(found) == set()


def test_another_center_cannot_act_on_records(center: Center, other_center: Center) -> None:
    payload = run_payload(center)
    post_run(center, payload)
    outsider = other_center.client("quality_manager")
    signer = other_center.client("signatory")
    actions = [
        (outsider, f"/api/v1/jobs/{center.job.pk}/cancel/", {"reason": "x"}),
        (outsider, f"/api/v1/jobs/{center.job.pk}/start/", {}),
        (outsider, f"/api/v1/agents/{center.agent.pk}/revoke/", {"reason": "x"}),
        (
            outsider,
            f"/api/v1/standards/{center.standard.pk}/out-of-tolerance/",
            {"since": "2026-01-01", "reason": "x"},
        ),
        (
            other_center.client("reviewer"),
            f"/api/v1/runs/{payload['run_id']}/review/",
            {"password": PASSWORD},
        ),
        (signer, f"/api/v1/runs/{payload['run_id']}/approve/", {"password": PASSWORD}),
        (
            signer,
            f"/api/v1/runs/{payload['run_id']}/reject/",
            {"password": PASSWORD, "reason": "x"},
        ),
    ]
    for client, url, body in actions:
        assert client.post(url, body, format="json").status_code == 404, url


def test_an_agent_of_another_center_cannot_submit_to_a_job(
    center: Center, other_center: Center
) -> None:
    from labserver.jobs import services as jobs

    second = jobs.create_job(
        actor=center.quality_manager, instrument=center.instrument, procedure=center.procedure
    )
    payload = run_payload(center, job=second.number)  # a number the other center does not have
    response = post_run(other_center, payload)
    assert response.status_code == 422
    assert response.json()["field"] == "job"
    assert "no job" in response.json()["detail"]


def test_a_reviewer_cannot_approve_their_own_run(center: Center) -> None:
    # the reviewer also holds the signatory role: four eyes still apply
    accounts.grant_role(
        actor=None,
        user=center.reviewer,
        organization=center.org,
        role="signatory",
        fields=["electrical"],
    )
    payload = run_payload(center)
    post_run(center, payload)
    reviewer = center.client("reviewer")
    url = f"/api/v1/runs/{payload['run_id']}"
    assert reviewer.post(f"{url}/review/", {"password": PASSWORD}, format="json").status_code == 200
    response = reviewer.post(f"{url}/approve/", {"password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert "performed or reviewed" in response.json()["detail"]


def test_the_performer_cannot_review_their_own_run(center: Center) -> None:
    accounts.grant_role(
        actor=None,
        user=center.metrologist,
        organization=center.org,
        role="reviewer",
        fields=["electrical"],
    )
    payload = run_payload(center)
    post_run(center, payload)
    response = center.client("metrologist").post(
        f"/api/v1/runs/{payload['run_id']}/review/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert "performed" in response.json()["detail"]


def test_approval_needs_the_signatory_role_and_field(center: Center) -> None:
    payload = run_payload(center)
    post_run(center, payload)
    url = f"/api/v1/runs/{payload['run_id']}"
    center.client("reviewer").post(f"{url}/review/", {"password": PASSWORD}, format="json")
    as_qm = center.client("quality_manager").post(
        f"{url}/approve/", {"password": PASSWORD}, format="json"
    )
    assert as_qm.status_code == 403
    mass_only = person(center.org, "mass-signatory", "signatory", ["mass"])
    response = client_for(mass_only).post(f"{url}/approve/", {"password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert "does not cover the field 'electrical'" in response.json()["detail"]


def test_a_signature_needs_the_password_again(center: Center) -> None:
    payload = run_payload(center)
    post_run(center, payload)
    response = center.client("reviewer").post(
        f"/api/v1/runs/{payload['run_id']}/review/", {"password": "guess"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["field"] == "password"


def test_a_rejected_run_goes_back_with_its_reason_and_stays_visible(center: Center) -> None:
    payload = run_payload(center)
    post_run(center, payload)
    url = f"/api/v1/runs/{payload['run_id']}"
    response = center.client("reviewer").post(
        f"{url}/reject/", {"password": PASSWORD, "reason": "point 2 unstable"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    job = center.client("metrologist").get(f"/api/v1/jobs/{center.job.pk}/").json()
    assert job["state"] == "in_progress"
    # the correction is a new run that names the rejected one; the original stays readable
    correction = run_payload(center, supersedes=payload["run_id"])
    assert post_run(center, correction).status_code == 201
    original = center.client("reviewer").get(f"{url}/").json()
    assert original["state"] == "rejected"
    assert original["signatures"][-1]["comment"] == "point 2 unstable"


def test_an_auditor_reads_a_granted_center_and_cannot_act(
    center: Center, other_center: Center
) -> None:
    payload = run_payload(center)
    post_run(center, payload)
    auditor = other_center.auditor
    AuditGrant.objects.create(user=auditor, organization=center.org, reason="annual audit")
    client = client_for(auditor)
    assert client.get(f"/api/v1/runs/{payload['run_id']}/").status_code == 200
    assert client.get("/api/v1/audit/").json()["count"] > 0
    response = client.post(
        f"/api/v1/runs/{payload['run_id']}/review/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 403


def test_a_customer_sees_its_instruments_only(center: Center, other_center: Center) -> None:
    customer_org = center.instrument.owner
    customer = person(customer_org, "customer-a", "customer")
    client = client_for(customer)
    assert ids_in(client.get("/api/v1/instruments/")) == {str(center.instrument.pk)}
    assert client.get(f"/api/v1/instruments/{other_center.instrument.pk}/").status_code == 404
    assert ids_in(client.get("/api/v1/runs/")) == set()
    assert ids_in(client.get("/api/v1/audit/")) == set()


def test_the_audit_log_is_for_quality_managers_and_auditors(center: Center) -> None:
    assert center.client("metrologist").get("/api/v1/audit/").json()["count"] == 0
    assert center.client("quality_manager").get("/api/v1/audit/").json()["count"] > 0


def test_anonymous_callers_get_401_everywhere(center: Center) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    for url in LISTS:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"


def test_an_agent_reads_only_its_jobs(center: Center) -> None:
    client = center.agent_client()
    assert ids_in(client.get("/api/v1/jobs/")) == {str(center.job.pk)}
    assert client.get("/api/v1/agents/").json()["count"] == 0
    assert client.post(f"/api/v1/jobs/{center.job.pk}/start/").status_code == 403
