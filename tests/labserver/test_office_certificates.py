"""The front office's certificates through Django's test client: the list, amending and
revoking with a reason and the password re-entered (wrong passwords count towards the
signature lock), and a label sheet for a selection; roles (403), other organizations (404),
audit entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from labserver.accounts.models import SignatureGuard
from labserver.core.models import AuditEntry
from labserver.issuance.models import Certificate, CertificateEvent
from labserver.issuance.services import issue_certificate
from tests.support.issuing import approved_run, approved_verification, issued
from tests.support.lims import PASSWORD, Center, next_job
from tests.support.pages import signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

WRONG = "not the password"


def test_the_list_shows_the_organization_s_certificates_to_signatories_and_quality(
    center: Center, other_center: Center
) -> None:
    certificate = issued(center)
    for person in (center.signatory, center.quality_manager):
        page = signed_in(person).get("/office/certificates/")
        assert page.status_code == 200
        assert certificate.number in page.content.decode()
    assert signed_in(center.metrologist).get("/office/certificates/").status_code == 403
    other = signed_in(other_center.signatory)
    assert certificate.number not in other.get("/office/certificates/").content.decode()
    assert other.get(f"/office/certificates/{certificate.pk}/").status_code == 404
    revoke = f"/office/certificates/{certificate.pk}/revoke/"
    data = {"revoke-reason": "x", "revoke-password": PASSWORD}
    assert other.post(revoke, data).status_code == 404


def test_revoking_asks_the_password_and_a_wrong_one_changes_nothing(center: Center) -> None:
    certificate = issued(center)
    client = signed_in(center.quality_manager)
    url = f"/office/certificates/{certificate.pk}/revoke/"
    page = client.post(
        url, {"revoke-reason": "issued to the wrong customer", "revoke-password": WRONG}
    )
    assert page.status_code == 403
    assert "password is not correct" in page.context["revoke"].errors["password"][0]
    assert not CertificateEvent.objects.filter(certificate=certificate).exists()
    assert AuditEntry.objects.filter(action="signature.fail").count() == 1
    done = client.post(
        url, {"revoke-reason": "issued to the wrong customer", "revoke-password": PASSWORD}
    )
    assert done.status_code == 302
    event = CertificateEvent.objects.get(certificate=certificate)
    assert (event.kind, event.reason) == ("revoked", "issued to the wrong customer")
    entry = AuditEntry.objects.get(action="certificate.revoke", object_id=certificate.number)
    assert entry.actor_user_id == center.quality_manager.pk
    shown = client.get(f"/office/certificates/{certificate.pk}/").content.decode()
    assert "Revoked" in shown
    assert 'id="revoke-form"' not in shown


def test_a_revocation_without_a_reason_is_refused_on_its_field(center: Center) -> None:
    certificate = issued(center)
    page = signed_in(center.signatory).post(
        f"/office/certificates/{certificate.pk}/revoke/",
        {"revoke-reason": "", "revoke-password": PASSWORD},
    )
    assert page.status_code == 400
    assert page.context["revoke"].errors["reason"]
    assert not CertificateEvent.objects.filter(certificate=certificate).exists()


def test_five_wrong_passwords_lock_the_signature(center: Center) -> None:
    certificate = issued(center)
    client = signed_in(center.signatory)
    url = f"/office/certificates/{certificate.pk}/amend/"
    statuses = [
        client.post(url, {"amend-reason": "typo", "amend-password": WRONG}).status_code
        for _ in range(5)
    ]
    assert statuses == [403, 403, 403, 403, 423]
    assert SignatureGuard.objects.get(user=center.signatory).locked_at is not None
    page = client.post(url, {"amend-reason": "typo", "amend-password": PASSWORD})
    assert page.status_code == 423
    assert "locked" in page.context["amend"].errors["password"][0]
    assert not Certificate.objects.filter(supersedes=certificate).exists()


def test_a_signatory_amends_and_the_replacement_has_a_new_number(center: Center) -> None:
    certificate = issued(center)
    response = signed_in(center.signatory).post(
        f"/office/certificates/{certificate.pk}/amend/",
        {"amend-reason": "the customer's address was misspelt", "amend-password": PASSWORD},
    )
    replacement = Certificate.objects.get(supersedes=certificate)
    assert response.status_code == 302
    assert response["Location"] == f"/office/certificates/{replacement.pk}/"
    assert replacement.number != certificate.number
    assert AuditEntry.objects.filter(
        action="certificate.amend", object_id=replacement.number
    ).exists()


def test_an_amendment_may_report_another_approved_run_of_the_instrument(
    center: Center,
) -> None:
    certificate = issued(center)
    next_job(center)
    later = approved_run(center)
    client = signed_in(center.signatory)
    page = client.get(f"/office/certificates/{certificate.pk}/")
    assert f'value="{later.pk}"' in page.content.decode()
    response = client.post(
        f"/office/certificates/{certificate.pk}/amend/",
        {
            "amend-run": str(later.pk),
            "amend-reason": "re-measured after the customer's complaint",
            "amend-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    replacement = Certificate.objects.get(supersedes=certificate)
    assert replacement.run_id == later.pk


def test_a_quality_manager_may_revoke_but_not_amend(center: Center) -> None:
    certificate = issued(center)
    client = signed_in(center.quality_manager)
    page = client.get(f"/office/certificates/{certificate.pk}/").content.decode()
    assert 'id="revoke-form"' in page
    assert 'id="amend-form"' not in page
    url = f"/office/certificates/{certificate.pk}/amend/"
    refused = client.post(url, {"amend-reason": "typo", "amend-password": PASSWORD})
    assert refused.status_code == 403


def test_labels_print_for_a_selection_of_verifications_only(center: Center, tmp_path: Path) -> None:
    run, signatory = approved_verification(center, tmp_path)
    verification = issue_certificate(actor=signatory, run=run, password=PASSWORD)
    client = signed_in(signatory)
    listed = client.get("/office/certificates/").content.decode()
    assert f'id="label-{verification.pk}"' in listed
    sheet = client.get(f"/office/certificates/labels.pdf?ids={verification.pk}")
    assert sheet.status_code == 200
    assert sheet.content.startswith(b"%PDF")
    calibration = issued(center)
    refused = signed_in(center.signatory).get(
        f"/office/certificates/labels.pdf?ids={calibration.pk}"
    )
    assert refused.status_code == 400
    assert "not a verification" in refused.context["error"]
