"""``manage.py verify_certificate FILE.pdf``: the public verdict on a certificate file.

Prints the same JSON verdict as ``POST /api/v1/verify``; exit status 0 when the file is
a valid certificate, 1 otherwise (superseded, revoked, altered, unknown).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.issuance.verification import verify_upload


class Command(BaseCommand):
    help = "Check a certificate PDF against what was issued (exit 0 only when valid)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        verdict = verify_upload(data)
        self.stdout.write(json.dumps(verdict.as_json(), indent=2, ensure_ascii=False))
        if not verdict.ok:
            sys.exit(1)
