"""The quality manager's reports: figures checked against a data set whose answers are
worked out by hand below, on the page's tables and in the CSV files; the period, the
organization's time zone at month boundaries, roles, the audit entry of a download, and
another organization's records kept out.

The data set (:func:`data_set`), center QT1 in Asia/Ho_Chi_Minh (UTC+07:00, no summer
time), every time below in that zone. Each certificate is the original of one run of one
job; the job is received at ``received``, the certificate issued at ``issued``:

==== ============ ============ ================ ================ ==========  ========
cert kind         type         received         issued           statement   operator
==== ============ ============ ================ ================ ==========  ========
C0   calibration  dmm          2025-12-29 23:30 2025-12-31 23:30 pass        metro
C1   calibration  dmm          2025-12-30 00:30 2026-01-01 00:30 pass        metro
C2   calibration  dmm          2026-01-10 08:00 2026-01-14 20:00 pass        metro
C3   verification balance      2026-01-20 10:00 2026-01-30 10:00 pass        metro
C4   verification balance      2026-02-02 09:00 2026-02-03 09:00 fail        metro
C5   verification water-meter  2026-02-10 08:00 2026-02-13 14:00 pass        metro
C6   verification balance      2026-02-15 09:00 2026-02-22 09:00 pass        metro
C7   verification water-meter  2026-02-20 12:00 2026-02-20 18:00 fail        metro2
C8   calibration  dmm          2026-03-30 23:30 2026-03-31 23:30 pass        metro2
C9   verification water-meter  2026-03-31 00:30 2026-04-01 00:30 pass        metro2
A2   (an amendment of C2, issued 2026-03-05 10:00: never counted)
==== ============ ============ ================ ================ ==========  ========

Each run is signed performed 1 h, checked (reviewer) 2 h and authorized (signatory) 3 h
after its job was received. C1 to C6 and A2 are issued by the signatory, C0, C7 to C9 by
signatory2. The period asked for is 2026-01-01 to 2026-03-31: C0 (31 Dec 23:30 here, but
16:30 UTC) and C9 (1 Apr 00:30 here, 31 Mar 17:30 UTC) are outside it, C1 (1 Jan 00:30
here, 31 Dec 17:30 UTC) and C8 (31 Mar 23:30 here, 16:30 UTC) inside.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import time_machine
from django.test import Client
from lxml import html  # type: ignore[import-untyped]

from labserver.accounts.models import AuditGrant, User
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    person,
    procedure_built_once,
)
from tests.support.pages import signed_in
from tests.support.reports import local, report_maker

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}
URL = "/quality/reports/"


CAL, VER = "calibration", "verification"
# (name, kind, type, received, issued, statement, operator, issuer)
ROWS = (
    ("C0", CAL, "dmm", "2025-12-29 23:30", "2025-12-31 23:30", "pass", "m1", "s2"),
    ("C1", CAL, "dmm", "2025-12-30 00:30", "2026-01-01 00:30", "pass", "m1", "s1"),
    ("C2", CAL, "dmm", "2026-01-10 08:00", "2026-01-14 20:00", "pass", "m1", "s1"),
    ("C3", VER, "balance", "2026-01-20 10:00", "2026-01-30 10:00", "pass", "m1", "s1"),
    ("C4", VER, "balance", "2026-02-02 09:00", "2026-02-03 09:00", "fail", "m1", "s1"),
    ("C5", VER, "water-meter", "2026-02-10 08:00", "2026-02-13 14:00", "pass", "m1", "s1"),
    ("C6", VER, "balance", "2026-02-15 09:00", "2026-02-22 09:00", "pass", "m1", "s1"),
    ("C7", VER, "water-meter", "2026-02-20 12:00", "2026-02-20 18:00", "fail", "m2", "s2"),
    ("C8", CAL, "dmm", "2026-03-30 23:30", "2026-03-31 23:30", "pass", "m2", "s2"),
    ("C9", VER, "water-meter", "2026-03-31 00:30", "2026-04-01 00:30", "pass", "m2", "s2"),
)


def data_set(center: Center) -> dict[str, Certificate]:
    maker = report_maker(center)
    made = {row[0]: maker.add(*row[1:]) for row in ROWS}
    c2 = made["C2"]
    made["A2"] = maker.certificate(
        c2.run, "calibration", local("2026-03-05 10:00"), maker.people["s1"], supersedes=c2
    )
    return made


def table(page: bytes, slug: str) -> list[list[str]]:
    """The rows of a report's table on the page, as the cells' texts."""
    tree = html.fromstring(page)
    rows = tree.xpath(f'//table[@id="table-{slug}"]/tbody/tr')
    return [[cell.text_content().strip() for cell in row.xpath("th|td")] for row in rows]


def csv_rows(client: Client, slug: str, **params: str) -> list[list[str]]:
    response = client.get(f"{URL}{slug}.csv", {**PERIOD, **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # the byte order mark Excel reads UTF-8 by
    return list(csv.reader(io.StringIO(body[1:])))


# The answers, worked out by hand from the table in the module's docstring.
THROUGHPUT = [
    # January: C1 (1 Jan 00:30 here), C2 calibrations; C3 a verification.
    ["2026-01", "2", "1", "3"],
    # February: C4, C5, C6, C7, all verifications.
    ["2026-02", "0", "4", "4"],
    # March: C8 (31 Mar 23:30 here); A2 is an amendment, not counted; C9 is April's.
    ["2026-03", "1", "0", "1"],
]
TURNAROUND = [
    # January: C1 2.0 d, C2 4.5 d (4 d 12 h), C3 10.0 d; sorted 2.0, 4.5, 10.0.
    # median = the middle one = 4.5; p90 at rank 0.9 × (3 − 1) = 1.8:
    # 4.5 + 0.8 × (10.0 − 4.5) = 4.5 + 4.4 = 8.9
    ["2026-01", "3", "4.5", "8.9"],
    # February: C4 1.0 d, C5 3.25 d (3 d 6 h), C6 7.0 d, C7 0.25 d (6 h);
    # sorted 0.25, 1.0, 3.25, 7.0. median at rank 1.5: (1.0 + 3.25) / 2 = 2.125 → 2.1;
    # p90 at rank 0.9 × 3 = 2.7: 3.25 + 0.7 × (7.0 − 3.25) = 3.25 + 2.625 = 5.875 → 5.9
    ["2026-02", "4", "2.1", "5.9"],
    # March: C8 alone, 1.0 d: both percentiles are that one value.
    ["2026-03", "1", "1.0", "1.0"],
]
PASS_RATE = [
    # balance: C3 pass, C4 fail, C6 pass: 2 / 3 = 66.67 % → 66.7
    ["Balance", "3", "2", "1", "66.7"],
    # water meter: C5 pass, C7 fail (C9 is April's): 1 / 2 = 50.0 %
    ["Water Meter", "2", "1", "1", "50.0"],
]
WORKLOAD = [
    # Signatures in the period: the runs of C2 to C9 (C0's and C1's were signed in
    # December, 29 and 30 Dec here). measured: metro C2..C6 = 5, metro2 C7..C9 = 3;
    # each of the 8 runs checked by the reviewer and authorized by the signatory.
    # Issued (originals in the period): signatory C1..C6 = 6 (A2 not counted),
    # signatory2 C7, C8 = 2 (C0 and C9 outside the period).
    ["Qt1-Metro (qt1-metro)", "5", "0", "0", "0"],
    ["Qt1-Metro2 (qt1-metro2)", "3", "0", "0", "0"],
    ["Qt1-Reviewer (qt1-reviewer)", "0", "8", "0", "0"],
    ["Qt1-Signatory (qt1-signatory)", "0", "0", "8", "6"],
    ["Qt1-Signatory2 (qt1-signatory2)", "0", "0", "0", "2"],
]
EXPECTED = {
    "throughput": THROUGHPUT,
    "turnaround": TURNAROUND,
    "pass-rate": PASS_RATE,
    "workload": WORKLOAD,
}


def test_the_figures_on_the_page_are_those_worked_out_by_hand(center: Center) -> None:
    data_set(center)
    response = signed_in(center.quality_manager).get(URL, PERIOD)
    assert response.status_code == 200
    for slug, expected in EXPECTED.items():
        assert table(response.content, slug) == expected, slug
    page = response.content.decode()
    assert page.count('<svg class="report-chart"') == 4
    assert "style=" not in page
    assert "<script" not in page


def test_each_csv_has_the_same_figures_under_a_header_row(center: Center) -> None:
    data_set(center)
    client = signed_in(center.quality_manager)
    assert csv_rows(client, "throughput") == [
        ["Month", "Calibration", "Verification", "Total"],
        *THROUGHPUT,
    ]
    assert csv_rows(client, "turnaround")[0] == [
        "Month",
        "Certificates",
        "Median (days)",
        "90th percentile (days)",
    ]
    for slug, expected in EXPECTED.items():
        assert csv_rows(client, slug)[1:] == expected, slug


def test_a_csv_downloaded_leaves_an_audit_entry(center: Center) -> None:
    data_set(center)
    client = signed_in(center.auditor)
    csv_rows(client, "pass-rate")
    entry = AuditEntry.objects.get(action="report.download")
    assert entry.organization_id == center.org.pk
    assert entry.actor_user_id == center.auditor.pk
    assert entry.object_id == "pass-rate"
    assert entry.after == {
        "report": "pass-rate",
        "from": "2026-01-01",
        "to": "2026-03-31",
        "time_zone": "Asia/Ho_Chi_Minh",
        "rows": 2,
    }
    # Reading the page is not a download: no entry.
    client.get(URL, PERIOD)
    assert AuditEntry.objects.filter(action="report.download").count() == 1


def test_months_are_the_organizations_whatever_the_servers_zone(
    center: Center, settings: Any
) -> None:
    """C1 (31 Dec 17:30 UTC) is January's and C8 (31 Mar 16:30 UTC) March's in the
    organization's zone, even when the server reckons in UTC; C0 and C9 stay outside."""
    settings.TIME_ZONE = "UTC"
    data_set(center)
    response = signed_in(center.quality_manager).get(URL, PERIOD)
    assert table(response.content, "throughput") == THROUGHPUT


