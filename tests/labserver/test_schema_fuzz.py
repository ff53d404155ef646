"""The API answers as its OpenAPI schema says, for generated requests (schemathesis).

Every operation of the live schema (``/api/schema/``, loaded in process through the WSGI
application: no network) is called with requests generated from the schema, valid ones and
invalid ones, as three callers: a quality manager of a center with data in it (an instrument,
a standard, a job, an approved run, an issued certificate, a nonconformity), that center's
bench agent, and nobody. Detail operations are also called with the id of a real record, so
they answer more than 404. Each answer must pass five checks:

- ``not_a_server_error``: no 5xx; bad input is a 4xx naming the field;
- ``status_code_conformance``: the status code is documented for the operation;
- ``content_type_conformance``: the body's media type is the documented one;
- ``response_schema_conformance``: the body matches the documented schema;
- ``response_headers_conformance``: documented required headers are present and valid.

Generation is seeded and bounded so the suite is reproducible and fast: a fixed hypothesis
seed (``CALTRACE_FUZZ_SEED``), ``CALTRACE_FUZZ_EXAMPLES`` examples per operation and caller
(default 5; raise it to fuzz longer locally), no shrinking, no example database. Every
example runs inside a savepoint that is rolled back, so one example's writes never feed the
next, and pytest-django rolls the test's own transaction back: nothing is left behind, which
keeps the module safe under pytest-xdist.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from labserver.accounts import services as accounts
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    procedure_built_once,
)

# the DEMO PKI the issued certificate is signed with, as the issuing tests set it up

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

EXAMPLES = int(os.environ.get("CALTRACE_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("CALTRACE_FUZZ_SEED", "20261206"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@contextmanager
def _connection_kept() -> Iterator[None]:
    """Django's WSGI handler closes the database connection around each request
    (``close_old_connections``), which inside the test's transaction would end it. Django's
    test client disconnects the same receivers for the same reason, and connects them again
    after each of its requests: nothing may use it inside this block."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _known_ids(center: Center) -> dict[str, Any]:
    """A real record for each collection of the API (its first path segment), so detail
    operations reach one: an approved run, its issued certificate, a nonconformity..."""
    from labserver.core.models import AuditEntry
    from labserver.issuance.models import SigningKeyRecord
    from labserver.issuance.services import issue_certificate
    from labserver.nonconformities import services as nonconformities
    from tests.support.issuing import approved_run

    run = approved_run(center)
    certificate = issue_certificate(actor=center.signatory, run=run, password=PASSWORD)
    nonconformity = nonconformities.open_nonconformity(
        actor=center.quality_manager,
        standard=center.standard,
        out_of_tolerance_since=run.finished_at.date(),
        found_on=certificate.issued_at.date(),
        description="found by the schema fuzz test",
    )
    key = SigningKeyRecord.objects.get(organization=center.org)
    entry = AuditEntry.objects.filter(organization=center.org).first()
    assert entry is not None
    return {
        "agents": center.agent.pk,
        "audit": entry.pk,
        "certificates": certificate.pk,
        "instrument-types": center.instrument.instrument_type_id,
        "instruments": center.instrument.pk,
        "jobs": center.job.pk,
        "nonconformities": nonconformity.pk,
        "organizations": center.org.pk,
        "procedures": center.procedure.pk,
        "runs": str(run.pk),
        "signing-keys": key.pk,
        "standards": center.standard.pk,
    }


