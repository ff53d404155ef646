"""The customer's pages and the public open data: what each shows, who may open it, and
that nothing personal is published.

Certificates the customer sees are issued for real (rendered, signed with the DEMO PKI).
The open-data counts are checked on certificate records written straight into the
database (many months, regions and types, without signing each one), and once on a
verification issued and revoked through the services.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labserver.accounts.models import Organization, User
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument, InstrumentType
from labserver.issuance.documents import add_months
from labserver.issuance.models import Certificate, CertificateEvent, SigningKeyRecord
from labserver.issuance.services import amend_certificate, issue_certificate, revoke_certificate
from labserver.jobs.models import Job
from labserver.measurements.models import Run
from labserver.portal import opendata, views
from labserver.standards import services as standards
from labserver.standards.models import ReferenceStandard, StandardCertificate
from tests.support.issuing import approved_run
from tests.support.lims import PASSWORD, TODAY, Center, person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


def signed_in(user: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def customer_of(center: Center) -> User:
    return person(center.instrument.owner, f"{center.org.code.lower()}-customer", "customer")


def issued(center: Center) -> Certificate:
    return issue_certificate(actor=center.signatory, run=approved_run(center), password=PASSWORD)


def body(response: Any) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return str(response.content.decode())


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(body(response))))


def json_rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200
    assert response.streaming
    data = json.loads(body(response))
    assert data["fields"] == list(data["rows"][0]) if data["rows"] else True
    return list(data["rows"])


# ------------------------------------------------------------------ certificate records


class Records:
    """Certificate records of verifications written straight into the database."""

    def __init__(self, center: Center) -> None:
        self.center = center
        self.n = 0
        self.key = SigningKeyRecord.objects.create(
            organization=center.org,
            fingerprint=uuid.uuid4().hex,
            subject="CN=test",
            trust_roots_pem="-",
            source=SigningKeyRecord.Source.DEMO,
            first_used_at=timezone.now(),
        )

    def certificate(
        self,
        instrument_type: InstrumentType,
        issued_at: datetime,
        conformity: str,
        *,
        kind: str = "verification",
        revoked: bool = False,
        instrument: Instrument | None = None,
        valid_until: date | None = None,
        supersedes: Certificate | None = None,
    ) -> Certificate:
        center = self.center
        self.n += 1
        if instrument is None:
            instrument = instruments.register_instrument(
                actor=center.quality_manager,
                organization=center.org,
                owner=center.instrument.owner,
                instrument_type=instrument_type,
                manufacturer="Maker",
                model="M",
                serial=f"CUST-SERIAL-{center.org.code}-{self.n:04d}",
            )
        job = Job.objects.create(
            organization=center.org,
            number=f"{center.org.code}-T-{self.n:05d}",
            instrument=instrument,
            procedure=center.procedure,
            state="issued",
        )
        run = Run.objects.create(
            id=uuid.uuid4(),
            organization=center.org,
            job=job,
            agent=center.agent,
            operator=center.metrologist,
            procedure=center.procedure,
            software_version="test",
            started_at=issued_at - timedelta(hours=2),
            finished_at=issued_at - timedelta(hours=1),
            payload={},
            payload_sha256="0" * 64,
            signature="-",
            response={},
            state="approved",
            server_conformity=conformity,
        )
        series = "KD" if kind == "verification" else "HC"
        certificate = Certificate.objects.create(
            organization=center.org,
            run=run,
            number=f"{center.org.code}-{series}-T-{self.n:06d}",
            kind=kind,
            year=issued_at.year,
            sequence=self.n,
            issued_at=issued_at,
            issued_by=center.signatory,
            pdf="certificates/none.pdf",
            pdf_sha256=uuid.uuid4().hex + uuid.uuid4().hex,
            dcc="certificates/none.xml",
            dcc_sha256="0" * 64,
            signing_key=self.key,
            signer_fingerprint=self.key.fingerprint,
            verify_url="https://lims.example.org/verify/x",
            valid_until=valid_until,
            supersedes=supersedes,
        )
        if supersedes is not None:
            CertificateEvent.objects.create(
                certificate=supersedes,
                kind="superseded",
                reason="amended",
                actor=center.signatory,
                at=issued_at,
                replacement=certificate,
            )
        if revoked:
            CertificateEvent.objects.create(
                certificate=certificate,
                kind="revoked",
                reason="withdrawn",
                actor=center.signatory,
                at=issued_at + timedelta(days=1),
            )
        return certificate


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def nawi(db: Any) -> InstrumentType:
    return InstrumentType.objects.create(
        code="nawi",
        name="Non-automatic weighing instrument",
        name_vi="Cân không tự động",
        field="mass",
        legal_category="group_1",
        verification_interval_months=12,
    )


@pytest.fixture
def water(db: Any) -> InstrumentType:
    return InstrumentType.objects.create(
        code="water-meter",
        name="Cold water meter",
        name_vi="Đồng hồ nước lạnh",
        field="volume_flow",
        legal_category="group_1",
        verification_interval_months=60,
    )


@pytest.fixture
def results(
    center: Center, other_center: Center, nawi: InstrumentType, water: InstrumentType
) -> None:
    """Verifications of two regions, two types, two months (local time, UTC+7)."""
    Organization.objects.filter(pk=center.org.pk).update(region="Hà Nội")
    Organization.objects.filter(pk=other_center.org.pk).update(region="Đà Nẵng")
    hanoi, danang = Records(center), Records(other_center)
    hanoi.certificate(nawi, utc(2026, 11, 3, 2), "pass")
    hanoi.certificate(nawi, utc(2026, 11, 12, 9), "pass", revoked=True)
    hanoi.certificate(nawi, utc(2026, 11, 20, 3), "fail")
    hanoi.certificate(nawi, utc(2026, 11, 21, 3), "conditional pass")
    # 30 Nov 18:00 UTC is 1 Dec 01:00 in Hà Nội: December's.
    original = hanoi.certificate(nawi, utc(2026, 11, 30, 18), "pass")
    # An amendment is the same verification: not counted again.
    hanoi.certificate(
        nawi,
        utc(2026, 12, 5, 3),
        "pass",
        instrument=original.run.job.instrument,
        supersedes=original,
    )
    hanoi.certificate(water, utc(2026, 11, 4, 3), "fail", revoked=True)
    # A calibration is not a verification result.
    hanoi.certificate(nawi, utc(2026, 11, 5, 3), "pass", kind="calibration")
    danang.certificate(water, utc(2026, 11, 6, 3), "pass")
    danang.certificate(water, utc(2026, 11, 7, 3), "fail")


EXPECTED_RESULTS = [
    # month, region, type, issued, passed, failed, other, revoked
    ("2026-11", "Hà Nội", "nawi", 4, 2, 1, 1, 1),
    ("2026-11", "Hà Nội", "water-meter", 1, 0, 1, 0, 1),
    ("2026-11", "Đà Nẵng", "water-meter", 2, 1, 1, 0, 0),
    ("2026-12", "Hà Nội", "nawi", 1, 1, 0, 0, 0),
]


def as_tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = ["month", "region", "instrument_type", "issued", "passed", "failed", "other"]
    return sorted(
        (*(row[n] if i < 3 else int(row[n]) for i, n in enumerate(names)), int(row["revoked"]))
        for row in rows
    )


# ------------------------------------------------------------------ customers: access


def test_the_instruments_page_asks_for_a_sign_in_and_the_customer_role(center: Center) -> None:
    response = Client().get("/portal/instruments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/portal/instruments/")
    refused = signed_in(center.metrologist).get("/portal/instruments/")
    assert refused.status_code == 403
    assert "Customer" in refused.content.decode()


def test_the_customer_sees_its_instruments_their_certificates_and_links(
    center: Center, other_center: Center
) -> None:
    certificate = issued(center)
    page = signed_in(customer_of(center)).get("/portal/instruments/")
    assert page.status_code == 200
    html = page.content.decode()
    assert center.instrument.serial in html
    assert other_center.instrument.serial not in html
    assert certificate.number in html
    assert "Valid" in html
    assert f'href="/portal/certificates/{certificate.number}.pdf"' in html
    assert f'href="/verify/{certificate.number}"' in html
    assert f'href="/portal/instruments/{center.instrument.pk}/"' in html
    # A digital multimeter's type states no interval: the due date is not invented.
    assert 'class="due">' in html
    due = html.split('class="due">', 1)[1].split("</dd>", 1)[0]
    assert "—" in due
    assert timezone.localdate(certificate.issued_at).isoformat() in html


def test_the_customer_downloads_the_pdf_as_issued(center: Center) -> None:
    certificate = issued(center)
    response = signed_in(customer_of(center)).get(f"/portal/certificates/{certificate.number}.pdf")
    assert response.status_code == 200
    data = response.getvalue()
    assert data.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256


def test_another_customer_s_instrument_and_certificate_are_not_found(
    center: Center, other_center: Center
) -> None:
    certificate = issued(center)
    theirs = signed_in(customer_of(other_center))
    assert theirs.get(f"/portal/instruments/{center.instrument.pk}/").status_code == 404
    assert theirs.get(f"/portal/certificates/{certificate.number}.pdf").status_code == 404
    assert certificate.number not in theirs.get("/portal/instruments/").content.decode()
    # ... and sees its own.
    assert theirs.get(f"/portal/instruments/{other_center.instrument.pk}/").status_code == 200


def test_a_calibration_s_next_due_follows_the_interval_the_type_states(center: Center) -> None:
    InstrumentType.objects.filter(pk=center.instrument.instrument_type_id).update(
        verification_interval_months=12
    )
    certificate = issued(center)
    performed = timezone.localdate(certificate.run.finished_at)
    html = signed_in(customer_of(center)).get("/portal/instruments/").content.decode()
    due = html.split('class="due">', 1)[1].split("</dd>", 1)[0]
    assert add_months(performed, 12).isoformat() in due
    assert "recommended" in due


def test_a_verification_s_next_due_is_its_validity(center: Center, nawi: InstrumentType) -> None:
    mine = Records(center).certificate(
        nawi,
        timezone.now() - timedelta(days=10),
        "pass",
        valid_until=TODAY + timedelta(days=355),
    )
    instrument = mine.run.job.instrument
    html = signed_in(customer_of(center)).get(f"/portal/instruments/{instrument.pk}/")
    text = html.content.decode()
    due = text.split('class="due">', 1)[1].split("</dd>", 1)[0]
    assert (TODAY + timedelta(days=355)).isoformat() in due
    assert "recommended" not in due
    assert mine.number in text


def test_an_overdue_verification_is_flagged(center: Center, nawi: InstrumentType) -> None:
    Records(center).certificate(
        nawi, timezone.now() - timedelta(days=400), "pass", valid_until=TODAY - timedelta(days=35)
    )
    html = signed_in(customer_of(center)).get("/portal/instruments/").content.decode()
    assert 'class="due fail">' in html
    assert "(overdue)" in html


def test_the_instrument_page_shows_its_history_superseded_and_revoked(center: Center) -> None:
    original = issued(center)
    amended = amend_certificate(
        actor=center.signatory, certificate=original, password=PASSWORD, reason="address"
    )
    revoke_certificate(
        actor=center.quality_manager, certificate=amended, password=PASSWORD, reason="withdrawn"
    )
    response = signed_in(customer_of(center)).get(f"/portal/instruments/{center.instrument.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    rows = {
        part.split('"', 1)[0]: part.split("</tr>", 1)[0] for part in html.split('data-number="')[1:]
    }
    assert "Superseded" in rows[original.number]
    assert amended.number in rows[original.number]
    assert "Revoked" in rows[amended.number]
    assert "withdrawn" in rows[amended.number]
    # No valid certificate left: no next due date.
    due = html.split('class="due">', 1)[1].split("</dd>", 1)[0]
    assert "—" in due
    # The job history, without the people who did it.
    assert center.job.number in html
    assert center.metrologist.full_name not in html


def test_the_instruments_page_is_paginated(center: Center, nawi: InstrumentType) -> None:
    records = Records(center)
    for _ in range(views.INSTRUMENTS_PER_PAGE + 1):
        records.certificate(nawi, timezone.now(), "pass")
    client = signed_in(customer_of(center))
    first = client.get("/portal/instruments/").content.decode()
    assert first.count('class="instrument"') == views.INSTRUMENTS_PER_PAGE
    assert 'href="?page=2"' in first
    second = client.get("/portal/instruments/?page=2").content.decode()
    assert second.count('class="instrument"') == 2


def test_the_customer_pages_in_vietnamese(center: Center) -> None:
    issued(center)
    client = signed_in(customer_of(center))
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    html = client.get("/portal/instruments/").content.decode()
    assert "Phương tiện đo của tôi" in html
    assert "Còn hiệu lực" in html


# ------------------------------------------------------------------ open data: results


def test_verification_results_are_grouped_by_month_region_and_type(results: None) -> None:
    client = Client()
    from_csv = csv_rows(client.get("/open-data/verification-results.csv"))
    assert list(from_csv[0]) == [f.name for f in opendata.VERIFICATION_RESULTS.fields]
    assert as_tuples(from_csv) == sorted(EXPECTED_RESULTS)
    nawi_row = next(r for r in from_csv if r["instrument_type"] == "nawi")
    assert nawi_row["instrument_type_name_vi"] == "Cân không tự động"
    from_json = json_rows(client.get("/open-data/verification-results.json"))
    assert as_tuples(from_json) == sorted(EXPECTED_RESULTS)
    assert all(isinstance(r["issued"], int) for r in from_json)


def test_verification_results_are_counted_by_the_database_in_one_query(results: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        rows = list(opendata.rows_of("verification-results"))
    assert len(rows) == len(EXPECTED_RESULTS)
    [query] = queries.captured_queries
    assert "GROUP BY" in query["sql"].upper()
    assert "COUNT(" in query["sql"].upper()


def test_a_verification_issued_and_revoked_through_the_services_is_counted(
    center: Center, tmp_path: Path
) -> None:
    from tests.support.bench_runs import nawi_run
    from tests.support.issuing import approve_with
    from tests.support.lims import post_run, with_serial

    submitted = nawi_run(center, tmp_path)
    assert post_run(center, submitted.body).status_code == 201
    InstrumentType.objects.filter(code="nawi").update(verification_interval_months=12)
    ReferenceStandard.objects.filter(organization=center.org, serial="").update(
        manufacturer="Häfner", model="M1 set", serial="W-1"
    )
    with_serial(center)
    Organization.objects.filter(pk=center.org.pk).update(region="Quảng Trị")
    run = approve_with(center, Run.objects.get(pk=submitted.body["run_id"]), "mass")
    signatory = User.objects.get(username=f"{center.org.code.lower()}-signatory-mass")
    certificate = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    revoke_certificate(
        actor=center.quality_manager, certificate=certificate, password=PASSWORD, reason="x"
    )
    [row] = csv_rows(Client().get("/open-data/verification-results.csv"))
    month = timezone.localdate(certificate.issued_at).strftime("%Y-%m")
    assert (row["month"], row["region"], row["instrument_type"]) == (month, "Quảng Trị", "nawi")
    assert (row["issued"], row["revoked"]) == ("1", "1")
    assert run.server_conformity == "pass"
    assert (row["passed"], row["failed"], row["other"]) == ("1", "0", "0")
    # The customer sees the verification's validity as its next due date, and revoked.
    html = signed_in(customer_of(center)).get("/portal/instruments/").content.decode()
    assert certificate.number in html
    assert "Revoked" in html


# ------------------------------------------------------------------ the national node


def registered(
    issuer: str,
    region: str,
    number: str,
    issued_on: date,
    verdict: str = "pass",
    *,
    instrument_type: str = "nawi",
    event: str = "issued",
    kind: str = "",
    supersedes: str = "",
) -> None:
    """A certificate's fact as a center's subscription writes it on the national node."""
    from labserver.registry.models import CertificateFact

    CertificateFact.objects.create(
        key=f"{issuer}/{number}/{event}",
        issuer=issuer,
        region=region,
        number=number,
        event=event,
        at=utc(issued_on.year, issued_on.month, issued_on.day, 3),
        kind=kind or ("notice" if verdict == "fail" else "verification"),
        verdict=verdict,
        instrument_type=instrument_type,
        serial=f"S-{number}",
        issued_on=issued_on,
        supersedes=supersedes,
        pdf_sha256="0" * 64,
        signer_fingerprint="0" * 64,
    )


def test_the_national_node_counts_every_issuers_verifications_per_province(
    settings: Any, nawi: InstrumentType, water: InstrumentType
) -> None:
    registered("HN1", "Hà Nội", "HN1-KD-1", date(2026, 11, 3))
    registered("HN1", "Hà Nội", "HN1-KD-2", date(2026, 11, 12))
    registered("HN1", "Hà Nội", "HN1-KD-2", date(2026, 11, 13), event="revoked")
    registered("HN1", "Hà Nội", "HN1-KD-3", date(2026, 11, 20), "fail")  # a notice
    registered("HN1", "Hà Nội", "HN1-KD-4", date(2026, 12, 1))
    # an amendment is the same verification: not counted again
    registered("HN1", "Hà Nội", "HN1-KD-5", date(2026, 12, 5), supersedes="HN1-KD-1")
    registered("HN1", "Hà Nội", "HN1-KD-1", date(2026, 11, 3), event="superseded")
    registered("HN1", "Hà Nội", "HN1-HC-1", date(2026, 11, 5), "", kind="calibration")
    registered("DN2", "Đà Nẵng", "DN2-KD-1", date(2026, 11, 6), instrument_type="water-meter")
    registered("DN2", "Đà Nẵng", "DN2-KD-2", date(2026, 11, 7), "fail", instrument_type="gas")
    client = Client()
    # a node that is not the national one publishes its own certificates' results: none
    assert csv_rows(client.get("/open-data/verification-results.csv")) == []
    settings.CALTRACE_NATIONAL_OPEN_DATA = True
    with CaptureQueriesContext(connection) as queries:
        rows = list(opendata.rows_of("verification-results"))
    [query] = queries.captured_queries
    assert "GROUP BY" in query["sql"].upper()
    assert as_tuples(rows) == sorted(
        [
            # month, province, type, issued, passed, failed, other, revoked
            ("2026-11", "Hà Nội", "nawi", 3, 2, 1, 0, 1),
            ("2026-12", "Hà Nội", "nawi", 1, 1, 0, 0, 0),
            ("2026-11", "Đà Nẵng", "water-meter", 1, 1, 0, 0, 0),
            ("2026-11", "Đà Nẵng", "gas", 1, 0, 1, 0, 0),
        ]
    )
    from_csv = csv_rows(client.get("/open-data/verification-results.csv"))
    assert list(from_csv[0]) == [f.name for f in opendata.VERIFICATION_RESULTS.fields]
    assert as_tuples(from_csv) == as_tuples(rows)
    names = {r["instrument_type"]: r["instrument_type_name_vi"] for r in from_csv}
    assert names == {"nawi": "Cân không tự động", "water-meter": "Đồng hồ nước lạnh", "gas": ""}
    assert as_tuples(json_rows(client.get("/open-data/verification-results.json"))) == (
        as_tuples(rows)
    )
    assert opendata.verification_results_updated() == utc(2026, 12, 5, 3)


def test_the_registry_gives_the_local_figures_for_this_node_s_certificates(
    results: None, settings: Any
) -> None:
    from labserver.issuance.registered import register_issued, register_revoked

    # the facts the issuing services write with each certificate (the fixture made none)
    for certificate in Certificate.objects.order_by("pk").select_related("organization"):
        register_issued(certificate)
    for event in CertificateEvent.objects.filter(kind="revoked").select_related("certificate"):
        register_revoked(event.certificate, event.at)
    local = as_tuples([opendata.verification_row(r) for r in opendata.verification_results()])
    assert local == sorted(EXPECTED_RESULTS)
    settings.CALTRACE_NATIONAL_OPEN_DATA = True
    national = as_tuples([opendata.verification_row(r) for r in opendata.verification_results()])
    # The same figures, but one: the registry states a verification's legal outcome only,
    # and a conditional pass is a certificate issued (passed), never "other".
    conditional = ("2026-11", "Hà Nội", "nawi", 4, 2, 1, 1, 1)
    assert national == sorted(
        [r for r in EXPECTED_RESULTS if r != conditional]
        + [("2026-11", "Hà Nội", "nawi", 4, 3, 1, 0, 1)]
    )
    today = timezone.localdate()
    span = today.year * 12 + today.month - (2026 * 12 + 11) + 1  # from November 2026
    totals = {m["month"]: (m["issued"], m["failed"]) for m in opendata.monthly_totals(span)}
    assert (totals[date(2026, 11, 1)], totals[date(2026, 12, 1)]) == ((7, 3), (1, 0))


def test_the_open_data_page_lists_the_datasets_and_pages_the_results(
    results: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "ROWS_PER_PAGE", 3)
    client = Client()
    response = client.get("/open-data/")
    assert response.status_code == 200
    html = response.content.decode()
    for link in (
        "/open-data/verification-results.csv",
        "/open-data/verification-results.json",
        "/open-data/standards.csv",
        "/open-data/standards.json",
        "/open-data/datasets.json",
        "/standards/register/",
    ):
        assert f'href="{link}"' in html
    table = html.split('id="verification-results"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 3
    assert "<svg" in html
    assert 'role="img"' in html
    second = client.get("/open-data/?page=2").content.decode()
    table = second.split('id="verification-results"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 1
    assert "Page 2 of 2" in second


def test_the_monthly_totals_cover_twelve_months(center: Center, nawi: InstrumentType) -> None:
    records = Records(center)
    now = timezone.now()
    records.certificate(nawi, now, "pass")
    records.certificate(nawi, now, "fail")
    records.certificate(nawi, now - timedelta(days=500), "pass")  # before the window
    months = opendata.monthly_totals()
    assert len(months) == 12
    assert months[-1]["month"] == timezone.localdate().replace(day=1)
    assert (months[-1]["issued"], months[-1]["passed"], months[-1]["failed"]) == (2, 1, 1)
    assert sum(m["issued"] for m in months) == 2


def test_an_unknown_dataset_is_404() -> None:
    assert Client().get("/open-data/nothing.csv").status_code == 404
    assert Client().get("/open-data/nothing.json").status_code == 404


# ------------------------------------------------------------------ open data: standards


@pytest.fixture
def ladder(center: Center) -> dict[str, ReferenceStandard]:
    """Standards in each status today, besides the center's calibrator (in service)."""
    qm = center.quality_manager
    made: dict[str, ReferenceStandard] = {"in_service": center.standard}

    def standard(asset: str, due: date | None, **changes: Any) -> ReferenceStandard:
        item = standards.register_standard(
            actor=qm,
            organization=center.org,
            asset_id=asset,
            name=f"Standard {asset}",
            field="mass",
            level="reference",
            calibration_interval_months=12,
            manufacturer="Häfner",
            model="E2 set",
            serial=f"STD-SERIAL-{asset}",
        )
        if due is not None:
            standards.record_certificate(
                actor=qm,
                standard=item,
                number=f"CERT-{asset}",
                issuing_lab="National Metrology Institute",
                calibrated_on=due - timedelta(days=365),
                issued_on=due - timedelta(days=360),
                due_on=due,
                values=[],
            )
        if changes:
            ReferenceStandard.objects.filter(pk=item.pk).update(**changes)
            item.refresh_from_db()
        return item

    made["due"] = standard("S-DUE", TODAY + timedelta(days=10))
    made["overdue"] = standard("S-OVERDUE", TODAY - timedelta(days=1))
    made["none"] = standard("S-NONE", None)
    made["out_of_tolerance"] = standard(
        "S-OOT", TODAY + timedelta(days=200), out_of_tolerance_since=TODAY - timedelta(days=3)
    )
    made["retired"] = standard(
        "S-RETIRED", TODAY + timedelta(days=200), retired_on=TODAY - timedelta(days=1)
    )
    # A future calibration is not in force yet (record_certificate refuses a future date:
    # the row is written directly, as one stored before that check).
    StandardCertificate.objects.create(
        standard=made["overdue"],
        number="CERT-FUTURE",
        issuing_lab="Somewhere",
        calibrated_on=TODAY + timedelta(days=5),
        issued_on=TODAY + timedelta(days=5),
        due_on=TODAY + timedelta(days=370),
        values=[],
    )
    return made


