"""The page that refuses a certificate file whose stored bytes are not the ones issued, in a
real browser (Debian's Chromium, headless) on a phone's width and in Vietnamese: a customer
downloads from the portal; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.select import Select

from tests.support.browser import Page, sign_in
from tests.support.issuing import issued
from tests.support.lims import Center, customer_of
from tests.support.stored_files import tamper

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def test_the_refusal_of_an_altered_pdf_reads_on_a_phone_in_vietnamese(
    center: Center, page: Page
) -> None:
    certificate = issued(center)
    tamper(certificate)
    sign_in(page, customer_of(center))
    page.driver.set_window_size(390, 844)
    try:
        Select(page.find("#language")).select_by_value("vi")
        page.click_and_wait("form.lang button[type=submit]")
        page.open(f"/portal/certificates/{certificate.number}.pdf")
        assert page.text("h1") == "Tệp không được cung cấp"
        assert certificate.number in page.text("[role=alert]")
        assert "SHA-256" in page.text("[role=alert]")
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        page.screenshot("file-refused-phone-vi")
    finally:
        page.driver.set_window_size(1280, 900)
