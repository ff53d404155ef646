"""The reviewer's evidence on the run page in a real browser (Debian's Chromium, headless),
on a 390×844 phone and at desktop width: every reading, the references, the stability
flags, the environment and the I/O log are on the page, and the page never scrolls
sideways (a wide table scrolls inside its own frame)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from labserver.measurements.models import Run
from tests.support.browser import Page, sign_in
from tests.support.lims import Center, post_run, run_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def a_run_with_evidence(center: Center) -> Run:
    """A run with an unstable reading, the environment's raw text, and an I/O log of two
    pages with a long answer that has no space to break at."""
    payload = run_payload(center)
    started = datetime.fromisoformat(payload["started_at"])
    payload["raw_io"] = [
        {
            "t": (started + timedelta(seconds=5 + 0.125 * n)).isoformat(),
            "dir": "write" if n % 2 else "read",
            "role": "uut",
            "address": "TCPIP0::192.168.10.21::hislip0::INSTR",
            "data": "MEAS:VOLT:DC? 10,MAX" if n % 2 else "+1.000000312E+01" * (4 if n == 2 else 1),
        }
        for n in range(1, 61)
    ]
    payload["points"][0]["readings"][2]["stable"] = False
    payload["environment"]["temperature"]["raw"] = "T=23.10C RH=45%"
    assert post_run(center, payload).status_code == 201
    return Run.objects.get(pk=payload["run_id"])


def page_fits(page: Page) -> None:
    overflow = page.driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
    )
    assert overflow[0] <= overflow[1], f"the page scrolls sideways: {overflow}"


def test_the_reviewer_sees_the_evidence_on_a_phone(center: Center, page: Page) -> None:
    run = a_run_with_evidence(center)
    sign_in(page, center.reviewer.username)
    page.driver.set_window_size(390, 844)  # a phone
    try:
        page.open(f"/work/runs/{run.pk}/")
        page_fits(page)
        evidence = page.find("#evidence-0")
        assert evidence.get_attribute("open") is not None  # the first point is open
        assert "1 unstable reading" in page.text("#evidence-0 summary")
        assert "QT1-CAL-01" in page.text("#evidence-0 table.references")
        page.driver.execute_script("document.getElementById('evidence').scrollIntoView()")
        page.screenshot("evidence-phone")
        # The readings table is wider than a phone: it scrolls in its frame, the page does not.
        frame = page.find("#evidence-0 .table-wrap")
        assert frame.size["width"] <= 390
        assert "T=23.10C RH=45%" in page.text("#environment")
        page.driver.execute_script("document.getElementById('io-log').scrollIntoView()")
        assert "Entries 1–50 of 60" in page.text("#io-log")
        page.screenshot("io-log-phone")
        page.click_and_wait("#io-log a[rel=next]")
        assert "Entries 51–60 of 60" in page.text("#io-log")
        page_fits(page)
    finally:
        page.driver.set_window_size(1280, 900)
    page.open(f"/work/runs/{run.pk}/")
    page_fits(page)
    page.driver.execute_script("document.getElementById('evidence').scrollIntoView()")
    page.screenshot("evidence-desktop")
