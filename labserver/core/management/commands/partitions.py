"""The yearly partitions of the tables partitioned by year (the registry's certificate facts,
the LIMS's readings): show them, create those ahead of need (the operator's yearly step);
run as the owner."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from labserver.core.partitions import (
    PartitionError,
    YearlyTable,
    ensure_years,
    is_partitioned,
    registered,
    years,
)
from labserver.core.roles import RoleError, grant_runtime_role, owner_alias, runtime_role


class Command(BaseCommand):
    help = (
        "Create the missing yearly partitions (PostgreSQL) through --through (default: next "
        "year), and of every year whose rows wait in a default partition, of each table "
        "partitioned by year (--table: only those named), then grant the runtime role again; "
        "--check only lists them."
    )
    #: the name the command's messages give (``registry_partitions`` keeps its own)
    name = "partitions"

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
        parser.add_argument(
            "--table",
            action="append",
            default=None,
            help="a table partitioned by year (repeatable; default: all of them)",
        )

    def tables(self, named: list[str] | None) -> list[YearlyTable]:
        known = {table.parent: table for table in registered()}
        unknown = sorted(set(named or ()) - set(known))
        if unknown:
            raise CommandError(
                f"{self.name}: --table {', '.join(unknown)}: not partitioned by year "
                f"(the tables are {', '.join(known)})"
            )
        return [known[name] for name in named] if named else list(known.values())

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"] or owner_alias()]
        this_year = timezone.localdate().year
        through = options["through"] or this_year + 1
        if through < this_year:
            raise CommandError(
                f"{self.name}: --through {through} is before this year ({this_year})"
            )
        missing = 0
        created = False
        for table in self.tables(options["table"]):
            if not is_partitioned(connection, table):
                raise CommandError(
                    f"{self.name}: {table.parent} is not partitioned on this database "
                    f"({connection.vendor}; run manage.py migrate on PostgreSQL)"
                )
            made, lacking = self._table(connection, table, this_year, through, options["check"])
            missing += lacking
            created = created or bool(made)
        if options["check"]:
            if missing:
                raise CommandError(
                    f"{self.name}: {missing} partition(s) missing; run manage.py {self.name}"
                )
            return
        role = runtime_role()
        if created and role:
            try:
                self.stdout.write(str(grant_runtime_role(connection, role)))
            except RoleError as error:
                raise CommandError(f"{self.name}: {error}") from None

    def _table(
        self,
        connection: BaseDatabaseWrapper,
        table: YearlyTable,
        this_year: int,
        through: int,
        check: bool,
    ) -> tuple[list[int], int]:
        """What one table has and lacks; its missing years created unless ``check``: the
        years made and the number missing."""
        state = years(connection, table)
        wanted = sorted({*range(this_year, through + 1), *state.waiting})
        missing = [year for year in wanted if year not in state.years]
        have = ", ".join(str(y) for y in state.years) or "none"
        self.stdout.write(f"{table.parent}: partitions of {have}")
        for year, count in sorted(state.waiting.items()):
            self.stdout.write(f"  {count} {table.rows} of {year} wait in the default partition")
        if check:
            if missing:
                self.stdout.write(f"  missing: {', '.join(str(y) for y in missing)}")
            else:
                self.stdout.write(f"  every year through {through} has its partition")
            return [], len(missing)
        try:
            made = ensure_years(connection, table, wanted)
        except PartitionError as error:
            raise CommandError(f"{self.name}: {error}") from None
        if made:
            self.stdout.write(f"  created: {', '.join(str(y) for y in made)}")
        else:
            self.stdout.write(
                f"  nothing to create: every year through {through} has its partition"
            )
        return made, 0
