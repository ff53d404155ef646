"""Vietnamese complete: signed in as each persona with Vietnamese chosen, every page reachable
by links from the home page shows no English text that has a Vietnamese translation.

The crawler (Django's test client and an HTML parser; no browser) follows same-site links
(GET only; not the sign-out, the admin, the API, downloads), bounded, and reads each page's
visible text: its text nodes and the attributes a person reads (``title``, ``placeholder``,
``alt``, ``aria-label``, a button's ``value``), cut at the punctuation that joins a label to
a value ("Môi trường: temperature"). A fragment fails when it is the English ``msgid`` of one
of our catalogues whose Vietnamese ``msgstr`` differs, or the English name of an instrument
type or procedure whose Vietnamese name is recorded. Text marked ``lang="en"`` (the English
half of a bilingual page) and ``<code>``/``<pre>`` (identifiers, hashes) is not read.
Whatever pages exist are crawled: a page added later is covered without changing this test.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import polib  # type: ignore[import-untyped]
import pytest
from django.test import Client

from labserver.accounts.models import User
from labserver.instruments.models import InstrumentType
from labserver.jobs.models import Procedure
from labserver.nonconformities.services import open_nonconformity
from tests.support.ladder import Hand
from tests.support.lims import TODAY, person
from tests.support.nonconformity import Case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

ROOT = Path(__file__).resolve().parents[2]
MAX_PAGES = 150  # per persona
MAX_VARIANTS = 3  # query strings of one path (filters, pages of a list)
SKIPPED = ("/accounts/logout/", "/admin/", "/api/", "/i18n/", "/static/", "/media/")
DOWNLOADS = re.compile(r"\.(pdf|xml|csv|json|xlsx|zip|png|svg)$|/(pdf|dcc|download)/?$")
# Where a label meets its value: "Môi trường: temperature", "A — B", "(Reviewer)".
JOINS = re.compile(r"\s*(?:[:;,/|()·—–\[\]]|\s-\s)\s*")
READ_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")
NOT_READ = {"script", "style", "code", "pre", "textarea", "option"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


def english_with_a_translation() -> set[str]:
    """The English msgids of our catalogues whose Vietnamese differs (no placeholders: a
    fragment with a value filled in cannot equal its msgid)."""
    english = set()
    for catalogue in ROOT.glob("labserver/*/locale/vi/LC_MESSAGES/django.po"):
        for entry in polib.pofile(str(catalogue)):
            if entry.obsolete or entry.msgid_plural or "%" in entry.msgid:
                continue
            if entry.msgstr and entry.msgstr.strip() != entry.msgid.strip():
                english.add(" ".join(entry.msgid.split()))
    return english


def english_names() -> set[str]:
    """English names of instrument types and procedures that have a Vietnamese one."""
    names = {t.name for t in InstrumentType.objects.exclude(name_vi="") if t.name != t.name_vi}
    names |= {p.title for p in Procedure.objects.exclude(title_vi="") if p.title != p.title_vi}
    return names


class PageText(HTMLParser):
    """The visible text fragments of a page and the links on it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fragments: list[str] = []
        self.links: list[str] = []
        self.hidden: list[str] = []  # open elements whose text is not read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in VOID:
            if tag == "input" and values.get("type") in ("submit", "button"):
                self.read(values.get("value"))
            if tag != "input" or values.get("type") != "hidden":
                for name in READ_ATTRIBUTES:
                    self.read(values.get(name))
            return
        if tag in NOT_READ or values.get("lang") == "en" or self.hidden:
            self.hidden.append(tag)
            return
        for name in READ_ATTRIBUTES:
            self.read(values.get(name))

    def handle_endtag(self, tag: str) -> None:
        if self.hidden and self.hidden[-1] == tag:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.read(data)

    def read(self, text: str | None) -> None:
        if not text:
            return
        whole = " ".join(text.split())
        if whole:
            self.fragments.append(whole)
            self.fragments.extend(part for part in JOINS.split(whole) if part)


def crawl(client: Client, english: set[str], visited_urls: list[str]) -> dict[str, set[str]]:
    """``{page: English fragments on it}`` of the pages reachable from the home page (a page
    that answers a server error is reported too)."""
    found: dict[str, set[str]] = {}
    queue = deque(["/"])
    seen = {"/"}
    variants: dict[str, int] = {}
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        visited += 1
        visited_urls.append(url)
        if response.status_code >= 500:
            found[url] = {f"answered {response.status_code}"}
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = PageText()
        page.feed(response.content.decode())
        wrong = {fragment for fragment in page.fragments if fragment in english}
        if wrong:
            found[url] = wrong
        for href in page.links:
            target = urlsplit(urljoin(url, href))
            if target.scheme not in ("", "http") or target.netloc not in ("", "testserver"):
                continue
            path = target.path
            if path.startswith(SKIPPED) or DOWNLOADS.search(path):
                continue
            link = path + (f"?{target.query}" if target.query else "")
            if link in seen or variants.get(path, 0) >= MAX_VARIANTS:
                continue
            seen.add(link)
            variants[path] = variants.get(path, 0) + 1
            queue.append(link)
    return found


