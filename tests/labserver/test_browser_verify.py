"""The public verification page in a real browser (Debian's Chromium, headless): what a
customer or an inspector sees after scanning the QR code of a valid, a superseded and a
revoked certificate, and the check of a downloaded file through the page's form."""

from __future__ import annotations

from pathlib import Path

import pytest

from labserver.issuance.models import Certificate
from labserver.issuance.services import amend_certificate, issue_certificate, revoke_certificate
from tests.support.browser import Page
from tests.support.issuing import approved_run
from tests.support.lims import PASSWORD, Center

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def issued(center: Center) -> Certificate:
    return issue_certificate(actor=center.signatory, run=approved_run(center), password=PASSWORD)


def test_a_valid_certificate_and_the_check_of_its_file(
    center: Center, page: Page, tmp_path: Path
) -> None:
    certificate = issued(center)
    page.open(f"/verify/{certificate.number}")
    assert page.text("#status") == "Valid"
    assert page.text("h1").endswith(certificate.number)
    assert certificate.pdf_sha256 == page.text("#sha256")
    page.screenshot("valid")

    # The customer's copy, uploaded through the page's form, is the one we issued.
    copy = tmp_path / f"{certificate.number}.pdf"
    with certificate.pdf.open("rb") as handle:
        copy.write_bytes(handle.read())
    page.find("input[type=file]").send_keys(str(copy))
    page.click_and_wait("form.check button[type=submit]")
    assert page.text("#verdict .status").startswith("Valid: this is the file issued")
    page.screenshot("file-checked")

    # One changed byte: the page says the file is not the one issued.
    data = bytearray(copy.read_bytes())
    data[len(data) // 3] ^= 0x01
    copy.write_bytes(bytes(data))
    page.find("input[type=file]").send_keys(str(copy))
    page.click_and_wait("form.check button[type=submit]")
    assert page.text("#verdict .status").startswith("Altered: this is not the file issued")
    page.screenshot("altered")


def test_a_superseded_certificate_leads_to_its_replacement(center: Center, page: Page) -> None:
    original = issued(center)
    amended = amend_certificate(
        actor=center.signatory,
        certificate=original,
        password=PASSWORD,
        reason="customer address corrected",
    )
    page.open(f"/verify/{original.number}")
    status = page.text("#status")
    assert status.startswith("Superseded")
    assert amended.number in status
    page.screenshot("superseded")
    page.click_and_wait("#status a")
    assert page.text("h1").endswith(amended.number)
    assert page.text("#status") == "Valid"
    assert original.number in page.text("dl")  # "Replaces"
    page.screenshot("replacement")


def test_a_revoked_certificate_shows_the_date_and_reason(center: Center, page: Page) -> None:
    certificate = issued(center)
    revoke_certificate(
        actor=center.signatory,
        certificate=certificate,
        password=PASSWORD,
        reason="reference standard found out of tolerance",
    )
    page.open(f"/verify/{certificate.number}")
    status = page.text("#status")
    assert status.startswith("Revoked on")
    assert "reference standard found out of tolerance" in status
    page.screenshot("revoked")
