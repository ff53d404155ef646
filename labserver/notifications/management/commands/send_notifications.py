"""Send the day's e-mail notifications: ``send_notifications [--dry-run] [--today DATE]``.

Run it daily (a systemd timer or a cron line: docs/operators/notifications.md). A rerun sends
nothing twice; an e-mail that failed is tried again. The exit status is 1 when any failed,
so the timer's unit shows it.
"""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.core.errors import DomainError
from labserver.notifications.services import Mail, send_notifications


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--today: {text!r} is not a date YYYY-MM-DD") from None


def _line(mail: Mail) -> str:
    subjects = ", ".join(item.subject.split(":", 1)[-1] for item in mail.items)
    occasion = mail.items[0].occasion
    return f"{mail.kind}{f' ({occasion})' if occasion else ''} → {mail.recipient.email}: {subjects}"


class Command(BaseCommand):
    help = (
        "E-mail customers' people: instruments falling due (90/60/30 days), certificates "
        "issued, recall letters. Idempotent; failed e-mails are retried by the next run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be sent; send nothing"
        )
        parser.add_argument(
            "--today", help="the day to reckon from, YYYY-MM-DD (default: the lab's today)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = _day(options["today"]) if options["today"] else None
        try:
            outcome = send_notifications(today=today, dry_run=options["dry_run"])
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        if options["dry_run"]:
            for mail in outcome.planned:
                self.stdout.write(f"would send {_line(mail)}")
            self.stdout.write(f"{len(outcome.planned)} e-mail(s) to send (dry run: none sent)")
            return
        for mail in outcome.sent:
            self.stdout.write(f"sent {_line(mail)}")
        for mail in outcome.failed:
            self.stderr.write(f"FAILED {_line(mail)}")
        self.stdout.write(f"{len(outcome.sent)} sent, {len(outcome.failed)} failed")
        if outcome.failed:
            raise CommandError(f"{len(outcome.failed)} e-mail(s) failed; the next run retries")
