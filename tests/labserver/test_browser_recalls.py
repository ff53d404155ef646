"""A nonconformity opened on a recall notice of the national registry, in a real browser
(Debian's Chromium, headless): its list and its page fit a phone, in English and in
Vietnamese. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from labserver.accounts import services as accounts
from labserver.accounts.models import Organization
from labserver.nonconformities.models import Nonconformity
from labserver.registry.models import CalibrationLinkFact
from tests.support.browser import SIZES, Page, assert_fits, sign_in
from tests.support.issuing import issued
from tests.support.lims import Center
from tests.support.registry import link, out_of_tolerance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_pki")]


def test_a_notified_nonconformity_fits_a_phone_in_both_languages(
    center: Center, page: Page
) -> None:
    issued(center)
    today = timezone.localdate()
    calibrated_on = today - timedelta(days=30)
    out_of_tolerance("QT2", "QT2-REFERENCE-CALIBRATOR-01", calibrated_on - td(10), today)
    upstream = ("QT2", "QT2-REFERENCE-CALIBRATOR-01", "")
    CalibrationLinkFact.objects.bulk_create(
        [link("QT1", center.standard.asset_id, "QT2-HC-2026-000777", upstream, calibrated_on)]
    )
    accounts.create_organization(
        actor=None, code="TCDL", name="Directorate", kind=Organization.Kind.DIRECTORATE
    )  # a central node: the national registry's and QT1's
    call_command("registry_recalls", "notify")
    call_command("registry_recalls", "open")
    nc = Nonconformity.objects.get()
    sign_in(page, center.quality_manager)
    try:
        for language in ("en", "vi"):
            page.driver.add_cookie({"name": "django_language", "value": language})
            for size, (width, height) in SIZES.items():
                page.driver.set_window_size(width, height)
                for path in ("/quality/nonconformities/", f"/quality/nonconformities/{nc.pk}/"):
                    page.open(path)
                    assert_fits(page, f"{path} at {size} in {language}")
                page.screenshot(f"notified-nonconformity-{language}-{size}")
            assert nc.notified_by in page.text("#notified")
    finally:
        page.driver.set_window_size(*SIZES["desktop"])


def td(days: int) -> timedelta:
    return timedelta(days=days)