def test_the_standards_register_states_each_status_as_the_model_does(
    center: Center, ladder: dict[str, ReferenceStandard]
) -> None:
    rows = {r["asset_id"]: r for r in csv_rows(Client().get("/open-data/standards.csv"))}
    assert list(next(iter(rows.values()))) == [f.name for f in opendata.STANDARDS.fields]
    for standard in ReferenceStandard.objects.all():
        expected = standard.status_on(TODAY)
        row = rows[standard.asset_id]
        assert row["status"] == expected.status.value, standard.asset_id
        certificate = expected.certificate
        assert row["certificate"] == (certificate.number if certificate else "")
        assert row["due_on"] == (certificate.due_on.isoformat() if certificate else "")
    assert {rows[s.asset_id]["status"] for s in ladder.values()} == {
        "in_service",
        "due",
        "overdue",
        "out_of_tolerance",
        "retired",
    }
    calibrator = rows[center.standard.asset_id]
    assert calibrator == {
        "organization": center.org.code,
        "organization_name": center.org.name,
        "asset_id": center.standard.asset_id,
        "name": "Multifunction calibrator",
        "field": "electrical",
        "level": "working",
        "manufacturer": "Fluke",
        "model": "5522A",
        "status": "in_service",
        "certificate": f"NMI-{center.org.code}-001",
        "issuing_lab": "National Metrology Institute",
        "calibrated_on": (TODAY - timedelta(days=100)).isoformat(),
        "due_on": (TODAY + timedelta(days=265)).isoformat(),
    }
    assert rows["S-OVERDUE"]["certificate"] == "CERT-S-OVERDUE"  # not the future one
    from_json = {r["asset_id"]: r for r in json_rows(Client().get("/open-data/standards.json"))}
    assert from_json[center.standard.asset_id] == calibrator
    assert from_json["S-NONE"]["due_on"] is None