def _fuzz(operation: Any, headers: dict[str, str], known: dict[str, Any]) -> Callable[[], None]:
    """A hypothesis test of one operation: generated requests, valid and invalid, and with
    a real record's id where the path takes one."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    pk = known.get(operation.path.removeprefix("/api/v1/").split("/")[0])
    if "{id}" in operation.path and pk is not None:
        strategies += [
            operation.as_strategy(generation_mode=mode, path_parameters={"id": pk})
            for mode in modes
        ]

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        # The caller is the test's, never a generated Authorization header.
        generated = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**generated, **headers}
        example = transaction.atomic()
        # The example's savepoint stands in for the test's own transaction: issuing opens a
        # durable block (it must be the outermost, so that its files are moved only once the
        # record is committed), which Django allows inside a test case's transactions only.
        example._from_testcase = True  # type: ignore[attr-defined]
        with example:
            try:
                case.call_and_validate(checks=CHECKS)
            finally:
                transaction.set_rollback(True)

    return run


@pytest.mark.parametrize("caller", ["quality_manager", "agent", "anonymous"])
def test_every_operation_answers_as_the_schema_says(center: Center, caller: str) -> None:
    from labserver.wsgi import application

    known = _known_ids(center)
    headers: dict[str, str] = {}
    if caller == "quality_manager":
        token = accounts.issue_api_token(actor=None, user=center.quality_manager)
        headers["Authorization"] = f"Token {token}"
    elif caller == "agent":
        headers["Authorization"] = f"Token {center.agent_token}"
    failures: dict[str, str] = {}
    covered: set[str] = set()
    with _connection_kept():
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                failures[str(result.err())] = "the schema of this operation does not load"
                continue
            operation = result.ok()
            covered.add(operation.label)
            try:
                _fuzz(operation, headers, known)()
            except (Exception, FailureGroup) as exc:  # every failure is collected, then reported
                failures[operation.label] = str(exc)[:3000]
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert covered == documented
    assert len(covered) >= 61
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())


def test_the_fuzzing_fails_on_an_answer_the_schema_does_not_document(center: Center) -> None:
    """The checks bite: with the 404 taken out of a detail operation's documented answers,
    the generated ids that name no certificate fail ``status_code_conformance``."""
    from labserver.wsgi import application

    token = accounts.issue_api_token(actor=None, user=center.quality_manager)
    with _connection_kept():
        loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
        raw = copy.deepcopy(loaded.raw_schema)
        del raw["paths"]["/api/v1/certificates/{id}/"]["get"]["responses"]["404"]
        schema = schemathesis.openapi.from_dict(raw)
        schema.app = application
        operation = schema["/api/v1/certificates/{id}/"]["GET"]
        with pytest.raises(FailureGroup, match="Undocumented status code"):
            _fuzz(operation, {"Authorization": f"Token {token}"}, known={})()


def _schema() -> dict[str, Any]:
    from rest_framework.test import APIClient

    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_every_error_is_documented_with_the_error_body() -> None:
    """Each operation documents 429 (with ``Retry-After``) and 503; each authenticated one
    401; each with a body 400, 413 and 415; every 4xx and 5xx carries the ``Error`` body
    that ``labserver.core.api`` writes."""
    schema = _schema()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail", "field"}
    assert error["properties"]["field"]["nullable"] is True
    assert "errors" in error["properties"]
    # The operations anyone may call, and only they: a new one is added here on purpose.
    anonymous = {
        ("get", "/api/v1/public/certificates/{number}"),
        ("post", "/api/v1/verify"),
        ("get", "/api/v1/audit/anchors/"),
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert {"429", "503"} <= set(responses), where
            assert responses["429"]["headers"]["Retry-After"]["required"] is True, where
            assert ("401" in responses) is ((method, path) not in anonymous), where
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), where
            for code, response in responses.items():
                if code >= "400":
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/Error"}, (where, code)


def test_the_run_submission_documents_its_signature_header(center: Center) -> None:
    """``X-Caltrace-Signature`` is a required header of ``POST /api/v1/runs/`` whose
    documented pattern an agent's real signature (``agent.keys``' format) matches."""
    from tests.support.lims import sign

    submission = _schema()["paths"]["/api/v1/runs/"]["post"]
    (header,) = [p for p in submission["parameters"] if p["name"] == "X-Caltrace-Signature"]
    assert header["in"] == "header"
    assert header["required"] is True
    assert re.fullmatch(header["schema"]["pattern"], sign(center.agent_key, b'{"run_id": 1}'))
    assert not re.fullmatch(header["schema"]["pattern"], "not-a-signature")
    assert {"403", "409", "422"} <= set(submission["responses"])


def test_nullable_values_are_documented_as_nullable() -> None:
    """A read-only field over a nullable relation (a certificate's ``supersedes``, an
    organization's ``parent``, a nonconformity's ``closed_by``) answers null: the schema
    says so, where drf-spectacular alone said "string"."""
    schemas = _schema()["components"]["schemas"]
    assert schemas["IssuedCertificateOut"]["properties"]["supersedes"]["nullable"] is True
    assert schemas["OrganizationOut"]["properties"]["parent"]["nullable"] is True
    assert schemas["NonconformityOut"]["properties"]["closed_by"]["nullable"] is True
    # opened by the node on a recall notice of the national registry: nobody opened it
    assert schemas["NonconformityOut"]["properties"]["opened_by"]["nullable"] is True
    assert "nullable" not in schemas["OrganizationOut"]["properties"]["code"]


def test_an_error_of_a_pdf_download_is_the_json_error_body(center: Center) -> None:
    """The labels sheet renders PDF; its refusals are JSON naming the field, not the error
    dictionary's keys sent as ``application/pdf`` (``codedetailfield``, found by fuzzing)."""
    response = center.client("quality_manager").get("/api/v1/certificates/labels/?ids=x")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["field"] == "ids"


def test_an_api_url_no_route_matches_answers_the_json_error_body(client: Any) -> None:
    """``/api/v1/standards/x/chain/`` (the route takes a number) is the API's JSON 404,
    not the site's HTML page; outside ``/api/`` the page stays."""
    response = client.get("/api/v1/standards/x/chain/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
