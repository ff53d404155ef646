"""Issue an API token to a person: ``issuetoken alice --label "bench tablet"``.

The token is printed once, alone on standard output (so that a script can read it);
the LIMS keeps only its SHA-256. The issue is recorded in the audit trail.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.accounts import services
from labserver.accounts.models import User


class Command(BaseCommand):
    help = "Issue a new API token to a person and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username: no person {options['username']!r}")
        if not user.is_active:
            raise CommandError(f"username: {user.username!r} is not active")
        token = services.issue_api_token(actor=None, user=user, label=options["label"])
        self.stdout.write(token)
