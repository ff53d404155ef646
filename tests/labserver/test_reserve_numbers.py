"""``manage.py reserve_numbers``: after a restore to an earlier instant, the numbers issued
after it are voided and never given again, each counter advance audited; the public lookup
of a voided number says so, in both languages, instead of "unknown".

The state after a restore: the counter as it was at the target (one certificate numbered),
and the files that certificates issued after the target left in the storage, whose rows
the restore undid (``certificates/<org>/<year>/<number>.pdf`` and ``.dcc.xml``, as issuing
names them). The next certificate is issued for real and its number checked; so is the
certificate on record that the command refuses to void.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from labserver.core.models import AuditEntry, Counter
from labserver.issuance.models import Certificate, VoidedNumber
from tests.support.issuing import approved_run, issue
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

YEAR = timezone.localdate().year
REASON = "database restored to 2026-12-06 07:56 UTC (incident 12)"


def number(code: str, sequence: int) -> str:
    return f"{code}-HC-{YEAR}-{sequence:06d}"


def key(code: str) -> str:
    return f"certificate:{code}:calibration:{YEAR}"


def left_in_storage(code: str, *sequences: int) -> list[str]:
    """The PDF and DCC of certificates issued after the target, whose rows are gone."""
    names = []
    for sequence in sequences:
        for ending in (".pdf", ".dcc.xml"):
            name = f"certificates/{code}/{YEAR}/{number(code, sequence)}{ending}"
            path = Path(settings.MEDIA_ROOT) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"signed after the target")
            names.append(name)
    return names


def reserve(*args: str) -> str:
    out = io.StringIO()
    call_command("reserve_numbers", "--reason", REASON, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def advances() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="numbering.reserved").order_by("pk"))


def counter_value(code: str) -> int:
    return Counter.objects.get(key=key(code)).value


@pytest.fixture
def restored(center: Center) -> None:
    """The counter at 1, as at the target; numbers 2 and 3 were issued after it."""
    Counter.objects.create(key=key(center.org.code), value=1)
    left_in_storage(center.org.code, 2, 3)


def test_it_voids_the_orphans_and_numbers_given_and_the_next_certificate_comes_after(
    restored: None, center: Center
) -> None:
    code = center.org.code
    said = reserve("--organization", code, "--number", number(code, 5))
    assert f"{key(code)}: 1 -> 5" in said
    assert counter_value(code) == 5
    voided = {v.number: v for v in VoidedNumber.objects.all()}
    assert sorted(voided) == [number(code, 2), number(code, 3), number(code, 5)]
    assert voided[number(code, 2)].source == VoidedNumber.Source.FILE
    files = {f"certificates/{code}/{YEAR}/{number(code, 2)}{e}" for e in (".pdf", ".dcc.xml")}
    assert voided[number(code, 2)].evidence in files
    assert voided[number(code, 5)].source == VoidedNumber.Source.GIVEN
    # One audit entry per counter advanced, in the organization's chain, naming each number.
    (entry,) = advances()
    assert entry.organization_id == center.org.pk
    assert entry.object_id == key(code)
    assert entry.reason == REASON
    assert entry.before == {"value": 1}
    after = entry.after
    assert after is not None
    assert after["value"] == 5
    assert [v["number"] for v in after["voided"]] == sorted(voided)
    # The next certificate the LIMS issues reuses none of them.
    response = issue(center, approved_run(center))
    assert response.status_code == 201, response.json()
    assert response.json()["number"] == number(code, 6)


def test_a_verification_s_dcc_left_in_the_storage_voids_its_mark_too(
    center: Center, tmp_path: Path
) -> None:
    """The mark printed on an instrument is a number too: the DCC of a verification issued
    after the target carries it, and the next verification takes neither number."""
    from certificates.dcc import build_dcc
    from labserver.issuance.documents import document_for
    from labserver.issuance.services import issue_certificate, verify_url
    from tests.support.issuing import approved_verification

    run, signatory = approved_verification(center, tmp_path)
    # What issuing after the target stored, built as issuing builds it: its DCC.
    code, yy = center.org.code, YEAR % 100
    after = f"{code}-KD-{YEAR}-000004"
    mark = f"{code}-{yy:02d}-0000007"
    document = document_for(
        run, number=after, issued_at=timezone.now(), verify_url=verify_url(after),
        mark_number=mark,
    )  # fmt: skip
    path = Path(settings.MEDIA_ROOT) / f"certificates/{code}/{YEAR}/{after}.dcc.xml"
    path.parent.mkdir(parents=True)
    path.write_bytes(build_dcc(document))

    said = reserve()
    assert f"certificate:{code}:verification:{YEAR}: 0 -> 4, voided {after}" in said
    assert f"mark:{code}:{YEAR}: 0 -> 7, voided {mark}" in said
    assert (
        VoidedNumber.objects.get(number=mark).evidence
        == path.relative_to(settings.MEDIA_ROOT).as_posix()
    )
    certificate = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    assert (certificate.number, certificate.mark_number) == (
        f"{code}-KD-{YEAR}-000005",
        f"{code}-{yy:02d}-0000008",
    )


def test_an_amendment_left_in_the_storage_voids_its_number_not_its_original_s_mark(
    center: Center, tmp_path: Path
) -> None:
    """An amendment of a verification carries the mark of the certificate it replaces. Its
    files, left by an amendment issued after the target, void its own number; the mark is
    the original's, on record, still on the instrument: it is kept, not voided."""
    from certificates.dcc import build_dcc
    from labserver.issuance.documents import document_for
    from labserver.issuance.services import issue_certificate, verify_url
    from tests.support.issuing import approved_verification

    run, signatory = approved_verification(center, tmp_path)
    original = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    code = center.org.code
    after = f"{code}-KD-{YEAR}-000002"  # the amendment, issued after the target
    document = document_for(
        run, number=after, issued_at=timezone.now(), verify_url=verify_url(after),
        mark_number=original.mark_number,
    )  # fmt: skip
    path = Path(settings.MEDIA_ROOT) / f"certificates/{code}/{YEAR}/{after}.dcc.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_dcc(document))

    said = reserve()
    assert f"voided {after}" in said
    assert original.mark_number not in said
    assert not VoidedNumber.objects.filter(number=original.mark_number).exists()


