"""A node's registry carried by PostgreSQL logical replication: its publication, a
subscription to another node's, and the state of every subscription.

* :func:`publish` — on a node: the publication of the registry's tables, INSERT only (facts
  are append-only; a partitioned table is published as itself, through its root), with
  an explicit column list (:data:`PUBLISHED_COLUMNS`) and a row filter that lets only this
  node's own issuers' facts cross, and the replication role the subscribers log in as
  (LOGIN REPLICATION, SELECT on exactly those tables).
* :func:`subscribe` — on the national node (and on a center, for the national registers):
  a subscription to a node's publication, with its own slot on the publisher.
* :func:`status` — each subscription: enabled, streaming, its last message and its age, its
  lag in bytes behind the publisher's WAL, its apply and copy errors, the facts that arrived
  contradicting the registry (:mod:`.arrivals`).

Each is idempotent: run again, it changes what differs and says so. On PostgreSQL 15 a
subscription and a role with REPLICATION are a superuser's to create: these run on the
connection given (``manage.py federation --database``), by default the owner's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import conninfo as libpq
from psycopg import sql

from labserver.accounts.models import Organization

__all__ = [
    "ISSUER_COLUMN",
    "NATIONAL_REGISTERS",
    "PASSWORD_ENV",
    "PUBLICATION",
    "PUBLICATIONS",
    "PUBLISHED_COLUMNS",
    "RECALLS_PREFIX",
    "RECALL_COLUMNS",
    "REGISTERS_PUBLICATION",
    "REGISTER_COLUMNS",
    "REGISTRY",
    "REPLICATION_ROLE",
    "FederationError",
    "Publication",
    "Published",
    "Subscribed",
    "SubscriptionState",
    "node_authorities",
    "node_issuers",
    "publish",
    "recalls_publication",
    "shown",
    "status",
    "subscribe",
]

PUBLICATION = "caltrace_registry"
REPLICATION_ROLE = "caltrace_federation"
#: The replication role's password, read from the environment and never printed: set on the
#: role by ``publish``, added to the connection by ``subscribe`` and ``status``.
PASSWORD_ENV = "CALTRACE_FEDERATION_PASSWORD"

#: What crosses to a subscriber, table by table: the registry's public columns, named one by
#: one (a column added to a registry table does not cross until it is added here;
#: ``tests/labserver/test_registry.py`` pins both lists).
PUBLISHED_COLUMNS: dict[str, tuple[str, ...]] = {
    "registry_certificatefact": (
        "key", "issuer", "region", "number", "event", "at", "kind", "verdict",
        "instrument_type", "pattern", "manufacturer", "model", "serial", "issued_on",
        "valid_until", "mark", "supersedes", "superseded_by", "pdf_sha256",
        "signer_fingerprint",
    ),
    "registry_reliancefact": (
        "key", "issuer", "number", "standard_owner", "standard", "standard_certificate",
        "standard_certificate_issuer", "used_on",
    ),
    "registry_standardfact": (
        "key", "owner", "standard", "event", "at", "name", "field", "level", "manufacturer",
        "model", "serial", "certificate", "certificate_issuer", "accreditation",
        "calibrated_on", "due_on", "certificate_sha256", "since",
    ),
    "registry_calibrationlinkfact": (
        "key", "owner", "standard", "certificate", "upstream_owner", "upstream_standard",
        "upstream_certificate", "used_on",
    ),
    "registry_organizationfact": (
        "key", "code", "at", "name", "kind", "region", "accreditation", "parent", "time_zone",
    ),
    "registry_signingkeyfact": (
        "key", "issuer", "fingerprint", "event", "at", "certificate_pem", "trust_roots_pem",
        "valid_from", "valid_until",
    ),
}  # fmt: skip

#: The column of each published table naming the organization a fact is of: the row filter
#: lets a fact cross when it names one of the node's own issuers.
ISSUER_COLUMN: dict[str, str] = {
    "registry_certificatefact": "issuer",
    "registry_reliancefact": "issuer",
    "registry_standardfact": "owner",
    "registry_calibrationlinkfact": "owner",
    "registry_organizationfact": "code",
    "registry_signingkeyfact": "issuer",
}

REGISTERS_PUBLICATION = "caltrace_national_registers"
#: The national registers, published by the national node to the centers: what crosses, table
#: by table (``tests/labserver/test_national_registers.py`` pins it as the registry's are).
REGISTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "registry_patterndecisionfact": (
        "key", "authority", "number", "event", "at", "instrument_type", "manufacturer",
        "model", "approved_on", "valid_until", "withdrawn_on",
    ),
    "registry_designationfact": (
        "key", "authority", "number", "organization", "at", "fields", "instrument_types",
        "valid_from", "valid_until", "event", "withdrawn_on",
    ),
    "registry_verifiercertificationfact": (
        "key", "authority", "number", "organization", "at", "fields", "instrument_types",
        "valid_from", "valid_until", "event", "revoked_on",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Publication:
    """A publication a node may make: its name, its tables with their columns, and the
    column of each naming the organization whose facts it lets cross."""

    name: str
    columns: dict[str, tuple[str, ...]]
    issuer_column: dict[str, str]
    of: str
    """Who the row filter names, for a person: ``issuer`` or ``directorate``."""


#: A node's registry (every node), to the national node.
REGISTRY = Publication(PUBLICATION, PUBLISHED_COLUMNS, ISSUER_COLUMN, "issuer")
#: The national registers (the national node), to the centers.
NATIONAL_REGISTERS = Publication(
    REGISTERS_PUBLICATION,
    REGISTER_COLUMNS,
    dict.fromkeys(REGISTER_COLUMNS, "authority"),
    "directorate",
)
PUBLICATIONS = (REGISTRY, NATIONAL_REGISTERS)

RECALLS_PREFIX = "caltrace_recalls_"
#: The national node's recall notices (:mod:`labserver.registry.recalls`): what crosses to a
#: center (``tests/labserver/test_recalls.py`` pins it as the registry's are).
RECALL_COLUMNS: dict[str, tuple[str, ...]] = {
    "registry_recallnoticefact": (
        "key", "at", "owner", "standard", "out_of_tolerance", "since", "found_on", "issuer",
        "kind", "number", "affected_standard", "via_owner", "via_standard", "depth", "used_on",
        "window_start", "window_end",
    ),
}  # fmt: skip


def recalls_publication(addressees: Sequence[str]) -> Publication:
    """The publication of the recall notices addressed to ``addressees`` (a center's
    organizations), at the national node: ``caltrace_recalls_<codes>``.

    One a center, not one for all with the registers: a row filter is the publisher's, the
    same for every subscriber, so only a publication of its own lets a center receive its
    notices and no other center's."""
    if not addressees:
        raise FederationError("no addressee for the recall notices: name them with --issuer CODE")
    codes = sorted({_issuer(code) for code in addressees})
    name = RECALLS_PREFIX + "_".join(re.sub(r"[^a-z0-9]", "_", c.lower()) for c in codes)
    return Publication(
        _identifier("publication", name),
        RECALL_COLUMNS,
        dict.fromkeys(RECALL_COLUMNS, "issuer"),
        "addressee",
    )


