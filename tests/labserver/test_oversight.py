"""The pages of auditors and quality managers, through Django's test client: who may open
each page, another organization's records are not found, and what the pages say on known
data (the hand-built ladder of tests/support/ladder.py: N -> R -> W, run B used W overdue)."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from labserver.accounts.models import AuditGrant, User
from labserver.core.models import AuditEntry
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard, StandardCertificate, Status
from scenarios.traceability import LadderSpec, generate_ladder
from tests.support.dbroles import as_owner
from tests.support.ladder import Hand, register, value
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    Center,
    center_built_once,
    center_world,
    client_for,
    dmm_built_once,
    person,
    procedure_built_once,
)
from tests.support.tools import require_tool

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def table(page: str, table_id: str) -> str:
    """The HTML of the table with that id ('' when the page has none)."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    return found.group(1) if found else ""


def first_cells(page: str, table_id: str) -> list[str]:
    """The text of each body row's first cell of a table."""
    body = table(page, table_id).split("<tbody>")[-1]
    cells = re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", body, re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def entries_count(page: str) -> int:
    found = re.search(r'<p id="count" role="status">Entries: (\d+)</p>', page)
    assert found is not None
    return int(found.group(1))


def pages(hand: Hand) -> list[str]:
    return [
        "/audit/search/?q=H-",
        f"/audit/certificates/{hand.b.pk}/chain/",
        f"/audit/standards/{hand.w.pk}/chain/?on=2025-09-01",
        f"/audit/standards/{hand.w.pk}/impact/?from=2025-01-01&to=2025-12-31",
        f"/audit/standards/{hand.w.pk}/impact.pdf?from=2025-01-01&to=2025-12-31",
        "/quality/audit/",
    ]


# -------------------------------------------------------------------------------- access


def test_auditors_and_quality_managers_open_every_page(hand: Hand) -> None:
    auditor = person(hand.c1.org, "h-c1-auditor-2", "auditor")
    for user in (auditor, hand.qm):
        client = signed_in(user)
        for url in pages(hand):
            assert client.get(url).status_code == 200, (user.username, url)
    assert signed_in(hand.qm).get("/quality/").status_code == 200


