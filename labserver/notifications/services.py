"""Sending the notifications of a day, once each, and each person's choices.

:func:`send_notifications` takes what the catalogue finds, leaves out what a person does not
want and what was already sent (the unique key of :class:`~.models.Notification`), sends
one e-mail per person and group, and records each item as sent, or as failed with the
error (tried again by the next run, never marked sent). The e-mail goes out before its
record is written (a message cannot be taken back by a rollback): a crash between the two
sends that e-mail again on the next run rather than never.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from labserver.accounts.models import User
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError, NotPermitted
from labserver.nonconformities.letters import render_letters

from . import catalogue
from .catalogue import Item
from .models import Kind, Notification, Preference

PREFERENCE_FIELDS = ("due", "issued", "recall", "language")
#: The PostgreSQL advisory lock a run holds (any number, the same for every run).
RUN_LOCK = 0x6E07_1F1E


@dataclass(frozen=True)
class Mail:
    """One e-mail: the items of one group for one person."""

    recipient: User
    kind: str
    items: tuple[Item, ...]
    language: str


@dataclass
class Outcome:
    """What a run did: the e-mails sent and failed (with their items), or planned (dry run)."""

    sent: list[Mail] = field(default_factory=list)
    failed: list[Mail] = field(default_factory=list)
    planned: list[Mail] = field(default_factory=list)


def preference_of(user: User) -> Preference:
    """The person's choices; the defaults (everything, the deployment's language) if none."""
    found = Preference.objects.filter(user=user).first()
    return found if found is not None else Preference(user=user)


def _key(item: Item) -> tuple[str, int, str, str]:
    return (item.kind, item.recipient.pk, item.subject, item.occasion)


def pending(today: date) -> list[Mail]:
    """The e-mails today's run is to send: the catalogue's items a person wants and has not
    been sent, one e-mail per person and group."""
    items = catalogue.everything(today)
    recipients = {item.recipient.pk for item in items}
    preferences = {p.user_id: p for p in Preference.objects.filter(user__in=recipients)}
    sent = set(
        Notification.objects.filter(
            recipient__in=recipients, status=Notification.Status.SENT
        ).values_list("kind", "recipient_id", "subject", "occasion")
    )
    groups: dict[tuple[int, str], list[Item]] = {}
    for item in items:
        chosen = preferences.get(item.recipient.pk) or Preference(user=item.recipient)
        if chosen.wants(item.kind) and _key(item) not in sent:
            groups.setdefault((item.recipient.pk, item.group), []).append(item)
    mails = []
    for grouped in groups.values():
        unique = tuple(dict.fromkeys(grouped))  # one person in two organizations: once
        person = unique[0].recipient
        preference = preferences.get(person.pk)
        language = (preference.language if preference else "") or settings.LANGUAGE_CODE
        mails.append(Mail(recipient=person, kind=unique[0].kind, items=unique, language=language))
    return mails


def _subject(mail: Mail) -> str:
    first = mail.items[0]
    if mail.kind == Kind.DUE:
        count = len(mail.items)
        return ngettext(
            "%(count)d instrument falls due within %(days)s days",
            "%(count)d instruments fall due within %(days)s days",
            count,
        ) % {"count": count, "days": first.occasion}
    if mail.kind == Kind.ISSUED:
        return _("Certificate %(number)s issued") % {"number": first.facts["certificate"]}
    return _("Recall of certificates: letter %(reference)s") % {
        "reference": first.facts["letter"].reference
    }


def message(mail: Mail, mailer: Any = None) -> EmailMultiAlternatives:
    """The e-mail, plain text and HTML, in the person's language; a recall carries its
    letter (PDF). It names the person's own records only."""
    with translation.override(mail.language):
        context = {
            "person": mail.recipient,
            "items": [item.facts for item in mail.items],
            "occasion": mail.items[0].occasion,
            "portal": catalogue.public_link("portal:instruments"),
            "preferences": catalogue.public_link("notifications:preferences"),
        }
        subject = _subject(mail)
        text = render_to_string(f"notifications/email/{mail.kind}.txt", context)
        html = render_to_string(f"notifications/email/{mail.kind}.html", context)
    email = EmailMultiAlternatives(subject, text, None, [mail.recipient.email], connection=mailer)
    email.attach_alternative(html, "text/html")
    if mail.kind == Kind.RECALL:
        letter = mail.items[0].facts["letter"]
        name = letter.reference.replace("/", "-")
        email.attach(f"{name}.pdf", render_letters([letter]), "application/pdf")
    return email