_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class FederationError(Exception):
    """What cannot be done as asked, said with the node, publication or role at fault."""


def _identifier(what: str, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise FederationError(
            f"{what} {name!r}: use lower-case letters, digits and _, starting with a letter "
            "or _, at most 63 characters"
        )
    return name


def shown(conninfo: str) -> str:
    """``conninfo`` for a person to read: its password left out."""
    try:
        params = libpq.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(a connection string libpq cannot read)"
    return libpq.make_conninfo("", **{k: v for k, v in params.items() if k != "password"})


def _with_password(conninfo: str, password: str) -> str:
    """``conninfo`` with the replication role's password, unless it names one already."""
    try:
        params = libpq.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as error:
        raise FederationError(f"--conninfo: libpq cannot read it: {error}") from None
    if password and "password" not in params:
        params["password"] = password
    return libpq.make_conninfo("", **params)


def node_issuers(stated: Sequence[str] = ()) -> list[str]:
    """The issuers whose facts this node publishes: ``stated``, or else every organization
    of the node that issues certificates (all but the customers)."""
    if stated:
        return sorted({_issuer(code) for code in stated})
    codes = sorted(
        Organization.objects.exclude(kind=Organization.Kind.CUSTOMER).values_list("code", flat=True)
    )
    if not codes:
        raise FederationError(
            "this node has no organization that issues certificates: name the issuers whose "
            "facts it publishes with --issuer CODE"
        )
    return codes


def node_authorities(stated: Sequence[str] = ()) -> list[str]:
    """The directorates whose national registers this node publishes: ``stated``, or else
    every organization of the node of kind ``directorate``."""
    if stated:
        return sorted({_issuer(code) for code in stated})
    codes = sorted(
        Organization.objects.filter(kind=Organization.Kind.DIRECTORATE).values_list(
            "code", flat=True
        )
    )
    if not codes:
        raise FederationError(
            "this node has no national directorate: the national registers are published by "
            "the national node (name the directorate with --issuer CODE)"
        )
    return codes


def _issuer(code: str) -> str:
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,32}", code):
        raise FederationError(
            f"--issuer {code!r}: not an organization code (letters, digits, -, _)"
        )
    return code


