"""A recall across the country (issue 21, point 4): the national node writes the recall
notices of a standard found out of tolerance; each affected center opens its own
nonconformity from the notices addressed to it.

The national side runs on registry facts as replication writes them on the national node;
the center side on a center whose certificates were issued for real, with the notices as
they arrive by replication (rows of the notices' table). The replication itself, between
three clusters, is ``tests/federation/test_federation.py``.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from labserver.accounts import services as accounts
from labserver.accounts.models import Organization
from labserver.core.models import AuditEntry
from labserver.federation.replication import (
    PUBLISHED_COLUMNS,
    RECALL_COLUMNS,
    REGISTER_COLUMNS,
    FederationError,
    recalls_publication,
)
from labserver.issuance.models import Certificate
from labserver.nonconformities.models import AffectedItem, Nonconformity
from labserver.registry.models import (
    CalibrationLinkFact,
    RecallNoticeFact,
    StandardFact,
)
from labserver.registry.recalls import notice_key, write_notices
from tests.support.dbroles import table_columns
from tests.support.issuing import issued
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    Center,
    center_built_once,
    center_world,
    client_for,
    dmm_built_once,
    next_job,
    procedure_built_once,
)
from tests.support.registry import calibrated, certificate, link, out_of_tolerance

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

D = date(2026, 3, 1)
"""The day QT2's reference REF-2 is out of tolerance since."""
OOT = "QT2/REF-2/out_of_tolerance/2026-03-01"

# What crosses to a center: the notice's public columns (no person, no customer). Adding
# one is a reviewed decision.
PUBLIC_NOTICE_COLUMNS = {
    "key",
    "at",
    "owner",
    "standard",
    "out_of_tolerance",
    "since",
    "found_on",
    "issuer",
    "kind",
    "number",
    "affected_standard",
    "via_owner",
    "via_standard",
    "depth",
    "used_on",
    "window_start",
    "window_end",
}


@pytest.fixture
def country() -> None:
    """QT2's reference REF-2 calibrated QT1's reference REF-1 on D + 10 days, which
    calibrated QT1's working standard W-1 on D + 20 days. QT2 issued with REF-2 (depth 1),
    QT1 with REF-1 (depth 2) and W-1 (depth 3); QT1's certificate of before the calibration
    by REF-2 is untouched. REF-2 found out of tolerance since D (at its owner's node: the
    fact that replicated to the national node)."""
    StandardFact.objects.bulk_create(
        [
            calibrated("QT1", "REF-1", "QT2-HC-1", D + td(10)),
            calibrated("QT1", "W-1", "QT1-INT-1", D + td(20)),
        ]
    )
    out_of_tolerance("QT2", "REF-2", D, D + td(60))
    CalibrationLinkFact.objects.bulk_create(
        [
            link("QT1", "REF-1", "QT2-HC-1", ("QT2", "REF-2", "C"), D + td(10)),
            link("QT1", "W-1", "QT1-INT-1", ("QT1", "REF-1", "QT2-HC-1"), D + td(20)),
        ]
    )
    certificate("QT2", "QT2-HC-2026-000001", D + td(5), ("QT2", "REF-2"))
    certificate("QT1", "QT1-HC-2026-000001", D - td(5), ("QT1", "REF-1"))  # before it
    certificate("QT1", "QT1-HC-2026-000002", D + td(30), ("QT1", "REF-1"))
    certificate("QT1", "QT1-HC-2026-000003", D + td(40), ("QT1", "W-1"))


def td(days: int) -> timedelta:
    return timedelta(days=days)


def _notices() -> set[tuple[str, str, str, int, str, str]]:
    return {
        (n.issuer, n.kind, n.number or n.affected_standard, n.depth, n.via_owner, n.via_standard)
        for n in RecallNoticeFact.objects.all()
    }


# ------------------------------------------------------------------ the national node


