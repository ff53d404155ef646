"""A center records that one of its standards was calibrated by a standard of another
organization, on another node (issue 21, point 4): the certificate keeps the upstream's code,
asset id and certificate, the audit entry states them, and the registry's link fact carries
them, so that the national recall of that standard reaches this one."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labserver.core.models import AuditEntry
from labserver.registry.models import CalibrationLinkFact, RecallNoticeFact
from labserver.registry.recalls import write_notices
from labserver.standards.models import StandardCertificate
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    TODAY,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)
from tests.support.pages import signed_in
from tests.support.registry import certificate, out_of_tolerance

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

PDF = b"%PDF-1.4\n% a standard's certificate\n%%EOF\n"
CALIBRATED_ON = TODAY - timedelta(days=10)
ELSEWHERE = {
    "calibrated_with_owner": "QT9",
    "calibrated_with_standard": "REF-9",
    "calibrated_with_certificate": "VMI-2026-0042",
}


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": "QT9-HC-2026-000007",
        "issuing_lab": "Center QT9",
        "calibrated_on": str(CALIBRATED_ON),
        "issued_on": str(CALIBRATED_ON + timedelta(days=2)),
        "due_on": str(CALIBRATED_ON + timedelta(days=365)),
        "values": [{"quantity": "dcv", "nominal": 10, "value": 10.000001, "unit": "V", "U": 3e-6}],
        **ELSEWHERE,
    }
    data.update(changes)
    return data


def post(center: Center, data: dict[str, Any], role: str = "quality_manager") -> Any:
    return center.client(role).post(
        f"/api/v1/standards/{center.standard.pk}/certificates/", data, format="json"
    )


def refused(response: Any, field: str) -> str:
    assert response.status_code == 400, response.json()
    answer = response.json()
    assert answer["field"] == field, answer
    assert answer["detail"].startswith(f"{field}: "), answer
    detail: str = answer["detail"]
    return detail


def test_it_is_recorded_audited_and_registered_as_a_link(center: Center) -> None:
    response = post(center, body())
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert {k: answer[k] for k in ELSEWHERE} == ELSEWHERE
    recorded = StandardCertificate.objects.get(pk=answer["id"])
    assert (
        recorded.calibrated_with_owner,
        recorded.calibrated_with_standard,
        recorded.calibrated_with_certificate,
    ) == ("QT9", "REF-9", "VMI-2026-0042")
    assert not recorded.links.exists(), "another node's standard is no local link"
    entry = AuditEntry.objects.get(action="standard.certificate", object_id=str(recorded.pk))
    assert (entry.after or {})["calibrated_with"] == {
        "owner": "QT9",
        "asset_id": "REF-9",
        "certificate": "VMI-2026-0042",
    }
    code, asset = center.org.code, center.standard.asset_id
    fact = CalibrationLinkFact.objects.get(owner=code, standard=asset, upstream_owner="QT9")
    assert fact.key == f"{code}/{asset}/QT9-HC-2026-000007/QT9/REF-9"
    assert (fact.certificate, fact.upstream_standard, fact.upstream_certificate) == (
        "QT9-HC-2026-000007",
        "REF-9",
        "VMI-2026-0042",
    )
    assert fact.used_on == CALIBRATED_ON
    listed = center.client("auditor").get(f"/api/v1/standards/{center.standard.pk}/certificates/")
    assert [c["calibrated_with_owner"] for c in listed.json() if c["id"] == recorded.pk] == ["QT9"]


@pytest.mark.parametrize("field", list(ELSEWHERE))
def test_a_missing_part_is_refused_by_its_name(center: Center, field: str) -> None:
    assert refused(post(center, body(**{field: "  "})), field) == f"{field}: required"
    assert not StandardCertificate.objects.filter(number="QT9-HC-2026-000007").exists()
    assert not CalibrationLinkFact.objects.filter(upstream_owner="QT9").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("calibrated_with_owner", "QT 9"),
        ("calibrated_with_owner", "QT9/REF"),
        ("calibrated_with_standard", "REF/9"),
        ("calibrated_with_standard", "REF 9"),
        ("calibrated_with_certificate", "VMI/2026"),
        ("calibrated_with_certificate", "số-1"),
    ],
)
def test_a_part_out_of_the_registrys_format_is_refused_by_its_name(
    center: Center, field: str, value: str
) -> None:
    assert "registry's format" in refused(post(center, body(**{field: value})), field)
    assert not CalibrationLinkFact.objects.filter(upstream_standard="REF-9").exists()


def test_the_centers_own_code_is_refused_for_the_in_house_path(center: Center) -> None:
    detail = refused(
        post(center, body(calibrated_with_owner=center.org.code)), "calibrated_with_owner"
    )
    assert "reference_standards" in detail
    assert not StandardCertificate.objects.filter(number="QT9-HC-2026-000007").exists()


@pytest.mark.parametrize("role", ["metrologist", "reviewer", "signatory", "auditor"])
def test_only_the_quality_manager_records_it(center: Center, role: str) -> None:
    assert post(center, body(), role=role).status_code == 403
    assert not CalibrationLinkFact.objects.filter(upstream_owner="QT9").exists()


def test_another_centers_people_cannot_record_it(center: Center, other_center: Center) -> None:
    response = other_center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/", body(), format="json"
    )
    assert response.status_code == 404
    assert not CalibrationLinkFact.objects.filter(upstream_owner="QT9").exists()


def test_the_national_recall_of_the_upstream_reaches_this_centers_certificates(
    center: Center,
) -> None:
    """On one database, as on the national node: the link recorded here, a certificate the
    center registered relying on its standard after the calibration, and QT9's REF-9 found
    out of tolerance since before it (QT9's facts, as replication writes them)."""
    assert post(center, body()).status_code == 201
    code, asset = center.org.code, center.standard.asset_id
    number = f"{code}-HC-2026-999001"
    certificate(code, number, CALIBRATED_ON + timedelta(days=3), (code, asset))
    out_of_tolerance("QT9", "REF-9", CALIBRATED_ON - timedelta(days=30), TODAY)
    write_notices()
    to_center = {
        (
            n.kind,
            n.affected_standard if n.kind == "standard" else n.number,
            n.via_owner,
            n.via_standard,
        )
        for n in RecallNoticeFact.objects.filter(issuer=code)
    }
    assert ("standard", asset, "QT9", "REF-9") in to_center, to_center
    assert ("certificate", number, code, asset) in to_center, to_center


# ------------------------------------------------------------------ the chain and the pages


def _recorded(center: Center) -> StandardCertificate:
    assert post(center, body()).status_code == 201
    return StandardCertificate.objects.get(number="QT9-HC-2026-000007")


def test_the_chain_shows_the_upstream_as_another_organizations_standard(center: Center) -> None:
    recorded = _recorded(center)
    chain = (
        center.client("auditor")
        .get(f"/api/v1/standards/{center.standard.pk}/chain/", {"on": str(TODAY)})
        .json()
    )
    nodes = {n["id"]: n for n in chain["nodes"]}
    mine = nodes[f"standard_certificate:{recorded.pk}"]
    assert mine["top"] == "other_organization"
    other = nodes["other_standard:QT9/REF-9"]
    assert other == {
        "id": "other_standard:QT9/REF-9",
        "kind": "other_standard",
        "organization": "QT9",
        "asset_id": "REF-9",
        "number": "VMI-2026-0042",
    }
    assert not [n for n in chain["nodes"] if n["kind"] == "standard" and n["asset_id"] == "REF-9"]
    [edge] = [e for e in chain["edges"] if e["to"] == other["id"]]
    assert (edge["from"], edge["kind"], edge["used_on"], edge["valid"]) == (
        mine["id"],
        "calibrated_by",
        str(CALIBRATED_ON),
        True,
    )
    assert chain["unbroken"], chain["breaks"]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "REF-9 (QT9): standard of another organization"),
        ("vi", "REF-9 (QT9): chuẩn của tổ chức khác"),
    ],
)
def test_the_chain_page_names_the_other_organizations_standard(
    center: Center, language: str, said: str
) -> None:
    _recorded(center)
    client = signed_in(center.auditor)
    client.cookies["django_language"] = language
    page = client.get(f"/audit/standards/{center.standard.pk}/chain/", {"on": str(TODAY)})
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert said in text
    assert "VMI-2026-0042" in text
    assert 'data-node="other_standard:QT9/REF-9"' in text
    assert "/audit/standards/" not in text.split('data-node="other_standard:QT9/REF-9"')[0][-200:]