def test_a_metrologist_is_refused_with_the_roles_named(hand: Hand) -> None:
    client = signed_in(person(hand.c1.org, "h-c1-metro", "metrologist"))
    for url in [*pages(hand), "/quality/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Quality manager" in text_of(response)
    # an auditor may not open the quality manager's dashboard
    assert signed_in(hand.tracer).get("/quality/").status_code == 403


def test_a_visitor_is_sent_to_the_sign_in(hand: Hand) -> None:
    response = Client().get(f"/audit/certificates/{hand.a.pk}/chain/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/audit/certificates/")


def test_another_organizations_certificate_and_standard_are_not_found(hand: Hand) -> None:
    client = signed_in(person(hand.c2.org, "h-c2-auditor", "auditor"))
    for url in (
        f"/audit/certificates/{hand.a.pk}/chain/",
        f"/audit/standards/{hand.w.pk}/chain/",
        f"/audit/standards/{hand.w.pk}/impact/?from=2025-01-01&to=2025-12-31",
        f"/audit/standards/{hand.w.pk}/impact.pdf?from=2025-01-01&to=2025-12-31",
        "/audit/certificates/999999/chain/",
    ):
        assert client.get(url).status_code == 404, url
    found = text_of(client.get("/audit/search/?q=H-"))
    assert "H-W" not in found
    assert hand.a.number not in found
    # with a grant, the same auditor reads them
    AuditGrant.objects.create(
        user=User.objects.get(username="h-c2-auditor"), organization=hand.c1.org, reason="audit"
    )
    assert client.get(f"/audit/certificates/{hand.a.pk}/chain/").status_code == 200


def test_the_navigation_offers_the_pages_by_role(hand: Hand) -> None:
    qm = text_of(signed_in(hand.qm).get("/"))
    assert 'href="/audit/search/"' in qm
    assert 'href="/quality/"' in qm
    auditor = text_of(signed_in(hand.tracer).get("/"))
    assert 'href="/audit/search/"' in auditor
    assert 'href="/quality/"' not in auditor
    metrologist = text_of(signed_in(person(hand.c1.org, "h-m", "metrologist")).get("/"))
    assert "/audit/search/" not in metrologist


# -------------------------------------------------------------------------------- search


def test_search_finds_certificates_instruments_and_standards(hand: Hand) -> None:
    client = signed_in(hand.tracer)
    page = text_of(client.get(f"/audit/search/?q={hand.b.number}"))
    assert f'href="/audit/certificates/{hand.b.pk}/chain/"' in page
    assert f'href="/verify/{hand.b.number}"' in page
    page = text_of(client.get("/audit/search/?q=H-C1-0001"))  # the instrument's serial
    assert "H-C1-0001" in page
    assert hand.a.number in page
    assert hand.b.number in page
    page = text_of(client.get("/audit/search/?q=DC voltage standard H-"))
    for s in (hand.n, hand.r, hand.w, hand.u):  # the national one through the grant
        assert f'href="/audit/standards/{s.pk}/chain/"' in page
        assert f'href="/audit/standards/{s.pk}/impact/"' in page
    assert "Type at least 2 characters" in text_of(client.get("/audit/search/?q=H"))


# ---------------------------------------------------------------------------- chain view


def test_the_chain_table_goes_from_the_certificate_up_to_the_si(hand: Hand) -> None:
    """Level by level, the SI last; an in-house certificate is labelled in-house and is
    followed by the standard that calibrated it, never straight by the SI."""
    page = text_of(signed_in(hand.tracer).get(f"/audit/certificates/{hand.b.pk}/chain/"))
    body = table(page, "chain-table").split("<tbody>")[-1]
    rows = [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]
    levels = [int(row[0]) for row in rows]
    assert levels == sorted(levels)
    assert rows[0][1] == hand.b.number  # the certificate relies on the first standard
    assert rows[-1][3] == "International System of Units (SI)"
    in_house = [row for row in rows if "(in-house)" in row[4]]
    assert in_house, rows
    for row in in_house:
        above = [r for r in rows if r[1] == row[3]]  # what the in-house certificate relied on
        assert above, row
        assert all(r[3] != "International System of Units (SI)" for r in above)


def test_the_chain_of_a_certificate_shows_the_break_and_its_reason(hand: Hand) -> None:
    page = text_of(signed_in(hand.tracer).get(f"/audit/certificates/{hand.b.pk}/chain/"))
    reason = "overdue: certificate H-W-2025-1 of H-W was due on 2025-08-01, used on 2025-09-01"
    assert 'class="summary bad"' in page
    assert "The chain is broken (breaks: 1)" in page
    graph = page[page.index("<svg") : page.index("</svg>")]
    assert graph.count('class="arrow broken"') == 1  # drawn in red (CSS)…
    assert "✕ BREAK" in graph  # …with a label…
    label = re.search(r'<g class="arrow-label broken">(.*?)</g>', graph, re.S)
    assert label is not None
    words = " ".join(re.findall(r"<text[^>]*>(.*?)</text>", label.group(1)))
    assert reason in words  # …and its reason beside it
    assert "BIPM-2024-77" in graph
    assert "International System of Units" in graph
    rows = table(page, "chain-table")
    assert reason in rows
    assert rows.count('class="break-row"') == 1
    # the uncertainty of W's certificate at 10 V, to two significant digits (ILAC P14)
    assert "10 V: U = 0.0000020 V (k = 2)" in rows
    hashes = table(page, "hashes")
    assert hand.b.pdf_sha256 in hashes
    assert hand.b.dcc_sha256 in hashes
    assert hand.n1.sha256 in hashes


def test_an_unbroken_chain_says_so_and_links_the_standards_one_may_read(hand: Hand) -> None:
    page = text_of(signed_in(hand.qm).get(f"/audit/certificates/{hand.a.pk}/chain/"))
    assert "The chain is unbroken up to the SI." in page
    assert 'class="arrow broken"' not in page
    # the center's standards link to their chain on the date of use; the institute's not
    assert f'href="/audit/standards/{hand.w.pk}/chain/?on=2025-03-01"' in page
    assert f'href="/audit/standards/{hand.r.pk}/chain/?on=2025-02-01"' in page
    assert f"/audit/standards/{hand.n.pk}/chain/" not in page


def test_the_chain_of_a_standard_on_a_date(hand: Hand) -> None:
    client = signed_in(hand.tracer)
    page = text_of(client.get(f"/audit/standards/{hand.w.pk}/chain/?on=2025-08-02"))
    assert "overdue: certificate H-W-2025-1 of H-W was due on 2025-08-01" in page
    assert 'value="2025-08-02"' in page
    page = text_of(client.get(f"/audit/standards/{hand.w.pk}/chain/?on=2025-08-01"))
    assert "The chain is unbroken up to the SI." in page
    bad = client.get(f"/audit/standards/{hand.w.pk}/chain/?on=yesterday")
    assert bad.status_code == 400
    assert "on: not a date" in text_of(bad)


def test_an_undocumented_certificate_is_a_break_at_the_node(hand: Hand) -> None:
    orphan = register(hand.c1.org, hand.qm, "H-O", "reference")
    standards.record_certificate(
        actor=hand.qm,
        standard=orphan,
        number="H-O-1",
        issuing_lab="Center H-C1",
        internal=True,
        calibrated_on=date(2025, 1, 1),
        issued_on=date(2025, 1, 1),
        due_on=date(2026, 1, 1),
        values=[],
    )
    page = text_of(signed_in(hand.qm).get(f"/audit/standards/{orphan.pk}/chain/?on=2025-02-01"))
    graph = page[page.index("<svg") : page.index("</svg>")]
    assert 'class="box standard_certificate broken"' in graph
    reason = " ".join(re.findall(r'<text class="reason"[^>]*>(.*?)</text>', graph))
    assert (
        reason == "✕ not documented: internal certificate H-O-1 of H-O names no reference standards"
    )
    assert "H-O-1: not documented: internal certificate H-O-1 of H-O names no" in page


# ------------------------------------------------------------------------- reverse trace


def test_the_reverse_trace_page_lists_the_rows_and_pages_them(hand: Hand) -> None:
    client = signed_in(hand.tracer)
    url = f"/audit/standards/{hand.n.pk}/impact/"
    assert "<table" not in text_of(client.get(url))  # the form, nothing traced yet
    page = text_of(client.get(url + "?from=2025-01-10&to=2025-01-10"))
    assert "Dependent records between 2025-01-10 and 2025-01-10: 5" in page
    assert first_cells(page, "impact") == ["1", "2", "3", "4", "5"]
    assert f'href="/audit/certificates/{hand.a.pk}/chain/"' in page
    first = text_of(client.get(url + "?from=2025-01-10&to=2025-01-10&page_size=2"))
    assert "Page 1 of 3" in first
    assert 'rel="next"' in first
    assert 'rel="prev"' not in first
    assert "H-R-2025-1" in first
    assert hand.a.number not in first
    last = text_of(client.get(url + "?from=2025-01-10&to=2025-01-10&page_size=2&page=3"))
    assert first_cells(last, "impact") == ["5"]
    assert hand.b.number in last
    assert 'rel="next"' not in last
    bad = client.get(url + "?from=2025-02-01&to=2025-01-01")
    assert bad.status_code == 400
    assert "to: before from" in text_of(bad)
    assert client.get(url + "?from=2025-02-01").status_code == 400


def test_the_reverse_trace_exports_csv_with_the_same_rows(hand: Hand) -> None:
    client = signed_in(hand.tracer)
    page = text_of(
        client.get(f"/audit/standards/{hand.n.pk}/impact/?from=2025-01-01&to=2025-12-31")
    )
    csv_url = re.search(r'id="export-csv" href="([^"]+)"', page)
    assert csv_url is not None
    response = client.get(csv_url.group(1))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["number"], r["depth"]) for r in rows] == [
        ("H-R-2025-1", "1"),
        ("H-W-2025-1", "2"),
        ("H-U-2025-1", "2"),
        (hand.a.number, "3"),
        (hand.b.number, "3"),
    ]


