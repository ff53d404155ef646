"""The out-of-tolerance workflow in a real browser (Debian's Chromium, headless): a quality
manager opens a nonconformity from the form, records a recall with the password (the
certificate is revoked), decides the rest, closes it. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labserver.nonconformities import services
from labserver.nonconformities.models import Nonconformity
from tests.support.browser import Page, sign_in
from tests.support.lims import PASSWORD, TODAY
from tests.support.nonconformity import Case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def test_open_recall_and_close_a_nonconformity(case: Case, page: Page) -> None:
    qm = case.center.quality_manager
    sign_in(page, qm)
    page.open("/quality/")
    page.click_and_wait("#nonconformities-link")
    assert page.text("h1") == "Out-of-tolerance cases (nonconformities)"

    # Open one from the form (native date inputs: set as a date picker would).
    page.driver.execute_script(
        "arguments[0].value = arguments[1];",
        page.find("#standard"),
        str(case.center.standard.pk),
    )
    for css, when in (
        ("#out_of_tolerance_since", (TODAY - timedelta(days=1)).isoformat()),
        ("#found_on", TODAY.isoformat()),
    ):
        page.driver.execute_script("arguments[0].value = arguments[1];", page.find(css), when)
    page.find("#description").send_keys("As-found error +20 µV at 0.1 V on recalibration.")
    page.find("#shift").send_keys("2e-5")
    page.find("#unit").send_keys("V")
    page.screenshot("open-form")
    page.click_and_wait("#open-form button[type=submit]")
    nc = Nonconformity.objects.get()
    assert page.text("h1") == f"Nonconformity {nc.number}"
    assert f"Nonconformity {nc.number} opened" in page.text(".messages")
    rows = page.driver.find_elements("css selector", "#affected tbody tr")
    assert len(rows) == 5
    first = page.find(
        f"#affected tbody tr:has(a[href='/audit/certificates/{case.first.pk}/chain/'])"
    )
    assert "pass → fail" in first.text
    assert "undecided" in first.text
    page.screenshot("opened")

    # Closing too early: refused with the reason, nothing changed.
    page.click_and_wait("#close-form button[type=submit]")
    assert "cannot be closed: no decision yet for" in page.text("#error")
    assert page.text("#nc-status") == "Open"

    # Recall with the password: the certificate is revoked.
    form = f"#decide-{case.first.pk}"
    page.find(f"#action-{case.first.pk}-recall").click()
    page.find(f"#reason-{case.first.pk}").send_keys("The verdict changes with the shift.")
    page.find(f"#password-{case.first.pk}").send_keys(PASSWORD)
    page.screenshot("recall-form")
    page.click_and_wait(f"{form} button[type=submit]")
    assert "The certificate is revoked." in page.text(".messages")
    first = page.find(
        f"#affected tbody tr:has(a[href='/audit/certificates/{case.first.pk}/chain/'])"
    )
    assert "Revoked" in first.find_element("css selector", ".status-now").text
    assert "Recall (revoked by this decision)" in page.text("#decisions")
    assert page.find("#letters").get_attribute("href").endswith(f"/{nc.pk}/letters.pdf")
    page.screenshot("recalled")

    # The others: no action (through the service), then close from the page.
    for certificate in (case.second, case.empty, case.indirect):
        services.decide(
            actor=qm,
            nonconformity=nc,
            certificate=certificate,
            action="no_action",
            reason="Verdict unchanged.",
        )
    page.open(f"/quality/nonconformities/{nc.pk}/")
    page.find("#note").send_keys("Customer notified by letter.")
    page.click_and_wait("#close-form button[type=submit]")
    assert page.text("#nc-status") == "Closed"
    assert "Customer notified by letter." in page.text("#closed")
    page.screenshot("closed")

    # The public verification page says the recalled certificate is revoked.
    page.open(f"/verify/{case.first.number}")
    assert "Revoked" in page.text("#status")
    page.driver.set_window_size(390, 844)  # a phone
    page.open(f"/quality/nonconformities/{nc.pk}/#affected-heading")
    page.screenshot("closed-phone")
    page.driver.set_window_size(1280, 900)
