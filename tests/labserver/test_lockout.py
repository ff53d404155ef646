"""Guessing stopped and recorded (issue 15, point 4; 21 CFR 11.300(d)).

Logins through the real login views (the web sign-in and ``/admin/login/``) with
django-axes counting in the database; electronic signatures through the API on runs
submitted by the agent (``tests.support.lims.post_run``); the unlock through its API endpoint and
its page. Every failure, lock and unlock is read back from the audit trail, whose chains
must still verify.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.utils import timezone

from labserver.accounts import lockout
from labserver.accounts.models import SignatureGuard, User
from labserver.core.audit import chain_key, verify_audit
from labserver.core.errors import DomainError
from labserver.core.models import AuditEntry
from labserver.measurements import services as measurements
from labserver.measurements.models import Run
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    post_run,
    procedure_built_once,
    run_payload,
)

pytestmark = pytest.mark.django_db

LIMIT = 5  # CALTRACE_LOGIN_FAILURE_LIMIT and CALTRACE_SIGNATURE_FAILURE_LIMIT by default
WRONG = "not-the-password"


def login(client: Client, username: str, password: str, path: str = "/accounts/login/") -> Any:
    return client.post(path, {"username": username, "password": password})


def entries(action: str, **where: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **where).order_by("chain", "seq"))


def after(entry: AuditEntry) -> dict[str, Any]:
    assert isinstance(entry.after, dict)
    return entry.after


def before(entry: AuditEntry) -> dict[str, Any]:
    assert isinstance(entry.before, dict)
    return entry.before


def assert_chains_intact() -> None:
    report = verify_audit()
    assert report.ok, [str(p) for p in report.problems]


# ------------------------------------------------------------------ logins


def test_the_web_login_locks_after_the_limit_even_for_the_right_password(center: Center) -> None:
    client = Client()
    name = center.reviewer.username
    for attempt in range(1, LIMIT):
        response = login(client, name, WRONG)
        assert response.status_code == 200, attempt  # the form again, with its error
        assert "Sign-in locked" not in response.content.decode()
    locked = login(client, name, WRONG)
    page = locked.content.decode()
    assert locked.status_code == 429
    assert "Sign-in locked" in page
    assert 'data-code="login_locked"' in page
    until = timezone.localtime() + timedelta(minutes=30)
    assert until.strftime("%Y-%m-%d") in page  # "locked until <date> <time>"
    assert "quality manager" in page
    assert "Traceback" not in page

    right = login(client, name, PASSWORD)
    assert right.status_code == 429, "the right password is refused during the lockout"
    assert "_auth_user_id" not in client.session


def test_the_locked_page_is_in_vietnamese(center: Center) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    for _ in range(LIMIT):
        response = login(client, center.reviewer.username, WRONG)
    page = response.content.decode()
    assert response.status_code == 429
    assert 'lang="vi"' in page
    assert "Đăng nhập bị khóa" in page
    assert "Sign-in locked" not in page


def test_the_admin_login_locks_too(center: Center) -> None:
    User.objects.create_superuser("root", "root@example.org", PASSWORD)
    client = Client()
    for _ in range(LIMIT):
        response = login(client, "root", WRONG, "/admin/login/")
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    assert login(client, "root", PASSWORD, "/admin/login/").status_code == 429
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_cool_off_ends_the_lockout(center: Center) -> None:
    client = Client()
    name = center.reviewer.username
    for _ in range(LIMIT):
        login(client, name, WRONG)
    assert login(client, name, PASSWORD).status_code == 429
    # The last refused attempt started the 30 minutes again.
    with time_machine.travel(timezone.now() + timedelta(minutes=29), tick=False):
        assert login(Client(), name, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=31 + 29), tick=False):
        assert login(client, name, PASSWORD).status_code == 302


def test_a_lockout_is_per_name_and_address(center: Center) -> None:
    """Five wrong passwords from one address do not lock the person out from another."""
    name = center.reviewer.username
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(LIMIT):
        login(attacker, name, WRONG)
    assert login(attacker, name, PASSWORD).status_code == 429
    assert login(Client(REMOTE_ADDR="198.51.100.7"), name, PASSWORD).status_code == 302


def test_a_client_asking_for_json_gets_the_api_error_shape(center: Center) -> None:
    client = Client(HTTP_ACCEPT="application/json")
    for _ in range(LIMIT):
        response = login(client, center.reviewer.username, WRONG)
    body = response.json()
    assert response.status_code == 429
    assert (body["code"], body["field"]) == ("login_locked", "username")
    assert body["until"]
    assert "quality manager" in body["detail"]


def test_behind_proxies_the_address_is_counted_from_the_right(settings: Any) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.1"
    )
    settings.CALTRACE_TRUSTED_PROXIES = []
    assert lockout.client_address(request) == "10.0.0.2"
    settings.CALTRACE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert lockout.client_address(request) == "203.0.113.9"  # never the client's own claim


def test_client_login_works_under_axes_given_a_request(center: Center) -> None:
    """The documented way for tests: axes needs the request that ``authenticate`` gets."""
    client = Client()
    assert client.login(request=HttpRequest(), username=center.auditor.username, password=PASSWORD)
    assert client.get("/quality/audit/").status_code == 200


def test_every_failed_login_and_the_lock_are_audited_without_the_password(center: Center) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    name = center.reviewer.username
    for _ in range(LIMIT + 1):
        login(client, name, WRONG)
    login(client, "nobody-of-that-name", WRONG)

    org_chain = chain_key(center.org.pk)
    failures = entries("login.fail", chain=org_chain)
    assert len(failures) == LIMIT + 1
    assert [after(e)["failures"] for e in failures] == list(range(1, LIMIT + 2))
    assert [after(e)["locked"] for e in failures] == [False] * (LIMIT - 1) + [True, True]
    first = failures[0]
    assert (first.actor, first.actor_user_id) == ("anonymous", None)
    assert (first.object_type, first.object_id) == ("user", str(center.reviewer.pk))
    assert after(first)["username"] == name
    assert after(first)["address"] == "203.0.113.9"
    locks = entries("login.lock")
    assert [(e.chain, after(e)["failures"]) for e in locks] == [(org_chain, LIMIT)]
    assert locks[0].seq == failures[LIMIT - 1].seq + 1  # right after the failure that locked

    unknown = entries("login.fail", chain="system")
    assert [(e.object_id, after(e)["username"]) for e in unknown] == [
        ("nobody-of-that-name", "nobody-of-that-name")
    ]
    stored = AuditEntry.objects.filter(action__startswith="login.").values_list("after", flat=True)
    assert all(WRONG not in str(after) for after in stored)
    assert_chains_intact()


# ------------------------------------------------------------------ electronic signatures


def submitted_run(center: Center) -> Run:
    payload = run_payload(center)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    return Run.objects.get(pk=payload["run_id"])


def review(center: Center, run: Run, password: str) -> Any:
    return center.client("reviewer").post(
        f"/api/v1/runs/{run.pk}/review/", {"password": password}, format="json"
    )


def test_wrong_signature_passwords_lock_the_signer_through_the_api(center: Center) -> None:
    run = submitted_run(center)
    for attempt in range(1, LIMIT):
        refused = review(center, run, WRONG)
        assert (refused.status_code, refused.json()["field"]) == (403, "password"), attempt
    locked = review(center, run, WRONG)
    body = locked.json()
    assert locked.status_code == 423
    assert (body["code"], body["field"]) == ("signature_locked", "password")
    assert "locked" in body["detail"]
    assert f"quality manager of {center.org.code}" in body["detail"]

    # Locked: the right password is refused too, without being looked at; nothing signed.
    again = review(center, run, PASSWORD)
    assert (again.status_code, again.json()["code"]) == (423, "signature_locked")
    run.refresh_from_db()
    assert run.state == "submitted"
    assert not run.signatures.filter(meaning="checked").exists()

    org_chain = chain_key(center.org.pk)
    failed = entries("signature.fail", chain=org_chain)
    assert [after(e)["failures"] for e in failed] == list(range(1, LIMIT + 1))
    assert {(e.actor, e.object_type, e.object_id, after(e)["signing"]) for e in failed} == {
        (f"user:{center.reviewer.username}", "run", str(run.pk), "run.review")
    }
    [lock] = entries("signature.lock", chain=org_chain)
    assert lock.object_id == str(center.reviewer.pk)
    [refusal] = entries("signature.refuse", chain=org_chain)
    assert after(refusal)["signing"] == "run.review"
    assert_chains_intact()


def test_a_correct_signature_resets_the_count(center: Center) -> None:
    run = submitted_run(center)
    for _ in range(LIMIT - 1):
        assert review(center, run, WRONG).status_code == 403
    assert review(center, run, PASSWORD).status_code == 200
    assert SignatureGuard.objects.get(user=center.reviewer).failures == 0
    # Four more wrong ones (rejecting the reviewed run) do not reach the limit.
    reject = f"/api/v1/runs/{run.pk}/reject/"
    for _ in range(LIMIT - 1):
        response = center.client("reviewer").post(
            reject, {"password": WRONG, "reason": "noise"}, format="json"
        )
        assert response.status_code == 403
    assert SignatureGuard.objects.get(user=center.reviewer).locked_at is None


def test_a_refusal_inside_a_callers_transaction_is_still_recorded(center: Center) -> None:
    """A nonconformity's recall signs a revocation inside its own transaction: the wrapper
    of the outer service writes the failure again once the outer transaction rolled back."""
    run = submitted_run(center)

    @lockout.counts_signature_failures
    @transaction.atomic
    def outer() -> None:
        measurements.review_run(actor=center.reviewer, run=run, password=WRONG)

    with pytest.raises(DomainError):
        outer()
    assert [after(e)["failures"] for e in entries("signature.fail")] == [1]
    assert SignatureGuard.objects.get(user=center.reviewer).failures == 1
    assert_chains_intact()


# ------------------------------------------------------------------ unlocking


def lock_everything(center: Center) -> Run:
    """The reviewer locked out of signing in (from the test client's address) and signing."""
    for _ in range(LIMIT):
        login(Client(), center.reviewer.username, WRONG)
    run = submitted_run(center)
    for _ in range(LIMIT):
        review(center, run, WRONG)
    return run


def test_a_quality_manager_unlocks_through_the_api(center: Center, other_center: Center) -> None:
    run = lock_everything(center)
    reviewer = center.reviewer
    url = f"/api/v1/users/{reviewer.pk}/unlock/"

    listed = center.client("quality_manager").get("/api/v1/users/locked/")
    [state] = listed.json()
    assert state["username"] == reviewer.username
    assert state["login_locks"][0]["failures"] == LIMIT
    assert state["login_locks"][0]["until"]
    assert state["signature_locked_at"]
    assert state["signature_failures"] == LIMIT

    assert other_center.client("quality_manager").get("/api/v1/users/locked/").json() == []
    foreign = other_center.client("quality_manager").post(url, {"reason": "x"}, format="json")
    assert foreign.status_code == 404
    not_admin = center.client("metrologist").post(url, {"reason": "x"}, format="json")
    assert (not_admin.status_code, not_admin.json()["code"]) == (403, "permission_denied")
    assert center.client("metrologist").get("/api/v1/users/locked/").status_code == 403
    no_reason = center.client("quality_manager").post(url, {"reason": " "}, format="json")
    assert (no_reason.status_code, no_reason.json()["field"]) == (400, "reason")

    done = center.client("quality_manager").post(
        url, {"reason": "called the reviewer: typing errors"}, format="json"
    )
    assert done.status_code == 200, done.json()
    assert done.json()["locked"] is False
    assert center.client("quality_manager").get("/api/v1/users/locked/").json() == []
    twice = center.client("quality_manager").post(url, {"reason": "again"}, format="json")
    assert twice.status_code == 409

    [entry] = entries("user.unlock")
    assert (entry.chain, entry.actor) == (
        chain_key(center.org.pk),
        f"user:{center.quality_manager.username}",
    )
    assert entry.reason == "called the reviewer: typing errors"
    assert before(entry)["signature_failures"] == LIMIT
    assert before(entry)["login_locks"]
    assert review(center, run, PASSWORD).status_code == 200
    assert login(Client(), reviewer.username, PASSWORD).status_code == 302
    assert_chains_intact()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_quality_manager_unlocks_on_the_locked_accounts_page(
    center: Center, other_center: Center
) -> None:
    lock_everything(center)
    reviewer = center.reviewer
    qm = signed_in(center.quality_manager)
    page = qm.get("/quality/locks/").content.decode()
    assert f"person-{reviewer.pk}" in page
    assert "Unlock" in page
    assert 'href="/quality/locks/"' in page  # in the navigation bar

    url = f"/quality/locks/{reviewer.pk}/unlock/"
    assert signed_in(other_center.quality_manager).post(url, {"reason": "x"}).status_code == 404
    assert signed_in(center.metrologist).post(url, {"reason": "x"}).status_code == 403
    assert signed_in(center.metrologist).get("/quality/locks/").status_code == 403
    empty = qm.post(url, {"reason": ""})
    assert empty.status_code == 400
    assert "reason" in empty.content.decode()

    done = qm.post(url, {"reason": "spoke with the reviewer"}, follow=True)
    assert done.status_code == 200
    assert "is unlocked" in done.content.decode()
    assert f"person-{reviewer.pk}" not in done.content.decode()
    assert entries("user.unlock")[0].reason == "spoke with the reviewer"

    vi = signed_in(center.quality_manager)
    vi.cookies["django_language"] = "vi"
    assert "Tài khoản bị khóa" in vi.get("/quality/locks/").content.decode()


def test_a_locked_signer_is_told_on_the_run_page_in_vietnamese(center: Center) -> None:
    run = submitted_run(center)
    for _ in range(LIMIT):
        review(center, run, WRONG)
    client = signed_in(center.reviewer)
    client.cookies["django_language"] = "vi"
    response = client.post(f"/work/runs/{run.pk}/review/", {"password": PASSWORD})
    text = response.content.decode()
    assert response.status_code == 423
    assert "quyền ký của" in text
    assert "bị khóa" in text
    assert f"quản lý chất lượng của {center.org.code}" in text


def test_without_a_cool_off_the_lockout_lasts_until_unlocked(center: Center, settings: Any) -> None:
    """``CALTRACE_LOGIN_COOLOFF_MINUTES=0``; the limit follows the setting (here 3)."""
    settings.AXES_COOLOFF_TIME = None
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    name = center.reviewer.username
    for _ in range(3):
        response = login(client, name, WRONG)
    assert response.status_code == 429
    assert "locked until it is unlocked" in response.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=7), tick=False):
        assert login(client, name, PASSWORD).status_code == 429
        [state] = center.client("quality_manager").get("/api/v1/users/locked/").json()
        assert state["login_locks"][0]["until"] is None
        unlocked = center.client("quality_manager").post(
            f"/api/v1/users/{center.reviewer.pk}/unlock/",
            {"reason": "back from leave"},
            format="json",
        )
        assert unlocked.status_code == 200
        assert login(client, name, PASSWORD).status_code == 302
    assert [after(e)["until"] for e in entries("login.lock")] == [None]
