"""The notification settings in a real browser (Debian's Chromium, headless): a customer's
person finds the page in the navigation, turns a kind off with the keyboard and chooses
Vietnamese, at desktop width and on a 390 × 844 phone; and the HTML e-mail as a mail reader
shows it. The screenshots are the ones of docs/centers/notifications.md."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from labserver.accounts.models import User
from labserver.instruments.models import InstrumentType
from labserver.issuance.documents import add_months
from labserver.notifications.models import Preference
from labserver.notifications.services import send_notifications
from tests.support.browser import Page, sign_in
from tests.support.issuing import issued
from tests.support.lims import Center, customer_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def test_a_customer_chooses_the_notifications_and_reads_one(
    center: Center, page: Page, settings: Any, tmp_path: Path
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    person = customer_of(center)
    User.objects.filter(pk=person.pk).update(email="owner@example.org")
    sign_in(page, person)
    page.click_and_wait("nav a[href='/account/notifications/']")
    assert "The e-mails go to owner@example.org." in page.text("main")
    page.screenshot("preferences")

    page.find("#id_issued").send_keys(Keys.SPACE)  # the keyboard unticks the box
    Select(page.find("#id_language")).select_by_value("vi")
    page.click_and_wait("#preferences-form button[type=submit]")
    assert "Your notification settings are saved." in page.text("main")
    chosen = Preference.objects.get(user=person)
    assert (chosen.due, chosen.issued, chosen.recall, chosen.language) == (True, False, True, "vi")

    page.driver.set_window_size(390, 844)
    try:
        page.open("/account/notifications/")
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the settings page is {width} px wide on a 390 px phone"
        page.screenshot("preferences-phone")
    finally:
        page.driver.set_window_size(1280, 900)

    certificate = issued(center)
    InstrumentType.objects.filter(code="dmm").update(verification_interval_months=12)
    finished = timezone.localdate(certificate.run.finished_at, center.org.zone)
    send_notifications(today=add_months(finished, 12) - timedelta(days=30))
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.subject == "1 phương tiện đo đến hạn trong vòng 30 ngày"
    shown = tmp_path / "due.html"
    shown.write_text(str(message.alternatives[0][0]), encoding="utf-8")
    page.driver.set_window_size(820, 360)
    try:
        page.driver.get(shown.as_uri())
        assert certificate.number in page.text()
        page.screenshot("due-email-vi")
    finally:
        page.driver.set_window_size(1280, 900)
