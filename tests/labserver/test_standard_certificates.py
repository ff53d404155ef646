"""A reference standard's calibration certificate is checked where it enters: its values,
its dates and its number, so that a malformed one cannot break a chain page later."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from labserver.issuance.services import issue_certificate
from labserver.standards.models import StandardCertificate
from tests.support.issuing import approved_run
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    TODAY,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def entry(**changes: Any) -> dict[str, Any]:
    """A well-formed calibrated value, with ``changes`` (a value of ``...`` drops the key)."""
    base: dict[str, Any] = {
        "quantity": "dcv",
        "nominal": 10,
        "value": 10.000001,
        "unit": "V",
        "U": 3e-6,
        "k": 2,
        "coverage_probability": 0.95,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": "NMI-2026-0077",
        "issuing_lab": "National Metrology Institute",
        "calibrated_on": str(TODAY - timedelta(days=3)),
        "issued_on": str(TODAY - timedelta(days=1)),
        "due_on": str(TODAY + timedelta(days=360)),
        "values": [entry()],
    }
    data.update(changes)
    return data


def post(center: Center, data: dict[str, Any], fmt: str = "json") -> Any:
    if fmt == "multipart":
        data = {**data, "values": json.dumps(data["values"])}
    return center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/", data, format=fmt
    )


def refused(response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 400, response.json()
    answer: dict[str, Any] = response.json()
    assert answer["field"] == field, answer
    assert answer["detail"].startswith(f"{field}: "), answer
    assert answer["code"]
    return answer


def test_it_records_a_well_formed_certificate(center: Center) -> None:
    response = post(center, body(values=[entry(), entry(nominal=1, value=1.0000002, k=...)]))
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("values", "field", "detail"),
    [
        ([entry(), True, entry(nominal=1)], "values[1]", "values[1]: not an object"),
        (["10 V"], "values[0]", "values[0]: not an object"),
        ([[1, 2]], "values[0]", "values[0]: not an object"),
        ([None], "values[0]", "values[0]: not an object"),
    ],
)
def test_it_refuses_a_certificate_whose_values_are_not_objects(
    center: Center, values: list[Any], field: str, detail: str
) -> None:
    assert refused(post(center, body(values=values)), field)["detail"] == detail


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (entry(quantity=...), "values[0].quantity"),
        (entry(quantity=""), "values[0].quantity"),
        (entry(quantity=7), "values[0].quantity"),
        (entry(nominal=...), "values[0].nominal"),
        (entry(nominal="10"), "values[0].nominal"),
        (entry(nominal=True), "values[0].nominal"),
        (entry(value=...), "values[0].value"),
        (entry(value=None), "values[0].value"),
        (entry(value=[10]), "values[0].value"),
        (entry(unit=...), "values[0].unit"),
        (entry(unit="  "), "values[0].unit"),
        (entry(U=...), "values[0].U"),
        (entry(U=0), "values[0].U"),
        (entry(U=-3e-6), "values[0].U"),
        (entry(U=False), "values[0].U"),
        (entry(k=0), "values[0].k"),
        (entry(k=True), "values[0].k"),
        (entry(coverage_probability=95), "values[0].coverage_probability"),
        (entry(coverage_probability=1), "values[0].coverage_probability"),
        (entry(coverage_probability=0), "values[0].coverage_probability"),
        (entry(uncertainty=3e-6), "values[0].uncertainty"),
    ],
)
def test_it_refuses_a_calibrated_value_with_a_missing_or_malformed_key(
    center: Center, bad: dict[str, Any], field: str
) -> None:
    refused(post(center, body(values=[bad])), field)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ('[{"quantity": "dcv", "nominal": -1e999, "value": 10, "unit": "V", "U": 1}]', "nominal"),
        ('[{"quantity": "dcv", "nominal": 10, "value": 1e999, "unit": "V", "U": 1}]', "value"),
        ('[{"quantity": "dcv", "nominal": 10, "value": 10, "unit": "V", "U": 1e999}]', "U"),
    ],
)
def test_it_refuses_a_value_that_is_not_a_finite_number(
    center: Center, values: str, field: str
) -> None:
    # A multipart form carries values as a JSON string, where 1e999 reads as infinity.
    response = center.client("quality_manager").post(
        f"/api/v1/standards/{center.standard.pk}/certificates/",
        {**body(), "values": values},
        format="multipart",
    )
    refused(response, f"values[0].{field}")


def test_it_refuses_the_same_quantity_twice_at_a_nominal(center: Center) -> None:
    values = [entry(), entry(nominal=1), entry(value=10.2)]
    answer = refused(post(center, body(values=values), "multipart"), "values[2]")
    assert "values[0]" in answer["detail"]


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"calibrated_on": "0633-05-01"}, "calibrated_on"),
        ({"calibrated_on": "1899-12-31", "issued_on": "1900-01-02"}, "calibrated_on"),
        ({"calibrated_on": str(TODAY + timedelta(days=1))}, "calibrated_on"),
        ({"issued_on": str(TODAY + timedelta(days=1))}, "issued_on"),
        ({"issued_on": str(TODAY - timedelta(days=4))}, "issued_on"),
        ({"due_on": str(TODAY - timedelta(days=2))}, "due_on"),
        ({"due_on": str(TODAY - timedelta(days=1))}, "due_on"),
        ({"due_on": str(TODAY + timedelta(days=3653 + 365))}, "due_on"),
    ],
)
def test_it_refuses_implausible_or_disordered_dates(
    center: Center, dates: dict[str, str], field: str
) -> None:
    refused(post(center, body(**dates)), field)


def test_a_due_date_ten_years_after_calibration_is_accepted(center: Center) -> None:
    calibrated = date(2024, 2, 29)
    response = post(
        center,
        body(
            calibrated_on=str(calibrated),
            issued_on=str(calibrated),
            due_on="2034-02-28",
        ),
    )
    assert response.status_code == 201, response.json()
    assert post(center, body(number="X-2", due_on="2034-03-01")).status_code == 201
    refused(
        post(center, body(number="X-3", calibrated_on="2024-02-29", due_on="2034-03-01")),
        "due_on",
    )


def test_it_refuses_one_of_our_own_certificates_recorded_as_external(center: Center) -> None:
    ours = issue_certificate(actor=center.signatory, run=approved_run(center), password=PASSWORD)
    refused(post(center, body(number=ours.number)), "number")
    refused(post(center, body(number=f" {ours.number.lower()} ")), "number")
    internal = post(center, body(number=ours.number, internal=True))
    assert internal.status_code == 201, internal.json()


def test_a_caller_of_the_service_gets_the_same_refusals(center: Center) -> None:
    from labserver.core.errors import DomainError
    from labserver.standards.services import record_certificate

    with pytest.raises(DomainError) as refusal:
        record_certificate(
            actor=center.quality_manager,
            standard=center.standard,
            number="CLI-1",
            issuing_lab="Lab",
            calibrated_on=TODAY,
            issued_on=TODAY,
            due_on=TODAY + timedelta(days=10),
            values=[entry(), True],  # type: ignore[list-item]
        )
    assert refusal.value.field == "values[1]"
    with pytest.raises(DomainError) as refusal:
        record_certificate(
            actor=center.quality_manager,
            standard=center.standard,
            number="CLI-2",
            issuing_lab="Lab",
            calibrated_on=TODAY,
            issued_on=TODAY,
            due_on=TODAY + timedelta(days=10),
            values=[entry(nominal=float("nan"))],
        )
    assert refusal.value.field == "values[0].nominal"


@pytest.mark.parametrize(
    "stored",
    [
        [entry(), True, {"quantity": "dcv"}, "10 V", entry(nominal=1, U="big")],
        {"quantity": "dcv"},
        7,
    ],
)
def test_the_chain_reads_values_stored_before_the_checks_as_absent(
    center: Center, stored: Any
) -> None:
    # Rows written before the checks existed may hold anything.
    StandardCertificate.objects.filter(standard=center.standard).update(values=stored)
    response = center.client("metrologist").get(f"/api/v1/standards/{center.standard.pk}/chain/")
    assert response.status_code == 200, response.content
    [edge] = [e for e in response.json()["edges"] if e["kind"] == "used"]
    expected = [entry()] if isinstance(stored, list) else []
    assert edge["uncertainty"] == expected
