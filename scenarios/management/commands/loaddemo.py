"""Load the demo data set (DEMO organizations, people, standards ladder, benches, jobs)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scenarios.demo import DEMO_PASSWORD, DemoDataError, is_loaded, load_demo


class Command(BaseCommand):
    help = "Load the demo data set; the agents' keys, tokens and bench files go to --keys-dir."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when the demo data is already loaded",
        )
        parser.add_argument(
            "--keys-dir",
            type=Path,
            default=None,
            help="where to write the demo agents' Ed25519 private keys, tokens and bench "
            "configurations (default: var/demo/)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keys_dir = options["keys_dir"] or Path(settings.MEDIA_ROOT).parent / "demo"
        try:
            if options["if_empty"] and is_loaded():
                self.stdout.write(f"demo data already loaded; agent keys and tokens in {keys_dir}")
                return
            summary = load_demo(keys_dir)
        except (RuntimeError, DemoDataError) as exc:
            raise CommandError(str(exc)) from None
        out = self.stdout.write
        out(f"organizations: {', '.join(summary.organizations)}")
        out(f"reference standards: {summary.standards}")
        out(f"people (password for all: {DEMO_PASSWORD}; DEMO ONLY):")
        for username, role, org in summary.users:
            out(f"  {username:24} {role:16} {org}")
        out("agents (token shown once; private key file):")
        for org, name, token, path in summary.agents:
            out(f"  {org} {name}: token {token}  key {path}")
        out("bench configurations (caltrace-agent run --job NUMBER --bench FILE [--simulate]):")
        for org, name, path in [*summary.benches, *summary.position_benches]:
            out(f"  {org} {name}: {path}")
        out("jobs ready for the benches:")
        for line in summary.jobs:
            out(f"  {line}")