def test_the_reverse_trace_exports_a_pdf_report(hand: Hand, tmp_path: Path) -> None:
    pdftotext = require_tool("pdftotext")
    client = signed_in(hand.tracer)
    page = text_of(
        client.get(f"/audit/standards/{hand.n.pk}/impact/?from=2025-01-01&to=2025-12-31")
    )
    pdf_url = re.search(r'id="export-pdf" href="([^"]+)"', page)
    assert pdf_url is not None
    response = client.get(pdf_url.group(1))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="impact-H-N-2025-01-01-2025-12-31.pdf"' in response["Content-Disposition"]
    path = tmp_path / "impact.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Truy xuất ngược / Reverse trace" in text
    assert "H-N — DC voltage standard H-N" in text
    assert "2025-01-01 → 2025-12-31" in text
    assert "Ngày lập báo cáo / Report date:" in text
    assert "Rows: 5" in text
    for number in ("H-R-2025-1", "H-W-2025-1", "H-U-2025-1", hand.a.number, hand.b.number):
        assert number in text
    assert "Số giấy chứng nhận" in text
    assert "Certificate number" in text
    empty = client.get(f"/audit/standards/{hand.u.pk}/impact.pdf?from=2025-01-01&to=2025-12-31")
    assert empty.status_code == 200
    assert client.get(f"/audit/standards/{hand.n.pk}/impact.pdf").status_code == 400


