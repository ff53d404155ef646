"""Every kind of page passes the Content-Security-Policy in Chromium (issue 15, point 4).

The ``page`` fixture fails a test on any refusal Chromium logs
(tests/labserver/browser.py); this test opens one page of each kind, including the two
that run scripts (the API's documentation, the admin), and checks that those scripts ran.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.support.wait import WebDriverWait

from labserver.accounts.models import User
from labserver.issuance.services import issue_certificate
from tests.support.browser import Page, sign_in, sign_out
from tests.support.issuing import approved_run
from tests.support.lims import PASSWORD, Center

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def test_each_kind_of_page_passes_the_policy_in_chromium(center: Center, page: Page) -> None:
    run = approved_run(center)
    certificate = issue_certificate(actor=center.signatory, run=run, password=PASSWORD)

    # Anyone's pages.
    for path in [
        "/",
        f"/verify/{certificate.number}",
        "/open-data/",
        "/standards/register/",
    ]:
        page.open(path)
    page.screenshot("open-data")

    # The admin, signed in: its scripts ran (the theme script marks the document; the
    # change list's actions script counts the rows selected).
    User.objects.create_superuser("csp-admin", "admin@example.org", PASSWORD)
    page.open("/admin/login/")
    assert page.driver.execute_script("return document.documentElement.dataset.theme")
    page.find("#id_username").send_keys("csp-admin")
    page.find("#id_password").send_keys(PASSWORD)
    page.click_and_wait("#login-form input[type=submit]")
    page.open("/admin/accounts/organization/")
    assert page.text(".action-counter").startswith("0 of")
    page.find("#action-toggle").click()
    counter = page.text(".action-counter")
    assert counter.endswith("selected")
    assert not counter.startswith("0 of"), counter
    page.screenshot("admin-change-list")
    page.assert_no_csp_violation()
    page.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    # The API's documentation: Swagger UI started from its script file and drew the schema.
    page.open("/api/docs/")
    WebDriverWait(page.driver, 20).until(
        lambda d: d.execute_script(
            "return document.querySelector('.swagger-ui .info .title') !== null"
        )
    )
    assert "caltrace LIMS API" in page.text(".swagger-ui .info .title")
    page.screenshot("api-docs")
    page.assert_no_csp_violation()

    # The signatory's pages: the work list, the run with its chart and its certificate.
    sign_in(page, center.signatory.username)
    page.open("/work/jobs/")
    assert "Not allowed" not in page.text("h1")
    page.open(f"/work/runs/{run.pk}/")
    assert page.find("svg")  # the chart
    assert page.text("#certificates .certificate-number") == certificate.number
    page.screenshot("run-with-chart")
    sign_out(page)

    # The quality manager's: the certificate's chain, the audit log.
    sign_in(page, center.quality_manager.username)
    for path in [f"/audit/certificates/{certificate.pk}/chain/", "/quality/audit/"]:
        page.open(path)
        assert "Not allowed" not in page.text("h1"), path
