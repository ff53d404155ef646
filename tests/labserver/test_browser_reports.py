"""The quality manager's reports in a real browser (Debian's Chromium, headless): reached
from the navigation, every chart drawn within our Content-Security-Policy (no script, no
inline style), each chart beside its table at desktop width and above it on a 390 × 844
phone, where the page never scrolls sideways. The screenshots are those of
``docs/centers/reports.md``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.browser import Page, sign_in
from tests.support.lims import Center
from tests.support.reports import report_maker

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = ("balance", "water-meter", "balance", "taximeter")


def a_year_of_work(center: Center) -> None:
    """About forty certificates over the last twelve months: calibrations and
    verifications of several types, some failed, turnarounds of one to nine days."""
    maker = report_maker(center)
    now = timezone.now()
    for n in range(42):
        issued = now - timedelta(days=8 * n + 1, hours=n % 7)
        received = issued - timedelta(days=1 + (n * 5) % 9, hours=(n * 3) % 11)
        if n % 3 == 0:
            kind, code, statement = "calibration", "dmm", "pass"
        else:
            kind, code = "verification", TYPES[n % len(TYPES)]
            statement = "fail" if n % 5 == 0 else "pass"
        operator, issuer = ("m1", "s1") if n % 4 else ("m2", "s2")
        maker.add(kind, code, received, issued, statement, operator, issuer)


def test_a_quality_manager_reads_the_reports_on_a_desk_and_on_a_phone(
    center: Center, page: Page
) -> None:
    a_year_of_work(center)
    sign_in(page, center.quality_manager)
    page.click_and_wait("nav a[href='/quality/reports/']")
    charts = page.driver.find_elements("css selector", "svg.report-chart")
    assert len(charts) == 4
    assert all(chart.size["height"] > 100 for chart in charts)
    # At desktop width each chart stands beside its table.
    figure = page.find("#throughput .report-figure").rect
    table = page.find("#table-throughput").rect
    assert table["x"] > figure["x"] + figure["width"] - 1
    assert abs(table["y"] - figure["y"]) < 40
    page.screenshot("reports")
    page.driver.execute_script(
        "document.getElementById('pass-rate').scrollIntoView({block: 'start'});"
    )
    page.screenshot("pass-rate-workload")
    page.driver.set_window_size(390, 844)
    try:
        page.open("/quality/reports/")
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the reports are {width} px wide on a 390 px phone"
        figure = page.find("#turnaround .report-figure").rect
        table = page.find("#table-turnaround").rect
        assert table["y"] > figure["y"] + figure["height"] - 1  # under its chart
        page.driver.execute_script(
            "document.getElementById('turnaround').scrollIntoView({block: 'start'});"
        )
        page.screenshot("phone-turnaround")
    finally:
        page.driver.set_window_size(1280, 900)
