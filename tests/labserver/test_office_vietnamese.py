"""Every page of the front office's standards, certificates and people in Vietnamese: no
text of the office's catalogue is left in English where it has a translation."""

from __future__ import annotations

import html
import re
from pathlib import Path

import polib  # type: ignore[import-untyped]
import pytest

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


def test_the_pages_have_no_english_left_in_vietnamese(center: Center) -> None:
    certificate = issued(center)
    standard_with_due(center, "P-20", 20)
    admin = admin_of(center)
    pages = {
        center.quality_manager: [
            "/office/standards/",
            "/office/standards/new/",
            f"/office/standards/{center.standard.pk}/",
            "/office/certificates/",
            f"/office/certificates/{certificate.pk}/",
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