def test_the_period_filter_moves_the_figures(center: Center) -> None:
    data_set(center)
    client = signed_in(center.quality_manager)
    # 1 to 31 Jan: C1, C2, C3 only.
    january = client.get(URL, {"from": "2026-01-01", "to": "2026-01-31"})
    assert table(january.content, "throughput") == [THROUGHPUT[0]]
    # 31 Mar to 1 Apr: C8 (31 Mar 23:30) and C9 (1 Apr 00:30), one in each month.
    edge = client.get(URL, {"from": "2026-03-31", "to": "2026-04-01"})
    assert table(edge.content, "throughput") == [
        ["2026-03", "1", "0", "1"],
        ["2026-04", "0", "1", "1"],
    ]
    # C9 received 31 Mar 00:30, issued 1 Apr 00:30: 1.0 day; April has no other.
    assert table(edge.content, "turnaround")[1] == ["2026-04", "1", "1.0", "1.0"]


def test_the_default_period_is_the_last_twelve_months(center: Center) -> None:
    data_set(center)
    with time_machine.travel(local("2026-04-15 10:00"), tick=False):
        response = signed_in(center.quality_manager).get(URL)
    assert response.status_code == 200
    rows = table(response.content, "throughput")
    # 1 May 2025 to 15 Apr 2026: twelve months; December has C0, April C9.
    assert [row[0] for row in rows] == [f"2025-{m:02d}" for m in range(5, 13)] + [
        f"2026-{m:02d}" for m in range(1, 5)
    ]
    assert rows[7] == ["2025-12", "1", "0", "1"]
    assert rows[11] == ["2026-04", "0", "1", "1"]
    page = html.fromstring(response.content)
    assert page.get_element_by_id("from").get("value") == "2025-05-01"
    assert page.get_element_by_id("to").get("value") == "2026-04-15"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, "From: Enter a valid date."),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "To: The end of the period is before"),
        ({"from": "1990-01-01", "to": "2026-01-01"}, "To: The period is longer than 240"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    center: Center, params: dict[str, str], message: str
) -> None:
    client = signed_in(center.quality_manager)
    response = client.get(URL, params)
    assert response.status_code == 400
    errors = html.fromstring(response.content).get_element_by_id("period-errors")
    assert message in errors.text_content()
    download = client.get(f"{URL}throughput.csv", params)
    assert download.status_code == 400
    assert not AuditEntry.objects.filter(action="report.download").exists()


