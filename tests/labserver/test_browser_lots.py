"""An in-service lot's page in a real browser (Debian's Chromium, headless): the quality
manager sees the plan's operating characteristic drawn as SVG beside its table and the sample
drawn with its seed, and enters a result with the page's form; at desktop width, then at
390×844 where the page does not scroll sideways; every page passes the CSP. The screenshots
are the ones of docs/centers/lots.md."""

from __future__ import annotations

import pytest

from labserver.accounts import services as accounts
from labserver.lots import services
from labserver.lots.models import Lot
from tests.support.browser import Page, artifacts_dir, sign_in
from tests.support.lims import Center

pytestmark = pytest.mark.django_db(transaction=True)

METERS = "serial,location\n" + "".join(f"EM-{i:03d},Feeder {i % 4}\n" for i in range(1, 201))


def drawn_lot(center: Center) -> Lot:
    qm = center.quality_manager
    owner = accounts.create_organization(
        actor=None, code="PC-HN", name="Power company", kind="customer", parent=center.org
    )
    lot = services.create_lot(
        actor=qm,
        organization=center.org,
        number="EM-2019-07",
        instrument_type=center.instrument.instrument_type,
        installed_year=2019,
        owner=owner,
    )
    services.import_meters(actor=qm, lot=lot, name="meters.csv", data=METERS.encode())
    services.choose_plan(
        actor=qm,
        lot=lot,
        sample_size=32,
        acceptance_number=1,
        basis="Quality plan QP-12 of the center: AQL 1 %, general inspection level II",
    )
    services.draw_sample(actor=qm, lot=lot, seed=20261206)
    return Lot.objects.get(pk=lot.pk)


def fits(page: Page) -> bool:
    return bool(
        page.driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth;"
        )
    )


def test_the_quality_manager_reads_the_oc_and_enters_a_result(center: Center, page: Page) -> None:
    from selenium.webdriver.support.select import Select

    lot = drawn_lot(center)
    first = lot.draw.serials[0]
    sign_in(page, center.quality_manager)
    page.driver.set_window_size(1280, 1900)  # the whole plan in the screenshot
    try:
        page.open(f"/office/lots/{lot.pk}/")
        assert page.find("svg.oc-chart").is_displayed()
        # 32 of 200 meters is 16 % of the lot: the hypergeometric model
        assert "Hypergeometric" in page.text("#oc-model")
        assert "seed 20261206" in page.text("#draw-facts")
        page.find("#plan").screenshot(str(artifacts_dir() / "lots-plan.png"))
        Select(page.find("#id_serial")).select_by_visible_text(first)
        Select(page.find("#id_passed")).select_by_value("1")
        page.click_and_wait("#result-form button[type=submit]")
        assert "Passed" in page.text("#sample-table")
        page.driver.set_window_size(390, 844)
        page.open(f"/office/lots/{lot.pk}/")
        assert fits(page), "the lot's page scrolls sideways on a phone"
        page.find("#plan").screenshot(str(artifacts_dir() / "lots-plan-phone.png"))
        page.open("/office/lots/")
        assert fits(page)
        assert "EM-2019-07" in page.text("#lots")
    finally:
        page.driver.set_window_size(1280, 900)