def _office_post(**changes: Any) -> dict[str, Any]:
    data = {
        "number": "QT9-HC-2026-000008",
        "issuing_lab": "Center QT9",
        "calibrated_on": str(CALIBRATED_ON),
        "issued_on": str(CALIBRATED_ON + timedelta(days=2)),
        "due_on": str(CALIBRATED_ON + timedelta(days=365)),
        "document": SimpleUploadedFile("cert.pdf", PDF, content_type="application/pdf"),
        "values-TOTAL_FORMS": "1",
        "values-INITIAL_FORMS": "0",
        "values-0-quantity": "dcv",
        "values-0-nominal": "10",
        "values-0-value": "10.000003",
        "values-0-unit": "V",
        "values-0-U": "0.000004",
        "values-0-k": "2",
        **ELSEWHERE,
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "calibrated with REF-9, a standard of another organization (QT9)"),
        ("vi", "hiệu chuẩn bằng REF-9, chuẩn của tổ chức khác (QT9)"),
    ],
)
def test_the_office_page_records_it_and_shows_it(center: Center, language: str, said: str) -> None:
    client = signed_in(center.quality_manager)
    client.cookies["django_language"] = language
    url = f"/office/standards/{center.standard.pk}/certificates/"
    response = client.post(url, _office_post())
    assert response.status_code == 302, response.context["form"].errors
    recorded = StandardCertificate.objects.get(number="QT9-HC-2026-000008")
    assert recorded.calibrated_with_owner == "QT9"
    assert CalibrationLinkFact.objects.filter(
        certificate="QT9-HC-2026-000008", upstream_standard="REF-9"
    ).exists()
    page = html.unescape(client.get(f"/office/standards/{center.standard.pk}/").content.decode())
    assert said in page


def test_the_office_page_refuses_the_own_code_beside_its_field(center: Center) -> None:
    before = AuditEntry.objects.count()
    page = signed_in(center.quality_manager).post(
        f"/office/standards/{center.standard.pk}/certificates/",
        _office_post(calibrated_with_owner=center.org.code),
    )
    assert page.status_code == 400
    errors = page.context["form"].errors
    assert "own organization" in errors["calibrated_with_owner"][0], errors
    assert AuditEntry.objects.count() == before
    assert not StandardCertificate.objects.filter(number="QT9-HC-2026-000008").exists()