# ------------------------------------------------------------------ publish


@dataclass(frozen=True)
class Published:
    """What :func:`publish` did."""

    database: str
    publication: Publication
    created: bool
    issuers: tuple[str, ...]
    role: str
    role_created: bool
    password_set: bool
    readable: tuple[str, ...]
    """Every table the replication role may read (those of every publication of the node)."""

    def __str__(self) -> str:
        tables = "; ".join(
            f"{table} ({len(columns)} columns: {', '.join(columns)})"
            for table, columns in self.publication.columns.items()
        )
        if self.role_created:
            role = f"replication role {self.role} created"
        else:
            role = f"replication role {self.role} already existed, its grants set again"
        if self.password_set:
            password = f"its password set from {PASSWORD_ENV}"
        else:
            password = (
                f"no password set ({PASSWORD_ENV} is empty): it logs in only where "
                "pg_hba.conf lets it without one"
            )
        return (
            f"publication {self.publication.name} {'created' if self.created else 'updated'} "
            f"on database {self.database}: INSERT only; rows whose {self.publication.of} is "
            f"{', '.join(self.issuers)}; {tables}\n"
            f"{role} (LOGIN REPLICATION; SELECT on {', '.join(self.readable)} only), "
            f"{password}"
        )


def publish(
    connection: BaseDatabaseWrapper,
    issuers: Sequence[str],
    *,
    role: str = REPLICATION_ROLE,
    password: str = "",
    publication: Publication = REGISTRY,
) -> Published:
    """Create or update one of this node's publications (its registry, by default; the
    national registers on the national node) and its replication role, as the
    ``connection`` (the tables' owner or a superuser; a superuser to create the role). The
    role may read the tables of every publication the node makes, and no other."""
    _identifier("replication role", role)
    if not issuers:
        raise FederationError("no issuer to publish: name them with --issuer CODE")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_database(), current_schema(), current_user, "
            "       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
            "       (SELECT rolreplication FROM pg_roles WHERE rolname = %s), "
            "       EXISTS (SELECT 1 FROM pg_publication WHERE pubname = %s)",
            [role, publication.name],
        )
        database, schema, me, superuser, replication, exists = cursor.fetchone()
        _check_columns(cursor, schema, publication)
        who, where = sql.Identifier(role), sql.Identifier(schema)
        secret = sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
        role_created = replication is None
        if role_created or not replication:
            if not superuser:
                raise FederationError(
                    f"the replication role {role} "
                    f"{'does not exist' if role_created else 'lacks REPLICATION'} and {me} is "
                    "no superuser: on PostgreSQL 15 a superuser gives REPLICATION (run this "
                    "command with DATABASE_OWNER_URL set to a superuser's URL)"
                )
            verb = "CREATE" if role_created else "ALTER"
            cursor.execute(sql.SQL(verb + " ROLE {} LOGIN REPLICATION{}").format(who, secret))
        elif password:
            cursor.execute(sql.SQL("ALTER ROLE {}{}").format(who, secret))
        cursor.execute(
            "SELECT pubname FROM pg_publication "
            "WHERE pubname = ANY(%s) OR starts_with(pubname, %s)",
            [[p.name for p in PUBLICATIONS], RECALLS_PREFIX],
        )
        made = {name for (name,) in cursor.fetchall()} | {publication.name}
        readable = [t for p in PUBLICATIONS if p.name in made for t in p.columns]
        if any(name.startswith(RECALLS_PREFIX) for name in made):
            readable += list(RECALL_COLUMNS)
        tables = [sql.SQL("{}.{}").format(where, sql.Identifier(t)) for t in publication.columns]
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, who))
        cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(where, who))
        cursor.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{}.{}").format(where, sql.Identifier(t)) for t in readable
                ),
                who,
            )
        )

        # equalities joined by OR: PostgreSQL 15 refuses an IN list (an array constructor)
        # in a publication's row filter
        def which(table: str) -> sql.Composable:
            return sql.SQL(" OR ").join(
                sql.SQL("{} = {}").format(
                    sql.Identifier(publication.issuer_column[table]), sql.Literal(code)
                )
                for code in issuers
            )

        spec = sql.SQL(", ").join(
            sql.SQL("TABLE {} ({}) WHERE ({})").format(
                table, sql.SQL(", ").join(sql.Identifier(c) for c in columns), which(name)
            )
            for table, (name, columns) in zip(tables, publication.columns.items(), strict=True)
        )
        name = sql.Identifier(publication.name)
        if exists:
            cursor.execute(sql.SQL("ALTER PUBLICATION {} SET {}").format(name, spec))
            cursor.execute(sql.SQL("ALTER PUBLICATION {} SET ({})").format(name, _OPTIONS))
        else:
            cursor.execute(
                sql.SQL("CREATE PUBLICATION {} FOR {} WITH ({})").format(name, spec, _OPTIONS)
            )
    return Published(
        database=database,
        publication=publication,
        created=not exists,
        issuers=tuple(issuers),
        role=role,
        role_created=role_created,
        password_set=bool(password),
        readable=tuple(readable),
    )


