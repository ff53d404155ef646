"""The front office's people through Django's test client: an organization administrator
invites a person (inactive account, a one-time link by e-mail to choose a password), sets
roles and certifications, ends a role, deactivates an account and unlocks a locked one;
roles (403), other organizations (404), audit entries, nothing deleted."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from labserver.accounts.models import Membership, SignatureGuard, User
from labserver.core.models import AuditEntry
from tests.support.frontoffice import admin_of
from tests.support.lims import PASSWORD, TODAY, Center
from tests.support.pages import signed_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase 42"


def signs_in(username: str, password: str) -> bool:
    """Whether the sign-in form lets ``username`` in (it redirects) with ``password``."""
    form = {"username": username, "password": password}
    return Client().post("/accounts/login/", form).status_code == 302


def invitation(**changes: Any) -> dict[str, Any]:
    return {
        "username": "nguyen.an",
        "full_name": "Nguyễn Văn An",
        "email": "an@example.org",
        "role": "metrologist",
        "certified_fields": ["mass", "pressure"],
        "certificate_number": "KĐV-2026-17",
        "valid_until": (TODAY + timedelta(days=700)).isoformat(),
        **changes,
    }


def invite(center: Center, captured: Any, **changes: Any) -> tuple[Any, User]:
    with captured(execute=True):
        response = signed_in(admin_of(center)).post("/office/people/invite/", invitation(**changes))
    return response, User.objects.get(username=invitation(**changes)["username"])


def test_an_invited_person_chooses_a_password_once_and_signs_in(
    center: Center, django_capture_on_commit_callbacks: Any
) -> None:
    response, invited = invite(center, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert not invited.is_active
    assert not invited.has_usable_password()
    membership = Membership.objects.get(user=invited, organization=center.org)
    assert (membership.role, membership.fields) == ("metrologist", ["mass", "pressure"])
    assert membership.certificate_number == "KĐV-2026-17"
    assert AuditEntry.objects.filter(action="user.invite", object_id=str(invited.pk)).exists()
    (message,) = mail.outbox
    assert message.to == ["an@example.org"]
    link = re.search(r"http://testserver(/office/people/welcome/\S+/)", str(message.body))
    assert link is not None
    visitor = Client()
    assert visitor.get(link.group(1)).status_code == 200
    short = visitor.post(link.group(1), {"password": "short", "again": "short"})
    assert short.status_code == 400
    assert short.context["form"].errors["password"]
    done = visitor.post(link.group(1), {"password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert done.status_code == 302
    invited.refresh_from_db()
    assert invited.is_active
    assert invited.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.activate", object_id=str(invited.pk)).exists()
    assert signs_in("nguyen.an", NEW_PASSWORD)
    assert visitor.get(link.group(1)).status_code == 404  # spent


def test_an_invitation_with_a_taken_name_or_a_past_validity_is_refused_on_its_field(
    center: Center,
) -> None:
    client = signed_in(admin_of(center))
    taken = client.post("/office/people/invite/", invitation(username=center.metrologist.username))
    assert taken.status_code == 400
    assert "taken" in taken.context["form"].errors["username"][0]
    late = (TODAY - timedelta(days=1)).isoformat()
    past = client.post("/office/people/invite/", invitation(valid_until=late))
    assert past.status_code == 400
    assert "past" in past.context["form"].errors["valid_until"][0]
    assert not User.objects.filter(username="nguyen.an").exists()
    assert mail.outbox == []


def test_people_are_the_administrator_s_and_only_of_their_organization(
    center: Center, other_center: Center
) -> None:
    assert signed_in(center.quality_manager).get("/office/people/").status_code == 403
    client = signed_in(admin_of(center))
    page = client.get("/office/people/").content.decode()
    assert "Metrologist / verifier (QT1): Electrical (DC/LF), Mass and weighing" in page
    assert center.metrologist.username in page
    assert other_center.metrologist.username not in page
    assert client.get(f"/office/people/{other_center.metrologist.pk}/").status_code == 404
    url = f"/office/people/{other_center.metrologist.pk}/deactivate/"
    assert client.post(url, {"deactivate-reason": "left"}).status_code == 404


def test_an_administrator_sets_a_verifier_s_certification(center: Center) -> None:
    membership = Membership.objects.get(user=center.metrologist, role="metrologist")
    prefix = f"m{membership.pk}"
    until = (TODAY + timedelta(days=365)).isoformat()
    response = signed_in(admin_of(center)).post(
        f"/office/people/{center.metrologist.pk}/roles/{membership.pk}/",
        {
            f"{prefix}-role": "metrologist",
            f"{prefix}-certified_fields": ["temperature"],
            f"{prefix}-certificate_number": "C-9",
            f"{prefix}-valid_until": until,
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.fields, membership.certificate_number) == (["temperature"], "C-9")
    assert membership.valid_until.isoformat() == until  # type: ignore[union-attr]
    entry = AuditEntry.objects.filter(action="membership.grant", object_id=str(membership.pk))
    assert (entry.latest("pk").after or {})["fields"] == ["temperature"]


def test_an_administrator_gives_a_role_and_ends_one(center: Center) -> None:
    client = signed_in(admin_of(center))
    given = client.post(
        f"/office/people/{center.metrologist.pk}/roles/",
        {"add-role": "reviewer", "add-certified_fields": ["mass"]},
    )
    assert given.status_code == 302
    reviewer = Membership.objects.get(user=center.metrologist, role="reviewer")
    ended = client.post(
        f"/office/people/{center.metrologist.pk}/roles/{reviewer.pk}/end/",
        {f"end{reviewer.pk}-reason": "moved to the mass bench"},
    )
    assert ended.status_code == 302
    reviewer.refresh_from_db()
    assert not reviewer.active  # kept, inactive
    entry = AuditEntry.objects.get(action="membership.deactivate", object_id=str(reviewer.pk))
    assert entry.reason == "moved to the mass bench"


def test_the_last_administrator_stays(center: Center) -> None:
    admin = admin_of(center)
    membership = Membership.objects.get(user=admin, role="administrator")
    page = signed_in(admin).post(
        f"/office/people/{admin.pk}/roles/{membership.pk}/end/",
        {f"end{membership.pk}-reason": "leaving"},
    )
    assert page.status_code == 409
    membership.refresh_from_db()
    assert membership.active


def test_an_administrator_deactivates_an_account_never_their_own(center: Center) -> None:
    admin = admin_of(center)
    client = signed_in(admin)
    done = client.post(
        f"/office/people/{center.reviewer.pk}/deactivate/", {"deactivate-reason": "left the center"}
    )
    assert done.status_code == 302
    center.reviewer.refresh_from_db()
    assert not center.reviewer.is_active
    assert User.objects.filter(pk=center.reviewer.pk).exists()
    assert not signs_in(center.reviewer.username, PASSWORD)
    entry = AuditEntry.objects.get(action="user.deactivate", object_id=str(center.reviewer.pk))
    assert entry.reason == "left the center"
    own = client.post(f"/office/people/{admin.pk}/deactivate/", {"deactivate-reason": "x"})
    assert own.status_code == 409


def test_an_administrator_unlocks_a_locked_signature_with_a_reason(center: Center) -> None:
    SignatureGuard.objects.create(user=center.signatory, failures=5, locked_at=timezone.now())
    client = signed_in(admin_of(center))
    page = client.get(f"/office/people/{center.signatory.pk}/").content.decode()
    assert 'id="unlock-form"' in page
    empty = client.post(f"/office/people/{center.signatory.pk}/unlock/", {"unlock-reason": ""})
    assert empty.status_code == 400
    done = client.post(
        f"/office/people/{center.signatory.pk}/unlock/",
        {"unlock-reason": "spoke with her: she had caps lock on"},
    )
    assert done.status_code == 302
    guard = SignatureGuard.objects.get(user=center.signatory)
    assert (guard.failures, guard.locked_at) == (0, None)
    entry = AuditEntry.objects.get(action="user.unlock", object_id=str(center.signatory.pk))
    assert entry.actor_user_id == admin_of(center).pk


def test_a_lost_invitation_is_sent_again_and_a_deactivated_account_reactivated(
    center: Center, django_capture_on_commit_callbacks: Any
) -> None:
    _, invited = invite(center, django_capture_on_commit_callbacks)
    client = signed_in(admin_of(center))
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/office/people/{invited.pk}/invitation/")
    assert again.status_code == 302
    assert [m.to for m in mail.outbox] == [["an@example.org"], ["an@example.org"]]
    assert AuditEntry.objects.filter(action="user.reinvite", object_id=str(invited.pk)).exists()
    refused = client.post(f"/office/people/{invited.pk}/reactivate/", {"reactivate-reason": "x"})
    assert refused.status_code == 409  # never arrived: nothing to reactivate

    client.post(f"/office/people/{center.reviewer.pk}/deactivate/", {"deactivate-reason": "left"})
    back = client.post(
        f"/office/people/{center.reviewer.pk}/reactivate/", {"reactivate-reason": "came back"}
    )
    assert back.status_code == 302
    center.reviewer.refresh_from_db()
    assert center.reviewer.is_active
    assert signs_in(center.reviewer.username, PASSWORD)
    entry = AuditEntry.objects.get(action="user.reactivate", object_id=str(center.reviewer.pk))
    assert entry.reason == "came back"


def test_an_administrator_lifts_a_sign_in_lockout(center: Center) -> None:
    name = center.metrologist.username
    for _ in range(5):  # CALTRACE_LOGIN_FAILURE_LIMIT
        assert not signs_in(name, "not the password")
    assert not signs_in(name, PASSWORD)  # locked from this address
    client = signed_in(admin_of(center))
    listed = client.get("/office/people/").content.decode()
    row = listed[listed.index(f'id="person-{center.metrologist.pk}"') :]
    assert "locked out" in row[: row.index("</tr>")]
    done = client.post(
        f"/office/people/{center.metrologist.pk}/unlock/",
        {"unlock-reason": "forgot the new password; reset in person"},
    )
    assert done.status_code == 302
    assert signs_in(name, PASSWORD)
