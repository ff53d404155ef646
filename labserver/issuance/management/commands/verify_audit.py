"""Recompute every audit chain; exit non-zero and name each entry at fault if one was altered.

With ``--anchors`` (a file, a directory of anchor files, or the URL of a LIMS's public
anchors; repeatable) also check the chains against those signed anchors: a history
rewritten with recomputed hashes, or a database restored to before an anchor.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.core.audit import verify_audit
from labserver.issuance.anchor_checks import check_anchors, load_anchors
from labserver.issuance.anchors import AnchorSourceError


class Command(BaseCommand):
    help = (
        "Verify the hash chains of the audit trail (altered, inserted or deleted entries, "
        "records without a chain) and, with --anchors, against their signed anchors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchors",
            action="append",
            default=[],
            metavar="FILE|DIR|URL",
            help="anchor file (JSON lines), directory of them, or http(s) URL of "
            "/api/v1/audit/anchors/ (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = []
        for source in options["anchors"]:
            try:
                anchors.extend(load_anchors(source))
            except AnchorSourceError as exc:
                raise CommandError(f"--anchors {exc.field}: {exc.detail}") from None
        report = verify_audit()
        problems = list(report.problems)
        checked = ""
        if options["anchors"]:
            try:
                found = check_anchors(anchors)
            except AnchorSourceError as exc:  # a trust root or CRL file that cannot be read
                raise CommandError(f"{exc.field}: {exc.detail}") from None
            problems.extend(found.problems)
            checked = f", {found.anchors} anchor(s) of {found.chains} chain(s) checked"
        if problems:
            for problem in problems:
                self.stderr.write(f"audit: {problem}")
            raise CommandError(
                f"audit trail NOT intact: {len(problems)} problem(s) in "
                f"{report.chains} chain(s), {report.entries} entries{checked}"
            )
        self.stdout.write(
            f"audit trail intact: {report.chains} chain(s), {report.entries} entries "
            f"verified{checked}"
        )
