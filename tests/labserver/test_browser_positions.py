"""A multi-position run's page in a real browser (Debian's Chromium, headless), at desktop
width and on a 390×844 phone: the positions are listed exceptions first, each
exception's points open under the list, and the page never scrolls sideways."""

from __future__ import annotations

import pytest

from labserver.measurements.models import Run
from tests.support.browser import Page, sign_in
from tests.support.lims import Center, post_run
from tests.support.position_runs import three_positions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def a_run_of_three_positions(center: Center) -> Run:
    payload = three_positions(center)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    return Run.objects.get(pk=payload["run_id"])


def page_fits(page: Page) -> None:
    overflow = page.driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
    )
    assert overflow[0] <= overflow[1], f"the page scrolls sideways: {overflow}"


def test_the_positions_are_shown_exceptions_first_on_a_desk_and_a_phone(
    center: Center, page: Page
) -> None:
    run = a_run_of_three_positions(center)
    sign_in(page, center.reviewer.username)
    for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
        page.driver.set_window_size(width, height)
        page.open(f"/work/runs/{run.pk}/")
        page_fits(page)
        rows = page.driver.find_elements("css selector", "#positions-table tbody tr")
        assert [r.get_attribute("id") for r in rows] == ["position-2", "position-3", "position-1"]
        assert "Skipped" in rows[1].text
        assert "not mounted" in rows[1].text
        assert page.find("#position-2-points").get_attribute("open") is not None
        assert page.find("#position-1-points").get_attribute("open") is None
        assert "Disagrees:" in page.text("#position-2-points")
        assert not page.driver.find_elements("css selector", "#points, #evidence, #budgets")
        page.driver.execute_script("document.getElementById('positions').scrollIntoView()")
        page.screenshot(f"positions-{name}")
    page.driver.set_window_size(1280, 900)
