"""A customer's request from asking to downloading the certificate, in a real browser
(Debian's Chromium, headless): the customer asks on the portal, the center's reception desk
accepts and schedules it (the jobs booked and planned), the job is run and its certificate
issued through the tests' issuing helpers, and the customer sees the certificate on its
request and downloads the PDF. At desktop width, then at 390×844 where no page scrolls
sideways; every page passes the CSP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from labserver.customer_requests import status
from labserver.customer_requests.models import CustomerRequest, RequestState
from labserver.jobs.models import Job, JobState
from tests.support.browser import Page, sign_in, sign_out
from tests.support.issuing import issued
from tests.support.lims import Center, customer_of, person

pytestmark = pytest.mark.django_db(transaction=True)


def choose(page: Page, css: str, text: str) -> None:
    from selenium.webdriver.support.select import Select

    Select(page.find(css)).select_by_visible_text(text)


def set_date(page: Page, css: str, day: Any) -> None:
    page.driver.execute_script(
        "arguments[0].value = arguments[1];", page.find(css), day.isoformat()
    )


def fits(page: Page) -> bool:
    return bool(
        page.driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth;"
        )
    )


def too_wide(page: Page) -> list[str]:
    """The first elements past the window's right edge (outside a scrolled table's box)."""
    return list(
        page.driver.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => "
            "!e.closest('.table-wrap') && "
            "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)"
            ".map(e => e.tagName + '.' + e.className + '#' + e.id);"
        )
    )


def download(page: Page, href: str) -> dict[str, Any]:
    """Fetch ``href`` with the browser's session: its status, type and first bytes."""
    return dict(
        page.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done({"
            "status: r.status, type: r.headers.get('content-type'),"
            "head: String.fromCharCode(...new Uint8Array(b.slice(0, 5)))})));",
            href,
        )
    )


def test_a_customer_asks_the_center_schedules_and_the_customer_downloads_the_certificate(
    center: Center, page: Page, demo_pki: Any
) -> None:
    customer = customer_of(center)
    desk = person(center.org, f"{center.org.code.lower()}-reception", "reception")
    wished = timezone.localdate() + timedelta(days=10)

    # The customer asks.
    sign_in(page, customer)
    page.click_and_wait("nav a[href='/portal/requests/']")
    page.click_and_wait("#new-request")
    page.find(f"#instrument-choices input[value='{center.instrument.pk}']").click()
    page.find("input[name=kind][value=calibration]").click()
    page.find("input[name=place][value=on_site]").click()
    page.find("#id_site_address").send_keys("Pumping station 4, 12 River Road")
    set_date(page, "#id_wished_on", wished)
    page.find("#id_note").send_keys("Before the audit, please.")
    page.screenshot("ask")
    page.click_and_wait("#request-form button[type=submit]")
    request = CustomerRequest.objects.get()
    assert page.text("#request-state") == "Submitted"
    page.screenshot("asked")
    sign_out(page)

    # The center's desk accepts and schedules.
    sign_in(page, desk)
    assert page.text("#work-requests-waiting .count") == "1"
    page.click_and_wait("nav a[href='/office/requests/']")
    assert request.number in page.text("#requests")
    page.screenshot("center-requests")
    page.click_and_wait(f"#requests a[href='/office/requests/{request.pk}/']")
    page.click_and_wait("#accept-form button[type=submit]")
    assert page.text("#request-state") == "Accepted"
    choose(page, "#id_procedure", page.find("#id_procedure option:nth-child(2)").text)
    set_date(page, "#id_scheduled_on", wished)
    choose(page, "#id_bench", center.agent.name)
    choose(page, "#id_assignee", center.metrologist.full_name)
    page.screenshot("schedule")
    page.click_and_wait("#schedule-form button[type=submit]")
    assert page.text("#request-state") == "Scheduled"
    job = Job.objects.get(notes__contains=request.number)
    assert job.state == JobState.SCHEDULED
    assert job.number in page.text("#request-jobs")
    page.screenshot("scheduled")
    sign_out(page)

    # The job is run at the bench, reviewed, approved and its certificate issued.
    center.job = job
    certificate = issued(center)
    assert status.current(request).state == RequestState.CERTIFICATE_ISSUED

    # The customer sees it on its request and downloads the PDF.
    sign_in(page, customer)
    page.open(f"/portal/requests/{request.pk}/")
    assert page.text("#request-state") == "Certificate issued"
    assert certificate.number in page.text("#request-certificates")
    history = page.text("#history")
    for word in ("Submitted", "Accepted", "Scheduled", "In work", "Certificate issued"):
        assert word in history
    page.screenshot("certificate-issued")
    link = page.find(f"#request-certificates a[href$='{certificate.number}.pdf']")
    pdf = download(page, link.get_attribute("href"))
    assert pdf == {"status": 200, "type": "application/pdf", "head": "%PDF-"}

    # On a phone nothing scrolls sideways, the customer's pages nor the center's.
    page.driver.set_window_size(390, 844)
    try:
        for path, name in (
            ("/portal/requests/", "phone-requests"),
            (f"/portal/requests/{request.pk}/", "phone-request"),
            ("/portal/requests/new/", "phone-ask"),
        ):
            page.open(path)
            assert fits(page), f"{path} scrolls sideways at 390 px: {too_wide(page)}"
            page.screenshot(name)
        sign_out(page)
        sign_in(page, desk)
        for path, name in (
            ("/office/requests/", "phone-center-requests"),
            (f"/office/requests/{request.pk}/", "phone-center-request"),
        ):
            page.open(path)
            assert fits(page), f"{path} scrolls sideways at 390 px: {too_wide(page)}"
            page.screenshot(name)
    finally:
        page.driver.set_window_size(1280, 900)
