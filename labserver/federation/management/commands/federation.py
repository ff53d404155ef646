"""``manage.py federation publish | subscribe | status``: the registry carried between nodes
by PostgreSQL logical replication (docs/operators/federation.md)."""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from labserver.core.roles import owner_alias
from labserver.federation.replication import (
    NATIONAL_REGISTERS,
    PASSWORD_ENV,
    PUBLICATION,
    REGISTERS_PUBLICATION,
    REGISTRY,
    REPLICATION_ROLE,
    FederationError,
    SubscriptionState,
    node_authorities,
    node_issuers,
    publish,
    recalls_publication,
    status,
    subscribe,
)

#: One WAL segment: a subscription further behind than this is reported behind.
DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "The registry between nodes over PostgreSQL logical replication: publish this node's "
        "registry, subscribe to another node's, show every subscription's state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default=None,
            help="the connection to act on (default: 'owner' when DATABASE_OWNER_URL is set); "
            "on PostgreSQL 15 a superuser's to create the replication role or a subscription",
        )
        actions = parser.add_subparsers(dest="action", required=True)
        pub = actions.add_parser(
            "publish",
            help="create or update this node's registry publication and its replication role",
        )
        pub.add_argument(
            "--issuer",
            action="append",
            default=[],
            metavar="CODE",
            help="an issuer whose facts cross (repeat it; default: every organization of "
            "this node but the customers; with --registers, every directorate)",
        )
        pub.add_argument(
            "--registers",
            action="store_true",
            help=f"publish the national registers ({REGISTERS_PUBLICATION}: patterns, "
            "designations, verifiers' certifications), on the national node, instead of this "
            "node's registry",
        )
        pub.add_argument(
            "--recalls",
            action="store_true",
            help="publish the recall notices addressed to the --issuer organizations (a "
            "center's), on the national node: caltrace_recalls_<codes>, which that center "
            "subscribes to",
        )
        pub.add_argument("--role", default=REPLICATION_ROLE, help="the replication role")
        sub = actions.add_parser(
            "subscribe", help="subscribe this node to another node's registry publication"
        )
        sub.add_argument("name", help="the subscription's name, after the center (e.g. center_hn)")
        sub.add_argument(
            "--conninfo",
            required=True,
            help="libpq connection to the publishing node, as its replication role (in "
            f"production with sslmode=verify-full); the password from {PASSWORD_ENV}",
        )
        sub.add_argument(
            "--publication",
            default=PUBLICATION,
            help=f"the publisher's publication (default {PUBLICATION}; a center subscribes to "
            f"the national node's {REGISTERS_PUBLICATION})",
        )
        stat = actions.add_parser("status", help="every subscription's state, lag and errors")
        stat.add_argument("--json", action="store_true", help="JSON for machines")
        stat.add_argument(
            "--max-lag-bytes",
            type=int,
            default=DEFAULT_MAX_LAG_BYTES,
            help=f"behind beyond this many bytes of WAL (default {DEFAULT_MAX_LAG_BYTES})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"] or owner_alias()]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"federation: {connection.vendor} has no logical replication: the node runs on "
                "PostgreSQL (DATABASE_URL)"
            )
        password = os.environ.get(PASSWORD_ENV, "")
        try:
            if options["action"] == "publish" and options["recalls"]:
                if options["registers"]:
                    raise FederationError("--recalls and --registers: one publication at a time")
                recalls = recalls_publication(options["issuer"])
                done = publish(
                    connection,
                    options["issuer"],
                    role=options["role"],
                    password=password,
                    publication=recalls,
                )
                self.stdout.write(str(done))
            elif options["action"] == "publish":
                registers = options["registers"]
                done = publish(
                    connection,
                    (node_authorities if registers else node_issuers)(options["issuer"]),
                    role=options["role"],
                    password=password,
                    publication=NATIONAL_REGISTERS if registers else REGISTRY,
                )
                self.stdout.write(str(done))
            elif options["action"] == "subscribe":
                self.stdout.write(
                    str(
                        subscribe(
                            connection,
                            options["name"],
                            options["conninfo"],
                            publication=options["publication"],
                            password=password,
                        )
                    )
                )
            else:
                self._status(connection, options, password)
        except FederationError as error:
            raise CommandError(f"federation {options['action']}: {error}") from None
        except DatabaseError as error:  # a privilege missing, a server gone: said plainly
            said = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise CommandError(
                f"federation {options['action']}: the database refused: {said}"
            ) from None

    def _status(self, connection: Any, options: dict[str, Any], password: str) -> None:
        states, latest = status(
            connection, max_lag_bytes=options["max_lag_bytes"], password=password
        )
        failing = [s.name for s in states if s.problems]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": not failing,
                        "subscriptions": [s.as_json() for s in states],
                        "contradictions": latest,
                    },
                    indent=2,
                )
            )
        else:
            self.stdout.write(_table(states))
            for item in latest:
                self.stdout.write(
                    f"contradiction from {item['subscription']} at {item['at']}: "
                    f"{item['key']} (issuer {item['issuer']}): {item['reason']}"
                )
        if failing:
            raise CommandError(
                f"federation status: {len(failing)} subscription(s) down or behind: "
                f"{', '.join(failing)}"
            )


def _table(states: list[SubscriptionState]) -> str:
    if not states:
        return "no subscription on this database"
    head = (
        "subscription",
        "enabled",
        "streaming",
        "last message",
        "lag (bytes)",
        "apply errors",
        "copy errors",
        "contradictions",
        "duplicates",
    )
    rows = [
        (
            s.name,
            "yes" if s.enabled else "NO",
            "yes" if s.streaming else "NO",
            f"{s.last_message_age_s:.0f} s ago" if s.last_message_age_s is not None else "-",
            str(s.lag_bytes) if s.lag_bytes is not None else "unknown",
            str(s.apply_errors),
            str(s.sync_errors),
            str(s.contradictions),
            str(s.duplicates),
        )
        for s in states
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
    for s in states:
        lines.append(f"{s.name}: publisher {s.publisher or 'unknown'}")
        lines += [f"{s.name}: {problem}" for problem in s.problems]
    return "\n".join(lines)
