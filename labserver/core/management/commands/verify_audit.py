"""Recompute every audit chain; exit non-zero and name each entry at fault if one was altered."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from labserver.core.audit import verify_audit


class Command(BaseCommand):
    help = "Verify the hash chains of the audit trail (altered, inserted or deleted entries)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_audit()
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"audit: {problem}")
            raise CommandError(
                f"audit trail NOT intact: {len(report.problems)} problem(s) in "
                f"{report.chains} chain(s), {report.entries} entries"
            )
        self.stdout.write(
            f"audit trail intact: {report.chains} chain(s), {report.entries} entries verified"
        )
