"""``migrate`` as the owner: Django's command, on the ``owner`` connection by default when
``DATABASE_OWNER_URL`` is set (the runtime role of ``DATABASE_URL`` cannot change the schema),
on ``default`` otherwise. ``--database`` still picks another. The grants of the runtime role
are applied again at its end (``post_migrate``, :mod:`labserver.core.apps`)."""

from django.core.management.base import CommandParser
from django.core.management.commands import migrate

from labserver.core.roles import owner_alias


class Command(migrate.Command):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=owner_alias())
