"""Auditors' and quality managers' pages in a real browser (Debian's Chromium, headless):
the chain of a certificate with a break (red, with its reason beside it), a reverse trace
and its CSV and PDF exports (fetched with the browser's session cookie), the quality
manager's dashboard. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from labserver.standards import services as standards
from tests.support.browser import Page, sign_in
from tests.support.ladder import Hand, value

pytestmark = [pytest.mark.django_db(transaction=True)]

RED = "rgb(160, 22, 27)"  # --bad


def fetch(page: Page, href: str) -> tuple[str, bytes]:
    """GET ``href`` with the browser's session cookie: (content type, body)."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.driver.get_cookies())
    url = href if href.startswith("http") else page.base_url + href
    request = urllib.request.Request(url, headers={"Cookie": cookies})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["Content-Type"], response.read()


def test_the_chain_of_a_certificate_with_a_break(hand: Hand, page: Page) -> None:
    sign_in(page, hand.tracer)
    page.open(f"/audit/certificates/{hand.b.pk}/chain/")
    assert page.text("#summary").startswith("✕ The chain is broken (breaks: 1)")
    broken = page.find("#chain-graph .arrow.broken path")
    assert broken.value_of_css_property("stroke") == RED
    labels = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('#chain-graph .arrow-label.broken text'))"
        ".map(t => [t.textContent, getComputedStyle(t).fill]);"
    )
    text = " ".join(label for label, _fill in labels)
    assert "✕ BREAK" in text
    assert "overdue: certificate H-W-2025-1 of H-W was due on 2025-08-01" in text
    assert {fill for _label, fill in labels} == {RED}
    row = page.find("#chain-table tr.break-row")
    assert "overdue: certificate H-W-2025-1" in row.text
    page.screenshot("chain-with-break")
    page.driver.set_window_size(390, 844)  # a phone
    page.open(f"/audit/certificates/{hand.b.pk}/chain/#chain-table")
    page.screenshot("chain-table-phone")
    page.driver.set_window_size(1280, 900)


def test_a_reverse_trace_and_its_exports(hand: Hand, page: Page) -> None:
    sign_in(page, hand.tracer)
    page.open(f"/audit/standards/{hand.n.pk}/impact/")
    # native date inputs: set their value as a date picker would
    for css, when in (("#from", "2025-01-10"), ("#to", "2025-12-31")):
        page.driver.execute_script("arguments[0].value = arguments[1];", page.find(css), when)
    page.click_and_wait("form.filters button[type=submit]")
    assert page.text("#count") == "Dependent records between 2025-01-10 and 2025-12-31: 5"
    rows = page.driver.find_elements("css selector", "#impact tbody tr")
    assert [r.find_elements("css selector", "td")[3].text for r in rows] == [
        "H-R-2025-1",
        "H-W-2025-1",
        "H-U-2025-1",
        hand.a.number,
        hand.b.number,
    ]
    page.screenshot("reverse-trace")

    kind, body = fetch(page, page.find("#export-csv").get_attribute("href"))
    assert kind.startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(body.decode())))
    numbers = ["H-R-2025-1", "H-W-2025-1", "H-U-2025-1", hand.a.number, hand.b.number]
    assert [t["number"] for t in table] == numbers
    kind, body = fetch(page, page.find("#export-pdf").get_attribute("href"))
    assert kind == "application/pdf"
    assert body.startswith(b"%PDF-")

    page.click_and_wait(f'#impact a[href="/audit/certificates/{hand.a.pk}/chain/"]')
    assert page.text("h1").endswith(hand.a.number)
    assert page.text("#summary") == "✓ The chain is unbroken up to the SI."


def test_the_quality_managers_dashboard(hand: Hand, page: Page) -> None:
    today = timezone.localdate()
    soon = standards.register_standard(
        actor=hand.qm,
        organization=hand.c1.org,
        asset_id="H-SOON",
        name="DC voltage standard due soon",
        field="electrical",
        functions=[],
        calibration_interval_months=12,
    )
    standards.record_certificate(
        actor=hand.qm,
        standard=soon,
        number="H-SOON-1",
        issuing_lab="NMI",
        calibrated_on=today - timedelta(days=340),
        issued_on=today - timedelta(days=340),
        due_on=today + timedelta(days=25),
        values=[value(10, 1e-6)],
    )
    standards.mark_out_of_tolerance(
        actor=hand.qm, standard=hand.r, since=today - timedelta(days=3), reason="drift found"
    )
    sign_in(page, hand.qm)
    page.click_and_wait('nav a[href="/quality/"]')
    assert "H-SOON" in page.text("#due-30")
    assert "H-R" in page.text("#out-of-tolerance")
    assert "H-W" in page.text("#overdue")  # its certificate was due on 2025-08-01
    page.screenshot("quality-dashboard")
    page.click_and_wait('a[href="/quality/audit/"]')
    assert page.text("#verification").startswith("✓ H-C1: intact")
    page.screenshot("audit-log")
