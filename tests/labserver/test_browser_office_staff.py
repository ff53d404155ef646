"""The front office's standards, certificates and people pages in a real browser (Debian's
Chromium, headless), worked with the keyboard, at desktop width and on a 390 × 844 phone
(no horizontal scrolling of the page: wide tables scroll in their frame)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labserver.accounts.models import User
from labserver.issuance.models import CertificateEvent
from labserver.issuance.services import issue_certificate
from labserver.standards.models import StandardCertificate
from tests.support.browser import Page, sign_in
from tests.support.frontoffice import admin_of, standard_with_due
from tests.support.issuing import approved_verification, issued
from tests.support.lims import PASSWORD, TODAY, Center

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def on_a_phone(page: Page, path: str, name: str) -> None:
    """``path`` at 390 × 844: the page itself never scrolls sideways."""
    page.driver.set_window_size(390, 844)
    try:
        page.open(path)
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
        page.screenshot(name)
    finally:
        page.driver.set_window_size(1280, 900)


def typed(page: Page, values: dict[str, str]) -> None:
    """Type each value in its field; a list (``<select>``) gets the option of that value."""
    from selenium.webdriver.support.select import Select

    for css, text in values.items():
        field = page.find(css)
        if field.tag_name == "select":
            Select(field).select_by_value(text)
            continue
        field.clear()
        field.send_keys(text)


def test_a_quality_manager_records_a_new_certificate_of_a_standard(
    center: Center, page: Page, tmp_path: Path
) -> None:
    document = tmp_path / "vmi-certificate.pdf"
    document.write_bytes(b"%PDF-1.4\n% the calibrator's certificate\n%%EOF\n")
    for asset_id, days in (("P-BARO-2", 12), ("P-GAUGE-5", 41), ("P-DW-1", -6)):
        standard_with_due(center, asset_id, days)
    sign_in(page, center.quality_manager)
    page.click_and_wait("nav a[href='/office/standards/']")
    assert center.standard.asset_id in page.text("#standards")
    page.screenshot("standards")
    page.click_and_wait(f"#standards a[href='/office/standards/{center.standard.pk}/']")
    typed(
        page,
        {
            "#id_number": "VMI-2026-0815",
            "#id_issuing_lab": "Vietnam Metrology Institute",
            "#id_calibrated_on": TODAY.strftime("%m%d%Y"),
            "#id_issued_on": TODAY.strftime("%m%d%Y"),
            "#id_due_on": TODAY.replace(year=TODAY.year + 1).strftime("%m%d%Y"),
            "#id_values-0-quantity": "dcv",
            "#id_values-0-nominal": "10",
            "#id_values-0-value": "10.000003",
            "#id_values-0-unit": "V",
            "#id_values-0-U": "0.000004",
            "#id_values-0-k": "2",
        },
    )
    page.find("#id_document").send_keys(str(document))
    page.screenshot("standard-certificate-form")
    page.click_and_wait("#certificate-form button[type=submit]")
    assert "VMI-2026-0815" in page.text(".messages")
    recorded = StandardCertificate.objects.get(number="VMI-2026-0815")
    assert recorded.sha256 in page.text("#certificates")
    on_a_phone(page, f"/office/standards/{center.standard.pk}/", "standard-phone")

    # A new standard, with what it may be used for.
    page.open("/office/standards/")
    page.click_and_wait("#new-standard")
    typed(
        page,
        {
            "#id_asset_id": "T-PRT-07",
            "#id_name": "Platinum resistance thermometer",
            "#id_calibration_interval_months": "24",
            "#id_functions-0-role": "reference",
            "#id_functions-0-function": "temperature",
            "#id_functions-0-unit": "°C",
            "#id_functions-0-min": "-50",
            "#id_functions-0-max": "420",
        },
    )
    from selenium.webdriver.support.select import Select

    Select(page.find("#id_field")).select_by_value("temperature")
    page.screenshot("register-standard")
    page.click_and_wait("#standard-form button[type=submit]")
    assert "T-PRT-07" in page.text(".messages")
    assert "temperature -50 … 420 °C" in page.text("#functions")


def test_a_signatory_revokes_a_certificate_with_the_password(
    center: Center, page: Page, tmp_path: Path
) -> None:
    certificate = issued(center)
    run, mass_signatory = approved_verification(center, tmp_path)
    verification = issue_certificate(actor=mass_signatory, run=run, password=PASSWORD)
    sign_in(page, center.signatory)
    page.click_and_wait("nav a[href='/office/certificates/']")
    assert certificate.number in page.text("#certificates")
    from selenium.webdriver.common.keys import Keys

    page.find(f"#label-{verification.pk}").send_keys(Keys.SPACE)  # ticked from the keyboard
    assert page.find(f"#label-{verification.pk}").is_selected()
    page.screenshot("certificates")
    page.click_and_wait(f"#certificates a[href='/office/certificates/{certificate.pk}/']")
    typed(page, {"#id_revoke-reason": "issued to the wrong customer"})
    page.find("#id_revoke-password").send_keys("not my password")
    page.click_and_wait("#revoke-form button[type=submit]")
    assert "password is not correct" in page.text("#revoke-form")
    page.driver.execute_script("document.getElementById('revoke-heading').scrollIntoView()")
    page.screenshot("revoke-wrong-password")
    page.find("#id_revoke-password").send_keys(PASSWORD)
    page.click_and_wait("#revoke-form button[type=submit]")
    assert page.text("#status") == "Revoked"
    assert CertificateEvent.objects.filter(certificate=certificate, kind="revoked").exists()
    page.screenshot("revoked")
    on_a_phone(page, "/office/certificates/", "certificates-phone")


def test_an_administrator_invites_a_person_and_sets_the_certification(
    center: Center, page: Page
) -> None:
    admin = admin_of(center)
    sign_in(page, admin)
    page.click_and_wait("nav a[href='/office/people/']")
    assert center.metrologist.username in page.text("#people")
    page.screenshot("people")
    page.click_and_wait("#invite")
    typed(
        page,
        {
            "#id_username": "tran.binh",
            "#id_full_name": "Trần Thị Bình",
            "#id_email": "binh@example.org",
            "#id_certificate_number": "KĐV-2026-21",
        },
    )
    page.find("#id_certified_fields_0").click()  # mass and weighing
    page.screenshot("invite")
    page.click_and_wait("#invite-form button[type=submit]")
    assert "binh@example.org" in page.text(".messages")
    invited = User.objects.get(username="tran.binh")
    assert not invited.is_active
    page.screenshot("invited-person")
    on_a_phone(page, f"/office/people/{invited.pk}/", "person-phone")

    # The same pages in Vietnamese.
    from selenium.webdriver.support.select import Select

    Select(page.find("#language")).select_by_value("vi")
    page.click_and_wait("form.lang button[type=submit]")
    assert page.text("h2") == "Vai trò"
    page.screenshot("person-vi")
