"""Every page of the front office's standards, certificates, people and lots in Vietnamese: no
text of the office's catalogue is left in English where it has a translation."""

from __future__ import annotations

import html
import re
from pathlib import Path

import polib  # type: ignore[import-untyped]
import pytest

from labserver.lots import services as lots
from labserver.lots.models import Lot
from tests.support.frontoffice import admin_of, standard_with_due
from tests.support.issuing import issued
from tests.support.lims import Center
from tests.support.pages import signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

CATALOGUE = Path(__file__).resolve().parents[2] / "labserver/office/locale/vi/LC_MESSAGES/django.po"
TAGS = re.compile(r"<[^>]+>")


def english_fragments() -> list[str]:
    """The office's texts of two words or more whose Vietnamese differs, without their
    placeholders' parts: a page in Vietnamese shows none of them."""
    fragments = []
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.msgstr == entry.msgid:
            continue
        for part in re.split(r"%\(\w+\)s", entry.msgid):
            if len(part.split()) >= 2:
                fragments.append(part.strip())
    return fragments


def text_of(content: bytes) -> str:
    return " ".join(html.unescape(TAGS.sub(" ", content.decode())).split())


def drawn_lot(center: Center) -> Lot:
    """An in-service lot with its plan and its sample drawn: every part of its page shown."""
    lot = lots.create_lot(
        actor=center.quality_manager,
        organization=center.org,
        number="L-VI",
        instrument_type=center.instrument.instrument_type,
        installed_year=2020,
        owner=center.instrument.owner,
    )
    meters = "serial\n" + "".join(f"M-{i}\n" for i in range(20))
    lots.import_meters(actor=center.quality_manager, lot=lot, name="m.csv", data=meters.encode())
    lots.choose_plan(
        actor=center.quality_manager, lot=lot, sample_size=3, acceptance_number=0, basis="QP-1"
    )
    lots.draw_sample(actor=center.quality_manager, lot=lot, seed=1)
    return lot


def test_the_pages_have_no_english_left_in_vietnamese(center: Center) -> None:
    certificate = issued(center)
    standard_with_due(center, "P-20", 20)
    admin = admin_of(center)
    lot = drawn_lot(center)
    pages = {
        center.quality_manager: [
            "/office/standards/",
            "/office/standards/new/",
            f"/office/standards/{center.standard.pk}/",
            "/office/certificates/",
            f"/office/certificates/{certificate.pk}/",
            "/office/lots/",
            "/office/lots/new/",
            f"/office/lots/{lot.pk}/",
        ],
        center.signatory: [f"/office/certificates/{certificate.pk}/"],
        admin: [
            "/office/people/",
            "/office/people/invite/",
            f"/office/people/{center.metrologist.pk}/",
        ],
    }
    fragments = english_fragments()
    english = text_of(signed_in(center.quality_manager).get("/office/standards/").content)
    assert [f for f in fragments if f in english], "the check would find nothing"
    for person, paths in pages.items():
        client = signed_in(person)
        client.cookies["django_language"] = "vi"
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200, path
            text = text_of(page.content)
            left = [fragment for fragment in fragments if fragment in text]
            assert left == [], f"{path} in Vietnamese still says {left}"
