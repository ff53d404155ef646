"""The out-of-tolerance pages of quality managers (``/quality/nonconformities/``), through
Django's test client: who may open and act, another organization's nonconformity is not
found, the workflow open -> decide (a recall revokes) -> close through the forms, and a
refusal shown on the page with nothing changed.

The data are the ``case`` of tests/support/nonconformity.py: four certificates issued with
the center's calibrator QT1-CAL-01 (two directly with points, one generated without, one
through a working standard calibrated with it)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from labserver.accounts.models import User
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate
from labserver.issuance.services import certificate_state
from labserver.nonconformities import services
from labserver.nonconformities.models import Decision, Nonconformity
from labserver.standards.models import ReferenceStandard
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    TODAY,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)
from tests.support.nonconformity import LARGE, Case, case_built_once, case_world  # noqa: F401  (CASE_BUILT_ONCE)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

LIST = "/quality/nonconformities/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def table(page: str, table_id: str) -> str:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    return found.group(1) if found else ""


def cells(page: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells."""
    body = table(page, table_id).split("<tbody>")[-1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]


def form(case: Case, **changes: str) -> dict[str, str]:
    return {
        "standard": str(case.center.standard.pk),
        "out_of_tolerance_since": (TODAY - timedelta(days=1)).isoformat(),
        "found_on": TODAY.isoformat(),
        "description": "As-found error +20 µV at 0.1 V on recalibration.",
        "shift": str(LARGE),
        "unit": "V",
        **changes,
    }


def opened(case: Case) -> Nonconformity:
    return services.open_nonconformity(
        actor=case.center.quality_manager,
        standard=case.center.standard,
        out_of_tolerance_since=TODAY - timedelta(days=1),
        found_on=TODAY,
        description="As-found error +20 µV at 0.1 V.",
        shift=LARGE,
        shift_unit="V",
    )


def revoked(certificate: Certificate) -> bool:
    fresh = Certificate.objects.prefetch_related("events").get(pk=certificate.pk)
    return certificate_state(fresh).status == "revoked"


# -------------------------------------------------------------------------------- access