#: INSERT only (facts are append-only); a partitioned table (the certificate facts, by
#: year: :mod:`labserver.registry.partitions`) published as itself, not as its partitions,
#: so a subscriber's partitions need not match the publisher's (or exist at all).
_OPTIONS = sql.SQL("publish = 'insert', publish_via_partition_root = true")


def _check_columns(cursor: Any, schema: str, publication: Publication) -> None:
    """Every published column is in its table: a node not migrated far enough is told so."""
    for table, columns in publication.columns.items():
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        )
        have = {name for (name,) in cursor.fetchall()}
        missing = [c for c in columns if c not in have]
        if missing:
            raise FederationError(
                f"table {table} lacks the published column(s) {', '.join(missing)}: run "
                "manage.py migrate first"
            )


# ------------------------------------------------------------------ subscribe


@dataclass(frozen=True)
class Subscribed:
    """What :func:`subscribe` did."""

    name: str
    publication: str
    publisher: str
    action: str  # created, updated, unchanged

    def __str__(self) -> str:
        if self.action == "created":
            return (
                f"subscription {self.name} created: publication {self.publication} of "
                f"{self.publisher}, slot {self.name} on the publisher; the facts already "
                "published are copied first, then each new one follows"
            )
        return (
            f"subscription {self.name} {self.action}: publication {self.publication} of "
            f"{self.publisher}"
        )


