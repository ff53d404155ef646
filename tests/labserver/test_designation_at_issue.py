"""A verification certificate is issued only by an organization designated for the work.

Verification is "a control measure performed by a designated verification organization"
(Circular 23/2013); the designation decision names the organization's scope, by field of
measurement or instrument type, and its validity (Decree 105/2016/NĐ-CP as amended by
154/2018/NĐ-CP). So, on a node enforcing the national registers
(``CALTRACE_NATIONAL_REGISTERS``), issuing a verification certificate is refused when the
issuing organization holds no designation in force on the issue date covering the
instrument's type or its field, naming the organization, the type and the date; a
calibration certificate is not concerned, and a node without the setting checks nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from labserver.core.errors import NotInRegister
from labserver.core.models import Counter
from labserver.issuance.models import Certificate
from labserver.issuance.services import issue_certificate
from labserver.registry.models import DesignationFact
from tests.support.issuing import approved_run, approved_verification, issue
from tests.support.lims import PASSWORD, Center, client_for

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DECISION = "QD-2026-17"


def _designation(
    organization: str,
    event: str = "designated",
    *,
    fields: list[str] | None = None,
    instrument_types: list[str] | None = None,
    valid_from: date = TODAY - timedelta(days=100),
    valid_until: date | None = None,
    **more: Any,
) -> None:
    """A designation's fact as replication writes it on a center."""
    day = more.get("withdrawn_on", valid_from)
    DesignationFact.objects.create(
        key=f"TCDL/designation/{DECISION}/{event}/{day}",
        authority="TCDL",
        number=DECISION,
        organization=organization,
        event=event,
        at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
        fields=["mass"] if fields is None else fields,
        instrument_types=instrument_types or [],
        valid_from=valid_from,
        valid_until=valid_until,
        **more,
    )


def test_without_the_setting_a_verification_is_issued_with_no_designation(
    center: Center, tmp_path: Path
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    assert issue_certificate(actor=signatory, run=run, password=PASSWORD).number


@pytest.mark.parametrize(
    "scope",
    [{"fields": ["mass"]}, {"fields": [], "instrument_types": ["nawi"]}],
    ids=["the field", "the instrument type"],
)
def test_a_designation_in_force_covering_the_work_lets_it_be_issued(
    center: Center, tmp_path: Path, settings: Any, scope: dict[str, Any]
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    settings.CALTRACE_NATIONAL_REGISTERS = True
    _designation(center.org.code, valid_until=TODAY + timedelta(days=365), **scope)
    certificate = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    assert certificate.number.startswith(f"{center.org.code}-KD-")


EXPIRED = TODAY - timedelta(days=1)


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        ([], "the national register has no designation of it"),
        (
            [{"valid_from": TODAY - timedelta(days=400), "valid_until": EXPIRED}],
            f"designation {DECISION} expired on {EXPIRED}",
        ),
        (
            [
                {},
                {
                    "event": "withdrawn",
                    "withdrawn_on": TODAY - timedelta(days=2),
                },
            ],
            f"designation {DECISION} was withdrawn from {TODAY - timedelta(days=2)}",
        ),
        (
            [{"fields": ["electrical"], "instrument_types": ["water_meter"]}],
            f"designation {DECISION} covers electrical, water_meter",
        ),
        (
            [{"valid_from": TODAY + timedelta(days=5)}],
            f"designation {DECISION} is in force only from {TODAY + timedelta(days=5)}",
        ),
    ],
    ids=["none", "expired", "withdrawn", "out of scope", "not yet"],
)
def test_a_verification_without_a_designation_in_force_is_refused_naming_it(
    center: Center, tmp_path: Path, settings: Any, facts: list[dict[str, Any]], why: str
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    settings.CALTRACE_NATIONAL_REGISTERS = True
    for fact in facts:
        _designation(center.org.code, **fact)
    counters = list(Counter.objects.values_list("key", "value"))
    with pytest.raises(NotInRegister) as refused:
        issue_certificate(actor=signatory, run=run, password=PASSWORD)
    assert refused.value.field == "organization"
    assert refused.value.detail.startswith(
        f"organization: {center.org.code} holds no designation in force on {TODAY} covering "
        "the instrument type 'nawi' (field 'mass'): "
    ), refused.value.detail
    assert why in refused.value.detail, refused.value.detail
    # nothing issued, no number burnt
    assert not Certificate.objects.filter(run=run).exists()
    assert list(Counter.objects.values_list("key", "value")) == counters


def test_another_organizations_designation_does_not_count(
    center: Center, tmp_path: Path, settings: Any
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    settings.CALTRACE_NATIONAL_REGISTERS = True
    _designation("QT9")
    with pytest.raises(NotInRegister, match="the national register has no designation of it"):
        issue_certificate(actor=signatory, run=run, password=PASSWORD)


def test_the_api_refuses_it_and_a_calibration_is_not_concerned(
    center: Center, tmp_path: Path, settings: Any
) -> None:
    calibration = approved_run(center)
    run, signatory = approved_verification(center, tmp_path)
    settings.CALTRACE_NATIONAL_REGISTERS = True  # no designation at all
    refused = client_for(signatory).post(
        "/api/v1/certificates/", {"run": str(run.pk), "password": PASSWORD}, format="json"
    )
    assert refused.status_code == 422, refused.json()
    body = refused.json()
    assert (body["code"], body["field"]) == ("national_register", "organization")
    assert f"{center.org.code} holds no designation in force on {TODAY}" in body["detail"]
    response = issue(center, calibration)
    assert response.status_code == 201, response.json()
    assert "-HC-" in response.json()["number"]
