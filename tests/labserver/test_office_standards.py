"""The front office's reference standards through Django's test client: the register and
its due list, registering a standard, recording a new calibration certificate with its PDF
and values; roles (403), other organizations (404), audit entries, refusals named by field
or row with nothing saved."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labserver.core.models import AuditEntry
from labserver.standards.models import ReferenceStandard, StandardCertificate
from tests.support.frontoffice import standard_with_due
from tests.support.lims import TODAY, Center
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% a standard's certificate\n%%EOF\n"


def test_the_register_lists_the_standards_and_the_due_list(center: Center) -> None:
    standard_with_due(center, "P-20", 20)
    standard_with_due(center, "P-45", 45)
    standard_with_due(center, "P-LATE", -3)
    standard_with_due(center, "P-NEW", None)
    page = signed_in(center.quality_manager).get("/office/standards/")
    assert page.status_code == 200
    text = page.content.decode()
    overdue = text[text.index('id="overdue"') : text.index('id="due-30-heading"')]
    assert "P-LATE" in overdue
    assert "P-NEW" in overdue
    assert "P-20" not in overdue
    within_30 = text[text.index('id="due-30"') : text.index('id="due-60-heading"')]
    assert "P-20" in within_30
    assert "P-45" not in within_30
    within_60 = text[text.index('id="due-60"') : text.index('id="due-90-heading"')]
    assert "P-45" in within_60
    assert center.standard.asset_id in text[text.index('id="standards"') :]


def test_the_register_is_the_quality_manager_s_and_only_of_their_organization(
    center: Center, other_center: Center
) -> None:
    assert signed_in(center.metrologist).get("/office/standards/").status_code == 403
    page = signed_in(center.quality_manager)
    assert other_center.standard.asset_id not in page.get("/office/standards/").content.decode()
    assert page.get(f"/office/standards/{other_center.standard.pk}/").status_code == 404
    assert (
        signed_in(center.signatory).get(f"/office/standards/{center.standard.pk}/").status_code
        == 403
    )


def new_standard(**changes: Any) -> dict[str, Any]:
    return {
        "asset_id": "T-REF-07",
        "name": "Platinum resistance thermometer",
        "field": "temperature",
        "level": "reference",
        "manufacturer": "Fluke",
        "model": "5615",
        "serial": "PRT-7",
        "calibration_interval_months": "24",
        "functions-TOTAL_FORMS": "3",
        "functions-INITIAL_FORMS": "0",
        "functions-1-role": "reference",
        "functions-1-function": "temperature",
        "functions-1-unit": "°C",
        "functions-1-min": "-50",
        "functions-1-max": "420",
        **changes,
    }


def test_a_quality_manager_registers_a_standard_audited(center: Center) -> None:
    response = signed_in(center.quality_manager).post("/office/standards/new/", new_standard())
    standard = ReferenceStandard.objects.get(organization=center.org, asset_id="T-REF-07")
    assert response.status_code == 302
    assert response["Location"] == f"/office/standards/{standard.pk}/"
    assert (standard.level, standard.calibration_interval_months) == ("reference", 24)
    assert standard.functions == [
        {"role": "reference", "function": "temperature", "unit": "°C", "min": -50, "max": 420}
    ]
    assert standard.covers("temperature", "°C", 0, 400)
    entry = AuditEntry.objects.get(action="standard.register", object_id=str(standard.pk))
    assert entry.actor_user_id == center.quality_manager.pk


def test_a_taken_asset_id_is_refused_on_its_field(center: Center) -> None:
    client = signed_in(center.quality_manager)
    page = client.post("/office/standards/new/", new_standard(asset_id=center.standard.asset_id))
    assert page.status_code == 400
    form = page.context["form"]
    assert "already registered" in form.errors["asset_id"][0]
    assert ReferenceStandard.objects.filter(organization=center.org).count() == 1


def test_a_range_upside_down_is_refused_on_its_row(center: Center) -> None:
    client = signed_in(center.quality_manager)
    page = client.post("/office/standards/new/", new_standard(**{"functions-1-min": "500"}))
    assert page.status_code == 400
    row = page.context["functions"].forms[1]
    assert "exceeds" in " ".join(row.non_field_errors())
    assert not ReferenceStandard.objects.filter(asset_id="T-REF-07").exists()


def certificate_post(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": "VMI-2026-0815",
        "issuing_lab": "Vietnam Metrology Institute",
        "accreditation": "VILAS 001",
        "calibrated_on": (TODAY - timedelta(days=5)).isoformat(),
        "issued_on": (TODAY - timedelta(days=2)).isoformat(),
        "due_on": (TODAY + timedelta(days=360)).isoformat(),
        "document": SimpleUploadedFile("cert.pdf", PDF, content_type="application/pdf"),
        "values-TOTAL_FORMS": "5",
        "values-INITIAL_FORMS": "0",
        "values-0-quantity": "dcv",
        "values-0-nominal": "10",
        "values-0-value": "10.000003",
        "values-0-unit": "V",
        "values-0-U": "0.000004",
        "values-0-k": "2",
        "values-2-quantity": "dcv",
        "values-2-nominal": "1",
        "values-2-value": "1.0000004",
        "values-2-unit": "V",
        "values-2-U": "0.000002",
        "values-2-k": "2",
    }
    return {**data, **changes}


def test_a_new_certificate_is_recorded_with_its_document_and_values(center: Center) -> None:
    client = signed_in(center.quality_manager)
    url = f"/office/standards/{center.standard.pk}/certificates/"
    response = client.post(url, certificate_post())
    assert response.status_code == 302, response.context["form"].errors
    recorded = StandardCertificate.objects.get(number="VMI-2026-0815")
    assert recorded.sha256 == hashlib.sha256(PDF).hexdigest()
    assert [v["nominal"] for v in recorded.values] == [10.0, 1.0]
    assert not recorded.internal
    entry = AuditEntry.objects.get(action="standard.certificate", object_id=str(recorded.pk))
    assert (entry.after or {})["sha256"] == recorded.sha256
    page = client.get(f"/office/standards/{center.standard.pk}/").content.decode()
    assert "VMI-2026-0815" in page
    assert recorded.sha256 in page
    document = client.get(f"/office/standards/certificates/{recorded.pk}/document/")
    assert b"".join(document.streaming_content) == PDF  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"values-2-U": "0"}, ("values", 2, "U"), "positive"),
        ({"calibrated_on": (TODAY + timedelta(days=3)).isoformat()}, "calibrated_on", "future"),
        (
            {"document": SimpleUploadedFile("cert.pdf", b"not a pdf", "application/pdf")},
            "document",
            "not a PDF",
        ),
        ({"values-0-nominal": "ten"}, ("values", 0, "nominal"), "number"),
    ],
)
def test_a_wrong_certificate_is_refused_where_it_is_wrong_and_nothing_is_saved(
    center: Center, changes: dict[str, Any], where: Any, message: str
) -> None:
    before = AuditEntry.objects.count()
    page = signed_in(center.quality_manager).post(
        f"/office/standards/{center.standard.pk}/certificates/", certificate_post(**changes)
    )
    assert page.status_code == 400
    if isinstance(where, tuple):
        _, row, key = where
        errors = page.context["values"].forms[row].errors[key]
    else:
        errors = page.context["form"].errors[where]
    assert message in " ".join(errors)
    assert not StandardCertificate.objects.filter(number="VMI-2026-0815").exists()
    assert AuditEntry.objects.count() == before


def test_an_in_house_calibration_names_the_standard_that_made_it(center: Center) -> None:
    working = standard_with_due(center, "W-DMM", None)
    response = signed_in(center.quality_manager).post(
        f"/office/standards/{working.pk}/certificates/",
        certificate_post(
            number="IH-1", issuing_lab=center.org.name, reference_standards=[center.standard.pk]
        ),
    )
    assert response.status_code == 302
    recorded = StandardCertificate.objects.get(number="IH-1")
    assert recorded.internal
    assert list(recorded.reference_standards.all()) == [center.standard]


def test_recording_a_certificate_of_another_organization_s_standard_is_not_found(
    center: Center, other_center: Center
) -> None:
    response = signed_in(center.quality_manager).post(
        f"/office/standards/{other_center.standard.pk}/certificates/", certificate_post()
    )
    assert response.status_code == 404
