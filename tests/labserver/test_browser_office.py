"""The front office in a real browser (Debian's Chromium, headless), at desktop width and
on a 390×844 phone, in English and Vietnamese: the reception desk registers an instrument
with the keyboard, imports a list (a bad file first: the report, nothing imported), books
jobs and plans one on the calendar. Every page passes the CSP; at 390 px no page scrolls
sideways (wide tables scroll inside their own box)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from labserver.instruments.models import Instrument
from labserver.jobs.models import Job, JobState
from tests.support.browser import Page, sign_in
from tests.support.lims import Center
from tests.support.office import HEADER, csv_bytes, make_desk

pytestmark = pytest.mark.django_db(transaction=True)


def choose(page: Page, css: str, text: str) -> None:
    from selenium.webdriver.support.select import Select

    Select(page.find(css)).select_by_visible_text(text)


def fits(page: Page) -> bool:
    return bool(
        page.driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth;"
        )
    )


def test_the_desk_registers_imports_books_and_plans(
    center: Center, page: Page, tmp_path: Path
) -> None:
    desk = make_desk(center)
    kind = center.instrument.instrument_type
    sign_in(page, desk.reception)
    page.click_and_wait("nav a[href='/office/customers/']")
    assert desk.customer.code in page.text("#customers")
    page.screenshot("customers")
    page.click_and_wait(f"#customers a[href='/office/customers/{desk.customer.pk}/']")

    # An instrument, typed in.
    page.click_and_wait("#add-instrument")
    choose(page, "#id_instrument_type", f"{kind.name} ({kind.code})")
    page.find("#id_manufacturer").send_keys("Keysight")
    page.find("#id_model").send_keys("34461A")
    page.find("#id_serial").send_keys("K-1")
    page.screenshot("instrument-form")
    page.click_and_wait("#desk-form button[type=submit]")
    assert "K-1" in page.text("#instruments")

    # A list with a mistake: the report, nothing imported; then the corrected list.
    bad = tmp_path / "instruments.csv"
    bad.write_bytes(
        csv_bytes(
            [
                HEADER,
                ["dmm", "Keysight", "34461A", "K-2", "", ""],
                ["dmm", "", "34461A", "K-3", "", ""],
            ]
        )
    )
    page.click_and_wait("#import-instruments")
    page.find("#id_file").send_keys(str(bad))
    page.click_and_wait("#import-form button[type=submit]")
    assert "3" in page.text("#problems tbody")  # row 3, manufacturer
    assert Instrument.objects.filter(owner=desk.customer).count() == 1
    page.screenshot("import-report")
    good = tmp_path / "instruments-corrected.csv"
    good.write_bytes(
        csv_bytes(
            [
                HEADER,
                ["dmm", "Keysight", "34461A", "K-2", "", ""],
                ["dmm", "Fluke", "8846A", "F-3", "", "Lab 2"],
            ]
        )
    )
    page.find("#id_file").send_keys(str(good))
    page.click_and_wait("#import-form button[type=submit]")
    assert Instrument.objects.filter(owner=desk.customer).count() == 3
    page.screenshot("customer")

    # Jobs for every instrument at once, then one planned on the calendar.
    page.click_and_wait("#book-jobs")
    for box in page.driver.find_elements("css selector", "#instrument-choices input"):
        box.click()
    choose(page, "#id_procedure", page.find("#id_procedure option:nth-child(2)").text)
    page.screenshot("book-jobs")
    page.click_and_wait("#desk-form button[type=submit]")
    jobs = Job.objects.filter(instrument__owner=desk.customer).order_by("number")
    assert jobs.count() == 3
    page.click_and_wait(f"#to-schedule a[href='/office/jobs/{jobs[0].pk}/plan/']")
    today = timezone.localdate().isoformat()
    page.driver.execute_script(
        "arguments[0].value = arguments[1];", page.find("#id_scheduled_on"), today
    )
    choose(page, "#id_bench", center.agent.name)
    choose(page, "#id_assignee", center.metrologist.full_name)
    page.click_and_wait("#desk-form button[type=submit]")
    assert Job.objects.get(pk=jobs[0].pk).state == JobState.SCHEDULED
    assert jobs[0].number in page.text("#calendar")
    page.screenshot("calendar")

    # In Vietnamese, and on a phone: nothing scrolls sideways.
    page.find("#language option[value='vi']").click()
    page.click_and_wait(".lang button[type=submit]")
    assert page.text("h1") == "Lịch công việc"
    assert "Cần lên lịch" in page.text("#to-schedule-title")
    page.screenshot("calendar-vi")
    page.driver.set_window_size(390, 844)
    try:
        for path, name in (
            ("/office/jobs/calendar/", "phone-calendar"),
            (f"/office/customers/{desk.customer.pk}/", "phone-customer"),
            (f"/office/customers/{desk.customer.pk}/instruments/import/", "phone-import"),
        ):
            page.open(path)
            wide = page.driver.execute_script(
                "return [...document.querySelectorAll('body *')].filter(e => "
                "!e.closest('.table-wrap') && "
                "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)"
                ".map(e => e.tagName + '.' + e.className + '#' + e.id);"
            )
            assert fits(page), f"{path} scrolls sideways at 390 px: {wide}"
            page.screenshot(name)
    finally:
        page.driver.set_window_size(1280, 900)