def test_the_national_node_notifies_every_issuer_at_every_depth(country: None) -> None:
    [done] = write_notices()
    assert done.out_of_tolerance == OOT
    assert dict(done.written) == {"QT1": 4, "QT2": 1}
    assert _notices() == {
        ("QT2", "certificate", "QT2-HC-2026-000001", 1, "QT2", "REF-2"),
        ("QT1", "standard", "QT2-HC-1", 1, "QT2", "REF-2"),
        ("QT1", "certificate", "QT1-HC-2026-000002", 2, "QT1", "REF-1"),
        ("QT1", "standard", "QT1-INT-1", 2, "QT1", "REF-1"),
        ("QT1", "certificate", "QT1-HC-2026-000003", 3, "QT1", "W-1"),
    }
    notice = RecallNoticeFact.objects.get(number="QT1-HC-2026-000003")
    assert notice.key == notice_key(OOT, "QT1", "certificate", "QT1-HC-2026-000003")
    assert (notice.owner, notice.standard, notice.out_of_tolerance) == ("QT2", "REF-2", OOT)
    assert (notice.since, notice.found_on) == (D, D + td(60))
    # W-1's window: from its calibration by REF-1, open-ended (no later calibration)
    assert (notice.window_start, notice.window_end) == (D + td(20), None)
    standard = RecallNoticeFact.objects.get(affected_standard="REF-1")
    assert (standard.number, standard.used_on) == ("QT2-HC-1", D + td(10))


def test_a_notice_is_never_written_twice(country: None) -> None:
    write_notices()
    written = {n.key: n.at for n in RecallNoticeFact.objects.all()}
    [again] = write_notices()
    assert (dict(again.written), again.already) == ({}, 5)
    assert "nothing new (5 notice(s) written before)" in str(again)
    assert {n.key: n.at for n in RecallNoticeFact.objects.all()} == written
    # a certificate the national node learns of later (its center was offline): only it
    certificate("QT1", "QT1-HC-2026-000009", D + td(50), ("QT1", "W-1"))
    [later] = write_notices()
    assert (dict(later.written), later.already) == ({"QT1": 1}, 5)
    assert RecallNoticeFact.objects.count() == 6


def _directorate() -> None:
    accounts.create_organization(
        actor=None, code="TCDL", name="Directorate", kind=Organization.Kind.DIRECTORATE
    )


def test_the_command_says_what_it_wrote(country: None, capsys: Any) -> None:
    with pytest.raises(CommandError, match="this node has no national directorate"):
        call_command("registry_recalls", "notify")
    assert not RecallNoticeFact.objects.exists()
    _directorate()
    call_command("registry_recalls", "notify")
    said = capsys.readouterr().out
    assert f"{OOT}: 5 new notice(s): 4 to QT1, 1 to QT2" in said, said
    assert "5 new notice(s) for 1 out-of-tolerance fact(s)" in said, said
    call_command("registry_recalls", "notify")
    assert "0 new notice(s)" in capsys.readouterr().out


