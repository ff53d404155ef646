"""Register a bench or field agent and print its token (shown once).

``registeragent bench-1 --org QT1 --public-key FILE`` where FILE holds the
agent's Ed25519 public key (PEM, or 32 raw bytes in base64).
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labserver.accounts import services
from labserver.accounts.models import Organization
from labserver.core.errors import DomainError


class Command(BaseCommand):
    help = "Register an agent with its Ed25519 public key; prints its API token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--org", required=True, help="organization code")
        key = parser.add_mutually_exclusive_group(required=True)
        key.add_argument("--public-key", type=Path, help="file with the public key (PEM or base64)")
        key.add_argument("--public-key-base64", help="the raw 32-byte key in base64")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(code=options["org"]).first()
        if org is None:
            raise CommandError(f"--org: no organization with code {options['org']!r}")
        if options["public_key"] is not None:
            try:
                text = options["public_key"].read_text(encoding="ascii")
            except (OSError, UnicodeError) as exc:
                raise CommandError(
                    f"--public-key: cannot read {options['public_key']}: {exc}"
                ) from None
        else:
            text = options["public_key_base64"]
        try:
            agent, token = services.register_agent(
                actor=None, organization=org, name=options["name"], public_key=text
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"registered agent {agent.name} in {org.code}")
        self.stdout.write(f"token: {token}")
