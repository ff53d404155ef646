"""The public pages, mobile first: the home page, a certificate's verification page (the QR
code's target), the field to type a number, the bilingual 404 and 500 pages, and the
signed-in home page that starts from the person's work.

Logic through Django's test client; what only a browser proves (no horizontal scrolling at
320 and 390 px, the header and its language switch) in Debian's Chromium, on a certificate
issued for real.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client, RequestFactory

from labserver.accounts.models import User
from labserver.core.views import server_error
from labserver.issuance.models import Certificate
from labserver.issuance.services import issue_certificate
from tests.support.browser import SIZES, Page, assert_fits, sign_in
from tests.support.issuing import approved_run, submitted_run
from tests.support.lims import PASSWORD, Center

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def in_vietnamese() -> Client:
    client = Client()
    client.cookies["django_language"] = "vi"
    return client


def issued(center: Center) -> Certificate:
    return issue_certificate(actor=center.signatory, run=approved_run(center), password=PASSWORD)


def test_the_home_page_offers_the_field_to_type_a_number() -> None:
    page = Client().get("/").content.decode()
    assert '<form class="find" action="/verify/" method="get"' in page
    assert 'name="number"' in page


def test_a_typed_number_leads_to_its_verification_page() -> None:
    response = Client().get("/verify/", {"number": "  QT1-HC-2026-000001 "})
    assert response.status_code == 302
    assert response["Location"] == "/verify/QT1-HC-2026-000001"


def test_an_empty_number_says_what_to_type_next_to_the_field() -> None:
    response = in_vietnamese().get("/verify/", {"number": " "})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="certificate-number-error"' in page
    assert "Nhập số in trên giấy chứng nhận" in page


def bilingual_page(response: Any, status: int, paragraph: str) -> str:
    """The page of ``response``, checked: ``status``, its text in both languages
    (``#<paragraph>-vi``, ``#<paragraph>-en``) and the field to type a number."""
    assert response.status_code == status
    page = str(response.content.decode())
    assert f'id="{paragraph}-vi"' in page
    assert f'id="{paragraph}-en"' in page
    assert '<form class="find" action="/verify/" method="get"' in page
    return page


@pytest.mark.parametrize("debug", [False, True], ids=["production", "demo"])
def test_a_wrong_number_is_the_bilingual_404_page_in_the_demo_too(
    settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    page = bilingual_page(Client().get("/verify/QT1-HC-2026-999999"), 404, "not-found")
    assert "Không tìm thấy / Not found" in page
    assert "technical_404" not in page
    assert "Django" not in page


def test_an_unknown_address_outside_the_api_is_the_bilingual_404_page() -> None:
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Không tìm thấy / Not found" in page
    assert 'name="number"' in page
    # The API keeps its JSON error body.
    api = Client().get("/api/v1/no-such-thing/")
    assert api.status_code == 404
    assert api.json()["code"] == "not_found"


def test_the_500_page_is_bilingual_with_the_field_and_needs_no_request_context() -> None:
    page = bilingual_page(server_error(RequestFactory().get("/somewhere/")), 500, "server-error")
    assert "Lỗi máy chủ / Server error" in page


def test_the_verification_page_speaks_vietnamese_with_the_type_s_vietnamese_name(
    center: Center,
) -> None:
    certificate = issued(center)
    kind = center.instrument.instrument_type
    kind.name_vi = "Đồng hồ vạn năng hiện số"
    kind.save(update_fields=["name_vi"])
    page = in_vietnamese().get(f"/verify/{certificate.number}").content.decode()
    assert '<html lang="vi">' in page
    assert "Còn hiệu lực" in page  # Valid
    assert "Đồng hồ vạn năng hiện số" in page
    assert "Digital multimeter" not in page
    assert 'id="language"' in page  # the site's header and its language switch
    english = Client().get(f"/verify/{certificate.number}").content.decode()
    assert "Digital multimeter" in english
    assert "Valid" in english


def test_the_file_check_results_are_in_the_page_s_language(center: Center) -> None:
    certificate = issued(center)
    with certificate.pdf.open("rb") as handle:
        data = bytearray(handle.read())
    data[len(data) // 3] ^= 0x01
    upload = io.BytesIO(bytes(data))
    upload.name = "copy.pdf"
    response = in_vietnamese().post(f"/verify/{certificate.number}", {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Đã bị sửa đổi: đây không phải là tệp đã cấp" in page
    assert "không phải là tệp đã cấp cho giấy chứng nhận" in page
    assert "is not the one issued" not in page
    missing = in_vietnamese().post(f"/verify/{certificate.number}", {})
    assert missing.status_code == 400
    assert "Hãy chọn tệp PDF cần kiểm tra." in missing.content.decode()


# ------------------------------------------------------------------ the person's work


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def work_lines(client: Client) -> dict[str, str]:
    """``{line id: its text}`` of the home page's work list."""
    from html.parser import HTMLParser

    lines: dict[str, str] = {}

    class Lines(HTMLParser):
        current: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            key = dict(attrs).get("id") or ""
            if tag == "li" and key.startswith("work-"):
                self.current = key[len("work-") :]
                lines[self.current] = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "li":
                self.current = None

        def handle_data(self, data: str) -> None:
            if self.current:
                lines[self.current] += data

    Lines().feed(client.get("/").content.decode())
    return {key: " ".join(text.split()) for key, text in lines.items()}


def test_the_home_page_shows_each_role_s_work_with_counts_and_links(
    center: Center, other_center: Center
) -> None:
    submitted_run(center)
    center.job.assignee = center.metrologist
    center.job.save(update_fields=["assignee"])
    submitted_run(other_center)  # another center's: never counted

    reviewer = signed_in(center.reviewer)
    assert work_lines(reviewer) == {"runs-to-review": "1 Runs to review Reviewer"}
    assert 'href="/work/jobs/?state=measured"' in reviewer.get("/").content.decode()

    assert work_lines(signed_in(center.metrologist))["my-jobs"].startswith("1 My jobs")
    signatory = work_lines(signed_in(center.signatory))
    assert signatory == {
        "runs-to-approve": "0 Runs to approve Signatory",
        "certificates-to-issue": "0 Certificates to issue Signatory",
    }
    quality = work_lines(signed_in(center.quality_manager))
    assert quality == {
        "standards-due": "0 Standards falling due or overdue Quality manager",
        "open-nonconformities": "0 Open nonconformities Quality manager",
    }


# ------------------------------------------------------------------ in a browser


@pytest.mark.django_db(transaction=True)
def test_the_public_pages_fit_a_phone_without_scrolling_sideways(
    center: Center, page: Page
) -> None:
    certificate = issued(center)
    try:
        for size, (width, height) in SIZES.items():
            page.driver.set_window_size(width, height)
            for name, path in (
                ("home", "/"),
                ("verify", f"/verify/{certificate.number}"),
                ("not-found", "/verify/QT1-HC-2026-999999"),
            ):
                page.open(path)
                assert_fits(page, f"{path} at {size}")
                page.screenshot(f"{name}-{size}")
                if name == "verify" and size != "desktop":  # the SHA-256, wrapped
                    page.driver.execute_script(
                        "document.getElementById('sha256').scrollIntoView({block: 'center'});"
                    )
                    page.screenshot(f"{name}-sha256-{size}")
        # The field on the 404 page leads to the certificate, at 320 px.
        page.find("#certificate-number").send_keys(certificate.number)
        page.click_and_wait("form.find button[type=submit]")
        assert page.text("h1").endswith(certificate.number)
        assert page.text("#sha256") == certificate.pdf_sha256
        # The header's language switch, on the verification page.
        from selenium.webdriver.support.select import Select

        Select(page.find("#language")).select_by_value("vi")
        page.click_and_wait("form.lang button[type=submit]")
        assert page.text("#status") == "Còn hiệu lực"
        assert_fits(page, "the verification page in Vietnamese at 320 px")
        page.screenshot("verify-vi-phone-320")
        page.driver.set_window_size(390, 844)
        sign_in(page, center.signatory)
        assert_fits(page, "the signed-in home page at 390 px")
        page.screenshot("home-signatory-phone-390")
    finally:
        page.driver.set_window_size(*SIZES["desktop"])