def test_the_quality_manager_sees_the_list_and_the_forms(case: Case) -> None:
    nc = opened(case)
    qm = signed_in(case.center.quality_manager)
    page = text_of(qm.get(LIST))
    rows = cells(page, "nonconformities")
    assert len(rows) == 1
    number, standard, since, found, status, certificates, decisions = rows[0]
    assert number == nc.number
    assert standard.startswith("QT1-CAL-01")
    assert (since, found) == ((TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat())
    assert (status, certificates, decisions) == ("Open", "4", "0")
    assert 'id="open-form"' in page
    detail = text_of(qm.get(f"{LIST}{nc.pk}/"))
    for certificate in (case.first, case.second, case.empty, case.indirect):
        assert f'id="decide-{certificate.pk}"' in detail
    assert 'id="close-form"' in detail


def test_an_auditor_reads_without_forms_and_a_post_is_refused(case: Case) -> None:
    nc = opened(case)
    auditor = signed_in(case.center.auditor)
    page = text_of(auditor.get(LIST))
    assert nc.number in page
    assert "open-form" not in page
    detail = text_of(auditor.get(f"{LIST}{nc.pk}/"))
    assert case.first.number in detail
    assert "decide-" not in detail
    assert "close-form" not in detail
    refused = auditor.post(
        f"{LIST}{nc.pk}/decide/",
        {"certificate": case.first.pk, "action": "recall", "reason": "x", "password": PASSWORD},
    )
    assert refused.status_code == 403
    assert "quality manager" in text_of(refused).lower()
    assert auditor.post(f"{LIST}{nc.pk}/close/", {}).status_code == 403
    other = ReferenceStandard.objects.get(pk=case.working.pk)
    assert auditor.post(LIST, form(case, standard=str(other.pk))).status_code == 403
    assert not Decision.objects.exists()
    assert Nonconformity.objects.count() == 1
    assert not revoked(case.first)
    assert ReferenceStandard.objects.get(pk=case.working.pk).out_of_tolerance_since is None


def test_a_metrologist_is_refused_and_a_visitor_signs_in(case: Case) -> None:
    nc = opened(case)
    metrologist = signed_in(case.center.metrologist)
    for url in (LIST, f"{LIST}{nc.pk}/", f"{LIST}{nc.pk}/letters.pdf"):
        refused = metrologist.get(url)
        assert refused.status_code == 403, url
        assert "Quality manager" in text_of(refused)
    assert metrologist.post(f"{LIST}{nc.pk}/close/").status_code == 403
    assert Client().get(LIST).status_code == 302


def test_another_organizations_nonconformity_is_not_found(case: Case, other_center: Center) -> None:
    nc = opened(case)
    theirs = signed_in(other_center.quality_manager)
    assert nc.number not in text_of(theirs.get(LIST))
    assert theirs.get(f"{LIST}{nc.pk}/").status_code == 404
    assert theirs.get(f"{LIST}{nc.pk}/letters.pdf").status_code == 404
    decided = theirs.post(
        f"{LIST}{nc.pk}/decide/",
        {"certificate": case.first.pk, "action": "no_action", "reason": "x"},
    )
    assert decided.status_code == 404
    assert theirs.post(f"{LIST}{nc.pk}/close/", {}).status_code == 404
    # Our standard is not theirs to open a nonconformity of: not in their form, refused.
    page = text_of(theirs.get(LIST))
    assert "QT1-CAL-01" not in page
    refused = theirs.post(LIST, form(case))
    assert refused.status_code == 400
    assert Nonconformity.objects.count() == 1
    assert not Decision.objects.exists()


def test_navigation_and_the_dashboard_lead_to_the_cases(case: Case) -> None:
    qm = signed_in(case.center.quality_manager)
    assert f'href="{LIST}"' in text_of(qm.get("/quality/"))
    assert f'href="{LIST}"' in text_of(signed_in(case.center.auditor).get("/audit/search/"))
    assert f'href="{LIST}"' not in text_of(signed_in(case.center.metrologist).get("/"))
    nc = opened(case)
    dashboard = text_of(qm.get("/quality/"))
    assert f'href="{LIST}{nc.pk}/"' in table(dashboard, "out-of-tolerance")


# ------------------------------------------------------------------------------ workflow


def test_open_decide_recall_and_close_through_the_forms(case: Case) -> None:
    qm = signed_in(case.center.quality_manager)
    response = qm.post(LIST, form(case))
    assert response.status_code == 302
    nc = Nonconformity.objects.get()
    assert response["Location"] == f"{LIST}{nc.pk}/"
    standard = ReferenceStandard.objects.get(pk=case.center.standard.pk)
    assert standard.out_of_tolerance_since == TODAY - timedelta(days=1)
    page = text_of(qm.get(response["Location"]))
    assert f"Nonconformity {nc.number} opened" in page
    rows = {r[0].split(" ")[0]: r for r in cells(page, "affected")}
    assert set(rows) == {
        case.first.number,
        case.second.number,
        case.empty.number,
        case.indirect.number,
        "QT1-W-01-1",
    }
    first = rows[case.first.number]
    assert first[1].startswith("QT1-CUST")
    assert first[2] == "1"  # depth
    assert first[5].startswith("dcv")
    assert first[6] == "Valid"
    assert first[7].startswith("pass → fail")
    assert "changed" in first[7]
    assert first[8] == "undecided"
    assert rows[case.indirect.number][2] == "2"
    assert "standard certificate" in rows["QT1-W-01-1"][0]

    # Closing before every certificate is decided: refused with the service's reason.
    refused = qm.post(f"{LIST}{nc.pk}/close/", {"note": "too early"})
    assert refused.status_code == 409
    shown = text_of(refused)
    assert "cannot be closed: no decision yet for" in shown
    assert case.first.number in shown
    assert "too early" in shown  # the note is kept in the form

    # A recall revokes the certificate (password re-entered).
    url = f"{LIST}{nc.pk}/decide/"
    recall = {"certificate": case.first.pk, "action": "recall", "reason": "verdict changes"}
    done = qm.post(url, {**recall, "password": PASSWORD}, follow=True)
    assert done.status_code == 200
    page = text_of(done)
    assert f"Decision recorded for {case.first.number}: Recall. The certificate is revoked." in page
    assert revoked(case.first)
    rows = {r[0].split(" ")[0]: r for r in cells(page, "affected")}
    assert rows[case.first.number][6] == "Revoked"
    assert rows[case.first.number][8] == "Recall (revoked by this decision)"
    history = cells(page, "decisions")
    assert [h[2:5] for h in history] == [
        [case.first.number, "Recall (revoked by this decision)", "verdict changes"]
    ]
    assert 'id="letters"' in page
    letters = qm.get(f"{LIST}{nc.pk}/letters.pdf")
    assert (letters.status_code, letters["Content-Type"]) == (200, "application/pdf")
    assert letters.content.startswith(b"%PDF-")

    # Amend, then no action instead: the later decision supersedes, both stay.
    amend = {"certificate": case.second.pk, "action": "amend", "reason": "new run"}
    assert qm.post(url, amend).status_code == 302
    again = {"certificate": case.second.pk, "action": "no_action", "reason": "within MPE"}
    assert qm.post(url, again).status_code == 302
    for certificate in (case.empty, case.indirect):
        sure = {"certificate": certificate.pk, "action": "no_action", "reason": "no points"}
        assert qm.post(url, sure).status_code == 302
    page = text_of(qm.get(f"{LIST}{nc.pk}/"))
    history = cells(page, "decisions")
    assert len(history) == 5
    assert "superseded" in history[1][3]
    assert history[2][5].startswith("the decision of")
    assert 'id="undecided"' not in page

    closed = qm.post(f"{LIST}{nc.pk}/close/", {"note": "customers notified"}, follow=True)
    page = text_of(closed)
    assert f"Nonconformity {nc.number} closed." in page
    assert Nonconformity.objects.get().status == "closed"
    assert "customers notified" in page
    assert "close-form" not in page
    assert "decide-" not in page
    listed = cells(text_of(qm.get(LIST)), "nonconformities")
    assert listed[0][4:] == ["Closed", "4", "5"]
    actions = set(
        AuditEntry.objects.filter(object_type="nonconformity").values_list("action", flat=True)
    )
    assert actions == {"nonconformity.open", "nonconformity.decide", "nonconformity.close"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"description": "  "}, "description: required"),
        ({"found_on": "2999-01-01"}, "is in the future"),
        ({"out_of_tolerance_since": "someday"}, "Out of tolerance since: not a date"),
        ({"shift": "a lot"}, "Shift: not a number: a lot"),
        ({"unit": ""}, "give the shift and its unit together"),
        ({"standard": ""}, "Standard: choose one of the list"),
    ],
)
def test_a_refused_opening_is_shown_and_changes_nothing(
    case: Case, changes: dict[str, str], message: str
) -> None:
    qm = signed_in(case.center.quality_manager)
    response = qm.post(LIST, form(case, **changes))
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert 'role="alert"' in page
    if "description" not in changes:
        assert "As-found error +20 µV" in page  # the form keeps what was typed
    assert not Nonconformity.objects.exists()
    standard = ReferenceStandard.objects.get(pk=case.center.standard.pk)
    assert standard.out_of_tolerance_since is None


