"""``manage.py registry_recalls notify | open``: a recall across the country, as two
scheduled tasks (docs/operators/scheduled-tasks.md).

* ``notify``, on the national node: the recall notices every out-of-tolerance fact of the
  registry calls for, written once each (:mod:`labserver.registry.recalls`).
* ``open``, on a center: a nonconformity for each organization of the node and fact its
  arrived notices name (:mod:`labserver.nonconformities.notified`); a notice it cannot act
  on is printed and the exit status is 1.

Here, not in the registry's app: a center's side opens nonconformities, an app above it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.accounts.models import Organization
from labserver.nonconformities.notified import open_notified_nonconformities
from labserver.registry.recalls import write_notices


class Command(BaseCommand):
    help = (
        "Recalls across the country: 'notify' (the national node) writes the recall notices "
        "of every standard found out of tolerance; 'open' (a center) opens its nonconformity "
        "for the notices that arrived. Both idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["notify", "open"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "notify":
            if not Organization.objects.filter(kind=Organization.Kind.DIRECTORATE).exists():
                # a center's notices of its own facts would meet the national node's, under
                # the same keys, as contradictions
                raise CommandError(
                    "registry_recalls notify: this node has no national directorate: the "
                    "national node writes the recall notices (a center runs 'open')"
                )
            done = write_notices()
            for notified in done:
                self.stdout.write(str(notified))
            written = sum(sum(n.written.values()) for n in done)
            self.stdout.write(f"{written} new notice(s) for {len(done)} out-of-tolerance fact(s)")
            return
        answers, problems = open_notified_nonconformities()
        for answer in answers:
            self.stdout.write(str(answer))
        opened = sum(1 for a in answers if a.opened)
        self.stdout.write(f"{opened} nonconformit{'y' if opened == 1 else 'ies'} opened")
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"registry_recalls open: {len(problems)} notice(s) not acted on (listed above)"
            )