def test_a_notice_is_never_changed_nor_deleted(country: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only triggers are PostgreSQL's")
    write_notices()
    for statement in (
        "UPDATE registry_recallnoticefact SET depth = 9",
        "DELETE FROM registry_recallnoticefact",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_the_notices_cross_with_their_public_columns_to_their_addressee_only() -> None:
    assert table_columns("registry_recallnoticefact") == PUBLIC_NOTICE_COLUMNS
    assert {t: set(c) for t, c in RECALL_COLUMNS.items()} == {
        "registry_recallnoticefact": PUBLIC_NOTICE_COLUMNS
    }
    assert not set(RECALL_COLUMNS) & (set(PUBLISHED_COLUMNS) | set(REGISTER_COLUMNS))
    # a publication per center, its row filter on the addressee: a row filter is the
    # publisher's, the same for every subscriber, so one for all would send QT2's to QT1
    qt1 = recalls_publication(["QT1"])
    assert (qt1.name, qt1.issuer_column) == (
        "caltrace_recalls_qt1",
        {"registry_recallnoticefact": "issuer"},
    )
    assert recalls_publication(["QT1-LAB", "QT1"]).name == "caltrace_recalls_qt1_qt1_lab"
    with pytest.raises(FederationError, match="no addressee"):
        recalls_publication([])
    with pytest.raises(FederationError, match="not an organization code"):
        recalls_publication(["QT1' OR true"])


# ------------------------------------------------------------------ the center


def _notice(center: Center, kind: str, what: str, depth: int, **fields: Any) -> RecallNoticeFact:
    """A notice to the center as replication brings it (QT2's REF-2 out of tolerance)."""
    code = center.org.code
    standard = kind == "standard"
    return RecallNoticeFact.objects.create(
        key=notice_key(OOT, code, kind, what),
        at=timezone.now(),
        owner="QT2",
        standard="REF-2",
        out_of_tolerance=OOT,
        since=D,
        found_on=D + td(60),
        issuer=code,
        kind=kind,
        number=fields.pop("number", what),
        affected_standard=what if standard else "",
        via_owner="QT2" if standard else code,
        via_standard="REF-2" if standard else center.standard.asset_id,
        depth=depth,
        used_on=fields.pop("used_on", timezone.localdate()),
        window_start=D + td(10),
        window_end=None,
    )


@pytest.fixture
def notified(center: Center) -> list[Certificate]:
    """Two certificates QT1 issued with its calibrator, and the notices of them and of the
    calibrator (calibrated by QT2's REF-2) as they arrive from the national node."""
    first = issued(center)
    next_job(center)
    second = issued(center)
    _notice(center, "standard", center.standard.asset_id, 1, number="QT2-HC-1", used_on=D)
    for number in (first.number, second.number):
        _notice(center, "certificate", number, 2)
    return [first, second]


def _opened(capsys: Any) -> str:
    call_command("registry_recalls", "open")
    out: str = capsys.readouterr().out
    return out


def test_the_center_opens_one_nonconformity_listing_its_certificates(
    center: Center, notified: list[Certificate], capsys: Any
) -> None:
    said = _opened(capsys)
    [nc] = Nonconformity.objects.all()
    numbers = sorted(c.number for c in notified)
    assert f"QT1: nonconformity {nc.number} opened on {OOT}, listing" in said, said
    assert "1 nonconformity opened" in said, said
    assert (nc.organization, nc.standard, nc.status) == (center.org, center.standard, "open")
    assert (nc.notified_by, nc.upstream_owner, nc.upstream_standard) == (OOT, "QT2", "REF-2")
    assert nc.opened_by is None
    assert nc.out_of_tolerance_since == D + td(10)
    assert nc.found_on == timezone.localdate()
    assert "Notified by the national registry: standard REF-2 of QT2" in nc.description
    items = {(a.kind, a.number, a.depth, a.via_standard) for a in nc.affected.all()}
    assert items == {
        ("standard_certificate", "QT2-HC-1", 1, "REF-2"),
        *(("certificate", n, 2, center.standard.asset_id) for n in numbers),
    }
    assert {a.certificate for a in nc.affected.filter(kind="certificate")} == set(notified)
    assert all(a.status == "valid" for a in nc.affected.filter(kind="certificate"))
    # audited, by the system, naming the notices it answers
    [entry] = AuditEntry.objects.filter(action="nonconformity.open", object_id=nc.number)
    after: dict[str, Any] = entry.after or {}
    assert entry.actor == "system"
    assert (after["notified_by"], after["upstream"]) == (OOT, "QT2/REF-2")
    assert after["certificates"] == numbers
    assert len(after["notices"]) == 3
    assert entry.reason == "notified by the national registry"
    # the center's quality manager sees it as any nonconformity, and decides on it
    answer = client_for(center.quality_manager).get(f"/api/v1/nonconformities/{nc.pk}/")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["opened_by"], body["notified_by"], body["upstream_owner"]) == (None, OOT, "QT2")
    assert body["undecided"] == numbers


def test_it_is_opened_once_and_later_notices_join_it(
    center: Center, notified: list[Certificate], capsys: Any
) -> None:
    _opened(capsys)
    said = _opened(capsys)
    assert "nothing new" in said, said
    assert "0 nonconformities opened" in said, said
    [nc] = Nonconformity.objects.all()
    assert nc.affected.count() == 3
    # a certificate the national node learned of later: added to the open nonconformity
    next_job(center)
    third = issued(center)
    _notice(center, "certificate", third.number, 2)
    said = _opened(capsys)
    assert f"nonconformity {nc.number}: {third.number} added" in said, said
    assert Nonconformity.objects.count() == 1
    assert nc.affected.count() == 4
    [entry] = AuditEntry.objects.filter(action="nonconformity.notified")
    assert (entry.after or {})["certificates"] == [third.number]


def test_a_notice_of_a_certificate_the_center_never_issued_is_reported(
    center: Center, notified: list[Certificate], capsys: Any
) -> None:
    _notice(center, "certificate", "QT1-HC-2099-999999", 2)
    with pytest.raises(CommandError, match="1 notice\\(s\\) not acted on"):
        call_command("registry_recalls", "open")
    captured = capsys.readouterr()
    assert "QT1-HC-2099-999999 is not one QT1 issued on this node" in captured.err, captured.err
    # the others are acted on; the unknown one is reported again at each run, never dropped
    [nc] = Nonconformity.objects.all()
    assert nc.affected.count() == 3
    with pytest.raises(CommandError):
        call_command("registry_recalls", "open")
    assert "QT1-HC-2099-999999" in capsys.readouterr().err
    assert Nonconformity.objects.count() == 1


def test_a_notice_of_its_own_standard_is_left_to_its_own_nonconformity(
    center: Center, capsys: Any
) -> None:
    RecallNoticeFact.objects.create(
        key=notice_key("QT1/X/out_of_tolerance/2026-03-01", "QT1", "certificate", "N-1"),
        at=timezone.now(),
        owner="QT1",
        standard="X",
        out_of_tolerance="QT1/X/out_of_tolerance/2026-03-01",
        since=D,
        found_on=D,
        issuer="QT1",
        kind="certificate",
        number="N-1",
        via_owner="QT1",
        via_standard="X",
        depth=1,
        used_on=D,
        window_start=D,
    )
    said = _opened(capsys)
    assert "the standard is QT1's own, its own nonconformity answers it" in said, said
    assert not Nonconformity.objects.exists()


def test_notices_to_another_organization_open_nothing_here(
    center: Center, notified: list[Certificate], capsys: Any
) -> None:
    # a notice to QT9 (on a node that does not hold QT9): not this node's to act on
    RecallNoticeFact.objects.create(
        **{
            **{
                f.name: getattr(RecallNoticeFact.objects.first(), f.name)
                for f in RecallNoticeFact._meta.fields
            },
            "key": notice_key(OOT, "QT9", "certificate", "QT9-1"),
            "issuer": "QT9",
            "number": "QT9-1",
        }
    )
    said = _opened(capsys)
    assert "QT9" not in said, said
    assert Nonconformity.objects.get().organization == center.org


def test_national_and_center_sides_on_one_node(center: Center, capsys: Any) -> None:
    """A central node holding both: QT1's calibrator recorded as calibrated by QT2's REF-2
    (at its node), REF-2 found out of tolerance: notify, then open."""
    mine = issued(center)
    calibrated_on = timezone.localdate() - td(30)
    out_of_tolerance("QT2", "REF-2", calibrated_on - td(10), timezone.localdate())
    CalibrationLinkFact.objects.create(
        key=f"QT1/{center.standard.asset_id}/QT2-HC-7/QT2/REF-2",
        owner="QT1",
        standard=center.standard.asset_id,
        certificate="QT2-HC-7",
        upstream_owner="QT2",
        upstream_standard="REF-2",
        upstream_certificate="",
        used_on=calibrated_on,
    )
    _directorate()
    call_command("registry_recalls", "notify")
    said = _opened(capsys)
    assert "1 nonconformity opened" in said, said
    nc = Nonconformity.objects.get()
    assert (nc.standard, nc.upstream_standard) == (center.standard, "REF-2")
    assert set(nc.affected.values_list("kind", "number")) == {
        ("standard_certificate", "QT2-HC-7"),
        ("certificate", mine.number),
    }
    assert AffectedItem.objects.filter(nonconformity=nc, certificate=mine).exists()


def test_the_pages_show_who_notified_it_in_both_languages(
    center: Center, notified: list[Certificate], other_center: Center, capsys: Any
) -> None:
    _opened(capsys)
    nc = Nonconformity.objects.get()
    pages = "/quality/nonconformities/", f"/quality/nonconformities/{nc.pk}/"
    qm = Client()
    qm.force_login(center.quality_manager)
    listing, detail = (html.unescape(qm.get(url).content.decode()) for url in pages)
    assert "notified by the national registry (REF-2, QT2)" in listing
    assert "the national registry: standard REF-2 of QT2 found out of tolerance" in detail
    assert "by this node, on the national registry's notice" in detail
    assert OOT in detail
    assert all(c.number in detail for c in notified)
    qm.cookies["django_language"] = "vi"
    listing, detail = (html.unescape(qm.get(url).content.decode()) for url in pages)
    assert "được cơ sở dữ liệu quốc gia thông báo (REF-2, QT2)" in listing
    assert "chuẩn REF-2 của QT2 bị phát hiện vượt dung sai" in detail
    assert "theo thông báo của cơ sở dữ liệu quốc gia" in detail
    # another center's quality manager: not found
    theirs = Client()
    theirs.force_login(other_center.quality_manager)
    assert theirs.get(pages[1]).status_code == 404
    assert nc.number not in theirs.get(pages[0]).content.decode()
