"""The national registers (issue 21, point 3): patterns, designated organizations and their
scopes, verifiers' certifications, entered once at the national node by the directorate's
administrator, and enforced at a center that holds them.

The services are called as the directorate's people; at a center the facts are written as
replication writes them (rows of the registry's tables, as ``test_registry_trace.py`` does),
and runs are posted by the center's agent through the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from labserver.accounts import registers
from labserver.accounts.models import Membership, Organization, Role
from labserver.core.errors import Conflict, InvalidEvidence, NotPermitted
from labserver.core.models import AuditEntry
from labserver.federation.replication import (
    NATIONAL_REGISTERS,
    PUBLISHED_COLUMNS,
    REGISTER_COLUMNS,
)
from labserver.instruments.models import InstrumentType, PatternApproval
from labserver.jobs.models import Procedure
from labserver.registry import national
from labserver.registry.models import (
    PatternDecisionFact,
    VerifierCertificationFact,
)
from tests.support.browser import SIZES, Page, assert_fits
from tests.support.dbroles import as_owner, table_columns
from tests.support.issuing import submitted_run
from tests.support.lims import PASSWORD, Center, client_for, person, post_run, run_payload

pytestmark = pytest.mark.django_db

# The national registers' public columns: what the national node publishes to the centers.
# A column added here is a reviewed decision. No person's name: a verifier is known by the
# number of the card the directorate gave, and the organization that employs them.
PUBLIC_PATTERN_COLUMNS = {
    "key",
    "authority",
    "number",
    "event",
    "at",
    "instrument_type",
    "manufacturer",
    "model",
    "approved_on",
    "valid_until",
    "withdrawn_on",
}
PUBLIC_DESIGNATION_COLUMNS = {
    "key",
    "authority",
    "number",
    "organization",
    "event",
    "at",
    "fields",
    "instrument_types",
    "valid_from",
    "valid_until",
    "withdrawn_on",
}
PUBLIC_VERIFIER_COLUMNS = {
    "key",
    "authority",
    "number",
    "organization",
    "event",
    "at",
    "fields",
    "instrument_types",
    "valid_from",
    "valid_until",
    "revoked_on",
}

TODAY = timezone.localdate()
CARD = "KDV-0042"


def test_the_registers_have_the_public_columns_only_and_cross_whole() -> None:
    assert table_columns("registry_patterndecisionfact") == PUBLIC_PATTERN_COLUMNS
    assert table_columns("registry_designationfact") == PUBLIC_DESIGNATION_COLUMNS
    assert table_columns("registry_verifiercertificationfact") == PUBLIC_VERIFIER_COLUMNS
    assert {table: set(columns) for table, columns in REGISTER_COLUMNS.items()} == {
        "registry_patterndecisionfact": PUBLIC_PATTERN_COLUMNS,
        "registry_designationfact": PUBLIC_DESIGNATION_COLUMNS,
        "registry_verifiercertificationfact": PUBLIC_VERIFIER_COLUMNS,
    }
    # the row filter names the directorate; the centers' publication is unchanged
    assert set(NATIONAL_REGISTERS.issuer_column.values()) == {"authority"}
    assert not set(REGISTER_COLUMNS) & set(PUBLISHED_COLUMNS)


def _approve(actor: Any, number: str = "PAT-2026-001", **changes: Any) -> PatternDecisionFact:
    values: dict[str, Any] = {
        "number": number,
        "instrument_type": "dmm",
        "manufacturer": "Keysight",
        "model": "34465A",
        "approved_on": TODAY - timedelta(days=30),
        "valid_until": TODAY + timedelta(days=300),
        **changes,
    }
    return registers.approve_pattern(actor=actor, **values)


def _certify(actor: Any, organization: str, **changes: Any) -> VerifierCertificationFact:
    values: dict[str, Any] = {
        "number": CARD,
        "organization": organization,
        "fields": ["electrical"],
        "instrument_types": [],
        "valid_from": TODAY - timedelta(days=30),
        "valid_until": TODAY + timedelta(days=300),
        **changes,
    }
    return registers.certify_verifier(actor=actor, **values)


def test_the_directorate_enters_the_registers_audited(registrar: Any, center: Center) -> None:
    pattern = _approve(registrar)
    assert pattern.key == f"TCDL/pattern/PAT-2026-001/approved/{pattern.approved_on}"
    assert national.pattern_state("PAT-2026-001", TODAY).in_force
    renewed = registers.renew_pattern(
        actor=registrar,
        number="PAT-2026-001",
        renewed_on=TODAY + timedelta(days=301),
        valid_until=TODAY + timedelta(days=800),
    )
    assert national.pattern_state("PAT-2026-001", TODAY + timedelta(days=500)).in_force
    withdrawn = registers.withdraw_pattern(
        actor=registrar, number="PAT-2026-001", withdrawn_on=TODAY + timedelta(days=10)
    )
    state = national.pattern_state("PAT-2026-001", TODAY + timedelta(days=10))
    assert not state.in_force
    assert "withdrawn from" in state.why
    assert national.pattern_state("PAT-2026-001", TODAY).in_force  # before its withdrawal

    designation = registers.designate_organization(
        actor=registrar,
        number="QD-7",
        organization=center.org.code,
        fields=["electrical", "mass"],
        instrument_types=["dmm"],
        valid_from=TODAY,
        valid_until=None,
    )
    assert national.designation_state("QD-7", TODAY).in_force
    registers.withdraw_designation(actor=registrar, number="QD-7", withdrawn_on=TODAY)
    assert not national.designation_state("QD-7", TODAY).in_force

    card = _certify(registrar, center.org.code)
    assert national.certification_state(CARD, TODAY).in_force
    revoked = registers.revoke_certification(actor=registrar, number=CARD, revoked_on=TODAY)
    assert not national.certification_state(CARD, TODAY).in_force
    assert national.certification_state(CARD, TODAY - timedelta(days=1)).in_force

    audited = list(
        AuditEntry.objects.filter(action__startswith="registry.").values_list("action", "object_id")
    )
    assert audited == [
        ("registry.pattern.approved", pattern.key),
        ("registry.pattern.renewed", renewed.key),
        ("registry.pattern.withdrawn", withdrawn.key),
        ("registry.designation.designated", designation.key),
        ("registry.designation.withdrawn", f"TCDL/designation/QD-7/withdrawn/{TODAY}"),
        ("registry.verifier.certified", card.key),
        ("registry.verifier.revoked", revoked.key),
    ]


def test_only_the_directorate_administrator_enters_them(
    directorate: Organization, center: Center
) -> None:
    for user in (
        person(directorate, "tcdl-qm", "quality_manager"),
        center.quality_manager,
        person(center.org, "qt1-admin", "administrator"),
    ):
        with pytest.raises(NotPermitted, match="administrator in one national directorate"):
            _approve(user)
    assert not PatternDecisionFact.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "said"),
    [
        ({"number": "PAT/1"}, "number", "'PAT/1' is not a register number"),
        ({"number": ""}, "number", "'' is not a register number"),
        ({"instrument_type": "a b"}, "instrument_type", "'a b' is not a code"),
        ({"manufacturer": " "}, "manufacturer", "required"),
        (
            {"valid_until": TODAY - timedelta(days=31)},
            "valid_until",
            f"{TODAY - timedelta(days=31)} is before approved_on",
        ),
    ],
)
def test_a_bad_pattern_decision_is_refused_naming_the_field(
    registrar: Any, changes: dict[str, Any], field: str, said: str
) -> None:
    with pytest.raises(InvalidEvidence) as refused:
        _approve(registrar, **changes)
    assert (refused.value.field, said in refused.value.detail) == (field, True), refused.value
    assert not PatternDecisionFact.objects.exists()


def test_bad_scopes_and_unknown_numbers_are_refused(registrar: Any, center: Center) -> None:
    with pytest.raises(InvalidEvidence, match=r"unknown field.*'optics'") as refused:
        _certify(registrar, center.org.code, fields=["optics"])
    assert refused.value.field == "fields"
    with pytest.raises(InvalidEvidence, match="at least one field"):
        _certify(registrar, center.org.code, fields=[])
    with pytest.raises(InvalidEvidence, match="no organization 'NOWHERE'") as refused:
        _certify(registrar, "NOWHERE")
    assert refused.value.field == "organization"
    with pytest.raises(Conflict, match="no verifier's certificate KDV-9"):
        registers.revoke_certification(actor=registrar, number="KDV-9", revoked_on=TODAY)
    with pytest.raises(Conflict, match="no approval of pattern PAT-9"):
        registers.withdraw_pattern(actor=registrar, number="PAT-9", withdrawn_on=TODAY)
    _approve(registrar)
    with pytest.raises(Conflict, match="already approved"):
        _approve(registrar)
    _certify(registrar, center.org.code)
    with pytest.raises(Conflict, match="already registered"):
        _certify(registrar, center.org.code)


def test_the_api_enters_a_decision_and_refuses_others(registrar: Any, center: Center) -> None:
    body = {
        "number": CARD,
        "organization": center.org.code,
        "fields": ["electrical"],
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=365)).isoformat(),
    }
    response = client_for(registrar).post("/api/v1/registers/verifiers/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["key"] == f"TCDL/verifier/{CARD}/certified/{TODAY}"
    refused = center.client("quality_manager").post(
        "/api/v1/registers/verifiers/", body, format="json"
    )
    assert refused.status_code == 403, refused.json()
    bad = client_for(registrar).post(
        "/api/v1/registers/verifiers/", {**body, "valid_from": "yesterday"}, format="json"
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "valid_from"), bad.json()
    revoked = client_for(registrar).post(
        f"/api/v1/registers/verifiers/{CARD}/revoke/",
        {"revoked_on": TODAY.isoformat()},
        format="json",
    )
    assert revoked.status_code == 201, revoked.json()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE registry_verifiercertificationfact SET valid_until = NULL",
        "DELETE FROM registry_patterndecisionfact",
    ],
)
def test_a_register_fact_is_never_changed_nor_deleted(
    registrar: Any, center: Center, statement: str
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only triggers are PostgreSQL's")
    _approve(registrar)
    _certify(registrar, center.org.code)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        as_owner(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


# ------------------------------------------------------------------ at a center


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def _card_fact(
    event: str, day: date, organization: str, fields: list[str], **more: Any
) -> VerifierCertificationFact:
    """A fact of card :data:`CARD` as replication writes it on a center."""
    return VerifierCertificationFact.objects.create(
        key=f"TCDL/verifier/{CARD}/{event}/{day}",
        authority="TCDL",
        number=CARD,
        organization=organization,
        event=event,
        at=_at(day),
        fields=fields,
        instrument_types=[],
        **more,
    )


def _replicated_card(
    organization: str, valid_from: date, valid_until: date | None, fields: list[str]
) -> None:
    _card_fact(
        "certified",
        valid_from,
        organization,
        fields,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _replicated_pattern(number: str, approved_on: date, valid_until: date | None) -> None:
    PatternDecisionFact.objects.create(
        key=f"TCDL/pattern/{number}/approved/{approved_on}",
        authority="TCDL",
        number=number,
        event="approved",
        at=_at(approved_on),
        instrument_type="dmm",
        manufacturer="Keysight",
        model="34465A",
        approved_on=approved_on,
        valid_until=valid_until,
    )


@pytest.fixture
def enforced(settings: Any, center: Center) -> Center:
    """A center enforcing the national registers; its verifier holds card :data:`CARD`."""
    settings.CALTRACE_NATIONAL_REGISTERS = True
    Membership.objects.filter(user=center.metrologist, role=Role.METROLOGIST).update(
        certificate_number=CARD
    )
    return center


def _refused(center: Center) -> dict[str, Any]:
    response = post_run(center, run_payload(center))
    assert response.status_code == 422, response.json()
    body: dict[str, Any] = response.json()
    assert body["code"] == "national_register", body
    return body


def test_without_the_registers_a_center_works_as_before(center: Center) -> None:
    assert not national.enforced()
    submitted_run(center)  # no card, no register: accepted


def test_a_run_by_a_verifier_whose_certification_expired_is_refused(enforced: Center) -> None:
    center = enforced
    metro = center.metrologist.username
    body = _refused(center)  # the register has no such card
    assert body["field"] == "operator"
    assert (
        f"operator: {metro}: the national register has no verifier's certificate {CARD}"
        in (body["detail"])
    )
    _replicated_card(
        center.org.code, TODAY - timedelta(days=400), TODAY - timedelta(days=1), ["electrical"]
    )
    body = _refused(center)
    assert (
        f"operator: {metro}: verifier's certificate {CARD} expired on "
        f"{TODAY - timedelta(days=1)} (on {TODAY})"
    ) in body["detail"], body


def test_a_run_outside_the_certified_scope_or_organization_is_refused(enforced: Center) -> None:
    center = enforced
    _replicated_card("QT9", TODAY - timedelta(days=10), None, ["electrical"])
    assert (
        f"is held at QT9 in the national register, not at {center.org.code}"
        in (_refused(center)["detail"])
    )


def test_a_run_outside_the_certified_fields_is_refused(enforced: Center) -> None:
    center = enforced
    _replicated_card(center.org.code, TODAY - timedelta(days=10), None, ["mass"])
    assert (
        "covers mass in the national register, not the field 'electrical'"
        in (_refused(center)["detail"])
    )


def test_a_verifier_without_a_card_number_is_refused(enforced: Center) -> None:
    center = enforced
    Membership.objects.filter(user=center.metrologist).update(certificate_number="")
    assert "has no verifier's certificate number recorded" in _refused(center)["detail"]


def test_a_certified_verifier_runs_and_a_revocation_stops_the_approval(enforced: Center) -> None:
    center = enforced
    _replicated_card(center.org.code, TODAY - timedelta(days=10), None, ["electrical"])
    run = submitted_run(center)
    review = center.client("reviewer").post(
        f"/api/v1/runs/{run.pk}/review/", {"password": PASSWORD}, format="json"
    )
    assert review.status_code == 200, review.json()
    _card_fact(
        "revoked",
        TODAY,
        center.org.code,
        ["electrical"],
        valid_from=TODAY - timedelta(days=10),
        revoked_on=TODAY,
    )
    approval = center.client("signatory").post(
        f"/api/v1/runs/{run.pk}/approve/", {"password": PASSWORD}, format="json"
    )
    assert approval.status_code == 422, approval.json()
    assert f"verifier's certificate {CARD} was revoked from {TODAY}" in (approval.json()["detail"])


def test_a_verification_needs_the_pattern_approval_in_force(enforced: Center) -> None:
    center = enforced
    _replicated_card(center.org.code, TODAY - timedelta(days=10), None, ["electrical"])
    Procedure.objects.filter(pk=center.procedure.pk).update(kind=Procedure.Kind.VERIFICATION)
    InstrumentType.objects.filter(pk=center.instrument.instrument_type_id).update(
        legal_category=InstrumentType.LegalCategory.GROUP_1
    )
    serial = center.instrument.serial
    body = _refused(center)
    assert body["field"] == "instrument"
    assert f"instrument: {serial} has no pattern approval" in body["detail"], body
    pattern = PatternApproval.objects.create(
        number="PAT-2020-7",
        instrument_type_id=center.instrument.instrument_type_id,
        manufacturer="Keysight",
        model="34465A",
        approved_on=date(2020, 1, 1),
    )
    center.instrument.pattern = pattern
    center.instrument.save(update_fields=["pattern"])
    _replicated_pattern("PAT-2020-7", date(2020, 1, 1), TODAY - timedelta(days=1))
    body = _refused(center)
    assert (
        f"instrument: {serial}: pattern approval PAT-2020-7 expired on {TODAY - timedelta(days=1)}"
    ) in body["detail"], body
    _replicated_pattern("PAT-2020-7", TODAY - timedelta(days=1), None)  # renewed
    submitted_run(center)


# ------------------------------------------------------------------ the public pages


def test_the_registers_pages_are_public_searchable_and_in_both_languages(
    registrar: Any, center: Center, client: Any
) -> None:
    _approve(registrar)
    _approve(registrar, number="PAT-2019-009", manufacturer="Itron", model="Aquadis+")
    registers.withdraw_pattern(actor=registrar, number="PAT-2019-009", withdrawn_on=TODAY)
    _certify(registrar, center.org.code, instrument_types=["dmm"])
    registers.designate_organization(
        actor=registrar,
        number="QD-7",
        organization=center.org.code,
        fields=["mass"],
        instrument_types=[],
        valid_from=TODAY,
        valid_until=None,
    )
    index = client.get("/registers/", HTTP_ACCEPT_LANGUAGE="en")
    assert index.status_code == 200
    assert "Approved patterns" in index.content.decode()

    listed = client.get("/registers/patterns/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "PAT-2026-001" in listed
    assert "PAT-2019-009" in listed
    assert f"pattern approval PAT-2019-009 was withdrawn from {TODAY}" in listed
    found = client.get("/registers/patterns/?q=itron", HTTP_ACCEPT_LANGUAGE="en")
    assert "PAT-2019-009" in found.content.decode()
    assert "PAT-2026-001" not in found.content.decode()
    nothing = client.get("/registers/patterns/?q=nowhere", HTTP_ACCEPT_LANGUAGE="en")
    assert "Nothing in this register matches" in nothing.content.decode()

    by_org = client.get(f"/registers/verifiers/?q={center.org.code}", HTTP_ACCEPT_LANGUAGE="en")
    page = by_org.content.decode()
    assert CARD in page
    assert "Electrical (DC/LF), dmm" in page

    entry = client.get(f"/registers/verifiers/{CARD}", HTTP_ACCEPT_LANGUAGE="en")
    assert entry.status_code == 200
    assert f"In force on {TODAY}" in entry.content.decode()
    designation = client.get("/registers/designations/QD-7", HTTP_ACCEPT_LANGUAGE="en")
    assert "Mass and weighing" in designation.content.decode()

    vietnamese = client.get("/registers/patterns/PAT-2019-009", HTTP_ACCEPT_LANGUAGE="vi")
    text = vietnamese.content.decode()
    assert "Mẫu phương tiện đo đã được phê duyệt" in text, text
    assert "Thu hồi" in text  # the withdrawal, in Vietnamese

    assert client.get("/registers/patterns/PAT-0").status_code == 404
    assert client.get("/registers/elsewhere/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_registers_pages_fit_a_phone(registrar: Any, center: Center, page: Page) -> None:
    _approve(registrar, manufacturer="Công ty TNHH Thiết bị Đo lường Điện tử Việt Nam")
    _certify(registrar, center.org.code, fields=["electrical", "mass", "volume_flow"])
    try:
        for size, (width, height) in SIZES.items():
            page.driver.set_window_size(width, height)
            for path in (
                "/registers/",
                "/registers/patterns/",
                "/registers/patterns/PAT-2026-001",
                f"/registers/verifiers/{CARD}",
            ):
                page.open(path)
                assert_fits(page, f"{path} at {size}")
            page.screenshot(f"register-verifier-{size}")
        assert page.text("#status").startswith("In force on")
    finally:
        page.driver.set_window_size(*SIZES["desktop"])
