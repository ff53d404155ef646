"""Times on the LIMS's pages carry the organization's UTC offset (issue 16).

A page that shows "06:30" without a zone cannot be read against a certificate that
says "06:30 UTC+07:00", and work done before 07:00 in Hà Nội is on the previous day in
UTC. These tests prove that the pages write a time as the certificate's signature block
does (:func:`uncertainty.display.datetime_text`, the same function), in both
languages, and that no template writes a time of day without it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client

from labserver.accounts.models import SignatureGuard, User
from labserver.core.models import AuditAnchor, AuditEntry
from labserver.measurements.models import Run
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)
from tests.support.pages import reviewed, signed_in
from uncertainty.display import datetime_text

pytestmark = [pytest.mark.usefixtures("demo_pki")]

# 23:30 UTC on 6 December is 06:30 on 7 December in Asia/Ho_Chi_Minh (settings.TIME_ZONE).
LATE_UTC = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
LOCAL = "2026-12-07 06:30"
TEMPLATES = Path(__file__).resolve().parents[2] / "labserver"
# A time of day on a page: "2026-12-07 06:30" or with seconds; what must follow it.
TIME_OF_DAY = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?")
OFFSET = re.compile(r" UTC(?:[+-]\d\d:\d\d)?")


def times_without_offset(page: str) -> list[str]:
    """Every time of day on ``page`` not followed by its UTC offset."""
    return [
        page[m.start() : m.end() + 12]
        for m in TIME_OF_DAY.finditer(page)
        if not OFFSET.match(page, m.end())
    ]


def localized(client: Client, language: str) -> Client:
    client.cookies["django_language"] = language
    return client


def test_the_filter_is_the_certificate_s_rule() -> None:
    # The page and the signature block cannot disagree: one function, one zone.
    page = Template("{% load moments %}{{ t|moment }}|{{ t|moment:'seconds' }}|{{ n|moment }}")
    shown = page.render(Context({"t": LATE_UTC, "n": None}))
    assert shown == f"{LOCAL} UTC+07:00|{LOCAL}:00 UTC+07:00|"
    assert shown.split("|")[0] == datetime_text(LATE_UTC.astimezone(ZoneInfo(settings.TIME_ZONE)))


def test_the_filter_refuses_a_date_and_a_misspelt_precision() -> None:
    # A date alone has no time of day to put a zone on; a typo must not drop seconds.
    with pytest.raises(TemplateSyntaxError, match="expects a datetime, not date"):
        Template("{% load moments %}{{ d|moment }}").render(Context({"d": LATE_UTC.date()}))
    with pytest.raises(TemplateSyntaxError, match="precision must be"):
        Template("{% load moments %}{{ t|moment:'second' }}").render(Context({"t": LATE_UTC}))


def test_no_template_writes_a_time_of_day_without_its_offset() -> None:
    # Django's |date and |time filters write local digits with no zone: a time of day
    # (H, G, i, s, P, A in the format) must go through |moment instead. Dates alone
    # (|date:"Y-m-d") keep the local date and are allowed.
    raw = re.compile(r"""\|(?:date|time):["'][^"']*[HGgiPAs][^"']*["']|naturaltime|\|time\b""")
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in sorted(TEMPLATES.rglob("templates/**/*.html"))
        for match in raw.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert list(TEMPLATES.rglob("templates/**/*.html")), "no templates found: wrong folder"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_run_signed_at_23_30_utc_shows_the_next_local_day_with_its_offset(
    center: Center, language: str
) -> None:
    with time_machine.travel(LATE_UTC, tick=False):
        run = reviewed(center)
    signed = {s.signed_at for s in Run.objects.get(pk=run.pk).signatures.all()}
    assert LATE_UTC in signed  # the review, signed at 23:30 UTC

    pages = {
        "run": f"/work/runs/{run.pk}/",
        "jobs": "/work/jobs/",
    }
    for name, url in pages.items():
        response = localized(signed_in(center.reviewer), language).get(url)
        assert response.status_code == 200, name
        assert response["Content-Language"] == language
        text = response.content.decode()
        # the run started and was signed before 07:00 local: the local day, with the offset
        assert re.search(r"2026-12-07 06:\d\d(:\d\d)? UTC\+07:00", text), name
        assert "2026-12-06 23:30" not in text, name  # never UTC's digits as if local
        assert times_without_offset(text) == [], name
    run_page = localized(signed_in(center.reviewer), language).get(pages["run"]).content.decode()
    assert f"{LOCAL}:00 UTC+07:00" in run_page  # the reviewer's signature, to the second

    audit = localized(signed_in(center.quality_manager), language).get("/quality/audit/")
    text = audit.content.decode()
    review = AuditEntry.objects.filter(organization=center.org, at=LATE_UTC)
    assert review.exists()
    assert f"{LOCAL}:00 UTC+07:00" in text
    assert times_without_offset(text) == []


def test_records_named_in_the_admin_write_their_times_with_a_zone() -> None:
    # A signature lock in the organization's zone with its offset; a chain anchor, which
    # is stated in UTC everywhere (its signed statement), says UTC.
    guard = SignatureGuard(user=User(username="qt1-signer"), failures=3, locked_at=LATE_UTC)
    assert str(guard) == (f"signing of qt1-signer: 3 failure(s), locked since {LOCAL} UTC+07:00")
    anchor = AuditAnchor(chain="org:1", length=12, at=LATE_UTC)
    assert str(anchor) == "anchor org:1@12 2026-12-06 23:30:00 UTC"


@pytest.mark.django_db
def test_pages_follow_the_signed_in_person_s_organization_zone(center: Center) -> None:
    # A center in another zone reads its own day and offset: 23:30 UTC is 08:30 the next
    # day in Tokyo. The deployment's TIME_ZONE is only the default of a new organization.
    center.org.time_zone = "Asia/Tokyo"
    center.org.save(update_fields=["time_zone"])
    with time_machine.travel(LATE_UTC, tick=False):
        run = reviewed(center)
    text = signed_in(center.reviewer).get(f"/work/runs/{run.pk}/").content.decode()
    assert "2026-12-07 08:30:00 UTC+09:00" in text
    assert "UTC+07:00" not in text
    assert times_without_offset(text) == []
    # An anonymous visitor (the sign-in page) stays in the deployment's zone.
    from django.utils import timezone

    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
