"""The yearly partitions of the certificate facts' table alone: ``manage.py partitions
--table registry_certificatefact`` under the name the operators' runbooks of the first
partitioned release used."""

from django.core.management.base import CommandError

from labserver.core.management.commands.partitions import Command as Partitions
from labserver.core.partitions import YearlyTable
from labserver.registry.partitions import CERTIFICATE_FACTS


class Command(Partitions):
    help = (
        f"The yearly partitions of {CERTIFICATE_FACTS.parent} only: manage.py partitions "
        f"--table {CERTIFICATE_FACTS.parent}"
    )
    name = "registry_partitions"

    def tables(self, named: list[str] | None) -> list[YearlyTable]:
        if named and set(named) != {CERTIFICATE_FACTS.parent}:
            raise CommandError(
                f"{self.name}: only {CERTIFICATE_FACTS.parent}; the other tables: "
                "manage.py partitions"
            )
        return [CERTIFICATE_FACTS]