# ---------------------------------------------------------------------------- dashboard

D = timezone.localdate() + timedelta(days=1000)
"""The date the dashboard is asked about: far from the fixtures' own dates."""


def standard_due(center: Center, asset: str, due: date | None, **extra: Any) -> ReferenceStandard:
    standard = register(center.org, center.quality_manager, asset, "working")
    if due is not None:
        # Dated around D, in the future, which record_certificate refuses: the rows the
        # dashboard reads are written directly.
        StandardCertificate.objects.create(
            standard=standard,
            number=f"{asset}-C1",
            issuing_lab="NMI",
            calibrated_on=due - timedelta(days=365),
            issued_on=due - timedelta(days=365),
            due_on=due,
            values=[value(10, 1e-6)],
        )
    if extra:
        ReferenceStandard.objects.filter(pk=standard.pk).update(**extra)
    return standard


@pytest.fixture
def due_set(center: Center, other_center: Center) -> Center:
    for asset, days in (
        ("S-OVER", -1),
        ("S-TODAY", 0),
        ("S-30", 30),
        ("S-31", 31),
        ("S-60", 60),
        ("S-61", 61),
        ("S-90", 90),
        ("S-91", 91),
    ):
        standard_due(center, asset, D + timedelta(days=days))
    standard_due(center, "S-NONE", None)
    standard_due(center, "S-RETIRED", D + timedelta(days=10), retired_on=D)
    standard_due(center, "S-RET-LATER", D + timedelta(days=10), retired_on=D + timedelta(days=1))
    oot = standard_due(center, "S-OOT", D + timedelta(days=200))
    standards.mark_out_of_tolerance(
        actor=center.quality_manager, standard=oot, since=D - timedelta(days=10), reason="drift"
    )
    standard_due(
        center, "S-OOT-LATER", D + timedelta(days=200), out_of_tolerance_since=D + timedelta(days=5)
    )
    renewed = standard_due(center, "S-RENEWED", D - timedelta(days=5))
    for n, calibrated in ((2, D - timedelta(days=3)), (3, D + timedelta(days=10))):
        StandardCertificate.objects.create(
            standard=renewed,
            number=f"S-RENEWED-C{n}",
            issuing_lab="NMI",
            calibrated_on=calibrated,
            issued_on=calibrated,
            due_on=calibrated + timedelta(days=40),
            values=[value(10, 1e-6)],
        )
    standard_due(other_center, "S-OTHER", D + timedelta(days=1))
    return center


