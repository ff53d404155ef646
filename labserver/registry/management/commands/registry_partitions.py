"""The yearly partitions of the certificate facts' table: show them, create those ahead of
need (the operator's yearly step); run as the owner."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import timezone

from labserver.core.roles import RoleError, grant_runtime_role, owner_alias, runtime_role
from labserver.registry.partitions import (
    PARENT,
    PartitionError,
    ensure_years,
    is_partitioned,
    years,
)


class Command(BaseCommand):
    help = (
        f"Create the missing yearly partitions of {PARENT} (PostgreSQL) through --through "
        "(default: next year), and of every year whose facts wait in the default "
        "partition, then grant the runtime role again; --check only lists them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--through",
            type=int,
            default=None,
            help="the last year to have its partition (default: next year)",
        )
        parser.add_argument("--check", action="store_true", help="list, create nothing")
        parser.add_argument(
            "--database",
            default=None,
            help="the owner's connection (default: 'owner' when DATABASE_OWNER_URL is set)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"] or owner_alias()]
        this_year = timezone.localdate().year
        through = options["through"] or this_year + 1
        if through < this_year:
            raise CommandError(
                f"registry_partitions: --through {through} is before this year ({this_year})"
            )
        if not is_partitioned(connection):
            raise CommandError(
                f"registry_partitions: {PARENT} is not partitioned on this database "
                f"({connection.vendor}; run manage.py migrate on PostgreSQL)"
            )
        state = years(connection)
        wanted = sorted({*range(this_year, through + 1), *state.waiting})
        missing = [year for year in wanted if year not in state.years]
        have = ", ".join(str(y) for y in state.years) or "none"
        self.stdout.write(f"{PARENT}: partitions of {have}")
        for year, count in sorted(state.waiting.items()):
            self.stdout.write(f"  {count} fact(s) of {year} wait in the default partition")
        if options["check"]:
            if missing:
                self.stdout.write(f"missing: {', '.join(str(y) for y in missing)}")
                raise CommandError(
                    f"registry_partitions: {len(missing)} partition(s) missing; run "
                    "manage.py registry_partitions"
                )
            self.stdout.write(f"every year through {through} has its partition")
            return
        try:
            created = ensure_years(connection, wanted)
        except PartitionError as error:
            raise CommandError(f"registry_partitions: {error}") from None
        if created:
            self.stdout.write(f"created: {', '.join(str(y) for y in created)}")
        else:
            self.stdout.write(f"nothing to create: every year through {through} has its partition")
        role = runtime_role()
        if created and role:
            try:
                self.stdout.write(str(grant_runtime_role(connection, role)))
            except RoleError as error:
                raise CommandError(f"registry_partitions: {error}") from None
