"""The public lookup by number, ``GET /api/v1/public/certificates/<number>``: anyone, the
verification page's facts as JSON, nothing private, a plain 404 for an unknown number.

Checked on certificates issued for real (rendered, signed with the DEMO PKI), valid,
superseded and revoked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from labserver.issuance import public
from labserver.issuance.models import Certificate
from labserver.issuance.services import amend_certificate, issue_certificate, revoke_certificate
from tests.support.issuing import approved_run
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    client_for,
    dmm_built_once,
    procedure_built_once,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

KEYS = {
    "number",
    "kind",
    "status",
    "issuer",
    "instrument",
    "performed_on",
    "issued_on",
    "mark_number",
    "valid_until",
    "supersedes",
    "superseded_by",
    "superseded_on",
    "revoked_on",
    "revoked_reason",
    "pdf_sha256",
}


def lookup(number: str, client: APIClient | None = None) -> Any:
    return (client or APIClient()).get(f"/api/v1/public/certificates/{number}")


@pytest.fixture
def issued(center: Center) -> Certificate:
    return issue_certificate(actor=center.signatory, run=approved_run(center), password=PASSWORD)


def test_anyone_reads_what_the_certificate_prints_in_one_query(
    issued: Certificate, center: Center
) -> None:
    lookup("QT1-HC-2026-999999")  # on PostgreSQL, the first one prepares the statement
    with CaptureQueriesContext(connection) as queries:
        response = lookup(issued.number)
    assert response.status_code == 200
    assert len(queries) == 1
    body = response.json()
    assert set(body) == KEYS
    instrument = center.instrument
    run = issued.run
    assert body == {
        "number": issued.number,
        "kind": issued.kind,
        "status": "valid",
        "issuer": {"name": center.org.name, "accreditation": center.org.accreditation or None},
        "instrument": {
            "type": instrument.instrument_type.name,
            "type_vi": instrument.instrument_type.name_vi or None,
            "manufacturer": instrument.manufacturer,
            "model": instrument.model,
            "serial": instrument.serial,
        },
        "performed_on": timezone.localdate(run.finished_at).isoformat(),
        "issued_on": timezone.localdate(issued.issued_at).isoformat(),
        "mark_number": issued.mark_number or None,
        "valid_until": issued.valid_until.isoformat() if issued.valid_until else None,
        "supersedes": None,
        "superseded_by": None,
        "superseded_on": None,
        "revoked_on": None,
        "revoked_reason": None,
        "pdf_sha256": issued.pdf_sha256,
    }


def test_a_connection_without_the_statement_prepares_it(issued: Certificate) -> None:
    first = lookup(issued.number).json()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")  # what a new session starts with
        public._prepared.clear()
    assert lookup(issued.number).json() == first
    with CaptureQueriesContext(connection) as queries:
        assert lookup(issued.number).json() == first
    assert len(queries) == 1


def test_nothing_private(issued: Certificate, center: Center) -> None:
    text = json.dumps(lookup(issued.number).json())
    for private in (
        center.signatory.signature_name(),
        center.signatory.username,
        center.metrologist.signature_name(),
        center.metrologist.username,
        center.instrument.owner.name,
        center.instrument.owner.code,
        str(issued.run_id),
        issued.dcc_sha256,
        issued.signer_fingerprint,
        issued.pdf.name,
    ):
        assert private not in text, private
    assert "id" not in lookup(issued.number).json()


def test_a_signed_in_caller_gets_the_same_answer(issued: Certificate, center: Center) -> None:
    anonymous = lookup(issued.number).json()
    assert lookup(issued.number, client_for(center.quality_manager)).json() == anonymous
    # A wrong token is not even looked at: the lookup takes no credentials.
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token ctu_not-a-token")
    assert lookup(issued.number, stranger).json() == anonymous


def test_an_unknown_number_is_a_plain_404(issued: Certificate) -> None:
    near = issued.number[:-1] + ("0" if issued.number[-1] != "0" else "1")
    for number in (near, "QT1-HC-2026-999999", "x", "%25"):
        response = lookup(number)
        assert response.status_code == 404
        body = response.json()
        assert body["detail"] == "certificate: not found"
        assert number not in json.dumps(body)
        assert issued.number not in json.dumps(body)


def test_superseded_names_the_replacement(issued: Certificate, center: Center) -> None:
    replacement = amend_certificate(
        actor=center.signatory, certificate=issued, password=PASSWORD, reason="typo"
    )
    body = lookup(issued.number).json()
    assert body["status"] == "superseded"
    assert body["superseded_by"] == replacement.number
    assert body["superseded_on"] == timezone.localdate().isoformat()
    assert body["revoked_on"] is None
    amended = lookup(replacement.number).json()
    assert (amended["status"], amended["supersedes"]) == ("valid", issued.number)


def test_revoked_gives_the_date_and_reason(issued: Certificate, center: Center) -> None:
    revoke_certificate(
        actor=center.quality_manager,
        certificate=issued,
        password=PASSWORD,
        reason="the calibrator was out of tolerance",
    )
    body = lookup(issued.number).json()
    assert body["status"] == "revoked"
    assert body["revoked_on"] == timezone.localdate().isoformat()
    assert body["revoked_reason"] == "the calibrator was out of tolerance"
    assert body["superseded_by"] is None


def test_only_get(issued: Certificate) -> None:
    response = APIClient().post(f"/api/v1/public/certificates/{issued.number}", {})
    assert response.status_code == 405
