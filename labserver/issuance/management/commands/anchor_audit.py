"""Anchor every audit chain whose head moved since its last anchor; schedule it daily."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.core.errors import DomainError
from labserver.issuance.anchors import anchor_moved_chains


class Command(BaseCommand):
    help = (
        "Sign where each organization's audit chain stands (an anchor), store and publish it "
        "and append it to CALTRACE_ANCHOR_DIR; only chains that moved since their last anchor."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="anchor every chain, moved or not (e.g. for a fresh time-stamp)",
        )
        parser.add_argument(
            "--organization",
            action="append",
            default=[],
            metavar="CODE",
            help="only this organization's chain (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = anchor_moved_chains(force=options["force"], codes=options["organization"])
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}" if exc.field else exc.detail) from None
        for anchor in done.anchored:
            self.stdout.write(
                f"anchored {anchor.chain} ({anchor.organization_code}) at {anchor.length} "
                f"entries, head {anchor.head[:12]}…"
                + (", time-stamped" if anchor.timestamped else "")
            )
        for key in done.skipped:
            self.stdout.write(
                f"not anchored {key}: no key of its own and no CALTRACE_SYSTEM_ANCHOR_ORGANIZATION"
            )
        for key, why in done.failed:
            self.stderr.write(f"FAILED {key}: {why}")
        summary = (
            f"{len(done.anchored)} anchored, {len(done.unchanged)} unchanged, "
            f"{len(done.skipped)} without a key, {len(done.failed)} failed"
        )
        if done.failed:
            raise CommandError(summary)
        self.stdout.write(summary)
