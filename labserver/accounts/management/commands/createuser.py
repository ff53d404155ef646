"""Create a person with roles: ``createuser alice --org QT1 --role metrologist --fields mass``.

The password comes from the environment variable named by ``--password-env``
(never from the command line, where it would show in the process list);
``--token`` prints a new API token once.
"""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from labserver.accounts import services
from labserver.accounts.models import Organization, Role, User
from labserver.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a user and grant roles in an organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--full-name", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--org", required=True, help="organization code")
        parser.add_argument("--role", action="append", required=True, choices=Role.values)
        parser.add_argument("--fields", default="", help="comma-separated fields certified")
        parser.add_argument("--certificate-number", default="")
        parser.add_argument("--password-env", help="environment variable holding the password")
        parser.add_argument("--token", action="store_true", help="print a new API token")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(code=options["org"]).first()
        if org is None:
            raise CommandError(f"--org: no organization with code {options['org']!r}")
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(f"--password-env: {options['password_env']} is not set")
        fields = [f.strip() for f in options["fields"].split(",") if f.strip()]
        try:
            with transaction.atomic():
                user = User.objects.filter(username=options["username"]).first()
                if user is None:
                    user = services.create_user(
                        actor=None,
                        username=options["username"],
                        password=password,
                        full_name=options["full_name"],
                        email=options["email"],
                    )
                for role in options["role"]:
                    services.grant_role(
                        actor=None,
                        user=user,
                        organization=org,
                        role=role,
                        fields=fields,
                        certificate_number=options["certificate_number"],
                    )
                token = (
                    services.issue_api_token(actor=None, user=user) if options["token"] else None
                )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"user {user.username}: {', '.join(options['role'])} in {org.code}")
        if token:
            self.stdout.write(f"token: {token}")
