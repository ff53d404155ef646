"""Public verification: the page of a certificate, ``POST /api/v1/verify`` and the
``verify_certificate`` command, for anyone, with no login and nothing private.

The pages are checked on certificates issued for real (rendered, signed with the DEMO
PKI).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from labserver.issuance.models import Certificate
from labserver.issuance.services import amend_certificate, issue_certificate, revoke_certificate
from tests.support.issuing import approved_run
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def upload(data: bytes, name: str = "certificate.pdf") -> Any:
    handle = io.BytesIO(data)
    handle.name = name
    return APIClient().post("/api/v1/verify", {"file": handle}, format="multipart")


def test_an_unknown_number_is_a_bilingual_404_with_the_field_and_says_nothing_more() -> None:
    response = APIClient().get("/verify/QT1-HC-2026-999999")
    assert response.status_code == 404
    body = response.content.decode()
    main = body[body.index("<main") : body.index("</main>")]
    assert "QT1-HC-2026-999999" not in main  # the page does not echo what was typed
    assert "Traceback" not in body
    assert "Không tìm thấy / Not found" in main
    assert 'action="/verify/"' in main
    assert 'name="number"' in main


def test_the_verify_api_needs_a_file() -> None:
    response = APIClient().post("/api/v1/verify", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["field"] == "file"


def test_the_verify_api_refuses_a_file_over_the_limit(settings: Any) -> None:
    settings.CALTRACE_MAX_VERIFY_BYTES = 1000
    response = upload(b"%PDF-1.7\n" + b"x" * 2000)
    assert response.status_code == 413
    assert response.json()["field"] == "file"


# ------------------------------------------------------------------ with real certificates


@pytest.fixture
def issued(center: Center) -> tuple[Certificate, bytes]:
    certificate = issue_certificate(
        actor=center.signatory, run=approved_run(center), password=PASSWORD
    )
    with certificate.pdf.open("rb") as handle:
        return certificate, handle.read()


def test_the_page_shows_what_the_certificate_prints_and_nothing_private(
    issued: tuple[Certificate, bytes], center: Center
) -> None:
    certificate, _ = issued
    response = APIClient().get(f"/verify/{certificate.number}")
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        certificate.number,
        center.org.name,
        center.instrument.serial,
        center.instrument.manufacturer,
        certificate.pdf_sha256,
        "Valid",
    ):
        assert text in page, text
    # The people who signed and the customer are on the certificate, not on this page.
    for private in (
        center.signatory.signature_name(),
        center.metrologist.signature_name(),
        center.instrument.owner.name,
    ):
        assert private not in page


def test_the_issued_pdf_is_valid(issued: tuple[Certificate, bytes]) -> None:
    certificate, data = issued
    verdict = upload(data).json()
    assert verdict["status"] == "valid", verdict
    assert verdict["number"] == certificate.number
    assert verdict["sha256"] == verdict["issued_sha256"] == certificate.pdf_sha256


def test_one_changed_byte_is_altered(issued: tuple[Certificate, bytes]) -> None:
    certificate, data = issued
    # A digit of the results, inside the signed byte range (the end of the file holds the
    # cross-reference; the middle holds content).
    position = len(data) // 3
    changed = data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]
    verdict = upload(changed).json()
    assert verdict["status"] == "altered", verdict
    assert verdict["number"] == certificate.number
    assert verdict["problems"]


def test_an_appended_incremental_update_is_altered(issued: tuple[Certificate, bytes]) -> None:
    from pyhanko.pdf_utils.generic import NameObject, pdf_string
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    certificate, data = issued
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.root[NameObject("/Lang")] = pdf_string("en")
    writer.update_root()  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    verdict = upload(out.getvalue()).json()
    assert verdict["status"] == "altered", verdict
    assert verdict["number"] == certificate.number


def test_a_revoked_certificate_shows_as_revoked_on_the_page_and_in_the_api(
    issued: tuple[Certificate, bytes], center: Center
) -> None:
    certificate, data = issued
    revoke_certificate(
        actor=center.quality_manager,
        certificate=certificate,
        password=PASSWORD,
        reason="the calibrator was out of tolerance",
    )
    verdict = upload(data).json()
    assert verdict["status"] == "revoked"
    assert verdict["revoked_reason"] == "the calibrator was out of tolerance"
    page = APIClient().get(f"/verify/{certificate.number}").content.decode()
    assert "Revoked" in page
    assert "the calibrator was out of tolerance" in page


def test_a_superseded_certificate_links_to_its_replacement(
    issued: tuple[Certificate, bytes], center: Center
) -> None:
    certificate, data = issued
    replacement = amend_certificate(
        actor=center.signatory, certificate=certificate, password=PASSWORD, reason="typo"
    )
    verdict = upload(data).json()
    assert (verdict["status"], verdict["superseded_by"]) == ("superseded", replacement.number)
    page = APIClient().get(f"/verify/{certificate.number}").content.decode()
    assert f'href="/verify/{replacement.number}"' in page
    with replacement.pdf.open("rb") as handle:
        assert upload(handle.read()).json()["status"] == "valid"


def test_a_file_of_no_certificate_is_unknown(center: Center) -> None:
    verdict = upload(b"%PDF-1.7\nnot a certificate\n%%EOF\n").json()
    assert verdict["status"] == "unknown"
    assert verdict["number"] is None


def test_the_page_checks_an_uploaded_file(issued: tuple[Certificate, bytes]) -> None:
    certificate, data = issued
    client = APIClient(enforce_csrf_checks=False)
    handle = io.BytesIO(data)
    handle.name = "c.pdf"
    response = client.post(f"/verify/{certificate.number}", {"file": handle})
    assert response.status_code == 200
    assert 'class="status valid"' in response.content.decode()


def test_the_command_prints_the_verdict_and_exits_0_only_when_valid(
    issued: tuple[Certificate, bytes], tmp_path: Path, center: Center
) -> None:
    _, data = issued
    good = tmp_path / "good.pdf"
    good.write_bytes(data)
    out = io.StringIO()
    call_command("verify_certificate", str(good), stdout=out)
    assert json.loads(out.getvalue())["status"] == "valid"
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(data + b"\n% appended\n")
    with pytest.raises(SystemExit) as exited:
        call_command("verify_certificate", str(bad), stdout=io.StringIO())
    assert exited.value.code == 1


def test_an_upload_of_number_shaped_strings_costs_a_bounded_number_of_queries(
    issued: tuple[Certificate, bytes], django_assert_max_num_queries: Any
) -> None:
    # A crafted upload of 100,000 distinct strings shaped like certificate numbers, with an
    # issued number after the first hundred: one look-up for the candidates, not one each
    # (and one in the registry, for another node's certificate: labserver.issuance.national).
    certificate, _ = issued
    fake = b" ".join(b"QT1-HC-2026-%06d" % n for n in range(500_000, 600_000))
    data = b"%PDF-1.7\n" + fake + b" " + certificate.number.encode() + b"\n%%EOF\n"
    with django_assert_max_num_queries(5):
        verdict = upload(data).json()
    assert verdict["status"] == "unknown"  # the issued number lies past the first 64


def test_a_number_among_the_first_candidates_is_still_found(
    issued: tuple[Certificate, bytes],
) -> None:
    certificate, _ = issued
    data = b"%PDF-1.7\nQT1-HC-2026-999998 " + certificate.number.encode() + b"\n%%EOF\n"
    verdict = upload(data).json()
    assert (verdict["status"], verdict["number"]) == ("altered", certificate.number)
