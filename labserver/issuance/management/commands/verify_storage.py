"""``manage.py verify_storage``: is every issued certificate's file still as issued?

Lists, one line each, the PDFs and DCCs whose bytes no longer match the SHA-256 recorded
at issue, those missing from the storage, and the files in the certificates' directory
that no certificate names; exit status 1 when it lists anything, 0 with a summary
otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from labserver.issuance.stored_files import verify_storage


class Command(BaseCommand):
    help = "Check the stored certificate files against their SHA-256 (exit 0 only when clean)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_storage()
        for problem in report.problems:
            self.stdout.write(str(problem))
        self.stdout.write(report.summary())
        if not report.ok:
            sys.exit(1)
