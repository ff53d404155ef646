"""Issuing certificates from approved runs: who may, when, numbering, amendment, revocation.

Runs are submitted, reviewed and approved through the API as in ``test_runs.py``. The
certificates are built, rendered (``certificates.pdf``), given their DCC
(``certificates.dcc``) and signed (``certificates.signing``, the embedded DEMO PKI,
generated once per test session) for real; tests that need those modules skip, naming
what is missing, until they are part of the tree.
"""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from labserver.core.audit import verify_audit
from labserver.core.models import AuditEntry, Counter
from labserver.issuance.documents import IncompleteRecord, add_months, document_for
from labserver.issuance.models import Certificate, CertificateEvent, SigningKeyRecord
from labserver.issuance.services import (
    amend_certificate,
    certificate_state,
    issue_certificate,
    revoke_certificate,
)
from labserver.jobs.models import Job
from labserver.measurements.models import Run
from labserver.standards.models import ReferenceStandard
from tests.support.issuing import (
    approved_run,
    approved_verification,
    issue,
    reviewed_run,
    submitted_run,
)
from tests.support.lims import PASSWORD, Center, next_job, post_run, with_serial

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_pki(demo_pki: Path) -> None:
    """Every test here signs with the DEMO PKI."""


def counter(center: Center, kind: str = "calibration") -> int:
    year = timezone.localdate().year
    row = Counter.objects.filter(key=f"certificate:{center.org.code}:{kind}:{year}").first()
    return row.value if row else 0


# ------------------------------------------------------------------ the document


def test_the_document_of_an_approved_run_states_what_the_server_computed(center: Center) -> None:
    from django.utils import timezone

    run = approved_run(center)
    document = document_for(
        run,
        number="QT1-HC-2026-000001",
        issued_at=timezone.now(),
        verify_url="https://lims.example.org/verify/QT1-HC-2026-000001",
    )
    document.check()
    assert document.kind == "calibration"
    assert document.issuer.name.en == center.org.name
    assert document.customer.name == center.instrument.owner.name
    assert (document.instrument.serial, document.procedure.sha256) == (
        center.instrument.serial,
        center.procedure.content_hash,
    )
    [table] = document.results
    points = list(run.points.order_by("index"))
    assert [row.error for row in table.rows] == [p.server_result["value"] for p in points]
    assert [row.expanded_uncertainty for row in table.rows] == [
        p.server_result["U"] for p in points
    ]
    assert [row.mpe for row in table.rows] == [p.server_result["acceptance"]["mpe"] for p in points]
    [standard] = document.standards
    assert (standard.certificate_number, standard.serial) == ("NMI-QT1-001", "SN-QT1")
    # ISO/IEC 17025 7.8.2.1 o: performed, checked and authorized, by the run's signatures.
    assert [(p.role, p.name) for p in document.people] == [
        ("performed", center.metrologist.signature_name()),
        ("checked", center.reviewer.signature_name()),
        ("authorized", center.signatory.signature_name()),
    ]
    assert {c.name.en: c.unit for c in document.conditions} == {
        "Temperature": "degC",
        "Relative humidity": "%",
    }
    assert document.statement is not None
    assert document.statement.conformity == "pass"


def test_signatures_are_dated_in_the_organization_s_time_zone(center: Center) -> None:
    # Issue 16: a signature given at 06:30 in Hà Nội (23:30 UTC the day before) carries
    # the local date and its offset, like every other date of the certificate.
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from certificates._format import datetime_text

    run = approved_run(center)
    document = document_for(
        run, number="QT1-HC-2026-000001", issued_at=timezone.now(), verify_url="x"
    )
    zone = ZoneInfo(settings.TIME_ZONE)
    stored = {s.name: s.signed_at for s in run.signatures.all()}
    for person in document.people:
        assert person.signed_at == stored[person.name]
        assert person.signed_at.utcoffset() == timedelta(hours=7)  # Asia/Ho_Chi_Minh
        local = stored[person.name].astimezone(zone)
        assert datetime_text(person.signed_at) == f"{local:%Y-%m-%d %H:%M} UTC+07:00"
    # The rendering of a signature before 07:00 local: the local day, not UTC's.
    early = datetime(2026, 12, 6, 23, 30, tzinfo=UTC).astimezone(zone)
    assert datetime_text(early) == "2026-12-07 06:30 UTC+07:00"


