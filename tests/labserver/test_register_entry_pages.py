"""The directorate's entry pages of the national registers (Django's test client, and one
walk in Chromium on a 320 px phone): only the administrator of a national directorate opens
them; each decision (a pattern approved, renewed, withdrawn; a designation granted, amended,
withdrawn; a verifier certified, renewed, revoked) is written by the service the API calls,
audited; a refusal is shown on the input it names, in English and in Vietnamese, nothing
written; the list of what was entered links each entry to its public page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from labserver.accounts import registers
from labserver.accounts.models import Organization
from labserver.core.models import AuditEntry
from labserver.registry import national
from labserver.registry.models import (
    DesignationFact,
    PatternDecisionFact,
    VerifierCertificationFact,
)
from tests.support.browser import Page, assert_fits, sign_in
from tests.support.frontoffice import admin_of
from tests.support.lims import Center, person
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
ENTRY = "/office/registers/"


def _pattern(**changes: Any) -> dict[str, Any]:
    return {
        "number": "PAT-2026-001",
        "instrument_type": "dmm",
        "manufacturer": "Keysight",
        "model": "34465A",
        "approved_on": (TODAY - timedelta(days=30)).isoformat(),
        "valid_until": (TODAY + timedelta(days=300)).isoformat(),
        **changes,
    }


def _scope(organization: str, **changes: Any) -> dict[str, Any]:
    return {
        "number": "QD-17",
        "organization": organization,
        "scope_fields": ["electrical"],
        "instrument_types": "",
        "valid_from": (TODAY - timedelta(days=30)).isoformat(),
        "valid_until": (TODAY + timedelta(days=300)).isoformat(),
        **changes,
    }


def test_only_the_directorate_administrator_opens_the_pages(
    directorate: Organization, registrar: Any, center: Center
) -> None:
    paths = [
        ENTRY,
        f"{ENTRY}patterns/new/",
        f"{ENTRY}designations/new/",
        f"{ENTRY}verifiers/new/",
    ]
    anonymous = Client()
    for path in paths:
        response = anonymous.get(path)
        assert (response.status_code, response["Location"].split("?")[0]) == (
            302,
            "/accounts/login/",
        ), path
    others = [
        person(directorate, "tcdl-qm", "quality_manager"),
        admin_of(center),
        center.quality_manager,
        center.metrologist,
        center.signatory,
    ]
    for user in others:
        client = signed_in(user)
        for path in paths:
            assert client.get(path).status_code == 403, (user.username, path)
        refused = client.post(f"{ENTRY}patterns/new/", _pattern())
        assert refused.status_code == 403, user.username
        assert "Register entry" not in client.get("/").content.decode()
    assert not PatternDecisionFact.objects.exists()
    client = signed_in(registrar)
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert 'href="/office/registers/"' in client.get("/").content.decode()


def test_a_pattern_is_approved_renewed_and_withdrawn_through_the_pages(
    registrar: Any,
) -> None:
    client = signed_in(registrar)
    response = client.post(f"{ENTRY}patterns/new/", _pattern())
    assert (response.status_code, response["Location"]) == (302, ENTRY)
    approved = PatternDecisionFact.objects.get(number="PAT-2026-001")
    assert (approved.authority, approved.event, approved.model) == ("TCDL", "approved", "34465A")
    renewed_on = TODAY - timedelta(days=1)
    form = client.get(f"{ENTRY}patterns/PAT-2026-001/renew/")
    assert form.status_code == 200
    assert 'href="/registers/patterns/PAT-2026-001"' in form.content.decode()
    response = client.post(
        f"{ENTRY}patterns/PAT-2026-001/renew/",
        {"renewed_on": renewed_on.isoformat(), "valid_until": ""},
    )
    assert response.status_code == 302
    response = client.post(
        f"{ENTRY}patterns/PAT-2026-001/withdraw/", {"withdrawn_on": TODAY.isoformat()}
    )
    assert response.status_code == 302
    events = list(
        PatternDecisionFact.objects.filter(number="PAT-2026-001")
        .order_by("at")
        .values_list("event", flat=True)
    )
    assert events == ["approved", "renewed", "withdrawn"]
    assert not national.pattern_state("PAT-2026-001", TODAY).in_force
    audited = set(
        AuditEntry.objects.filter(action__startswith="registry.pattern.").values_list(
            "action", flat=True
        )
    )
    assert audited == {
        "registry.pattern.approved",
        "registry.pattern.renewed",
        "registry.pattern.withdrawn",
    }
    listing = client.get(ENTRY).content.decode()
    assert 'href="/registers/patterns/PAT-2026-001"' in listing
    assert "Withdrawn" in listing
    assert f"was withdrawn from {TODAY}" in listing
    # an entry the directorate never entered has no form
    assert client.get(f"{ENTRY}patterns/PAT-0/renew/").status_code == 404
    assert client.get(f"{ENTRY}patterns/elsewhere/new/").status_code == 404
    assert client.get(f"{ENTRY}patterns/PAT-2026-001/new/").status_code == 404


def test_a_designation_is_granted_amended_and_withdrawn(registrar: Any, center: Center) -> None:
    client = signed_in(registrar)
    code = center.org.code
    response = client.post(f"{ENTRY}designations/new/", _scope(code))
    assert response.status_code == 302, response.context["form"].errors
    # the amendment keeps the entry's organization whatever the form sends
    amended_from = TODAY - timedelta(days=2)
    response = client.post(
        f"{ENTRY}designations/QD-17/amend/",
        {
            **_scope("QT9", valid_from=amended_from.isoformat()),
            "scope_fields": ["electrical", "mass"],
            "instrument_types": "water_meter, nawi",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    amended = DesignationFact.objects.get(number="QD-17", valid_from=amended_from)
    assert (amended.organization, amended.fields, amended.instrument_types) == (
        code,
        ["electrical", "mass"],
        ["nawi", "water_meter"],
    )
    assert (
        national.designation_refusal(
            organization=code, field="mass", instrument_type="nawi", on=TODAY
        )
        is None
    )
    response = client.post(
        f"{ENTRY}designations/QD-17/withdraw/", {"withdrawn_on": TODAY.isoformat()}
    )
    assert response.status_code == 302
    assert not national.designation_state("QD-17", TODAY).in_force
    assert AuditEntry.objects.filter(action="registry.designation.withdrawn").exists()
    assert 'href="/registers/designations/QD-17"' in client.get(ENTRY).content.decode()


def test_a_verifier_is_certified_renewed_and_revoked(registrar: Any, center: Center) -> None:
    client = signed_in(registrar)
    code = center.org.code
    response = client.post(f"{ENTRY}verifiers/new/", _scope(code, number="KDV-1"))
    assert response.status_code == 302, response.context["form"].errors
    form = client.get(f"{ENTRY}verifiers/KDV-1/renew/")
    assert form.context["form"].initial["scope_fields"] == ["electrical"]
    response = client.post(
        f"{ENTRY}verifiers/KDV-1/renew/",
        {
            "scope_fields": ["electrical"],
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=1000)).isoformat(),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    response = client.post(f"{ENTRY}verifiers/KDV-1/revoke/", {"revoked_on": TODAY.isoformat()})
    assert response.status_code == 302
    events = sorted(
        VerifierCertificationFact.objects.filter(number="KDV-1").values_list("event", flat=True)
    )
    assert events == ["certified", "certified", "revoked"]
    assert not national.certification_state("KDV-1", TODAY).in_force


@pytest.mark.parametrize(
    ("path", "data", "field", "said", "status"),
    [
        (
            "patterns/new/",
            _pattern(valid_until=(TODAY - timedelta(days=31)).isoformat()),
            "valid_until",
            "is before approved_on",
            422,
        ),
        ("patterns/new/", _pattern(number="PAT/1"), "number", "is not a register number", 422),
        ("patterns/new/", _pattern(instrument_type="a b"), "instrument_type", "is not a code", 422),
        ("patterns/new/", _pattern(approved_on="tomorrow"), "approved_on", "valid date", 400),
        (
            "designations/new/",
            _scope("NOWHERE"),
            "organization",
            "no organization 'NOWHERE' on this node",
            422,
        ),
        (
            "designations/new/",
            _scope("QT1", scope_fields=[]),
            "scope_fields",
            "name at least one field of measurement or instrument type",
            422,
        ),
        (
            "verifiers/new/",
            _scope("QT1", instrument_types="water meter"),
            "instrument_types",
            "'water meter' is not a code",
            422,
        ),
    ],
)
def test_a_refused_input_is_shown_on_its_field_and_nothing_written(
    registrar: Any,
    center: Center,
    path: str,
    data: dict[str, Any],
    field: str,
    said: str,
    status: int,
) -> None:
    response = signed_in(registrar).post(f"{ENTRY}{path}", data)
    assert response.status_code == status
    errors = response.context["form"].errors
    assert list(errors) == [field], errors
    assert said in errors[field][0], errors
    assert said in response.content.decode().replace("&#x27;", "'")
    assert not PatternDecisionFact.objects.exists()
    assert not DesignationFact.objects.exists()
    assert not VerifierCertificationFact.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="registry.").exists()


def test_the_same_decision_twice_is_refused_on_the_number(registrar: Any) -> None:
    client = signed_in(registrar)
    assert client.post(f"{ENTRY}patterns/new/", _pattern()).status_code == 302
    again = client.post(f"{ENTRY}patterns/new/", _pattern())
    assert again.status_code == 409
    assert "pattern PAT-2026-001 is already approved" in again.context["form"].errors["number"][0]
    assert PatternDecisionFact.objects.count() == 1


def test_the_pages_and_the_refusals_speak_vietnamese(registrar: Any, center: Center) -> None:
    registers.approve_pattern(
        actor=registrar,
        number="PAT-VI",
        instrument_type="dmm",
        manufacturer="Keysight",
        model="34465A",
        approved_on=TODAY,
        valid_until=None,
    )
    client = signed_in(registrar)
    client.cookies["django_language"] = "vi"
    listing = client.get(ENTRY).content.decode()
    for said in ("Nhập sổ đăng ký quốc gia", "Phê duyệt mẫu", "Chỉ định tổ chức", "Gia hạn"):
        assert said in listing, said
    form = client.get(f"{ENTRY}designations/new/").content.decode()
    for said in ("Lĩnh vực đo", "Có hiệu lực từ", "Ghi nhận quyết định"):
        assert said in form, said
    refused = client.post(f"{ENTRY}designations/new/", _scope("NOWHERE"))
    assert "không có tổ chức 'NOWHERE'" in refused.context["form"].errors["organization"][0]
    renewed = client.post(
        f"{ENTRY}patterns/PAT-VI/renew/",
        {"renewed_on": TODAY.isoformat(), "valid_until": (TODAY - timedelta(days=1)).isoformat()},
    )
    assert "trước ngày" in renewed.context["form"].errors["valid_until"][0]


@pytest.mark.django_db(transaction=True)
def test_the_directorate_enters_a_pattern_approval_on_a_320_px_phone(
    registrar: Any, page: Page
) -> None:
    from tests.support.browser import SIZES

    page.driver.set_window_size(*SIZES["phone-320"])
    try:
        sign_in(page, registrar)
        page.open(ENTRY)
        assert_fits(page, "the entry list at 320 px")
        page.click_and_wait("#new a[href='/office/registers/patterns/new/']")
        assert_fits(page, "the pattern form at 320 px")
        values = _pattern(number="PAT-2026-320")
        for name in ("number", "instrument_type", "manufacturer", "model"):
            page.find(f"#id_{name}").send_keys(values[name])
        for name in ("approved_on", "valid_until"):
            day = values[name]
            page.find(f"#id_{name}").send_keys(f"{day[5:7]}{day[8:10]}{day[:4]}")
        page.screenshot("register-pattern-form-320")
        page.click_and_wait("#register-form button[type=submit]")
        assert "Pattern PAT-2026-320 is approved." in page.text(".messages")
        assert "PAT-2026-320" in page.text("#entries-patterns")
        assert_fits(page, "the entry list with an entry at 320 px")
        page.screenshot("register-entered-320")
        page.click_and_wait("#entries-patterns a[href='/registers/patterns/PAT-2026-320']")
        assert page.text("#status").startswith("In force on")
    finally:
        page.driver.set_window_size(*SIZES["desktop"])
    fact = PatternDecisionFact.objects.get(number="PAT-2026-320")
    assert (fact.manufacturer, fact.approved_on.isoformat()) == ("Keysight", values["approved_on"])