def test_the_standards_register_page_is_public_and_paginated(
    center: Center, ladder: dict[str, ReferenceStandard], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "ROWS_PER_PAGE", 4)
    client = Client()
    first = client.get("/standards/register/")
    assert first.status_code == 200
    html = first.content.decode()
    table = html.split('id="standards"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 4
    assert center.standard.asset_id in table
    assert "In service" in table
    assert f"NMI-{center.org.code}-001" in table
    second = client.get("/standards/register/?page=2").content.decode()
    table = second.split('id="standards"', 1)[1].split("</table>", 1)[0]
    assert "Out of tolerance" in table or "Retired" in table
    assert table.count("<tr>") == 1 + 2


def test_a_customer_s_own_equipment_is_not_in_the_public_register(center: Center) -> None:
    customer = center.instrument.owner
    qm = person(customer, "cust-qm", "quality_manager")
    standards.register_standard(
        actor=qm,
        organization=customer,
        asset_id="CUSTOMER-OWN-1",
        name="Customer's own weight",
        field="mass",
        calibration_interval_months=12,
    )
    text = body(Client().get("/open-data/standards.csv"))
    assert "CUSTOMER-OWN-1" not in text
    assert customer.name not in text


# ------------------------------------------------------------------ metadata, personal data


def test_the_datasets_metadata_describes_every_dataset(results: None) -> None:
    client = Client()
    response = client.get("/open-data/datasets.json")
    assert response.status_code == 200
    catalogue = response.json()
    assert catalogue["license"]["id"] == "CC-BY-4.0"
    by_id = {d["identifier"]: d for d in catalogue["dataset"]}
    assert set(by_id) == {"verification-results", "standards", "audit-anchors"}
    results_fields = {f["name"]: f for f in by_id["verification-results"]["fields"]}
    assert results_fields["issued"]["unit"] == "1"
    assert results_fields["month"]["type"] == "month"
    assert all(f["description"] for d in by_id.values() for f in d["fields"])
    # Last changed: the last revocation (1 day after the last issue of 4 Nov... 5 Dec).
    assert by_id["verification-results"]["modified"].startswith("2026-12-05")
    for dataset in by_id.values():
        formats = {d["format"]: d["downloadURL"] for d in dataset["distribution"]}
        assert set(formats) == {"CSV", "JSON"}
        for url in formats.values():
            path = url.removeprefix("http://testserver")
            assert client.get(path).status_code == 200


def test_no_personal_data_is_published(
    center: Center, other_center: Center, results: None, ladder: dict[str, ReferenceStandard]
) -> None:
    certificate = issued(center)  # a real certificate: people, customer, addresses, serials
    people = User.objects.all()
    customers = Organization.objects.filter(kind="customer")
    assert customers.exists()
    assert people.exists()
    secrets = {
        *(u.username for u in people),
        *(u.full_name for u in people if u.full_name),
        *(c.name for c in customers),
        *(c.code for c in customers),
        *(o.address for o in Organization.objects.exclude(address="")),
        *(i.serial for i in Instrument.objects.all()),
        *(s.serial for s in ReferenceStandard.objects.exclude(serial="")),
        certificate.number,
    }
    assert len(secrets) > 20
    client = Client()
    published = {
        path: body(client.get(path))
        for path in (
            "/open-data/",
            "/open-data/datasets.json",
            "/open-data/verification-results.csv",
            "/open-data/verification-results.json",
            "/open-data/standards.csv",
            "/open-data/standards.json",
            "/standards/register/",
        )
    }
    for path, text in published.items():
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], f"{path} publishes {leaked}"