def test_the_document_states_resolutions_ranges_and_printable_references(
    center: Center,
) -> None:
    from labserver.issuance.documents import certificate_texts, specification_text

    # Issue 16: no unverified reference and no foreign ordinance on a Vietnamese
    # certificate; they stay in the procedure's metadata.
    assert certificate_texts(
        [
            "OIML R 101:1991 [unverified]",
            "Eichordnung Anlage 16 (DE) 3.4; OIML R 101 (class % of span)",
            "IEC 60751:2008 (A = 3.9083e-3 /°C)",
        ],
        country="VN",
    ) == ("OIML R 101 (class % of span)", "IEC 60751:2008 (A = 3.9083 × 10⁻³ /°C)")
    # The specification in words, with its units, never "key = value".
    assert specification_text({"accuracy_class": 1.6, "span": 600, "unit": "kPa"}) == (
        "Cấp chính xác / Accuracy class: 1.6; Khoảng đo / Span: 600 kPa"
    )
    assert "=" not in specification_text({"max_capacity": 15000, "e": 5, "unit": "g"})


def test_the_document_refuses_a_standard_without_its_serial_number(center: Center) -> None:
    from django.utils import timezone

    run = approved_run(center)
    ReferenceStandard.objects.filter(pk=center.standard.pk).update(serial="")
    with pytest.raises(IncompleteRecord) as refused:
        document_for(run, number="N-HC-2026-000001", issued_at=timezone.now(), verify_url="x")
    assert refused.value.field == "standards[0].serial"


def test_the_document_refuses_a_laboratory_without_its_address(center: Center) -> None:
    from django.utils import timezone

    from labserver.accounts.models import Organization

    run = approved_run(center)
    Organization.objects.filter(pk=center.org.pk).update(address="")
    run.refresh_from_db()
    with pytest.raises(IncompleteRecord) as refused:
        document_for(run, number="N-HC-2026-000001", issued_at=timezone.now(), verify_url="x")
    # ISO/IEC 17025 7.8.2.1 b: the name and address of the laboratory.
    assert refused.value.field == "organization.address"


def test_months_are_added_on_the_calendar() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 20), 12) == date(2027, 11, 20)
    assert add_months(date(2026, 11, 20), 60) == date(2031, 11, 20)


# ------------------------------------------------------------------ refusals before anything


@pytest.mark.parametrize("state", ["submitted", "reviewed", "rejected"])
def test_only_an_approved_run_is_certified(center: Center, state: str) -> None:
    with_serial(center)
    if state == "submitted":
        run = submitted_run(center)
    elif state == "reviewed":
        run = reviewed_run(center)
    else:
        run = submitted_run(center)
        center.client("reviewer").post(
            f"/api/v1/runs/{run.pk}/reject/", {"password": PASSWORD, "reason": "x"}, format="json"
        )
    response = issue(center, run)
    assert response.status_code == 409, response.json()
    assert response.json()["field"] == "run"
    assert not Certificate.objects.exists()
    assert counter(center) == 0


