"""Reference standards (certificates with their files, status on a date) and jobs via the API."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labserver.standards.models import ReferenceStandard
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    TODAY,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)

pytestmark = pytest.mark.django_db


def test_a_certificate_is_recorded_with_its_file_and_hash(center: Center) -> None:
    content = b"%PDF-1.7 calibration certificate of the DMM, DEMO\n"
    upload = SimpleUploadedFile("cert.pdf", content, content_type="application/pdf")
    response = center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/",
        {
            "number": "NMI-2026-0042",
            "issuing_lab": "National Metrology Institute",
            "accreditation": "CIPM MRA",
            "calibrated_on": str(TODAY),
            "issued_on": str(TODAY),
            "due_on": str(TODAY + timedelta(days=365)),
            "values": '[{"quantity": "dcv", "nominal": 10, "value": 10.000001, "unit": "V", '
            '"U": 3e-6, "k": 2, "coverage_probability": 0.95}]',
            "file": upload,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    status = center.client("metrologist").get(f"/api/v1/standards/{center.standard.pk}/").json()
    assert status["status"]["certificate"] == "NMI-2026-0042"


def test_certificate_dates_must_make_sense(center: Center) -> None:
    response = center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/",
        {
            "number": "X-1",
            "issuing_lab": "Lab",
            "calibrated_on": str(TODAY),
            "issued_on": str(TODAY),
            "due_on": str(TODAY - timedelta(days=1)),
            "values": [],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "due_on"


def test_an_oversized_upload_is_refused(center: Center, settings) -> None:
    settings.CALTRACE_MAX_UPLOAD_BYTES = 10_000
    upload = SimpleUploadedFile("big.pdf", b"x" * 20_000, content_type="application/pdf")
    response = center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/",
        {
            "number": "BIG",
            "issuing_lab": "Lab",
            "calibrated_on": str(TODAY),
            "issued_on": str(TODAY),
            "due_on": str(TODAY + timedelta(days=9)),
            "values": "[]",
            "file": upload,
        },
        format="multipart",
    )
    assert response.status_code == 413


def test_only_the_quality_manager_records_certificates(center: Center) -> None:
    response = center.client("metrologist").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/",
        {
            "number": "X-2",
            "issuing_lab": "Lab",
            "calibrated_on": str(TODAY),
            "issued_on": str(TODAY),
            "due_on": str(TODAY + timedelta(days=9)),
            "values": [],
        },
        format="json",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("days_from_today", "status"),
    [(-100, "in_service"), (240, "due"), (266, "overdue"), (-101, "overdue")],
)
def test_a_standards_status_on_a_date(center: Center, days_from_today: int, status: str) -> None:
    # the fixture's certificate: calibrated 100 days ago, due in 265 days
    on = TODAY + timedelta(days=days_from_today)
    body = (
        center.client("metrologist")
        .get(f"/api/v1/standards/{center.standard.pk}/status/", {"on": str(on)})
        .json()
    )
    assert body["status"]["status"] == status, body["status"]


def test_out_of_tolerance_and_retired_standards(center: Center) -> None:
    client = center.client("quality_manager")
    client.post(
        f"/api/v1/standards/{center.standard.pk}/out-of-tolerance/",
        {"since": str(TODAY - timedelta(days=10)), "reason": "failed intermediate check"},
        format="json",
    )
    before = client.get(
        f"/api/v1/standards/{center.standard.pk}/status/",
        {"on": str(TODAY - timedelta(days=11))},
    ).json()
    after = client.get(f"/api/v1/standards/{center.standard.pk}/status/").json()
    assert before["status"]["status"] == "in_service"
    assert after["status"]["status"] == "out_of_tolerance"
    ReferenceStandard.objects.filter(pk=center.standard.pk).update(retired_on=TODAY)
    retired = client.get(f"/api/v1/standards/{center.standard.pk}/status/").json()
    assert retired["status"]["status"] == "retired"


def test_lists_filter_and_paginate(center: Center) -> None:
    client = center.client("quality_manager")
    found = client.get("/api/v1/jobs/", {"state": "accepted"}).json()
    assert found["count"] == 1
    assert client.get("/api/v1/jobs/", {"state": "approved"}).json()["count"] == 0
    page = client.get("/api/v1/audit/", {"page_size": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"] is not None


def test_a_job_is_created_numbered_and_cancelled_with_a_reason(center: Center) -> None:
    qm = center.client("quality_manager")
    created = qm.post(
        "/api/v1/jobs/",
        {
            "instrument": center.instrument.pk,
            "procedure": center.procedure.pk,
            "due_on": str(TODAY + timedelta(days=7)),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    job = created.json()
    assert job["number"].endswith("00002")
    assert job["state"] == "requested"
    no_reason = qm.post(f"/api/v1/jobs/{job['id']}/cancel/", {"reason": " "}, format="json")
    assert no_reason.status_code == 400
    cancelled = qm.post(
        f"/api/v1/jobs/{job['id']}/cancel/", {"reason": "customer withdrew"}, format="json"
    )
    assert cancelled.json()["state"] == "cancelled"
    again = qm.post(f"/api/v1/jobs/{job['id']}/accept/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"


def test_a_customer_cannot_create_jobs(center: Center) -> None:
    from tests.support.lims import client_for, person

    customer = person(center.instrument.owner, "cust-b", "customer")
    response = client_for(customer).post(
        "/api/v1/jobs/",
        {"instrument": center.instrument.pk, "procedure": center.procedure.pk},
        format="json",
    )
    assert response.status_code in (400, 403)


def test_the_admin_edits_reference_data_and_only_reads_regulated_records(center: Center) -> None:
    from django.test import Client

    from labserver.accounts.models import User

    admin = User.objects.create_superuser("root", "root@example.org", "a strong admin password")
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/instruments/instrumenttype/add/").status_code == 200
    for model in ("measurements/run", "core/auditentry", "standards/referencestandard", "jobs/job"):
        assert client.get(f"/admin/{model}/add/").status_code == 403, model
    assert client.get("/admin/core/auditentry/").status_code == 200


def test_a_quality_manager_registers_a_procedure_checked_like_the_agent_checks_it(
    center: Center,
) -> None:
    from procedures.definition import library, load_definition

    client = center.client("quality_manager")
    definition = dict(load_definition(library()["dmm-dcv"]).data)
    again = client.post("/api/v1/procedures/register/", {"definition": definition}, format="json")
    assert again.status_code == 201
    assert again.json()["content_hash"] == center.procedure.content_hash
    broken = {
        **definition,
        "version": "1.0.1",
        "tests": [{**definition["tests"][0], "output": "Q"}],
    }
    response = client.post("/api/v1/procedures/register/", {"definition": broken}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "definition.tests[0].output"
    assert "no output 'Q'" in response.json()["detail"]
    changed = {**definition, "references": ["another document"]}
    response = client.post("/api/v1/procedures/register/", {"definition": changed}, format="json")
    assert response.status_code == 409
    assert (
        center.client("metrologist")
        .post("/api/v1/procedures/register/", {"definition": definition}, format="json")
        .status_code
        == 403
    )