def test_a_second_open_nonconformity_of_a_standard_is_refused(case: Case) -> None:
    opened(case)
    response = signed_in(case.center.quality_manager).post(LIST, form(case))
    assert response.status_code == 409
    assert "already has an open nonconformity" in text_of(response)
    assert Nonconformity.objects.count() == 1


def test_a_refused_decision_is_shown_and_changes_nothing(case: Case) -> None:
    nc = opened(case)
    qm = signed_in(case.center.quality_manager)
    url = f"{LIST}{nc.pk}/decide/"
    wrong = qm.post(
        url,
        {"certificate": case.first.pk, "action": "recall", "reason": "bad", "password": "nope"},
    )
    assert wrong.status_code == 403
    page = text_of(wrong)
    assert f"{case.first.number}: " in page
    assert "password" in page.lower()
    assert re.search(rf'<details class="decide" id="decide-{case.first.pk}" open>', page)
    assert "bad</textarea>" in page  # the reason is kept, the password is not
    assert "nope" not in page
    no_reason = qm.post(url, {"certificate": case.first.pk, "action": "amend", "reason": " "})
    assert no_reason.status_code == 400
    assert "a decision states its reason" in text_of(no_reason)
    assert (
        qm.post(url, {"certificate": "999999", "action": "amend", "reason": "x"}).status_code == 404
    )
    assert not Decision.objects.exists()
    assert not revoked(case.first)


def test_the_letters_without_a_recall_say_so(case: Case) -> None:
    nc = opened(case)
    response = signed_in(case.center.auditor).get(f"{LIST}{nc.pk}/letters.pdf")
    assert response.status_code == 400
    assert "recalls no certificate" in response.content.decode()
    assert 'id="letters"' not in text_of(signed_in(case.center.auditor).get(f"{LIST}{nc.pk}/"))


def test_the_status_filter(case: Case) -> None:
    nc = opened(case)
    qm = signed_in(case.center.quality_manager)
    assert nc.number in text_of(qm.get(LIST, {"status": "open"}))
    page = text_of(qm.get(LIST, {"status": "closed"}))
    assert nc.number not in page
    assert 'id="none"' in page


def test_the_pages_speak_vietnamese(case: Case) -> None:
    nc = opened(case)
    qm = signed_in(case.center.quality_manager)
    qm.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    page = text_of(qm.get(LIST))
    assert "Các trường hợp vượt dung sai (sự không phù hợp)" in page
    assert "Mở sự không phù hợp" in page
    detail = text_of(qm.get(f"{LIST}{nc.pk}/"))
    assert f"Sự không phù hợp {nc.number}" in detail
    assert "Quyết định cho từng giấy chứng nhận" in detail
    assert "Thu hồi" in detail
