"""``manage.py federation publish | subscribe | status | source | fetch``: the registry carried
between nodes by PostgreSQL logical replication, and the national node's check of each
center's signed PDFs (docs/operators/federation.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from labserver.core.roles import owner_alias
from labserver.federation.documents import (
    CenterDocuments,
    Flagged,
    add_source,
    document_status,
    fetch,
    secret_variable,
)
from labserver.federation.models import DocumentSource
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
        "registry, subscribe to another node's, show every subscription's state; on the "
        "national node, fetch and check the centers' signed PDFs."
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
        source = actions.add_parser(
            "source", help="where the national node fetches an issuer's signed PDFs"
        )
        source_actions = source.add_subparsers(dest="source_action", required=True)
        add = source_actions.add_parser("add", help="add or change an issuer's source")
        add.add_argument("issuer", metavar="CODE", help="the issuer's organization code")
        add.add_argument(
            "--url",
            required=True,
            help="the base URL of the center's LIMS (https://…); the secret comes from the "
            "environment variable CALTRACE_FETCH_SECRET_<CODE>",
        )
        source_actions.add_parser("list", help="every source, and whether its secret is set")
        get = actions.add_parser(
            "fetch",
            help="fetch the signed PDF of each certificate fact not yet checked from its "
            "issuer and check it (a scheduled task)",
        )
        get.add_argument("--issuer", metavar="CODE", help="this issuer only")
        get.add_argument("--limit", type=int, metavar="N", help="at most N certificates")
        stat = actions.add_parser(
            "status", help="every subscription's state, lag and errors; the PDFs checked"
        )
        stat.add_argument("--json", action="store_true", help="JSON for machines")
        stat.add_argument(
            "--max-lag-bytes",
            type=int,
            default=DEFAULT_MAX_LAG_BYTES,
            help=f"behind beyond this many bytes of WAL (default {DEFAULT_MAX_LAG_BYTES})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] in ("source", "fetch"):
            self._documents(options)
            return
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

    def _documents(self, options: dict[str, Any]) -> None:
        """The national node's sources and its fetch (the ORM's connection: no superuser)."""
        try:
            if options["action"] == "fetch":
                report = fetch(issuer=options["issuer"], limit=options["limit"])
                for line in report.lines():
                    self.stdout.write(line)
                if report.problems:
                    raise CommandError(f"federation fetch: {'; '.join(report.problems)}")
            elif options["source_action"] == "add":
                source, action = add_source(options["issuer"], options["url"])
                variable = secret_variable(source.issuer)
                secret = "set" if os.environ.get(variable) else "NOT set"
                self.stdout.write(
                    f"source {source.issuer} {action}: {source.url}; its secret from "
                    f"{variable} ({secret} here)"
                )
                if source.url.startswith("http:"):
                    self.stdout.write(
                        f"source {source.issuer}: http: the secret and the PDFs cross in clear; "
                        "use https outside a private network"
                    )
            else:
                for source in DocumentSource.objects.order_by("issuer"):
                    variable = secret_variable(source.issuer)
                    secret = "set" if os.environ.get(variable) else "NOT set"
                    self.stdout.write(f"{source.issuer}  {source.url}  {variable} {secret}")
        except FederationError as error:
            raise CommandError(f"federation {options['action']}: {error}") from None

    def _status(self, connection: Any, options: dict[str, Any], password: str) -> None:
        states, latest = status(
            connection, max_lag_bytes=options["max_lag_bytes"], password=password
        )
        centers, flagged = document_status()
        failing = [s.name for s in states if s.problems]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": not failing,
                        "subscriptions": [s.as_json() for s in states],
                        "contradictions": latest,
                        "documents": [c.as_json() for c in centers],
                        "flagged": [f.as_json() for f in flagged],
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
            if centers:
                self.stdout.write(_documents_table(centers, flagged))
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
    lines = _aligned(head, rows)
    for s in states:
        lines.append(f"{s.name}: publisher {s.publisher or 'unknown'}")
        lines += [f"{s.name}: {problem}" for problem in s.problems]
    return "\n".join(lines)


def _documents_table(centers: list[CenterDocuments], flagged: list[Flagged]) -> str:
    """The signed PDFs per center, and each flagged record named."""
    head = ("issuer", "registered", "checked", "verified", "flagged", "unchecked", "retrying")
    rows = [
        (
            c.issuer,
            str(c.registered),
            str(c.checked),
            str(c.verified),
            str(c.flagged),
            str(c.unchecked),
            str(c.retrying),
        )
        for c in centers
    ]
    lines = _aligned(head, rows)
    lines += [
        f"flagged: {f.issuer} {f.number} ({f.outcome}, {f.checked_at.isoformat()}): {f.detail}"
        for f in flagged
    ]
    return "\n".join(lines)


def _aligned(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """``head`` and ``rows`` as lines of columns, each as wide as its widest cell."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