def test_the_dashboard_sorts_standards_into_the_due_buckets(due_set: Center) -> None:
    response = signed_in(due_set.quality_manager).get(f"/quality/?on={D.isoformat()}")
    page = text_of(response)
    # no certificate first, then by due date
    assert first_cells(page, "overdue") == ["S-NONE", due_set.standard.asset_id, "S-OVER"]
    assert first_cells(page, "due-30") == ["S-TODAY", "S-RET-LATER", "S-30"]
    assert first_cells(page, "due-60") == ["S-31", "S-RENEWED", "S-60"]  # its new certificate
    assert first_cells(page, "due-90") == ["S-61", "S-90"]
    assert first_cells(page, "out-of-tolerance") == ["S-OOT"]
    for absent in ("S-91", "S-RETIRED", "S-OOT-LATER", "S-OTHER"):
        assert absent not in page
    oot = ReferenceStandard.objects.get(asset_id="S-OOT")
    since = (D - timedelta(days=10)).isoformat()
    trace = f"/audit/standards/{oot.pk}/impact/?from={since}&to={D.isoformat()}"
    assert f'href="{trace}"' in page


def test_the_dashboard_agrees_with_each_standards_status_on_the_date(due_set: Center) -> None:
    page = text_of(signed_in(due_set.quality_manager).get(f"/quality/?on={D.isoformat()}"))
    shown = {
        "overdue": set(first_cells(page, "overdue")),
        "due": set(first_cells(page, "due-30")),
        "oot": set(first_cells(page, "out-of-tolerance")),
    }
    for standard in ReferenceStandard.objects.filter(organization=due_set.org):
        status = standard.status_on(D).status
        expected = {
            Status.OVERDUE: "overdue",
            Status.DUE: "due",
            Status.OUT_OF_TOLERANCE: "oot",
        }.get(status)
        for name, assets in shown.items():
            assert (standard.asset_id in assets) == (name == expected), (standard, status)


@pytest.mark.parametrize("local_time", ["23:30", "00:30"])
def test_the_dashboard_and_the_api_agree_on_the_labs_date_at_night(
    center: Center, local_time: str
) -> None:
    # The lab's day (Asia/Ho_Chi_Minh, UTC+7) and the UTC day differ from 00:00 to 07:00 local
    # time: at 00:30 on the 8th it is still the 7th in UTC. A standard due on the lab's today
    # is "due", one due on its yesterday "overdue", on the pages and in the API alike.
    hours, minutes = map(int, local_time.split(":"))
    day = timezone.localdate() + timedelta(days=400)
    moment = datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(settings.TIME_ZONE))
    with time_machine.travel(moment, tick=False):
        assert timezone.localdate() == day
        if local_time == "00:30":
            assert datetime.now(UTC).date() == day - timedelta(days=1)
        due_today = standard_due(center, "S-DUE-TODAY", day)
        due_yesterday = standard_due(center, "S-DUE-YESTERDAY", day - timedelta(days=1))
        api = client_for(center.quality_manager)
        statuses = {
            s.asset_id: api.get(f"/api/v1/standards/{s.pk}/").json()["status"]
            for s in (due_today, due_yesterday)
        }
        page = text_of(signed_in(center.quality_manager).get("/quality/"))
    assert statuses["S-DUE-TODAY"]["on"] == statuses["S-DUE-YESTERDAY"]["on"] == day.isoformat()
    assert statuses["S-DUE-TODAY"]["status"] == "due"
    assert statuses["S-DUE-YESTERDAY"]["status"] == "overdue"
    assert "S-DUE-TODAY" in first_cells(page, "due-30")
    assert "S-DUE-YESTERDAY" in first_cells(page, "overdue")
    assert "S-DUE-TODAY" not in first_cells(page, "overdue")


def test_the_dashboard_is_set_based(due_set: Center, django_assert_max_num_queries: Any) -> None:
    client = signed_in(due_set.quality_manager)
    client.get("/quality/")  # warm the session
    with django_assert_max_num_queries(12):
        assert client.get(f"/quality/?on={D.isoformat()}").status_code == 200
    for i in range(15):
        standard_due(due_set, f"S-MORE-{i}", D + timedelta(days=i))
    with django_assert_max_num_queries(12):
        assert client.get(f"/quality/?on={D.isoformat()}").status_code == 200


