"""Give the application's runtime role exactly its privileges; run by the owner."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from labserver.core.roles import RoleError, grant_runtime_role, owner_alias, runtime_role


class Command(BaseCommand):
    help = (
        "Grant the runtime role (the user of DATABASE_URL, or CALTRACE_RUNTIME_ROLE) SELECT and "
        "INSERT on the append-only tables, SELECT, INSERT, UPDATE on the audit chain heads and "
        "SELECT, INSERT, UPDATE, DELETE on the others, as the owner (DATABASE_OWNER_URL). "
        "Idempotent; migrate runs it at its end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default=None,
            help="the owner's connection (default: 'owner' when DATABASE_OWNER_URL is set)",
        )
        parser.add_argument(
            "--role", default=None, help="the runtime role (default: the user of DATABASE_URL)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"] or owner_alias()
        role = options["role"] or runtime_role()
        try:
            grants = grant_runtime_role(connections[alias], role)
        except RoleError as error:
            raise CommandError(f"grant_runtime_role: {error}") from None
        self.stdout.write(str(grants))
