"""The batch page in a real browser (Debian's Chromium, headless), on a 390×844 phone and
at desktop width: the exceptions first, two runs ticked, the password typed once, the
outcome run by run; the page never scrolls sideways and keeps its Content-Security-Policy."""

from __future__ import annotations

import pytest

from labserver.measurements.models import Run, RunState
from tests.support.browser import Page, sign_in
from tests.support.issuing import disagreeing_run, submitted_runs
from tests.support.lims import PASSWORD, Center

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def page_fits(page: Page) -> None:
    width = page.driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
    )
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


def test_a_reviewer_signs_a_batch_on_a_phone(center: Center, page: Page) -> None:
    plain = submitted_runs(center, 2)
    odd = disagreeing_run(center)
    sign_in(page, center.reviewer.username)
    page.open("/work/batch/review/")
    page_fits(page)
    rows = page.text("#batch-runs tbody").splitlines()
    assert odd.job.number in rows[0]  # the exception first
    page.screenshot("batch-desktop")
    page.driver.set_window_size(390, 844)  # a phone
    try:
        page.open("/work/batch/review/")
        page_fits(page)
        for run in plain:
            page.find(f"#run-{run.pk}").click()
        page.find("#batch-password").send_keys(PASSWORD)
        page.driver.execute_script("document.getElementById('batch-form').scrollIntoView()")
        page.screenshot("batch-phone")
        page.click_and_wait("#batch-form button[type=submit]")
        assert "2 runs signed." in page.text("#batch-summary")
        page_fits(page)
        page.screenshot("batch-done-phone")
    finally:
        page.driver.set_window_size(1280, 900)
    assert [Run.objects.get(pk=r.pk).state for r in plain] == [RunState.REVIEWED] * 2
    assert Run.objects.get(pk=odd.pk).state == RunState.SUBMITTED