def subscribe(
    connection: BaseDatabaseWrapper,
    name: str,
    conninfo: str,
    *,
    publication: str = PUBLICATION,
    password: str = "",
) -> Subscribed:
    """Subscribe this node to ``publication`` on the node ``conninfo`` reaches, as the
    subscription ``name`` (and its slot of the same name on the publisher); refused when
    the publisher has no such publication."""
    _identifier("subscription", name)
    _identifier("publication", publication)
    full = _with_password(conninfo, password)
    publisher = shown(full)
    try:
        with psycopg.connect(full, connect_timeout=10) as remote:
            found = remote.execute(
                "SELECT pubinsert FROM pg_publication WHERE pubname = %s", [publication]
            ).fetchone()
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FederationError(
            f"center {name}: the publisher {publisher} cannot be reached: {first}"
        ) from None
    if found is None:
        raise FederationError(
            f"center {name}: the publisher {publisher} has no publication {publication}: run "
            "manage.py federation publish on that node first"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (superuser,) = cursor.fetchone()
        if not superuser:
            raise FederationError(
                f"subscription {name}: on PostgreSQL 15 a superuser subscribes (run this "
                "command with DATABASE_OWNER_URL set to a superuser's URL)"
            )
        cursor.execute(
            "SELECT subconninfo, subpublications FROM pg_subscription "
            "WHERE subname = %s AND subdbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [name],
        )
        existing = cursor.fetchone()
        ident = sql.Identifier(name)
        if existing is None:
            cursor.execute(
                sql.SQL(
                    "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (slot_name = {})"
                ).format(ident, sql.Literal(full), sql.Identifier(publication), sql.Literal(name))
            )
            action = "created"
        else:
            stored, publications = existing
            action = "unchanged"
            if stored != full:
                cursor.execute(
                    sql.SQL("ALTER SUBSCRIPTION {} CONNECTION {}").format(ident, sql.Literal(full))
                )
                action = "updated"
            if list(publications) != [publication]:
                cursor.execute(
                    sql.SQL("ALTER SUBSCRIPTION {} SET PUBLICATION {}").format(
                        ident, sql.Identifier(publication)
                    )
                )
                action = "updated"
    return Subscribed(name=name, publication=publication, publisher=publisher, action=action)


# ------------------------------------------------------------------ status


@dataclass
class SubscriptionState:
    """One subscription as :func:`status` found it."""

    name: str
    publications: list[str]
    enabled: bool
    streaming: bool
    last_message_at: str | None
    last_message_age_s: float | None
    received_lsn: str | None
    publisher_lsn: str | None
    confirmed_lsn: str | None
    lag_bytes: int | None
    publisher: str
    apply_errors: int
    sync_errors: int
    contradictions: int
    duplicates: int
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


_SUBSCRIPTIONS = """
SELECT s.subname, s.subenabled, coalesce(s.subslotname, s.subname), s.subpublications,
       w.pid IS NOT NULL, w.received_lsn::text, w.last_msg_receipt_time,
       extract(epoch FROM clock_timestamp() - w.last_msg_receipt_time)::float8,
       coalesce(st.apply_error_count, 0), coalesce(st.sync_error_count, 0)
  FROM pg_subscription s
  LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL
  LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid
 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY s.subname
"""


def status(
    connection: BaseDatabaseWrapper, *, max_lag_bytes: int, password: str = ""
) -> tuple[list[SubscriptionState], list[dict[str, Any]]]:
    """Every subscription of this database, and the latest contradictions that arrived."""
    with connection.cursor() as cursor:
        cursor.execute(_SUBSCRIPTIONS)
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT subscription, kind, count(*) FROM federation_arrival "
            "GROUP BY subscription, kind"
        )
        arrivals = {(sub, kind): int(n) for sub, kind, n in cursor.fetchall()}
        cursor.execute(
            "SELECT at, subscription, issuer, key, reason FROM federation_arrival "
            "WHERE kind = 'contradiction' ORDER BY at DESC, id DESC LIMIT 20"
        )
        latest = [
            {"at": at.isoformat(), "subscription": s, "issuer": i, "key": k, "reason": r}
            for at, s, i, k, r in cursor.fetchall()
        ]
    states = []
    for name, enabled, slot, pubs, streaming, received, last, age, applied, synced in rows:
        state = SubscriptionState(
            name=name,
            publications=list(pubs),
            enabled=bool(enabled),
            streaming=bool(streaming),
            last_message_at=last.isoformat() if isinstance(last, datetime) else None,
            last_message_age_s=round(age, 1) if age is not None else None,
            received_lsn=received,
            publisher_lsn=None,
            confirmed_lsn=None,
            lag_bytes=None,
            publisher="",
            apply_errors=int(applied),
            sync_errors=int(synced),
            contradictions=arrivals.get((name, "contradiction"), 0),
            duplicates=arrivals.get((name, "duplicate"), 0),
        )
        _publisher_side(connection, state, slot, password)
        if not state.enabled:
            state.problems.append("disabled")
        elif not state.streaming:
            state.problems.append(
                "not streaming: no apply worker (the publisher unreachable or the worker "
                "failing: see this server's log)"
            )
        if state.lag_bytes is not None and state.lag_bytes > max_lag_bytes:
            state.problems.append(
                f"behind by {state.lag_bytes} bytes of the publisher's WAL (more than "
                f"{max_lag_bytes})"
            )
        states.append(state)
    return states, latest


def _publisher_side(
    connection: BaseDatabaseWrapper, state: SubscriptionState, slot: str, password: str
) -> None:
    """The publisher's WAL position, the slot's confirmed position and the lag between them,
    when this connection may read the subscription's connection and the publisher answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT subconninfo FROM pg_subscription WHERE subname = %s", [state.name]
            )
            (conninfo,) = cursor.fetchone()
    except DatabaseError as error:  # a non-superuser may not read subconninfo
        state.publisher = f"not read: {str(error).strip().splitlines()[0]}"
        return
    state.publisher = shown(conninfo)
    try:
        with psycopg.connect(_with_password(conninfo, password), connect_timeout=5) as remote:
            row = remote.execute(
                "SELECT pg_current_wal_lsn()::text, s.confirmed_flush_lsn::text, "
                "       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint "
                "  FROM (SELECT 1) one "
                "  LEFT JOIN pg_replication_slots s ON s.slot_name = %s",
                [slot],
            ).fetchone()
    except (psycopg.Error, FederationError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        state.publisher += f" (unreachable: {first})"
        return
    assert row is not None
    state.publisher_lsn, state.confirmed_lsn, lag = row
    if state.confirmed_lsn is None:
        state.problems.append(f"the publisher has no slot {slot}")
    else:
        state.lag_bytes = int(lag)