@transaction.atomic
def _record(mail: Mail, error: str = "") -> None:
    """Each item of ``mail`` sent (or failed with ``error``), with its audit entry."""
    status = Notification.Status.FAILED if error else Notification.Status.SENT
    now = timezone.now()
    for item in mail.items:
        row, _created = Notification.objects.select_for_update().get_or_create(
            kind=item.kind,
            recipient=item.recipient,
            subject=item.subject,
            occasion=item.occasion,
            defaults={"organization_id": item.organization_id, "status": status},
        )
        row.status = status
        row.address = mail.recipient.email
        row.attempts += 1
        row.error = error
        row.sent_at = None if error else now
        row.save()
        audit.record(
            actor=None,
            action=f"notification.{status}",
            object_type="notification",
            object_id=row.pk,
            organization_id=item.organization_id,
            after={
                "kind": item.kind,
                "recipient": mail.recipient.get_username(),
                "subject": item.subject,
                "occasion": item.occasion,
                "attempt": row.attempts,
                **({"error": error} if error else {}),
            },
        )


@contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Two runs at once (the timer and a person at the console) could each send an e-mail
    before either records it: on PostgreSQL a run holds an advisory lock, and a second one
    is refused (409) while the first runs. SQLite (the demo) has no such lock."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK])
        (locked,) = cursor.fetchone()
    if not locked:
        raise Conflict(_("another send_notifications is running; nothing was sent"))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK])


def send_notifications(*, today: date | None = None, dry_run: bool = False) -> Outcome:
    """Send what is to be told on ``today`` (the lab's date by default), one run at a time.
    ``dry_run``: only say what would be sent; nothing is sent or recorded."""
    outcome = Outcome()
    if dry_run:
        outcome.planned = pending(today or timezone.localdate())
        return outcome
    with one_run_at_a_time():
        mails = pending(today or timezone.localdate())
        mailer = get_connection()
        for mail in mails:
            try:
                message(mail, mailer).send()
            except OSError as exc:  # smtplib's errors are OSErrors, as are the socket's
                _record(mail, error=f"{type(exc).__name__}: {exc}"[:2000])
                outcome.failed.append(mail)
            else:
                _record(mail)
                outcome.sent.append(mail)
    return outcome


@transaction.atomic
def set_preferences(
    *, actor: User, user: User, due: bool, issued: bool, recall: bool, language: str
) -> Preference:
    """A person's own choice of the notifications they receive and their language (blank:
    the deployment's). Only the person chooses for themself. Audited."""
    if actor.pk != user.pk:
        raise NotPermitted(_("a person chooses their own notifications"))
    if language and language not in dict(settings.LANGUAGES):
        raise DomainError(
            _("language: %(code)s is not a language of this site") % {"code": language},
            field="language",
        )
    preference = Preference.objects.select_for_update().filter(user=user).first()
    preference = preference or Preference(user=user)
    before = {name: getattr(preference, name) for name in PREFERENCE_FIELDS}
    preference.due, preference.issued, preference.recall = due, issued, recall
    preference.language = language
    preference.save()
    audit.record(
        actor=actor,
        action="notification.preferences",
        object_type="user",
        object_id=user.pk,
        organization_id=None,
        before=before,
        after={name: getattr(preference, name) for name in PREFERENCE_FIELDS},
    )
    return preference