def test_only_quality_managers_and_auditors_read_the_reports(center: Center) -> None:
    quality = signed_in(center.quality_manager).get("/quality/")
    assert b'id="reports-link" href="/quality/reports/"' in quality.content
    for reader in (center.quality_manager, center.auditor):
        assert signed_in(reader).get(URL, PERIOD).status_code == 200
        assert signed_in(reader).get(f"{URL}workload.csv", PERIOD).status_code == 200
    for other in (center.metrologist, center.reviewer, center.signatory):
        assert signed_in(other).get(URL, PERIOD).status_code == 403
        assert signed_in(other).get(f"{URL}workload.csv", PERIOD).status_code == 403
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]
    assert signed_in(center.quality_manager).get(f"{URL}nothing.csv").status_code == 404


def test_another_organizations_figures_are_never_shown(
    center: Center, other_center: Center
) -> None:
    data_set(center)
    outsider = other_center.quality_manager
    client = signed_in(outsider)
    # Its own reports: its organization only, none of QT1's figures.
    own = client.get(URL, PERIOD)
    assert own.status_code == 200
    assert table(own.content, "throughput") == [[f"2026-{m:02d}", "0", "0", "0"] for m in (1, 2, 3)]
    assert b"QT1" not in own.content
    # QT1's, asked for by code: not found, page and CSV, and nothing audited.
    assert client.get(URL, {**PERIOD, "organization": "QT1"}).status_code == 404
    assert client.get(f"{URL}throughput.csv", {**PERIOD, "organization": "QT1"}).status_code == 404
    assert not AuditEntry.objects.filter(action="report.download").exists()


