"""``manage.py reserve_numbers``: after a restore to an earlier instant, never reuse a number.

Run it after the restore and before the LIMS issues again (the runbook,
``docs/operators/backup-and-recovery.md``), before the orphan files are moved to quarantine:
it reads their names. Each counter advanced is one audit entry; each number voided is kept,
and the public lookup of that number says it was voided. See
:mod:`labserver.issuance.reservation`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.core.errors import DomainError
from labserver.issuance.reservation import reserve_numbers


class Command(BaseCommand):
    help = (
        "Advance each certificate and mark counter past the numbers issued after a restore's "
        "target (orphan files in the storage, numbers given with --number) and void those "
        "numbers, audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reason",
            required=True,
            help="why: the incident (e.g. 'database restored to 2026-12-06 07:56 UTC, INC-12')",
        )
        parser.add_argument(
            "--number",
            action="append",
            default=[],
            metavar="NUMBER",
            help="a certificate or verification mark number issued after the target, e.g. "
            "shown by a customer (repeatable; its organization must be named with "
            "--organization)",
        )
        parser.add_argument(
            "--organization",
            action="append",
            default=[],
            metavar="CODE",
            help="only this organization's series (repeatable; default: every organization)",
        )
        parser.add_argument(
            "--no-files",
            action="store_true",
            help="do not read the orphan files of the storage (only the numbers given)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = reserve_numbers(
                actor=None,
                given=options["number"],
                organizations=options["organization"],
                reason=options["reason"],
                from_storage=not options["no_files"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        for key, before, after, numbers in done.advanced:
            self.stdout.write(
                f"{key}: {before} -> {after}"
                + (f", voided {', '.join(numbers)}" if numbers else "")
            )
        for path in done.unexplained_files:
            self.stderr.write(f"orphan whose name carries no certificate number: {path}")
        self.stdout.write(
            f"{len(done.advanced)} counter(s) advanced, {len(done.voided)} number(s) voided, "
            f"{len(done.already_voided)} voided already"
        )
