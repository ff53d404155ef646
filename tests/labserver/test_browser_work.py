"""The work pages in a real browser (Debian's Chromium, headless): three people take a
run from review to an issued certificate, and the run page shows its chart and budgets."""

from __future__ import annotations

import pytest

from labserver.issuance.models import Certificate
from labserver.measurements.models import Run, RunState
from tests.support.browser import Page, sign_in, sign_out
from tests.support.issuing import submitted_run
from tests.support.lims import PASSWORD, Center, with_serial

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def test_review_approve_and_issue_by_three_people(center: Center, page: Page) -> None:
    with_serial(center)  # the addresses and serials a certificate prints
    run = submitted_run(center)

    # The reviewer finds the run among the jobs and checks it.
    sign_in(page, center.reviewer.username)
    page.click_and_wait("nav a[href='/work/jobs/']")
    assert center.job.number in page.text("#jobs")
    page.screenshot("jobs-reviewer")
    page.click_and_wait(f"#jobs a[href='/work/runs/{run.pk}/']")
    assert page.text("#run-state").startswith("Submitted")
    page.screenshot("run-submitted")
    page.find("#review-comment").send_keys("evidence, budgets and verdicts checked")
    page.find("#review-password").send_keys(PASSWORD)
    page.click_and_wait("#form-review button[type=submit]")
    assert "Signed: you checked this run." in page.text(".messages")
    assert page.text("#run-state").startswith("Reviewed")
    assert center.reviewer.full_name in page.text("#signatures")
    page.screenshot("run-reviewed")
    sign_out(page)

    # The signatory approves it; a wrong password first is refused, and nothing changes.
    sign_in(page, center.signatory.username)
    page.open(f"/work/runs/{run.pk}/")
    page.find("#approve-password").send_keys("not my password")
    page.click_and_wait("#form-approve button[type=submit]")
    assert "the password is not correct" in page.text("#action-error")
    assert Run.objects.get(pk=run.pk).state == RunState.REVIEWED
    page.screenshot("approve-wrong-password")
    page.find("#approve-password").send_keys(PASSWORD)
    page.click_and_wait("#form-approve button[type=submit]")
    assert page.text("#run-state").startswith("Approved")
    assert "Authorized by" in page.text("#signatures")
    page.screenshot("run-approved")

    # ... and issues the certificate.
    page.find("#issue-password").send_keys(PASSWORD)
    page.click_and_wait("#form-issue button[type=submit]", timeout_s=60)
    certificate = Certificate.objects.get(run=run)
    assert certificate.number in page.text(".messages")
    # The page that says what was signed: the number, the signed PDF, the public check.
    assert page.text("#certificates .certificate-number") == certificate.number
    assert certificate.verify_url in page.text("#signed")
    page.screenshot("certificate-issued")

    # Its verification link opens the public page: valid.
    page.click_and_wait("#certificates a.verify-link")
    assert page.text("h1").endswith(certificate.number)
    assert page.text("#status") == "Valid"
    page.screenshot("verify-valid")


def test_the_run_page_shows_the_chart_and_the_budgets(center: Center, page: Page) -> None:
    run = submitted_run(center)
    sign_in(page, center.auditor.username)
    page.open(f"/work/runs/{run.pk}/")
    chart = page.find("#charts svg.chart")
    assert chart.is_displayed()
    assert chart.size["width"] > 300
    assert "Nominal (V)" in chart.text or "Nominal (V)" in chart.get_attribute("innerHTML")
    budget = page.find("#budget-0 table")
    assert budget.is_displayed()  # the first budget is open
    assert "V_s" in budget.text
    assert page.driver.find_elements("css selector", "#sign") == []  # read-only
    page.driver.execute_script("document.getElementById('charts').scrollIntoView()")
    page.screenshot("chart-and-budget")
    # The other budgets open with the keyboard (a <details> element, no script).
    from selenium.webdriver.common.keys import Keys

    summary = page.find("#budget-1 summary")
    summary.send_keys(Keys.ENTER)
    assert page.find("#budget-1 table").is_displayed()

    # On a phone the tables scroll inside their frame; the page itself does not.
    page.driver.set_window_size(390, 844)
    try:
        page.open(f"/work/runs/{run.pk}/")
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400
        page.screenshot("run-phone")
    finally:
        page.driver.set_window_size(1280, 900)