def test_the_page_speaks_vietnamese(center: Center) -> None:
    data_set(center)
    client = signed_in(center.quality_manager)
    response = client.get(URL, PERIOD, headers={"accept-language": "vi"})
    page = response.content.decode()
    assert "Báo cáo" in page
    assert table(response.content, "throughput") == THROUGHPUT


def test_an_auditor_with_a_grant_chooses_the_organization(
    center: Center, other_center: Center
) -> None:
    """QT2's auditor, granted read-only access to QT1, chooses between both centers and
    reads QT1's figures, page and CSV; the download is audited in QT1's trail."""
    data_set(center)
    auditor = other_center.auditor
    AuditGrant.objects.create(user=auditor, organization=center.org, reason="annual audit")
    client = signed_in(auditor)
    page = html.fromstring(client.get(URL, {**PERIOD, "organization": "QT1"}).content)
    assert [o.get("value") for o in page.xpath('//select[@id="organization"]/option')] == [
        "QT1",
        "QT2",
    ]
    assert table(client.get(URL, {**PERIOD, "organization": "QT1"}).content, "throughput") == (
        THROUGHPUT
    )
    assert csv_rows(client, "throughput", organization="QT1")[1:] == THROUGHPUT
    entry = AuditEntry.objects.get(action="report.download")
    assert (entry.organization_id, entry.actor_user_id) == (center.org.pk, auditor.pk)


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(center: Center) -> None:
    maker = report_maker(center)
    mischief = person(center.org, "mischief", "metrologist", ["electrical"])
    User.objects.filter(pk=mischief.pk).update(full_name="=HYPERLINK(1)")
    maker.people["m3"] = User.objects.get(pk=mischief.pk)
    maker.add(CAL, "dmm", "2026-01-05 08:00", "2026-01-06 08:00", "pass", "m3", "s1")
    rows = csv_rows(signed_in(center.quality_manager), "workload")
    assert ["'=HYPERLINK(1) (mischief)", "1", "0", "0", "0"] in rows
