"""Create an organization: ``createorganization CODE NAME --kind provincial_center``."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.accounts import services
from labserver.accounts.models import Organization
from labserver.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an organization (directorate, center, lab or customer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="short code, used in numbers (e.g. QT1)")
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=Organization.Kind.values)
        parser.add_argument("--parent", help="code of the parent organization")
        parser.add_argument("--accreditation", default="")
        parser.add_argument("--region", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        parent = None
        if options["parent"]:
            parent = Organization.objects.filter(code=options["parent"]).first()
            if parent is None:
                raise CommandError(f"--parent: no organization with code {options['parent']!r}")
        try:
            org = services.create_organization(
                actor=None,
                code=options["code"],
                name=options["name"],
                kind=options["kind"],
                parent=parent,
                accreditation=options["accreditation"],
                region=options["region"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"created organization {org.code} (id {org.pk})")