def test_the_dashboard_refuses_a_bad_date(center: Center) -> None:
    response = signed_in(center.quality_manager).get("/quality/?on=soon")
    assert response.status_code == 400
    assert "on: not a date" in text_of(response)


# ----------------------------------------------------------------------------- audit log


def test_the_audit_log_lists_filters_and_verifies_the_organizations_chain(
    center: Center, other_center: Center
) -> None:
    client = signed_in(center.quality_manager)
    page = text_of(client.get("/quality/audit/"))
    mine = AuditEntry.objects.filter(organization=center.org)
    assert f"{center.org.code}: intact, entries verified: {mine.count()}." in page
    assert entries_count(page) == mine.count()
    assert "QT2" not in table(page, "entries")  # the other center's entries are not listed
    assert f"{other_center.org.code}: intact" not in page

    page = text_of(client.get("/quality/audit/?action=standard.register"))
    assert first_cells(page, "entries") != []
    registered = mine.filter(action="standard.register")
    assert entries_count(page) == registered.count()
    # the action's label in the page's language, its code beside it
    assert re.findall(
        r"<td>Reference standard registered<br><code>standard\.register</code></td>", page
    )
    assert "job.create" not in table(page, "entries")
    page = text_of(
        client.get(f"/quality/audit/?object_type=reference_standard&object_id={center.standard.pk}")
    )
    listed = re.findall(r"<td>(reference_standard:\d+)</td>", page)
    assert set(listed) == {f"reference_standard:{center.standard.pk}"}
    page = text_of(client.get(f"/quality/audit/?actor={center.quality_manager.username}"))
    assert entries_count(page) > 0
    assert "user:qt1-qm" in page
    assert entries_count(text_of(client.get("/quality/audit/?actor=nobody-at-all"))) == 0
    assert entries_count(text_of(client.get("/quality/audit/?from=2000-01-01&to=2000-01-02"))) == 0
    today = timezone.localdate().isoformat()
    on_the_day = text_of(client.get(f"/quality/audit/?from={today}&to={today}"))
    assert entries_count(on_the_day) == mine.count()
    assert client.get("/quality/audit/?from=never").status_code == 400


def test_the_audit_log_names_the_first_broken_entry(center: Center) -> None:
    entry = AuditEntry.objects.filter(organization=center.org).order_by("seq")[2]
    with as_owner(triggers=False):  # what a database superuser could still do
        AuditEntry.objects.filter(pk=entry.pk).update(reason="nothing to see")
    page = text_of(signed_in(center.auditor).get("/quality/audit/"))
    assert f"{center.org.code}: NOT intact." in page
    assert f"First broken entry: number {entry.seq} (id {entry.pk})." in page
    assert "content does not match its hash (entry altered)" in page


def test_the_audit_log_pages_newest_first(hand: Hand) -> None:
    page = text_of(signed_in(hand.qm).get("/quality/audit/"))
    count = AuditEntry.objects.filter(organization=hand.c1.org).count()
    assert count > 0
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', table(page, "entries"))]
    assert seqs == sorted(seqs, reverse=True)


# --------------------------------------------------------------------- generated ladder


def test_pages_on_a_generated_ladder(db: Any) -> None:
    ladder = generate_ladder(LadderSpec(levels=4, standards=20, issued_certificates=40, seed=5))
    user = person(ladder.centers[0], "g-auditor-pages", "auditor")
    for org in (ladder.institute, *ladder.centers[1:]):
        AuditGrant.objects.create(user=user, organization=org, reason="whole ladder")
    client = signed_in(user)
    from labserver.issuance.models import Certificate

    issued = Certificate.objects.order_by("number").first()
    assert issued is not None
    page = text_of(client.get(f"/audit/certificates/{issued.pk}/chain/"))
    assert "The chain is unbroken up to the SI." in page
    assert page.count('class="box si"') == 1
    top = ReferenceStandard.objects.get(pk=ladder.levels[0][0])
    page = text_of(client.get(f"/audit/standards/{top.pk}/impact/?from=2025-01-01&to=2025-12-31"))
    assert re.search(r"Dependent records between 2025-01-01 and 2025-12-31: [1-9]", page)