def personas(case: Case) -> dict[str, User]:
    center = case.center
    return {
        "metrologist": center.metrologist,
        "reviewer": center.reviewer,
        "signatory": center.signatory,
        "quality manager": center.quality_manager,
        "auditor": center.auditor,
        "customer": person(center.instrument.owner, "qt1-customer", "customer"),
        "reception": person(center.org, "qt1-reception", "reception"),
        "organization administrator": person(center.org, "qt1-admin", "administrator"),
    }


def test_the_crawler_reads_what_a_person_reads() -> None:
    page = PageText()
    page.feed(
        '<p>Môi trường: temperature</p><p lang="en">Not found</p><code>Valid</code>'
        '<input type="submit" value="Sign out"><a href="/x/" title="Home">x</a>'
    )
    assert "temperature" in page.fragments
    assert "Sign out" in page.fragments
    assert "Home" in page.fragments
    assert "Not found" not in page.fragments
    assert "Valid" not in page.fragments
    assert page.links == ["/x/"]


def fragments_of(client: Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    page = PageText()
    page.feed(response.content.decode())
    return page.fragments


def test_the_run_page_and_the_audit_log_name_things_in_vietnamese(case: Case) -> None:
    center = case.center
    kind = center.instrument.instrument_type
    kind.name_vi = "Đồng hồ vạn năng hiện số"
    kind.save(update_fields=["name_vi"])
    client = Client()
    client.cookies["django_language"] = "vi"
    client.force_login(center.quality_manager)
    run = case.first.run
    shown = fragments_of(client, f"/work/runs/{run.pk}/")
    assert "Đồng hồ vạn năng hiện số" in shown  # the instrument type's Vietnamese name
    assert center.procedure.title_vi in shown  # the procedure's
    assert "Điện áp một chiều" in shown  # the test's title, not its id "dcv"
    assert "nhiệt độ" in shown  # the environment's quantity, not "temperature"
    assert "temperature" not in shown
    assert "nguồn" in shown  # the standard's role, not "source"
    log = fragments_of(client, "/quality/audit/")
    assert "Đã cấp giấy chứng nhận" in log  # certificate.issue
    assert "Công việc chuyển sang: Đã cấp" in log  # job.issued


def test_a_break_in_the_chain_is_explained_in_vietnamese(hand: Hand) -> None:
    client = Client()
    client.cookies["django_language"] = "vi"
    client.force_login(hand.tracer)
    shown = fragments_of(client, f"/audit/certificates/{hand.b.pk}/chain/")
    reason = (
        "quá hạn: giấy chứng nhận H-W-2025-1 của H-W hết hạn ngày 2025-08-01, "
        "được sử dụng ngày 2025-09-01"
    )
    assert reason in shown
    assert "nội bộ" in " ".join(shown)  # the in-house certificates say so


def test_every_page_in_vietnamese_has_no_english_that_has_a_translation(case: Case) -> None:
    center = case.center
    center.instrument.instrument_type.name_vi = "Đồng hồ vạn năng hiện số"
    center.instrument.instrument_type.save(update_fields=["name_vi"])
    opened = open_nonconformity(
        actor=center.quality_manager,
        standard=center.standard,
        out_of_tolerance_since=TODAY - timedelta(days=10),
        found_on=TODAY,
        description="Drift found at the 10 V point",
    )
    english = english_with_a_translation() | english_names()
    failures = []
    visited: list[str] = []
    for name, user in personas(case).items():
        client = Client()
        client.cookies["django_language"] = "vi"
        client.force_login(user)
        for url, fragments in crawl(client, english, visited).items():
            failures.append(f"{name}: {url}: {sorted(fragments)}")
    assert not failures, "English text with a Vietnamese translation:\n" + "\n".join(failures)
    # The crawl reached the pages deep in each area, not only the home page.
    for area in ("/work/runs/", "/audit/certificates/", f"/quality/nonconformities/{opened.pk}/"):
        assert any(url.startswith(area) for url in visited), area
    assert any(url.startswith("/portal/instruments/") for url in visited)
