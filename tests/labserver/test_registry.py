"""The registry's facts (issue 21, point 1): written with the change they describe, keyed
globally by the issuer's code, append-only, public columns only.

Certificates are issued, amended and revoked through the LIMS's own services and API, with
the DEMO PKI, as in ``test_issuance.py``; the facts are then read from the registry's
tables.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import DatabaseError, connection
from django.utils import timezone

from labserver.federation.replication import PUBLISHED_COLUMNS
from labserver.issuance import registered
from labserver.issuance.models import Certificate
from labserver.issuance.services import amend_certificate, issue_certificate, revoke_certificate
from labserver.registry.models import (
    CalibrationLinkFact,
    CertificateFact,
    RelianceFact,
    StandardFact,
)
from labserver.registry.records import RegistryConflict, record_revoked
from tests.support.dbroles import as_owner, table_columns
from tests.support.issuing import approved_run, approved_verification, as_another_nodes, issue
from tests.support.lims import PASSWORD, Center

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_pki(demo_pki: Path) -> None:
    """Every test here signs with the DEMO PKI."""


# The registry's public columns. A column added to a fact is published to the national node
# by the node's registry publication: adding one here is a reviewed decision, never a
# side effect of a model change.
PUBLIC_CERTIFICATE_COLUMNS = {
    "key",
    "issuer",
    "region",
    "number",
    "event",
    "at",
    "kind",
    "verdict",
    "instrument_type",
    "pattern",
    "manufacturer",
    "model",
    "serial",
    "issued_on",
    "valid_until",
    "mark",
    "supersedes",
    "superseded_by",
    "pdf_sha256",
    "signer_fingerprint",
}
PUBLIC_RELIANCE_COLUMNS = {
    "key",
    "issuer",
    "number",
    "standard_owner",
    "standard",
    "standard_certificate",
    "standard_certificate_issuer",
    "used_on",
}


PUBLIC_STANDARD_COLUMNS = {
    "key",
    "owner",
    "standard",
    "event",
    "at",
    "name",
    "field",
    "level",
    "manufacturer",
    "model",
    "serial",
    "certificate",
    "certificate_issuer",
    "accreditation",
    "calibrated_on",
    "due_on",
    "certificate_sha256",
    "since",
}
PUBLIC_LINK_COLUMNS = {
    "key",
    "owner",
    "standard",
    "certificate",
    "upstream_owner",
    "upstream_standard",
    "upstream_certificate",
    "used_on",
}


PUBLIC_ORGANIZATION_COLUMNS = {
    "key",
    "code",
    "at",
    "name",
    "kind",
    "region",
    "accreditation",
    "parent",
    "time_zone",
}
PUBLIC_KEY_COLUMNS = {
    "key",
    "issuer",
    "fingerprint",
    "event",
    "at",
    "certificate_pem",
    "trust_roots_pem",
    "valid_from",
    "valid_until",
}


def test_the_facts_have_the_public_columns_only() -> None:
    assert table_columns("registry_certificatefact") == PUBLIC_CERTIFICATE_COLUMNS
    assert table_columns("registry_reliancefact") == PUBLIC_RELIANCE_COLUMNS
    assert table_columns("registry_standardfact") == PUBLIC_STANDARD_COLUMNS
    assert table_columns("registry_calibrationlinkfact") == PUBLIC_LINK_COLUMNS
    assert table_columns("registry_organizationfact") == PUBLIC_ORGANIZATION_COLUMNS
    assert table_columns("registry_signingkeyfact") == PUBLIC_KEY_COLUMNS


def test_the_publication_carries_the_public_columns_only() -> None:
    # the column lists `manage.py federation publish` gives the publication
    # (tests/federation/test_federation.py reads them back from the publisher)
    assert {table: set(columns) for table, columns in PUBLISHED_COLUMNS.items()} == {
        "registry_certificatefact": PUBLIC_CERTIFICATE_COLUMNS,
        "registry_reliancefact": PUBLIC_RELIANCE_COLUMNS,
        "registry_standardfact": PUBLIC_STANDARD_COLUMNS,
        "registry_calibrationlinkfact": PUBLIC_LINK_COLUMNS,
        "registry_organizationfact": PUBLIC_ORGANIZATION_COLUMNS,
        "registry_signingkeyfact": PUBLIC_KEY_COLUMNS,
    }


def _facts(number: str) -> dict[str, CertificateFact]:
    return {f.event: f for f in CertificateFact.objects.filter(number=number)}


def test_an_issued_certificate_is_registered_with_its_standards(center: Center) -> None:
    run = approved_run(center)
    response = issue(center, run)
    assert response.status_code == 201, response.json()
    certificate = Certificate.objects.get(pk=response.json()["id"])
    [fact] = _facts(certificate.number).values()
    org, instrument = center.org, center.instrument
    assert fact.key == f"{org.code}/{certificate.number}/issued"
    assert (fact.issuer, fact.region, fact.event, fact.kind, fact.verdict) == (
        org.code,
        org.region,
        "issued",
        "calibration",
        "",
    )
    assert (fact.instrument_type, fact.manufacturer, fact.model, fact.serial) == (
        instrument.instrument_type.code,
        instrument.manufacturer,
        instrument.model,
        instrument.serial,
    )
    assert fact.issued_on == timezone.localdate(certificate.issued_at, org.zone)
    assert (fact.pdf_sha256, fact.signer_fingerprint) == (
        certificate.pdf_sha256,
        certificate.signer_fingerprint,
    )
    assert fact.at == certificate.issued_at
    # Nothing personal: the customer's name and address, the signatory's name are nowhere.
    owner = instrument.owner
    values = " ".join(str(getattr(fact, c)) for c in PUBLIC_CERTIFICATE_COLUMNS)
    for private in (owner.name, owner.address, center.signatory.get_full_name()):
        if private:
            assert private not in values
    usages = list(run.standard_usages.select_related("standard", "certificate"))
    assert usages
    relied = RelianceFact.objects.filter(number=certificate.number)
    assert {(r.standard, r.standard_certificate) for r in relied} == {
        (u.standard.asset_id, u.certificate.number) for u in usages
    }
    assert all(r.standard_owner == org.code and r.issuer == org.code for r in relied)


def test_an_amendment_registers_the_new_certificate_and_supersedes_the_old(
    center: Center,
) -> None:
    original = Certificate.objects.get(pk=issue(center, approved_run(center)).json()["id"])
    replacement = amend_certificate(
        actor=center.signatory, certificate=original, password=PASSWORD, reason="typo"
    )
    old, new = _facts(original.number), _facts(replacement.number)
    assert set(old) == {"issued", "superseded"}
    assert old["superseded"].superseded_by == replacement.number
    assert old["superseded"].at == replacement.issued_at
    # each fact states the certificate whole: the superseded one repeats the issued one
    assert old["superseded"].pdf_sha256 == old["issued"].pdf_sha256 == original.pdf_sha256
    assert set(new) == {"issued"}
    assert new["issued"].supersedes == original.number
    # the reason is free text: it stays at home
    assert "typo" not in " ".join(
        str(getattr(old["superseded"], c)) for c in PUBLIC_CERTIFICATE_COLUMNS
    )


def test_a_revocation_is_registered_once(center: Center) -> None:
    certificate = Certificate.objects.get(pk=issue(center, approved_run(center)).json()["id"])
    revoke_certificate(
        actor=center.quality_manager,
        certificate=certificate,
        password=PASSWORD,
        reason="the calibrator was out of tolerance",
    )
    facts = _facts(certificate.number)
    assert set(facts) == {"issued", "revoked"}
    assert facts["revoked"].key == f"{center.org.code}/{certificate.number}/revoked"
    with pytest.raises(RegistryConflict, match=rf"{certificate.number} is already registered"):
        record_revoked(center.org.code, certificate.number, timezone.now())


def test_a_fact_of_a_certificate_never_issued_is_refused(center: Center) -> None:
    with pytest.raises(RegistryConflict) as refused:
        record_revoked(center.org.code, "QT1-HC-2026-999999", timezone.now())
    assert str(refused.value) == (
        f"issuer {center.org.code}: certificate QT1-HC-2026-999999 cannot be revoked: the "
        "registry has no record of its issue"
    )


def test_a_failed_verification_is_registered_as_a_notice_without_a_mark(
    center: Center, tmp_path: Path
) -> None:
    run, signatory = approved_verification(center, tmp_path, repeat_offsets=(0.0, 6.0, 0.0))
    notice = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    [fact] = _facts(notice.number).values()
    assert (fact.kind, fact.verdict, fact.mark, fact.valid_until) == ("notice", "fail", "", None)


def test_a_passed_verification_is_registered_with_its_mark(center: Center, tmp_path: Path) -> None:
    run, signatory = approved_verification(center, tmp_path)
    certificate = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    [fact] = _facts(certificate.number).values()
    assert (fact.kind, fact.verdict) == ("verification", "pass")
    assert fact.mark == certificate.mark_number != ""
    assert fact.valid_until == certificate.valid_until is not None


def test_no_fact_without_its_certificate(center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fact is written in the issuing transaction: an issue that fails after it rolls the
    # fact back with the certificate.
    run = approved_run(center)

    def fail(certificate: Certificate) -> None:
        registered.register_issued(certificate)
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr("labserver.issuance.services.register_issued", fail)
    with pytest.raises(RuntimeError):
        issue_certificate(actor=center.signatory, run=run, password=PASSWORD)
    assert not Certificate.objects.exists()
    assert not CertificateFact.objects.exists()
    assert not RelianceFact.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="triggers are PostgreSQL's")
@pytest.mark.parametrize("statement", ["UPDATE {t} SET serial = 'X'", "DELETE FROM {t}"])
def test_a_fact_is_never_changed_nor_deleted(center: Center, statement: str) -> None:
    issue(center, approved_run(center))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        as_owner(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(t="registry_certificatefact"))


def test_the_facts_of_earlier_certificates_are_written_once(
    center: Center, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A node upgraded to the registry: its certificates issued before have no facts; the
    # migration's backfill writes the facts the LIMS would have written, once.
    import importlib

    backfill = importlib.import_module(
        "labserver.registry.migrations.0002_facts_of_earlier_certificates"
    ).backfill
    monkeypatch.setattr("labserver.issuance.services.register_issued", lambda c: None)
    monkeypatch.setattr("labserver.issuance.services.register_revoked", lambda c, at: None)
    first = Certificate.objects.get(pk=issue(center, approved_run(center)).json()["id"])
    second = amend_certificate(
        actor=center.signatory, certificate=first, password=PASSWORD, reason="typo"
    )
    revoke_certificate(
        actor=center.quality_manager, certificate=second, password=PASSWORD, reason="wrong"
    )
    run, signatory = approved_verification(center, tmp_path, repeat_offsets=(0.0, 6.0, 0.0))
    notice = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    assert not CertificateFact.objects.exists()
    written = backfill(django_apps)
    backfilled = _snapshot()
    assert {(f["number"], f["event"]) for f in backfilled} == {
        (first.number, "issued"),
        (first.number, "superseded"),
        (second.number, "issued"),
        (second.number, "revoked"),
        (notice.number, "issued"),
    }
    assert written == len(backfilled) + RelianceFact.objects.count()
    assert backfill(django_apps) == 0  # once
    by_key = {f["key"]: f for f in backfilled}
    issued = by_key[f"{center.org.code}/{notice.number}/issued"]
    assert (issued["kind"], issued["verdict"], issued["mark"]) == ("notice", "fail", "")
    old = by_key[f"{center.org.code}/{first.number}/superseded"]
    assert (old["superseded_by"], old["pdf_sha256"]) == (second.number, first.pdf_sha256)
    assert by_key[f"{center.org.code}/{second.number}/issued"]["supersedes"] == first.number
    # the values the LIMS writes at issue (test_an_issued_certificate_is_registered_...)
    org, instrument = center.org, center.instrument
    assert by_key[f"{org.code}/{first.number}/issued"] | {"at": None} == {
        "key": f"{org.code}/{first.number}/issued",
        "issuer": org.code,
        "region": org.region,
        "number": first.number,
        "event": "issued",
        "at": None,
        "kind": "calibration",
        "verdict": "",
        "instrument_type": instrument.instrument_type.code,
        "pattern": instrument.pattern.number if instrument.pattern is not None else "",
        "manufacturer": instrument.manufacturer,
        "model": instrument.model,
        "serial": instrument.serial,
        "issued_on": timezone.localdate(first.issued_at, org.zone),
        "valid_until": None,
        "mark": "",
        "supersedes": "",
        "superseded_by": "",
        "pdf_sha256": first.pdf_sha256,
        "signer_fingerprint": first.signer_fingerprint,
    }


def _snapshot() -> list[dict[str, Any]]:
    return [dict(row) for row in CertificateFact.objects.order_by("key").values()]


# ------------------------------------------------------------------ reference standards


def test_a_standard_its_calibrations_and_its_chain_are_registered(center: Center) -> None:
    from labserver.standards import services as standards

    code, asset = center.org.code, center.standard.asset_id
    facts = {f.key: f for f in StandardFact.objects.filter(owner=code, standard=asset)}
    registered = facts[f"{code}/{asset}/registered"]
    assert (registered.name, registered.field, registered.manufacturer, registered.model) == (
        "Multifunction calibrator",
        "electrical",
        "Fluke",
        "5522A",
    )
    [calibration] = center.standard.certificates.all()
    calibrated = facts[f"{code}/{asset}/calibrated/{calibration.number}"]
    assert (
        calibrated.certificate_issuer,
        calibrated.calibrated_on,
        calibrated.due_on,
        calibrated.name,
    ) == (calibration.issuing_lab, calibration.calibrated_on, calibration.due_on, registered.name)
    # A working standard calibrated in house by the center's calibrator: the link up.
    working = standards.register_standard(
        actor=center.quality_manager,
        organization=center.org,
        asset_id=f"{code}-DMM-07",
        name="Working voltmeter",
        field="electrical",
        calibration_interval_months=12,
    )
    standards.record_certificate(
        actor=center.quality_manager,
        standard=working,
        number=f"{code}-INT-0001",
        issuing_lab=center.org.name,
        internal=True,
        calibrated_on=calibration.calibrated_on + timedelta(days=10),
        issued_on=calibration.calibrated_on + timedelta(days=10),
        due_on=calibration.due_on,
        values=[],
        reference_standards=[center.standard],
    )
    [link] = CalibrationLinkFact.objects.filter(owner=code, standard=working.asset_id)
    assert (link.certificate, link.upstream_owner, link.upstream_standard) == (
        f"{code}-INT-0001",
        code,
        asset,
    )
    assert link.upstream_certificate == calibration.number
    # Found out of tolerance: registered once, the reason stays at home.
    since = calibration.calibrated_on
    for _ in range(2):
        standards.mark_out_of_tolerance(
            actor=center.quality_manager, standard=center.standard, since=since, reason="drift"
        )
    [out] = StandardFact.objects.filter(owner=code, standard=asset, event="out_of_tolerance")
    assert (out.key, out.since) == (f"{code}/{asset}/out_of_tolerance/{since.isoformat()}", since)
    assert "drift" not in " ".join(str(getattr(out, c)) for c in PUBLIC_STANDARD_COLUMNS)


def test_a_calibration_of_a_standard_never_registered_is_refused(center: Center) -> None:
    from labserver.registry.records import StandardCalibration, record_standard_calibrated

    with pytest.raises(RegistryConflict, match="standard NOPE cannot be calibrated"):
        record_standard_calibrated(
            center.org.code,
            "NOPE",
            StandardCalibration("C-1", "Lab", "", timezone.localdate(), timezone.localdate(), ""),
            timezone.now(),
        )


def test_the_facts_of_earlier_standards_are_written_once(center: Center) -> None:
    import importlib

    backfill = importlib.import_module(
        "labserver.registry.migrations.0004_facts_of_earlier_standards"
    ).backfill
    written = {f.key: f for f in StandardFact.objects.all()}
    links = set(CalibrationLinkFact.objects.values_list("key", flat=True))
    # what the services wrote is what the backfill would write: nothing is missing
    assert backfill(django_apps) == 0
    assert set(StandardFact.objects.values_list("key", flat=True)) == set(written)
    assert set(CalibrationLinkFact.objects.values_list("key", flat=True)) == links


# ------------------------------------------------------------------ issuers and their keys


def test_an_issuer_is_described_and_a_customer_never(center: Center) -> None:
    from labserver.registry.models import OrganizationFact

    [described] = OrganizationFact.objects.filter(code=center.org.code)
    assert (described.name, described.kind, described.region, described.accreditation) == (
        center.org.name,
        center.org.kind,
        center.org.region,
        center.org.accreditation,
    )
    assert described.key == f"{center.org.code}/described/{center.org.created_at.isoformat()}"
    assert not OrganizationFact.objects.filter(code=center.instrument.owner.code).exists()


def test_a_signing_key_is_registered_at_first_use_and_at_its_revocation(center: Center) -> None:
    from labserver.issuance.models import SigningKeyRecord
    from labserver.issuance.services import revoke_signing_key
    from labserver.registry.models import SigningKeyFact
    from tests.support.lims import next_job

    issue(center, approved_run(center))
    next_job(center)
    issue(center, approved_run(center))  # the second use registers nothing more
    [key] = SigningKeyRecord.objects.filter(organization=center.org)
    [in_use] = SigningKeyFact.objects.filter(issuer=center.org.code)
    assert (in_use.event, in_use.fingerprint, in_use.at) == (
        "in_use",
        key.fingerprint,
        key.first_used_at,
    )
    # what verifies the signatures: the signer's certificate and the roots it chains to
    assert (in_use.certificate_pem, in_use.trust_roots_pem) == (
        key.certificate_pem,
        key.trust_roots_pem,
    )
    assert "BEGIN CERTIFICATE" in in_use.certificate_pem
    revoke_signing_key(
        actor=center.quality_manager, key=key, password=PASSWORD, reason="laptop stolen"
    )
    key.refresh_from_db()
    revoked = SigningKeyFact.objects.get(issuer=center.org.code, event="revoked")
    assert (revoked.fingerprint, revoked.at) == (key.fingerprint, key.revoked_at)


def test_the_facts_of_earlier_issuers_and_keys_are_written_once(center: Center) -> None:
    import importlib

    backfill = importlib.import_module(
        "labserver.registry.migrations.0006_facts_of_earlier_issuers_and_keys"
    ).backfill
    issue(center, approved_run(center))
    assert backfill(django_apps) == 0  # the services wrote them all


# ------------------------------------------------------------------ another node's certificate


def test_another_nodes_certificate_is_answered_from_the_registry(center: Center) -> None:
    from django.test import Client

    certificate, pdf, _ = as_another_nodes(center)
    number = certificate.number
    page = Client().get(f"/verify/{number}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Certificate {number}</h1>" in body
    assert (
        f"Answered from the registry: issued by {center.org.name} ({center.org.code}), which "
        "keeps the certificate itself." in body
    )
    assert center.instrument.serial in body
    assert certificate.pdf_sha256 in body
    assert "Performed on" not in body  # the registry does not hold the run
    vi = Client().get(f"/verify/{number}", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Trả lời từ sổ đăng ký" in vi
    answer = Client().get(f"/api/v1/public/certificates/{number}").json()
    assert (answer["status"], answer["answered_from"], answer["issuer"]["code"]) == (
        "valid",
        "registry",
        center.org.code,
    )
    assert (answer["pdf_sha256"], answer["instrument"]["serial"], answer["performed_on"]) == (
        certificate.pdf_sha256,
        center.instrument.serial,
        None,
    )
    # The file checked against the issuer's registered key: the one issued is valid...
    from django.core.files.uploadedfile import SimpleUploadedFile

    checked = Client().post(
        f"/verify/{number}",
        {"file": SimpleUploadedFile("c.pdf", pdf, "application/pdf")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert checked.status_code == 200
    assert "Valid: this is the file issued" in checked.content.decode()
    # ... one byte changed is not
    altered = pdf[:-10] + bytes([pdf[-10] ^ 1]) + pdf[-9:]
    checked = Client().post(
        f"/verify/{number}",
        {"file": SimpleUploadedFile("c.pdf", altered, "application/pdf")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Altered: this is not the file issued" in checked.content.decode()


def test_another_nodes_revocation_is_answered_without_its_reason(center: Center) -> None:
    from django.test import Client

    from labserver.issuance.verification import verify_upload

    certificate, pdf, _ = as_another_nodes(center)
    record_revoked(center.org.code, certificate.number, timezone.now())
    body = Client().get(f"/verify/{certificate.number}", HTTP_ACCEPT_LANGUAGE="en").content
    today = timezone.localdate(timezone.now(), center.org.zone).isoformat()
    assert f"Revoked on {today}: its issuer states why" in body.decode()
    answer = Client().get(f"/api/v1/public/certificates/{certificate.number}").json()
    assert (answer["status"], answer["revoked_on"], answer["revoked_reason"]) == (
        "revoked",
        today,
        None,
    )
    verdict = verify_upload(pdf)
    assert (verdict.status, verdict.number, verdict.issued_sha256) == (
        "revoked",
        certificate.number,
        certificate.pdf_sha256,
    )


def test_facts_of_one_number_from_two_issuers_are_never_merged(center: Center) -> None:
    from django.test import Client

    from labserver.registry.lookup import registered_certificate

    certificate, _, facts = as_another_nodes(center)
    [issued] = [f for f in facts if isinstance(f, CertificateFact)]
    issued.issuer, issued.key = "ZZ9", f"ZZ9/{certificate.number}/issued"
    CertificateFact.objects.bulk_create([issued])
    with pytest.raises(RegistryConflict, match=rf"{certificate.number} is registered by 2 issuers"):
        registered_certificate(certificate.number)
    assert Client().get(f"/verify/{certificate.number}").status_code == 404
