"""The national node checks each center's signed PDF (issue 21, point 2): the center's
endpoint that serves it to the national node only, and ``manage.py federation fetch``,
``source`` and ``status`` on the national node.

On one database, the center and the national node are one LIMS, as on a central node: the
center issues through its own code (its facts written with it), its LIMS serves HTTP on
loopback (pytest-django's live server), and the fetch reads the facts and fetches the PDFs
from that server over real HTTP, with the secret from the environment. The three-cluster
proof, over replication, is the last step of ``tests/federation/test_federation.py``.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from labserver.core.models import AuditEntry
from labserver.federation.documents import (
    DOCUMENT_PATH,
    add_source,
    document_status,
    fetch,
    secret_variable,
)
from labserver.federation.models import DocumentCheck
from labserver.issuance.models import Certificate
from labserver.issuance.services import amend_certificate, revoke_certificate
from labserver.registry.models import CertificateFact, SigningKeyFact
from tests.support.browser import SIZES, Page, assert_fits
from tests.support.dbroles import as_owner
from tests.support.issuing import as_another_nodes, issued
from tests.support.lims import PASSWORD, Center, next_job

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the national node runs on PostgreSQL"
    ),
]

SECRET = "national fetch secret 41c9"


@pytest.fixture(autouse=True)
def _demo_pki(demo_pki: Path) -> None:
    """Every test here signs with the DEMO PKI."""


@pytest.fixture
def shared_secret(center: Center, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The secret set on both sides: the center's setting, the national node's variable."""
    settings.CALTRACE_NATIONAL_FETCH_SECRET = SECRET
    monkeypatch.setenv(secret_variable(center.org.code), SECRET)
    return SECRET


def outcomes(number: str) -> list[str]:
    return list(
        DocumentCheck.objects.filter(number=number).order_by("id").values_list("outcome", flat=True)
    )


def audited(action: str, number: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=number).order_by("id"))


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def next_issued(center: Center) -> Certificate:
    next_job(center)
    return issued(center)


def tamper(statement: str, *params: Any) -> None:
    """``statement`` as the owner with the triggers off: the center's records changed behind
    its application's back."""
    with as_owner(triggers=False), connection.cursor() as cursor:
        cursor.execute(statement, params)


# ------------------------------------------------------------------ verified


