"""E-mail notifications (issue 19): instruments falling due at 90, 60 and 30 days, issued
certificates and recall letters, to the owner's people only, once each, as each person
chose, a failed send retried; the settings page; the command.

Django's locmem backend keeps the e-mails in ``mail.outbox``. The case's certificates are
issued for real today; the clock (time-machine) is moved to the days around their due date.
"""

from __future__ import annotations

import smtplib
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from labserver.accounts.models import Organization, User
from labserver.core.models import AuditEntry
from labserver.instruments.models import InstrumentType
from labserver.issuance.documents import add_months
from labserver.nonconformities import services as nonconformities
from labserver.notifications.models import Notification
from labserver.notifications.services import RUN_LOCK, send_notifications
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    TODAY,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    person,
    procedure_built_once,
)
from tests.support.nonconformity import LARGE, Case, case_built_once, case_world  # noqa: F401  (CASE_BUILT_ONCE)
from tests.support.pages import signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]

PAGE = "/account/notifications/"


@pytest.fixture(autouse=True)
def _locmem(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CALTRACE_PUBLIC_URL = "https://lims.example.org"


def customer(owner: Organization, name: str) -> User:
    """A person of ``owner`` with the customer role and an e-mail address."""
    user = person(owner, name, "customer")
    User.objects.filter(pk=user.pk).update(email=f"{name}@example.org")
    user.refresh_from_db()
    return user


def outbox_to(user: User) -> list[Any]:
    return [m for m in mail.outbox if m.to == [user.email]]


def text_of(message: Any) -> str:
    """The plain text and the HTML of an e-mail, together."""
    return str(message.body) + "".join(str(content) for content, _type in message.alternatives)


def at_noon(day: date) -> Any:
    """The clock frozen at noon of ``day`` in the lab's zone."""
    moment = datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def owners(case: Case) -> tuple[User, User]:
    """A customer person of each of the case's two customers."""
    first = customer(case.first.run.job.instrument.owner, "first-owner")
    second = customer(case.second.run.job.instrument.owner, "second-owner")
    return first, second


@pytest.fixture
def due_on(case: Case) -> date:
    """The day the case's certificates fall due: the DMM's type now states 12 months."""
    InstrumentType.objects.filter(code="dmm").update(verification_interval_months=12)
    finished = case.first.run.finished_at
    return add_months(timezone.localdate(finished, case.center.org.zone), 12)


def run_on(day: date) -> list[Any]:
    """Send on ``day`` (the clock frozen there); the e-mails this run sent."""
    mail.outbox.clear()
    with at_noon(day):
        send_notifications()
    return list(mail.outbox)


# ------------------------------------------------------------------------- falling due


def test_owners_are_told_at_90_60_and_30_days_once_each(
    case: Case, owners: tuple[User, User], due_on: date
) -> None:
    first, second = owners
    assert run_on(due_on - timedelta(days=91)) == []
    sent = run_on(due_on - timedelta(days=90))
    assert {m.to[0] for m in sent} == {first.email, second.email}
    [to_first] = outbox_to(first)
    assert "within 90 days" in to_first.subject
    assert case.first.run.job.instrument.serial in text_of(to_first)
    # another customer's instrument is never in it, nor its people's addresses
    assert case.second.run.job.instrument.serial not in text_of(to_first)
    assert second.email not in text_of(to_first)
    assert to_first.cc == to_first.bcc == []
    [to_second] = outbox_to(second)
    assert case.second.run.job.instrument.serial in text_of(to_second)
    assert case.first.run.job.instrument.serial not in text_of(to_second)

    assert run_on(due_on - timedelta(days=90)) == []  # a rerun sends nothing twice
    assert run_on(due_on - timedelta(days=89)) == []
    assert run_on(due_on - timedelta(days=61)) == []
    assert {"within 60 days" in m.subject for m in run_on(due_on - timedelta(days=60))} == {True}
    assert run_on(due_on - timedelta(days=31)) == []
    thirty = run_on(due_on - timedelta(days=30))
    assert len(thirty) == 2
    assert all("within 30 days" in m.subject for m in thirty)
    assert run_on(due_on - timedelta(days=10)) == []
    assert run_on(due_on + timedelta(days=1)) == []  # overdue: the portal says so

    rows = Notification.objects.filter(recipient=first, kind="due", status="sent")
    assert sorted({r.occasion for r in rows}) == ["30", "60", "90"]
    entries = AuditEntry.objects.filter(action="notification.sent", object_type="notification")
    assert entries.count() == Notification.objects.count()


def test_a_missed_run_tells_the_narrowest_threshold_once(
    case: Case, owners: tuple[User, User], due_on: date
) -> None:
    first, _second = owners
    [to_first] = [m for m in run_on(due_on - timedelta(days=45)) if m.to == [first.email]]
    assert "within 60 days" in to_first.subject
    assert "45 days left" in to_first.body
    assert run_on(due_on - timedelta(days=44)) == []


def test_a_person_who_turned_off_a_kind_is_not_told_it(
    case: Case, owners: tuple[User, User], due_on: date
) -> None:
    first, second = owners
    page = signed_in(first).post(PAGE, {"issued": "on", "recall": "on", "language": "vi"})
    assert page.status_code == 302
    run_on(due_on - timedelta(days=90))
    assert outbox_to(first) == []
    assert len(outbox_to(second)) == 1
    assert not Notification.objects.filter(recipient=first).exists()
    # The certificates issued today: the person still wants those, in Vietnamese.
    sent = run_on(TODAY)
    [issued] = [m for m in sent if m.to == [first.email] and case.first.number in m.subject]
    assert issued.subject == f"Đã cấp giấy chứng nhận {case.first.number}"
    assert not any("due" in m.subject for m in sent)


# -------------------------------------------------------------- failures and the command


def test_a_failed_send_is_recorded_and_retried_never_marked_sent(
    case: Case, owners: tuple[User, User], due_on: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _second = owners

    def refuse(self: Any, messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("the relay hung up")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
        with pytest.raises(CommandError, match="failed"), at_noon(due_on - timedelta(days=90)):
            call_command("send_notifications")
    failed = Notification.objects.get(recipient=first, kind="due")
    assert (failed.status, failed.attempts, failed.sent_at) == ("failed", 1, None)
    assert "the relay hung up" in failed.error
    assert AuditEntry.objects.filter(action="notification.failed", object_id=str(failed.pk))

    assert len(outbox_to(first)) == 0
    run_on(due_on - timedelta(days=89))  # the next run tries again
    assert len(outbox_to(first)) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == ("sent", 2, "")
    assert run_on(due_on - timedelta(days=88)) == []


def test_the_command_dry_run_sends_and_records_nothing(
    case: Case, owners: tuple[User, User], due_on: date, capsys: pytest.CaptureFixture[str]
) -> None:
    day = (due_on - timedelta(days=90)).isoformat()
    call_command("send_notifications", "--dry-run", "--today", day)
    out = capsys.readouterr().out
    assert f"would send due (90) → {owners[0].email}" in out
    assert mail.outbox == []
    assert not Notification.objects.exists()
    with pytest.raises(CommandError, match="--today: '2026-13-01' is not a date"):
        call_command("send_notifications", "--today", "2026-13-01")


# ---------------------------------------------------------- certificates and recalls


def test_an_issued_certificate_is_told_to_its_owners_people_only(
    case: Case, owners: tuple[User, User], other_center: Center
) -> None:
    first, second = owners
    stranger = customer(other_center.instrument.owner, "stranger")
    # Past the window (CALTRACE_NOTIFICATIONS_WINDOW_DAYS, 14) a certificate is not told:
    # the first run on an old database does not e-mail every certificate ever issued.
    assert run_on(TODAY + timedelta(days=30)) == []
    sent = run_on(TODAY)
    assert outbox_to(stranger) == []
    [about_first] = [m for m in outbox_to(first) if case.first.number in m.subject]
    text = text_of(about_first)
    assert case.first.verify_url in text
    assert (
        f"https://lims.example.org/portal/instruments/{case.first.run.job.instrument.pk}/" in text
    )
    assert about_first.alternatives[0][1] == "text/html"
    assert [m.subject for m in outbox_to(second)] == [f"Certificate {case.second.number} issued"]
    assert len(sent) == len(outbox_to(first)) + 1
    assert run_on(TODAY) == []


def test_a_recall_letter_goes_to_the_people_of_the_customer_concerned(
    case: Case, owners: tuple[User, User]
) -> None:
    first, second = owners
    qm = case.center.quality_manager
    found = nonconformities.open_nonconformity(
        actor=qm,
        standard=case.center.standard,
        out_of_tolerance_since=TODAY - timedelta(days=1),
        found_on=TODAY,
        description="As-found error +20 µV at 0.1 V on recalibration.",
        shift=LARGE,
        shift_unit="V",
    )
    nonconformities.decide(
        actor=qm,
        nonconformity=found,
        certificate=case.first,
        action="recall",
        reason="out of tolerance",
        password=PASSWORD,
    )
    run_on(TODAY)
    [letter] = [m for m in outbox_to(first) if "Recall" in m.subject]
    assert f"{found.number}/{case.first.run.job.instrument.owner.code}" in letter.subject
    assert case.first.number in letter.body
    assert case.second.number not in letter.body
    [(_name, pdf, kind)] = letter.attachments
    assert (kind, pdf[:5]) == ("application/pdf", b"%PDF-")
    assert not [m for m in outbox_to(second) if "Recall" in m.subject]
    assert run_on(TODAY) == []


# ------------------------------------------------------------------------ the page


def test_the_settings_page_saves_the_persons_choice_with_an_audit_entry(
    case: Case, owners: tuple[User, User]
) -> None:
    first, _second = owners
    client = signed_in(first)
    page = client.get(PAGE)
    assert page.status_code == 200
    for name in ("due", "issued", "recall"):  # on until the person says otherwise
        assert f'name="{name}" aria-describedby="id_{name}_helptext" id="id_{name}" checked' in (
            page.content.decode()
        )
    assert client.post(PAGE, {"due": "on", "language": "xx"}).status_code == 400
    saved = client.post(PAGE, {"due": "on", "language": ""}, follow=True)
    assert "Your notification settings are saved." in saved.content.decode()
    entry = AuditEntry.objects.filter(action="notification.preferences").latest("pk")
    assert entry.after == {"due": True, "issued": False, "recall": False, "language": ""}
    client.cookies["django_language"] = "vi"
    assert "Thông báo qua thư điện tử" in client.get(PAGE).content.decode()


def test_the_settings_page_asks_to_sign_in() -> None:
    from django.test import Client

    assert Client().get(PAGE).status_code == 302


def test_a_second_run_at_the_same_time_is_refused(
    case: Case, owners: tuple[User, User], due_on: date
) -> None:
    """The lock is PostgreSQL's: another session holds it, as a run in another process."""
    if connection.vendor != "postgresql":
        pytest.skip("the run's lock is a PostgreSQL advisory lock")
    params = connection.get_connection_params()
    login = {k: params[k] for k in ("dbname", "user", "host", "port", "password") if k in params}
    with psycopg.connect(**login, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [RUN_LOCK])
        with pytest.raises(CommandError, match="another send_notifications is running"):
            call_command("send_notifications", "--today", (due_on - timedelta(days=90)).isoformat())
        # released here, not by closing the connection: a closed session's backend lets its
        # locks go when it ends, which may come after the next statement of this one
        other.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK])
    assert mail.outbox == []
    assert not Notification.objects.exists()
    call_command("send_notifications", "--today", (due_on - timedelta(days=90)).isoformat())
    assert len(mail.outbox) == 2
