"""Certificate files are served only as issued: the stored bytes are checked against the
SHA-256 recorded at issue on every path that hands them out (API, staff pages, customer
portal), and ``manage.py verify_storage`` checks the whole store."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from labserver.accounts.models import User
from labserver.core.audit import verify_audit
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate
from tests.support.issuing import issued
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    customer_of,
    dmm_built_once,
    procedure_built_once,
)
from tests.support.stored_files import stored, tamper

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def refusals(certificate: Certificate, action: str = "certificate.file_altered") -> Any:
    return AuditEntry.objects.filter(action=action, object_id=certificate.number)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_verify_storage() -> tuple[int, list[str]]:
    out = io.StringIO()
    try:
        call_command("verify_storage", stdout=out)
    except SystemExit as exit:
        code = int(exit.code or 0)
    else:
        code = 0
    return code, out.getvalue().splitlines()


# ------------------------------------------------------------------ the API


def test_the_api_refuses_an_altered_pdf_with_409_and_serves_the_untouched_dcc(
    center: Center,
) -> None:
    certificate = issued(center)
    tamper(certificate)
    client = center.client("reviewer")
    response = client.get(f"/api/v1/certificates/{certificate.pk}/pdf/")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "code": "file_altered",
        "detail": f"the stored PDF of certificate {certificate.number} does not match the "
        "SHA-256 recorded when it was issued; it is not served",
        "field": "pdf",
    }
    dcc = client.get(f"/api/v1/certificates/{certificate.pk}/dcc/")
    assert dcc.status_code == 200
    assert dcc.getvalue().startswith(b"<?xml")
    [entry] = refusals(certificate)
    assert entry.actor == f"user:{center.reviewer.username}"
    assert entry.organization_id == center.org.pk
    assert entry.after["file"] == "pdf"
    assert entry.after["recorded_sha256"] == certificate.pdf_sha256
    assert entry.after["found_sha256"] not in (None, certificate.pdf_sha256)
    assert verify_audit().ok


def test_the_api_refuses_an_altered_dcc(center: Center) -> None:
    certificate = issued(center)
    path = stored(certificate.dcc.name)
    path.write_bytes(path.read_bytes().replace(b"<?xml", b"<?xml ", 1))
    response = center.client("signatory").get(f"/api/v1/certificates/{certificate.pk}/dcc/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "file_altered"
    assert f"the stored DCC XML of certificate {certificate.number}" in body["detail"]
    assert refusals(certificate).count() == 1
    assert (
        center.client("signatory").get(f"/api/v1/certificates/{certificate.pk}/pdf/").status_code
        == 200
    )


def test_each_refusal_writes_one_audit_entry(center: Center) -> None:
    certificate = issued(center)
    tamper(certificate)
    client = center.client("reviewer")
    for _ in range(2):
        assert client.get(f"/api/v1/certificates/{certificate.pk}/pdf/").status_code == 409
    assert refusals(certificate).count() == 2


def test_a_deleted_file_is_refused_as_missing(center: Center) -> None:
    certificate = issued(center)
    stored(certificate.pdf.name).unlink()
    response = center.client("reviewer").get(f"/api/v1/certificates/{certificate.pk}/pdf/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "file_missing"
    assert body["field"] == "pdf"
    assert certificate.number in body["detail"]
    [entry] = refusals(certificate, "certificate.file_missing")
    assert entry.after["found_sha256"] is None
    assert not refusals(certificate).exists()


def test_another_organization_still_finds_nothing_and_no_refusal_is_recorded(
    center: Center, other_center: Center
) -> None:
    certificate = issued(center)
    tamper(certificate)
    response = other_center.client("reviewer").get(f"/api/v1/certificates/{certificate.pk}/pdf/")
    assert response.status_code == 404
    assert not refusals(certificate).exists()


# ------------------------------------------------------------------ the pages


def test_the_staff_page_refuses_an_altered_pdf_in_english_and_vietnamese(center: Center) -> None:
    certificate = issued(center)
    tamper(certificate)
    client = signed_in(center.signatory)
    url = f"/work/certificates/{certificate.pk}/pdf/"
    response = client.get(url)
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    text = response.content.decode()
    assert "File not served" in text
    assert (
        f"The stored PDF of certificate {certificate.number} does not match the SHA-256 "
        "recorded when it was issued; it is not served." in text
    )
    assert "%PDF" not in text
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    text = client.get(url).content.decode()
    assert "Tệp không được cung cấp" in text
    assert f"Tệp PDF đã lưu của giấy chứng nhận {certificate.number} không khớp" in text
    # The untouched DCC is still served.
    dcc = client.get(f"/work/certificates/{certificate.pk}/dcc/")
    assert dcc.status_code == 200
    assert dcc.content.startswith(b"<?xml")
    entries = refusals(certificate)
    assert entries.count() == 2
    assert {e.actor for e in entries} == {f"user:{center.signatory.username}"}


def test_the_staff_page_says_when_the_file_is_missing(center: Center) -> None:
    certificate = issued(center)
    stored(certificate.dcc.name).unlink()
    client = signed_in(center.reviewer)
    response = client.get(f"/work/certificates/{certificate.pk}/dcc/")
    assert response.status_code == 409
    assert (
        f"The stored DCC XML of certificate {certificate.number} is missing from the storage"
        in response.content.decode()
    )
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    text = client.get(f"/work/certificates/{certificate.pk}/dcc/").content.decode()
    assert f"giấy chứng nhận {certificate.number} không còn trong kho lưu trữ" in text
    assert refusals(certificate, "certificate.file_missing").count() == 2


def test_the_portal_refuses_an_altered_pdf_in_english_and_vietnamese(center: Center) -> None:
    certificate = issued(center)
    tamper(certificate)
    customer = customer_of(center)
    client = Client()
    login = client.post("/accounts/login/", {"username": customer.username, "password": PASSWORD})
    assert login.status_code == 302
    url = f"/portal/certificates/{certificate.number}.pdf"
    response = client.get(url)
    assert response.status_code == 409
    assert not response.streaming
    text = response.content.decode()
    assert f"The stored PDF of certificate {certificate.number} does not match" in text
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    text = client.get(url).content.decode()
    assert "Tệp không được cung cấp" in text
    assert f"giấy chứng nhận {certificate.number} không khớp với mã SHA-256" in text
    assert {e.actor for e in refusals(certificate)} == {f"user:{customer.username}"}
    assert refusals(certificate).count() == 2


# ------------------------------------------------------------------ verify_storage


def test_verify_storage_exits_0_with_a_summary_on_clean_storage(center: Center) -> None:
    issued(center)
    code, lines = run_verify_storage()
    assert code == 0
    assert lines == ["1 certificates, 2 files checked: 0 problems"]


def test_verify_storage_lists_altered_missing_and_orphan_files(center: Center) -> None:
    certificate = issued(center)
    tamper(certificate)
    stored(certificate.dcc.name).unlink()
    orphan = stored(f"certificates/{center.org.code}/stray.pdf")
    orphan.write_bytes(b"%PDF-1.7 not issued")
    code, lines = run_verify_storage()
    assert code != 0
    assert lines == [
        f"altered: certificate {certificate.number} PDF: {certificate.pdf.name}",
        f"missing: certificate {certificate.number} DCC XML: {certificate.dcc.name}",
        f"orphan: certificates/{center.org.code}/stray.pdf (no certificate names it)",
        "1 certificates, 2 files checked: 3 problems",
    ]
    # A check of the store refuses nothing to anyone: no audit entry.
    assert not AuditEntry.objects.filter(action__startswith="certificate.file_").exists()