def test_the_national_node_fetches_each_pdf_and_verifies_it(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    first = issued(center)
    amended = amend_certificate(
        actor=center.signatory, certificate=first, password=PASSWORD, reason="typo"
    )
    revoked = next_issued(center)
    revoke_certificate(
        actor=center.signatory, certificate=revoked, password=PASSWORD, reason="not theirs"
    )
    code = center.org.code
    out = StringIO()
    call_command("federation", "source", "add", code, "--url", live_server.url + "/", stdout=out)
    assert f"source {code} created: {live_server.url};" in out.getvalue()
    assert f"its secret from {secret_variable(code)} (set here)" in out.getvalue()
    assert SECRET not in out.getvalue()

    out = StringIO()
    call_command("federation", "fetch", stdout=out)
    assert out.getvalue().splitlines() == [f"{code}: 3 checked: 3 verified"]
    # superseded and revoked ones too: the registry holds their facts
    for certificate in (first, amended, revoked):
        assert outcomes(certificate.number) == ["verified"]
        [check] = DocumentCheck.objects.filter(number=certificate.number)
        assert (check.issuer, check.fact_key, check.sha256, check.detail) == (
            code,
            f"{code}/{certificate.number}/issued",
            certificate.pdf_sha256,
            "",
        )
        # each fetch audited on the center, on the certificate's organization's chain
        [entry] = audited("registry.document_fetched", certificate.number)
        assert (entry.actor, entry.organization_id) == ("node:national", center.org.pk)
        assert (entry.after or {})["address"] == "127.0.0.1"
    # nothing is fetched twice
    out = StringIO()
    call_command("federation", "fetch", stdout=out)
    assert out.getvalue().splitlines() == [f"{code}: 0 checked: nothing to do"]
    assert DocumentCheck.objects.count() == 3

    centers, flagged = document_status()
    assert [
        (c.issuer, c.registered, c.checked, c.verified, c.flagged, c.unchecked) for c in centers
    ] == [(code, 3, 3, 3, 0, 0)]
    assert flagged == []


def test_the_limit_and_the_issuer_choose_what_is_fetched(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    issued(center)
    next_issued(center)
    add_source(center.org.code, live_server.url)
    report = fetch(issuer=center.org.code, limit=1)
    assert sum(report.outcomes[center.org.code].values()) == 1
    assert DocumentCheck.objects.count() == 1
    with pytest.raises(CommandError, match="issuer ZZ9: no source: add it with"):
        call_command("federation", "fetch", "--issuer", "ZZ9")
    with pytest.raises(CommandError, match="--limit 0: expected at least 1"):
        call_command("federation", "fetch", "--limit", "0")
    fetch()
    assert DocumentCheck.objects.count() == 2


# ------------------------------------------------------------------ flagged


def test_a_center_serving_other_bytes_is_flagged_and_stays_flagged(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    wrong = issued(center)
    next_issued(center)  # served as issued: verified
    # the center's stored PDF of ``wrong`` saved again, other bytes (served as issued: its
    # record's hash follows), while the registry keeps the fact it published
    path = Path(wrong.pdf.path)
    issued_bytes = path.read_bytes()
    resaved = issued_bytes + b"%% saved again\n"
    path.write_bytes(resaved)
    served = hashlib.sha256(resaved).hexdigest()
    tamper("UPDATE issuance_certificate SET pdf_sha256 = %s WHERE id = %s", served, wrong.pk)
    add_source(center.org.code, live_server.url)
    report = fetch()
    assert report.outcomes[center.org.code] == {"hash_mismatch": 1, "verified": 1}
    [check] = DocumentCheck.objects.filter(number=wrong.number)
    assert check.outcome == "hash_mismatch"
    assert check.detail == (
        f"certificate {wrong.number} of {center.org.code} (fact {check.fact_key}): the PDF "
        f"fetched has SHA-256 {served}, the fact registered {wrong.pdf_sha256}"
    )
    assert report.flagged == [
        f"flagged: {center.org.code} {wrong.number}: hash_mismatch: {check.detail}"
    ]
    [entry] = audited("federation.document_flagged", check.fact_key)
    assert (entry.after or {})["outcome"] == "hash_mismatch"
    # the center fixed: the flag stays (a record once found wrong is not taken back silently)
    path.write_bytes(issued_bytes)
    tamper(
        "UPDATE issuance_certificate SET pdf_sha256 = %s WHERE id = %s", wrong.pdf_sha256, wrong.pk
    )
    fetch()
    assert outcomes(wrong.number) == ["hash_mismatch"]

    out = StringIO()
    call_command("federation", "status", "--json", stdout=out)
    said = json.loads(out.getvalue())
    [documents] = said["documents"]
    assert (documents["checked"], documents["verified"], documents["flagged"]) == (2, 1, 1)
    assert [(f["issuer"], f["number"], f["outcome"]) for f in said["flagged"]] == [
        (center.org.code, wrong.number, "hash_mismatch")
    ]
    assert said["flagged"][0]["detail"] == check.detail
    out = StringIO()
    call_command("federation", "status", stdout=out)
    assert f"flagged: {center.org.code} {wrong.number} (hash_mismatch, " in out.getvalue()


def test_a_signature_that_does_not_validate_is_flagged(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    certificate = issued(center)
    path = Path(certificate.pdf.path)
    data = path.read_bytes()
    at = data.index(b"/Producer") + 12  # a byte the signature covers, the PDF still readable
    altered = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    digest = hashlib.sha256(altered).hexdigest()
    path.write_bytes(altered)
    # a center that registered (and stored) a PDF whose signature does not hold
    tamper("UPDATE issuance_certificate SET pdf_sha256 = %s WHERE id = %s", digest, certificate.pk)
    tamper(
        "UPDATE registry_certificatefact SET pdf_sha256 = %s WHERE number = %s",
        digest,
        certificate.number,
    )
    add_source(center.org.code, live_server.url)
    fetch()
    [check] = DocumentCheck.objects.filter(number=certificate.number)
    assert (check.outcome, check.sha256) == ("bad_signature", digest)
    assert f"certificate {certificate.number} of {center.org.code}" in check.detail
    assert "the signature is not intact" in check.detail or "not a signed PDF" in check.detail


def test_a_pdf_signed_with_a_key_the_issuer_never_registered_is_flagged(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    certificate = issued(center)
    # the registry holds no key of the issuer: its signer is nobody the issuer registered
    tamper("DELETE FROM registry_signingkeyfact WHERE issuer = %s", center.org.code)
    assert not SigningKeyFact.objects.filter(issuer=center.org.code).exists()
    add_source(center.org.code, live_server.url)
    fetch()
    [check] = DocumentCheck.objects.filter(number=certificate.number)
    assert check.outcome == "unregistered_key"
    fact = CertificateFact.objects.get(key=check.fact_key)
    assert check.detail.endswith(
        f"the key {fact.signer_fingerprint} is not a signing key {center.org.code} registered"
    )


# ------------------------------------------------------------------ tried again


def test_an_unreachable_center_is_tried_again_and_then_verified(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    certificate, later = issued(center), next_issued(center)
    add_source(center.org.code, f"http://127.0.0.1:{closed_port()}")
    report = fetch()
    assert outcomes(certificate.number) == ["unreachable"]
    # one timeout per run, not one per certificate: the rest wait for the next fetch
    assert outcomes(later.number) == []
    assert report.postponed[0].startswith(f"{center.org.code}: the center does not answer (")
    [centers], _ = document_status()
    assert (centers.checked, centers.unchecked, centers.retrying) == (0, 2, 1)
    # the source corrected (audited), the next scheduled fetch verifies it: a later row
    out = StringIO()
    call_command(
        "federation", "source", "add", center.org.code, "--url", live_server.url, stdout=out
    )
    assert f"source {center.org.code} updated" in out.getvalue()
    [entry] = AuditEntry.objects.filter(action="federation.source_updated")
    assert (entry.after or {})["url"] == live_server.url
    fetch()
    assert outcomes(certificate.number) == ["unreachable", "verified"]
    assert outcomes(later.number) == ["verified"]
    [centers], _ = document_status()
    assert (centers.checked, centers.verified, centers.unchecked, centers.retrying) == (2, 2, 0, 0)


def test_a_number_the_center_did_not_issue_is_not_found_there(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    certificate = issued(center)
    ghost = f"{center.org.code}-HC-2099-000001"
    fact = CertificateFact.objects.get(number=certificate.number, event="issued")
    fact.key, fact.number = f"{center.org.code}/{ghost}/issued", ghost
    CertificateFact.objects.bulk_create([fact])  # a fact another node published under its code
    add_source(center.org.code, live_server.url)
    fetch()
    [check] = DocumentCheck.objects.filter(number=ghost)
    assert check.outcome == "not_found"
    assert f"404: number: no certificate {ghost} was issued by this node" in check.detail
    [entry] = audited("registry.document_not_found", ghost)
    assert entry.actor == "node:national"
    fetch()  # tried again, a later row
    assert outcomes(ghost) == ["not_found", "not_found"]
    assert outcomes(certificate.number) == ["verified"]


# ------------------------------------------------------------------ the center's endpoint


def test_a_wrong_secret_is_refused_and_audited(
    center: Center, live_server: Any, shared_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = issued(center)
    monkeypatch.setenv(secret_variable(center.org.code), "a guess")
    add_source(center.org.code, live_server.url)
    report = fetch()
    assert report.outcomes[center.org.code] == {"unreachable": 1}
    [check] = DocumentCheck.objects.filter(number=certificate.number)
    assert check.detail.endswith(
        ": 403: Authorization: not the national node's secret for this node"
    )
    [entry] = audited("registry.document_refused", certificate.number)
    assert (entry.actor, entry.organization_id) == ("anonymous", center.org.pk)
    assert entry.after == {
        "address": "127.0.0.1",
        "reason": "Authorization: not the national node's secret for this node",
    }
    assert not audited("registry.document_fetched", certificate.number)
    # no secret set on the national node: nothing fetched, and the command says which
    monkeypatch.delenv(secret_variable(center.org.code))
    with pytest.raises(CommandError, match=f"{secret_variable(center.org.code)} is not set"):
        call_command("federation", "fetch", stdout=StringIO())


def test_only_the_national_node_gets_a_pdf(
    center: Center, shared_secret: str, settings: Any
) -> None:
    certificate = issued(center)
    url = f"/api/v1/registry/documents/{certificate.number}.pdf"
    refused = Client().get(url)
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"
    assert refused["WWW-Authenticate"].startswith("National ")
    # a person signed in is no national node
    assert center.client("quality_manager").get(url).status_code == 401
    wrong = Client().get(url, HTTP_AUTHORIZATION="National not-it")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "permission_denied")
    served = Client().get(url, HTTP_AUTHORIZATION=f"National {SECRET}")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
    assert hashlib.sha256(served.content).hexdigest() == certificate.pdf_sha256
    missing = Client().get(
        f"/api/v1/registry/documents/{center.org.code}-HC-2099-000001.pdf",
        HTTP_AUTHORIZATION=f"National {SECRET}",
    )
    assert (missing.status_code, missing.json()["field"]) == (404, "number")
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="registry.")] == [
        "registry.document_refused",
        "registry.document_refused",
        "registry.document_refused",
        "registry.document_fetched",
        "registry.document_not_found",
    ]
    # a center with no secret set serves nobody, whatever is sent
    settings.CALTRACE_NATIONAL_FETCH_SECRET = ""
    none = Client().get(url, HTTP_AUTHORIZATION="National ")
    assert none.status_code in (401, 403)
    empty = Client().get(url, HTTP_AUTHORIZATION=f"National {SECRET}")
    assert empty.status_code == 403
    assert "CALTRACE_NATIONAL_FETCH_SECRET is not set" in empty.json()["detail"]


def test_the_fetches_are_throttled(center: Center, shared_secret: str, settings: Any) -> None:
    certificate = issued(center)
    settings.CALTRACE_THROTTLE_RATES = {
        **settings.CALTRACE_THROTTLE_RATES,
        "registry_documents": "2/minute",
    }
    url = f"/api/v1/registry/documents/{certificate.number}.pdf"
    answers = [
        Client().get(url, HTTP_AUTHORIZATION=f"National {SECRET}").status_code for _ in range(3)
    ]
    assert answers == [200, 200, 429]


def test_a_source_is_a_center_url_without_credentials(center: Center) -> None:
    with pytest.raises(CommandError, match="--url 'ftp://x': expected the center's LIMS"):
        call_command("federation", "source", "add", "QT1", "--url", "ftp://x")
    with pytest.raises(CommandError, match="no user, password, query or fragment"):
        call_command("federation", "source", "add", "QT1", "--url", "https://a:b@lims.qt1.vn")
    with pytest.raises(CommandError, match="not an organization code"):
        call_command("federation", "source", "add", "QT1' --", "--url", "https://lims.qt1.vn")
    assert not AuditEntry.objects.filter(action__startswith="federation.source").exists()


def test_a_check_is_never_changed_nor_deleted(
    center: Center, live_server: Any, shared_secret: str
) -> None:
    from django.db import DatabaseError

    issued(center)
    add_source(center.org.code, live_server.url)
    fetch()
    for statement in (
        "UPDATE federation_documentcheck SET outcome = 'verified'",
        "DELETE FROM federation_documentcheck",
    ):
        with pytest.raises(DatabaseError), as_owner(), connection.cursor() as cursor:
            cursor.execute(statement)


# ------------------------------------------------------------------ the public check


@contextmanager
def center_serving(number: str, data: bytes) -> Iterator[str]:
    """A center's node reduced to its one answer: ``data`` as the signed PDF of ``number``,
    on a loopback HTTP server of its own (the certificate exists only as registry facts
    here, as on the national node); its base URL."""
    path = DOCUMENT_PATH.format(number=number)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == path and self.headers["Authorization"] == f"National {SECRET}"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/pdf")
            self.end_headers()
            self.wfile.write(data if found else b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on a loopback HTTP server of its own, in a thread: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_redirect_is_not_followed_with_the_secret(center: Center, shared_secret: str) -> None:
    certificate, _, _ = as_another_nodes(center)
    asked: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(f"{self.path} {self.headers['Authorization']}")
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Redirecting) as url:
        add_source(center.org.code, url)
        fetch()
    [check] = DocumentCheck.objects.filter(number=certificate.number)
    assert (check.outcome, check.detail.split(": ")[1]) == ("unreachable", "302")
    assert asked == [f"{DOCUMENT_PATH.format(number=certificate.number)} National {SECRET}"]


def verify_page(number: str, language: str) -> str:
    page = Client().get(f"/verify/{number}", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    return page.content.decode()


def test_the_public_check_says_the_national_node_verified_the_pdf(
    center: Center, shared_secret: str
) -> None:
    certificate, pdf, _ = as_another_nodes(center)
    number = certificate.number
    assert Client().get(f"/api/v1/public/certificates/{number}").json()["pdf_check"] == {
        "state": "unchecked",
        "checked_at": None,
    }
    assert "has not yet verified the signed PDF" in verify_page(number, "en")
    assert "chưa xác minh tệp PDF đã ký" in verify_page(number, "vi")
    with center_serving(number, pdf) as url:
        add_source(center.org.code, url)
        fetch()
    assert outcomes(number) == ["verified"]
    answer = Client().get(f"/api/v1/public/certificates/{number}").json()
    assert answer["pdf_check"]["state"] == "verified"
    [check] = DocumentCheck.objects.filter(number=number)
    assert answer["pdf_check"]["checked_at"] == check.checked_at.isoformat()
    day = timezone.localdate(check.checked_at, center.org.zone).isoformat()
    assert f"Signed PDF verified by the national node on {day}" in verify_page(number, "en")
    assert f"được nút quốc gia xác minh ngày {day}" in verify_page(number, "vi")


def test_the_public_check_says_a_flagged_pdf_could_not_be_verified(
    center: Center, shared_secret: str
) -> None:
    certificate, pdf, _ = as_another_nodes(center)
    number = certificate.number
    with center_serving(number, pdf + b"%% appended\n") as url:
        add_source(center.org.code, url)
        fetch()
    assert outcomes(number) == ["hash_mismatch"]
    answer = Client().get(f"/api/v1/public/certificates/{number}").json()
    assert answer["pdf_check"]["state"] == "flagged"
    assert answer["status"] == "valid"  # the registry's status is the issuer's; the flag is ours
    page = verify_page(number, "en")
    assert 'class="pdf-check flagged"' in page
    assert "The national node could not verify the signed PDF of this certificate" in page
    assert "Nút quốc gia không xác minh được tệp PDF đã ký" in verify_page(number, "vi")


@pytest.mark.django_db(transaction=True)
def test_the_flag_on_the_page_fits_a_phone(center: Center, page: Page) -> None:
    from selenium.webdriver.support.select import Select

    fact = CertificateFact.objects.get(number=issued(center).number, event="issued")
    number = f"{center.org.code}-HC-2026-999998"  # registered only: answered from the registry
    fact.key, fact.number = f"{center.org.code}/{number}/issued", number
    CertificateFact.objects.bulk_create([fact])
    DocumentCheck.objects.create(
        issuer=fact.issuer,
        number=number,
        fact_key=fact.key,
        checked_at=timezone.now(),
        outcome="hash_mismatch",
        detail="written as the fetch writes it",
    )
    for size, (width, height) in SIZES.items():
        page.driver.set_window_size(width, height)
        page.open(f"/verify/{number}")
        assert page.text("#pdf-check").startswith(
            "The national node could not verify the signed PDF of this certificate"
        )
        assert_fits(page, f"the flagged certificate's page at {size}")
        page.screenshot(f"flagged-{size}")
    Select(page.find("#language")).select_by_value("vi")  # the longer words, at 320 px
    page.click_and_wait("form.lang button[type=submit]")
    assert page.text("#pdf-check").startswith("Nút quốc gia không xác minh được")
    assert_fits(page, "the flagged certificate's page in Vietnamese at 320 px")
    page.screenshot("flagged-vi-phone-320")
