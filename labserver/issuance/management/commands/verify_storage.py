"""``manage.py verify_storage``: is every issued certificate's file still as issued?

Lists, one line each, the PDFs and DCCs whose bytes no longer match the SHA-256 recorded
at issue, those missing from the storage, the files in the certificates' directory that
no certificate names, and the temporaries a killed issuing process left behind
(unpublished: its record is committed; stale: no record needs it). ``--repair``
publishes the unpublished ones and deletes the stale ones (older than
``--stale-minutes``, default ``CALTRACE_STALE_TEMPORARY_MINUTES``); it never touches an
altered, missing or orphan file. Exit status 1 when a problem remains, 0 otherwise.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.issuance.stored_files import verify_storage


class Command(BaseCommand):
    help = (
        "Check the stored certificate files against their SHA-256 and list the temporaries "
        "left by killed issuing; --repair completes or removes those (exit 0 only when clean)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repair",
            action="store_true",
            help="publish temporaries whose committed record waits for them; delete stale ones",
        )
        parser.add_argument(
            "--stale-minutes",
            type=int,
            default=None,
            help="age after which a temporary no record needs is stale "
            "(default: CALTRACE_STALE_TEMPORARY_MINUTES)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        minutes = options["stale_minutes"]
        if minutes is not None and minutes < 0:
            raise CommandError(f"--stale-minutes: must be 0 or more, got {minutes}")
        report = verify_storage(
            repair=options["repair"],
            stale_after=None if minutes is None else timedelta(minutes=minutes),
        )
        for line in report.repaired:
            self.stdout.write(line)
        for line in report.in_progress:
            self.stdout.write(line)
        for problem in report.problems:
            self.stdout.write(str(problem))
        self.stdout.write(report.summary())
        if not report.ok:
            sys.exit(1)