def test_the_public_pages_are_in_the_navigation_for_everyone(center: Center) -> None:
    html = Client().get("/").content.decode()
    assert 'href="/open-data/"' in html
    assert 'href="/standards/register/"' in html
    assert 'href="/portal/instruments/"' not in html
    customer = signed_in(customer_of(center)).get("/").content.decode()
    assert 'href="/portal/instruments/"' in customer
    staff = signed_in(center.metrologist).get("/").content.decode()
    assert 'href="/portal/instruments/"' not in staff


def test_the_open_data_page_in_vietnamese(results: None) -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    html = client.get("/open-data/").content.decode()
    assert "Dữ liệu mở" in html
    assert "Cân không tự động" in html


# ------------------------------------------------------------------ in a browser

browser = pytest.mark.django_db(transaction=True)


@browser
def test_a_customer_signs_in_and_sees_the_status_of_a_certificate(
    center: Center, page: Any
) -> None:
    original = issued(center)
    amended = amend_certificate(
        actor=center.signatory, certificate=original, password=PASSWORD, reason="address"
    )
    customer = customer_of(center)
    page.open("/accounts/login/?next=/portal/instruments/")
    page.find("#id_username").send_keys(customer.username)
    page.find("#id_password").send_keys(PASSWORD)
    page.click_and_wait("form.stack button[type=submit]")
    assert page.text("h1") == "My instruments"
    assert center.instrument.serial in page.text("main")
    assert page.text(f'tr[data-number="{amended.number}"] .status') == "Valid"
    assert page.text(f'tr[data-number="{original.number}"] .status').startswith("Superseded")
    page.screenshot("customer-instruments")
    page.click_and_wait(f'a[href="/portal/instruments/{center.instrument.pk}/"]')
    assert center.job.number in page.text("table.jobs")
    page.screenshot("customer-instrument")
    page.click_and_wait(f'tr[data-number="{original.number}"] a[href^="/verify/"]')
    assert page.text("#status").startswith("Superseded")


@browser
def test_the_open_data_and_the_standards_register_on_a_phone(
    center: Center, nawi: InstrumentType, page: Any
) -> None:
    records = Records(center)
    Organization.objects.filter(pk=center.org.pk).update(region="Hà Nội")
    now = timezone.now()
    for conformity in ("pass", "pass", "fail"):
        records.certificate(nawi, now, conformity)
    records.certificate(nawi, now - timedelta(days=40), "pass", revoked=True)
    page.driver.set_window_size(390, 844)
    try:
        page.open("/open-data/")
        assert page.text("h1") == "Open data"
        assert "Cân không tự động" not in page.text("#verification-results")
        assert "Non-automatic weighing instrument" in page.text("#verification-results")
        # The page fits the phone's width; only the table scrolls, inside its wrapper.
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        page.screenshot("open-data-phone")
        page.driver.execute_script("document.querySelector('.chart').scrollIntoView()")
        page.screenshot("open-data-chart-phone")
        page.click_and_wait('a[href="/standards/register/"]')
        assert page.text("h1") == "Public register of reference standards"
        assert center.standard.asset_id in page.text("#standards")
        width = page.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        page.screenshot("standards-register-phone")
    finally:
        page.driver.set_window_size(1280, 900)