def test_running_it_again_changes_nothing(restored: None, center: Center) -> None:
    reserve()
    assert counter_value(center.org.code) == 3
    entries, voided = len(advances()), VoidedNumber.objects.count()
    said = reserve()
    assert "0 counter(s) advanced, 0 number(s) voided, 2 voided already" in said
    assert (len(advances()), VoidedNumber.objects.count()) == (entries, voided) == (1, 2)
    assert counter_value(center.org.code) == 3


def test_it_refuses_a_malformed_number_naming_it(restored: None, center: Center) -> None:
    with pytest.raises(CommandError, match=r"number: 'QT1-HC-26-12' is not a certificate number"):
        reserve("--organization", center.org.code, "--number", "QT1-HC-26-12")
    assert (advances(), VoidedNumber.objects.count(), counter_value(center.org.code)) == ([], 0, 1)


def test_it_refuses_another_organization_s_number_unless_that_organization_is_named(
    restored: None, center: Center, other_center: Center
) -> None:
    theirs = number(other_center.org.code, 4)
    with pytest.raises(CommandError, match=rf"number: {theirs} is of the series of organization"):
        reserve("--organization", center.org.code, "--number", theirs)
    with pytest.raises(CommandError, match="organization: name the organization"):
        reserve("--number", theirs)
    assert (advances(), VoidedNumber.objects.count()) == ([], 0)
    reserve("--organization", center.org.code, "--organization", other_center.org.code,
            "--number", theirs)  # fmt: skip
    assert counter_value(other_center.org.code) == 4
    assert {e.organization_id for e in advances()} == {center.org.pk, other_center.org.pk}


def test_it_refuses_a_number_on_record_and_an_unknown_organization(center: Center) -> None:
    response = issue(center, approved_run(center))
    assert response.status_code == 201, response.json()
    issued = Certificate.objects.get(number=response.json()["number"])
    with pytest.raises(CommandError, match=rf"number: {issued.number} is on record"):
        reserve("--organization", center.org.code, "--number", issued.number)
    with pytest.raises(CommandError, match="organization: no organization has the code 'NOPE'"):
        reserve("--organization", "NOPE")
    with pytest.raises(CommandError, match="reason: say why"):
        call_command("reserve_numbers", "--reason", " ", stdout=io.StringIO())
    assert (advances(), VoidedNumber.objects.count()) == ([], 0)


def test_the_public_api_says_a_voided_number_was_voided_in_both_languages(
    restored: None, center: Center
) -> None:
    reserve()
    voided = number(center.org.code, 2)
    today = timezone.localdate().isoformat()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/api/v1/public/certificates/{voided}")
    assert english.status_code == 410
    body = english.json()
    assert (body["code"], body["field"]) == ("number_voided", "number")
    assert body["detail"] == (
        f"Number {voided} was voided after a database restore on {today}: the issuing center "
        f"({center.org.name}) cannot confirm it. Ask {center.org.name} about the certificate "
        "that bears it."
    )
    vietnamese = Client(HTTP_ACCEPT_LANGUAGE="vi").get(f"/api/v1/public/certificates/{voided}")
    assert vietnamese.status_code == 410
    assert f"đã bị hủy sau khi khôi phục cơ sở dữ liệu ngày {today}" in vietnamese.json()["detail"]
    # A number never issued nor voided stays a plain 404.
    assert Client().get(f"/api/v1/public/certificates/{number('QT1', 9)}").status_code == 404


def test_the_verification_page_says_it_in_both_languages(restored: None, center: Center) -> None:
    reserve()
    response = Client().get(f"/verify/{number(center.org.code, 3)}")
    assert response.status_code == 410
    page = response.content.decode()
    assert "Số đã hủy / Number voided" in page
    assert "đã bị hủy sau khi khôi phục cơ sở dữ liệu" in page
    assert "was voided after a database restore" in page
    assert Client().get(f"/verify/{number(center.org.code, 9)}").status_code == 404