@pytest.mark.parametrize("role", ["reviewer", "quality_manager", "metrologist", "auditor"])
def test_only_a_signatory_issues(center: Center, role: str) -> None:
    run = approved_run(center)
    response = center.client(role).post(
        "/api/v1/certificates/", {"run": str(run.pk), "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403, response.json()
    assert not Certificate.objects.exists()


def test_issuing_needs_the_password_again(center: Center) -> None:
    run = approved_run(center)
    response = center.client("signatory").post(
        "/api/v1/certificates/", {"run": str(run.pk), "password": "wrong"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["field"] == "password"
    assert counter(center) == 0


def test_another_centers_run_is_not_found(center: Center, other_center: Center) -> None:
    run = approved_run(center)
    response = other_center.client("signatory").post(
        "/api/v1/certificates/", {"run": str(run.pk), "password": PASSWORD}, format="json"
    )
    assert response.status_code == 404


def test_production_settings_refuse_the_demo_pki(center: Center, settings: Any) -> None:
    settings.CALTRACE_ALLOW_DEMO_PKI = False
    run = approved_run(center)
    response = issue(center, run)
    assert response.status_code == 503, response.json()
    assert "CALTRACE_SIGNING_PKCS12" in response.json()["detail"]
    assert counter(center) == 0
    assert not Certificate.objects.exists()


def test_production_settings_module_never_allows_the_demo_pki() -> None:
    text = (Path(__file__).resolve().parents[2] / "labserver/settings/production.py").read_text()
    assert "CALTRACE_ALLOW_DEMO_PKI = False" in text


def test_a_verification_without_an_interval_is_refused(center: Center, tmp_path: Path) -> None:
    from django.utils import timezone

    from tests.support.bench_runs import nawi_run

    submitted = nawi_run(center, tmp_path)
    assert post_run(center, submitted.body).status_code == 201
    run = Run.objects.get(pk=submitted.body["run_id"])
    with pytest.raises(IncompleteRecord) as refused:
        document_for(
            run,
            number="QT1-KD-2026-000001",
            issued_at=timezone.now(),
            verify_url="x",
            mark_number="m",
        )
    assert refused.value.field == "instrument_type.verification_interval_months"


# ------------------------------------------------------------------ issuing for real


def test_issuing_stores_the_signed_pdf_and_the_dcc_with_their_hashes(center: Center) -> None:
    import hashlib

    run = approved_run(center)
    response = issue(center, run)
    assert response.status_code == 201, response.json()
    body = response.json()
    year = timezone.localdate().year
    assert body["number"] == f"QT1-HC-{year}-000001"
    assert body["status"] == "valid"
    assert body["verify_url"] == f"https://lims.example.org/verify/{body['number']}"
    client = center.client("reviewer")
    pdf = client.get(f"/api/v1/certificates/{body['id']}/pdf/")
    assert pdf.status_code == 200
    data = b"".join(pdf.streaming_content)  # type: ignore[attr-defined]
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == body["pdf_sha256"]
    dcc = client.get(f"/api/v1/certificates/{body['id']}/dcc/")
    xml = b"".join(dcc.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(xml).hexdigest() == body["dcc_sha256"]
    assert body["number"].encode() in xml
    assert Job.objects.get(pk=run.job_id).state == "issued"
    record = SigningKeyRecord.objects.get()
    assert record.fingerprint == body["signer_fingerprint"]
    # The key's certificate is kept on record: it is the one that signed.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    kept = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    der = kept.public_bytes(serialization.Encoding.DER)
    assert hashlib.sha256(der).hexdigest() == record.fingerprint
    assert AuditEntry.objects.filter(action="certificate.issue", object_id=body["number"]).exists()


def test_one_certificate_per_run(center: Center) -> None:
    run = approved_run(center)
    first = issue(center, run).json()
    again = issue(center, run)
    assert again.status_code == 409
    assert first["number"] in again.json()["detail"]
    assert counter(center) == 1


def test_numbers_follow_each_other_without_gaps(center: Center) -> None:
    numbers = []
    for _ in range(3):
        run = approved_run(center)
        numbers.append(issue(center, run).json()["number"])
        next_job(center)
    year = timezone.localdate().year
    assert numbers == [f"QT1-HC-{year}-{n:06d}" for n in (1, 2, 3)]


def test_a_failed_issue_burns_no_number(center: Center, settings: Any, tmp_path: Path) -> None:
    first = approved_run(center)
    issued = issue(center, first).json()
    key = SigningKeyRecord.objects.get()
    path = f"/api/v1/signing-keys/{key.pk}/revoke/"
    body = {"password": PASSWORD, "reason": "token lost"}
    # Only the quality manager revokes a key, with the password re-entered.
    assert center.client("signatory").post(path, body, format="json").status_code == 403
    wrong = center.client("quality_manager").post(path, {**body, "password": "x"}, format="json")
    assert wrong.status_code in (401, 403), wrong.json()
    revoked = center.client("quality_manager").post(path, body, format="json")
    assert revoked.status_code == 200, revoked.json()
    assert revoked.json()["revoked_reason"] == "token lost"
    assert revoked.json()["fingerprint"] == issued["signer_fingerprint"]
    listed = center.client("reviewer").get("/api/v1/signing-keys/").json()["results"]
    assert [k["revoked_at"] is not None for k in listed] == [True]
    next_job(center)
    second = approved_run(center)
    refused = issue(center, second)
    assert refused.status_code == 503, refused.json()
    assert "revoked" in refused.json()["detail"]
    assert counter(center) == 1
    assert Certificate.objects.count() == 1
    stored = sorted(p.name for p in (Path(settings.MEDIA_ROOT) / "certificates").rglob("*"))
    assert not [name for name in stored if name.endswith("000002.pdf")]
    # A new key (here: a new DEMO PKI) takes the next number, 2: none was lost.
    settings.CALTRACE_DEMO_PKI_DIR = tmp_path / "rotated"
    response = issue(center, second)
    assert response.status_code == 201, response.json()
    assert response.json()["number"] == issued["number"].replace("000001", "000002")


@pytest.mark.skipif(
    connection.vendor != "postgresql" if os.environ.get("DATABASE_URL") else True,
    reason="concurrent transactions need PostgreSQL (SQLite serialises writers)",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_get_unique_consecutive_numbers(center: Center) -> None:
    runs = []
    for _ in range(4):
        runs.append(approved_run(center))
        next_job(center)
    results: list[Any] = []

    def work(run: Run) -> None:
        try:
            results.append(issue_certificate(actor=center.signatory, run=run, password=PASSWORD))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sequences = sorted(c.sequence for c in results)
    assert sequences == [1, 2, 3, 4]


def test_amendment_supersedes_and_the_original_stays_readable(center: Center) -> None:
    run = approved_run(center)
    original = issue(center, run).json()
    client = center.client("signatory")
    response = client.post(
        f"/api/v1/certificates/{original['id']}/amend/",
        {"password": PASSWORD, "reason": "customer address corrected"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    amended = response.json()
    assert amended["number"] != original["number"]
    assert amended["supersedes"] == original["number"]
    old = client.get(f"/api/v1/certificates/{original['id']}/").json()
    assert (old["status"], old["superseded_by"]) == ("superseded", amended["number"])
    still = client.get(f"/api/v1/certificates/{original['id']}/pdf/")
    assert still.status_code == 200
    # Reading the stream to its end closes the file. An explicit close() would send
    # request_finished again and close the test's database connection.
    assert b"".join(still.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    # ISO/IEC 17025 7.8.8.2: the amendment names the one it replaces, tied by its hash.
    response = client.get(f"/api/v1/certificates/{amended['id']}/dcc/")
    dcc = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert original["number"].encode() in dcc
    again = client.post(
        f"/api/v1/certificates/{original['id']}/amend/",
        {"password": PASSWORD, "reason": "again"},
        format="json",
    )
    assert again.status_code == 409


def test_revocation_is_recorded_and_a_revoked_certificate_cannot_be_amended(
    center: Center,
) -> None:
    run = approved_run(center)
    issued = issue(center, run).json()
    certificate = Certificate.objects.get(pk=issued["id"])
    revoke_certificate(
        actor=center.quality_manager,
        certificate=certificate,
        password=PASSWORD,
        reason="the calibrator was found out of tolerance",
    )
    state = certificate_state(certificate)
    assert state.status == "revoked"
    assert CertificateEvent.objects.get().reason == "the calibrator was found out of tolerance"
    with pytest.raises(Exception, match="revoked"):
        amend_certificate(
            actor=center.signatory, certificate=certificate, password=PASSWORD, reason="x"
        )
    reviewer = center.client("reviewer").post(
        f"/api/v1/certificates/{issued['id']}/revoke/",
        {"password": PASSWORD, "reason": "x"},
        format="json",
    )
    assert reviewer.status_code == 403


def test_another_centers_certificate_is_not_found_anywhere(
    center: Center, other_center: Center
) -> None:
    issued = issue(center, approved_run(center)).json()
    other = other_center.client("signatory")
    base = f"/api/v1/certificates/{issued['id']}"
    for url in (f"{base}/", f"{base}/pdf/", f"{base}/dcc/"):
        assert other.get(url).status_code == 404, url
    assert other.get(f"/api/v1/certificates/labels.pdf?ids={issued['id']}").status_code == 404
    for url, body in (
        (f"{base}/amend/", {"password": PASSWORD, "reason": "x"}),
        (f"{base}/revoke/", {"password": PASSWORD, "reason": "x"}),
    ):
        assert other.post(url, body, format="json").status_code == 404, url
    assert other.get("/api/v1/certificates/").json()["results"] == []
    # Nor is the key that signed it.
    key = SigningKeyRecord.objects.get(fingerprint=issued["signer_fingerprint"])
    assert other.get(f"/api/v1/signing-keys/{key.pk}/").status_code == 404
    assert other.get("/api/v1/signing-keys/").json()["results"] == []
    theirs_qm = other_center.client("quality_manager")
    revoke = {"password": PASSWORD, "reason": "x"}
    url = f"/api/v1/signing-keys/{key.pk}/revoke/"
    assert theirs_qm.post(url, revoke, format="json").status_code == 404


def test_a_customer_sees_the_certificates_of_its_instruments(
    center: Center, other_center: Center
) -> None:
    from tests.support.lims import client_for, person

    issued = issue(center, approved_run(center)).json()
    mine = person(center.instrument.owner, "qt1-customer", "customer")
    theirs = person(other_center.instrument.owner, "qt2-customer", "customer")
    assert [
        c["number"] for c in client_for(mine).get("/api/v1/certificates/").json()["results"]
    ] == [issued["number"]]
    assert client_for(theirs).get(f"/api/v1/certificates/{issued['id']}/").status_code == 404


def test_the_audit_chain_verifies_after_issue_amend_and_revoke(center: Center) -> None:
    issued = issue(center, approved_run(center)).json()
    amended = amend_certificate(
        actor=center.signatory,
        certificate=Certificate.objects.get(pk=issued["id"]),
        password=PASSWORD,
        reason="typo in the customer's name",
    )
    revoke_certificate(
        actor=center.quality_manager, certificate=amended, password=PASSWORD, reason="withdrawn"
    )
    report = verify_audit()
    assert report.ok, report.problems
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"certificate.issue", "certificate.amend", "certificate.revoke"} <= actions
    call_command("verify_audit")


def test_models_and_migrations_agree() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_schema_documents_the_certificate_endpoints() -> None:
    import yaml
    from rest_framework.test import APIClient

    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    paths = schema["paths"]
    assert "post" in paths["/api/v1/certificates/"]
    assert "post" in paths["/api/v1/certificates/{id}/amend/"]
    assert "post" in paths["/api/v1/certificates/{id}/revoke/"]
    assert "post" in paths["/api/v1/verify"]


def test_a_verification_carries_its_mark_and_validity_and_prints_labels(
    center: Center, tmp_path: Path
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    certificate = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    year = timezone.localdate().year
    assert certificate.number == f"QT1-KD-{year}-000001"
    assert certificate.mark_number == f"QT1-{year % 100:02d}-0000001"
    performed = timezone.localdate(run.finished_at)  # the lab's date, not UTC's
    assert certificate.valid_until == add_months(performed, 12)
    from tests.support.lims import client_for

    labels = client_for(signatory).get(f"/api/v1/certificates/labels.pdf?ids={certificate.pk}")
    assert labels.status_code == 200
    assert labels.content.startswith(b"%PDF")


def test_a_failed_verification_is_issued_as_a_notice_without_a_mark(
    center: Center, tmp_path: Path
) -> None:
    # A spread of 6 g at 7.5 kg beyond the MPE of 5 g fails the repeatability (R 76-1 A.4.10):
    # the instrument fails its verification. What is issued is a notice of the failure,
    # numbered in the verification series, signed, and publicly checkable; it takes no mark
    # number and no validity, and the instrument gets no label.
    from labserver.core.errors import DomainError
    from labserver.issuance.labels import label_sheet
    from tests.support.readable import pdf_text

    run, signatory = approved_verification(center, tmp_path, repeat_offsets=(0.0, 6.0, 0.0))
    assert run.server_conformity == "fail"
    notice = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    year = timezone.localdate().year
    assert notice.number == f"QT1-KD-{year}-000001"
    assert (notice.mark_number, notice.valid_until) == ("", None)
    with notice.pdf.open("rb") as handle:
        text = " ".join(pdf_text(handle.read(), tmp_path).split())
    assert "NOTICE OF FAILED VERIFICATION" in text
    assert "THÔNG BÁO KẾT QUẢ KIỂM ĐỊNH KHÔNG ĐẠT" in text
    assert "None: the instrument failed its verification" in text
    page = center.client("signatory").get(f"/verify/{notice.number}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Notice of failed verification {notice.number}</h1>" in body
    assert "Issued and in force: the instrument failed its verification and carries no mark" in body
    assert "the instrument failed its verification" in body
    with pytest.raises(DomainError) as refused:
        label_sheet([notice])
    assert "is a notice of failed verification" in str(refused.value)
    # The failure consumed no mark number: the year's series of marks has not started.
    from labserver.core.models import Counter

    assert not Counter.objects.filter(key=f"mark:QT1:{year}").exists()


# ------------------------------------------------------------------ each organization's zone


def test_a_certificate_is_dated_in_its_issuing_organization_s_zone(center: Center) -> None:
    # Issue 16: dates and times on a certificate are the issuing organization's, with its
    # offset. 15:30 UTC on 6 December is 22:30 the same day in Hà Nội (UTC+07:00) and
    # 00:30 on 7 December in Tokyo (UTC+09:00): one instant, two organizations, two days.
    from datetime import UTC, date, datetime, timedelta

    from django.core.exceptions import ValidationError

    run = approved_run(center)
    moment = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
    org = run.organization
    assert org.time_zone == "Asia/Ho_Chi_Minh"  # the deployment's TIME_ZONE by default
    by_zone = {}
    for name in ("Asia/Ho_Chi_Minh", "Asia/Tokyo"):
        org.time_zone = name
        org.save(update_fields=["time_zone"])
        run = Run.objects.select_related("organization").get(pk=run.pk)
        by_zone[name] = document_for(
            run, number="QT1-HC-2026-000001", issued_at=moment, verify_url="x"
        )
    assert by_zone["Asia/Ho_Chi_Minh"].issued_on == date(2026, 12, 6)
    assert by_zone["Asia/Tokyo"].issued_on == date(2026, 12, 7)
    for name, offset in (("Asia/Ho_Chi_Minh", 7), ("Asia/Tokyo", 9)):
        people = by_zone[name].people
        assert people
        assert {p.signed_at.utcoffset() for p in people} == {timedelta(hours=offset)}
    # A name the zone database does not know is refused at entry, naming the field.
    org.time_zone = "Asia/Hanoi-City"
    with pytest.raises(ValidationError) as refused:
        org.full_clean()
    assert "time_zone" in refused.value.message_dict
    assert "Asia/Hanoi-City" in refused.value.message_dict["time_zone"][0]


def test_the_public_check_dates_a_certificate_in_its_issuer_s_zone(center: Center) -> None:
    # The public record of a certificate and its page give the issuing organization's
    # day, whatever zone the reader or the deployment is in.
    from zoneinfo import ZoneInfo

    from django.test import Client

    from labserver.issuance.public import public_certificate

    run = approved_run(center)
    response = issue(center, run)
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    # A certificate row is append-only: the organization's zone is what varies here, from
    # UTC+14 to UTC−11, so the two days always differ.
    issued = Certificate.objects.get(number=number).issued_at
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC−11
        center.org.time_zone = name
        center.org.save(update_fields=["time_zone"])
        expected = issued.astimezone(ZoneInfo(name)).date().isoformat()
        record = public_certificate(number)
        assert record is not None, name
        assert record["issued_on"] == expected, name
        page = Client().get(f"/verify/{number}").content.decode()
        assert expected in page, name
    assert (
        issued.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
        != issued.astimezone(ZoneInfo("Pacific/Pago_Pago")).date()
    )
