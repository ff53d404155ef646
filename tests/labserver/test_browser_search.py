"""The staff's search in a real browser (Debian's Chromium, headless): typed in the header's
field, the results grouped by kind with the exact serial first, a link followed to the
record's page, a too-short query refused beside the field, the page in Vietnamese and on a
390 × 844 phone (the page never scrolls sideways; wide tables scroll in their frame). Every
page passes the Content-Security-Policy (tests.support.browser)."""

from __future__ import annotations

import pytest

from tests.support.browser import Page, sign_in
from tests.support.lims import Center
from tests.support.search import VIETNAMESE_NAME, searched_center

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_desk_searches_from_the_header_on_a_desk_and_a_phone(
    center: Center, page: Page
) -> None:
    world = searched_center(center)
    sign_in(page, world.desk.reception)
    page.find("#site-search").send_keys("W-100")
    page.screenshot("header")
    page.click_and_wait(".site-search button[type=submit]")
    assert page.driver.current_url.endswith("/search/?q=W-100")
    serials = [
        cell.text
        for cell in page.driver.find_elements("css selector", "#instruments th[scope=row]")
    ]
    assert serials == ["W-100", "W-1000", "W-100A"]
    assert world.job.number in page.text("#jobs")
    page.screenshot("results")

    page.click_and_wait("#instruments th[scope=row] a")
    assert world.desk.customer.name in page.text("main")

    page.open("/search/?q=%C4%90%E1%BB%93ng")  # Đồng
    assert VIETNAMESE_NAME in page.text("#customers")
    page.open("/search/?q=W")
    assert "at least 2" in page.text("#q-error")

    page.open("/search/?q=W-100")
    page.find("#language option[value=vi]").click()
    page.click_and_wait(".lang button[type=submit]")
    assert "Phương tiện đo" in page.text("#instruments")
    page.screenshot("results-vi")

    page.driver.set_window_size(390, 844)
    try:
        page.open("/search/?q=W-100")
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the search page is {width} px wide on a 390 px phone"
        page.screenshot("phone")
    finally:
        page.driver.set_window_size(1280, 900)
