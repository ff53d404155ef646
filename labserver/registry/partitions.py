"""The certificate facts' table partitioned by year, on PostgreSQL.

``registry_certificatefact`` is range-partitioned on ``issued_on``, a partition per calendar
year (``registry_certificatefact_y2026``) and a default partition that catches a year
nobody created yet. ``issued_on`` rather than ``at``: every fact of a certificate repeats
its issue date (:func:`labserver.registry.records._follow_up`), so a certificate's
``issued``, ``superseded`` and ``revoked`` facts all live in the partition of the year it was
issued, even when it is revoked years later; the unique (issuer, number, event) and the
primary key, which on a partitioned table must contain the partition column, then still
catch a repeated event of one certificate inside one partition.

A partitioned table's primary key must include the partition column: on PostgreSQL it is
(``key``, ``issued_on``). Django keeps seeing ``key`` as the primary key, and the database
keeps ``key`` unique across the partitions with a trigger (:data:`KEY_ONCE_FUNCTION`)
that refuses, as a unique violation, a key some partition already holds. (Two
transactions inserting the same key with *different* issue dates at the same instant
would both pass it; on a node its certificate numbers are unique before any fact is
written, and a follow-up repeats its certificate's issue date, so only two nodes claiming
one issuer could do that, and the arrival trigger reports it when the second row arrives.)

The year's partition is made ahead of need by ``manage.py registry_partitions`` (the
operator's yearly step, [Registry partitions](docs/operators/registry-partitions.md));
a row of a year without its partition lands in the default partition, and the command
moves such rows into the year's partition when it creates it.

SQLite, the embedded default, keeps the plain table: every function here does nothing
there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from labserver.core.db import truncate_trigger_sql

__all__ = [
    "KEY_ONCE_FUNCTION",
    "PARENT",
    "PartitionError",
    "Years",
    "ensure_years",
    "is_partitioned",
    "partition_name",
    "rebuild",
    "years",
]

PARENT = "registry_certificatefact"
COLUMN = "issued_on"
DEFAULT = f"{PARENT}_default"
PRIMARY_KEY = f"{PARENT}_pkey"
EVENT_ONCE = "registry_certificate_event_once"
KEY_ONCE_FUNCTION = "caltrace_registry_key_once"
KEY_ONCE_TRIGGER = f"{PARENT}_key_once"
FIRST_YEAR, LAST_YEAR = 1900, 9998

KEY_ONCE_SQL = f"""
CREATE OR REPLACE FUNCTION {KEY_ONCE_FUNCTION}() RETURNS trigger AS $$
DECLARE
    root regclass := coalesce(pg_catalog.pg_partition_root(TG_RELID), TG_RELID);
    taken boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s t WHERE t.key = $1)', root)
       INTO taken USING NEW.key;
    IF taken THEN
        RAISE EXCEPTION 'caltrace: duplicate key value violates unique constraint "%": '
            'key % is already registered', '{PRIMARY_KEY}', NEW.key
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


class PartitionError(Exception):
    """A partition cannot be made as asked; the message names the year and the table."""


def partition_name(year: int) -> str:
    """The partition of the facts of certificates issued in ``year``."""
    return f"{PARENT}_y{year:04d}"


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    """Whether the facts' table is partitioned here (never on SQLite)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)",
            [PARENT],
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PartitionError(
            f"year {year}: a partition of {PARENT} is for a year from {FIRST_YEAR} to {LAST_YEAR}"
        )


def _create_partition(cursor: Any, year: int) -> None:
    name = partition_name(year)
    cursor.execute(
        f'CREATE TABLE "{name}" PARTITION OF "{PARENT}" '
        f"FOR VALUES FROM ('{year:04d}-01-01') TO ('{year + 1:04d}-01-01')"
    )
    # the row triggers are cloned from the parent; a TRUNCATE of the partition itself
    # would pass the parent's statement trigger: it gets its own
    cursor.execute(truncate_trigger_sql(name))


def _create_default(cursor: Any) -> None:
    cursor.execute(f'CREATE TABLE "{DEFAULT}" PARTITION OF "{PARENT}" DEFAULT')
    cursor.execute(truncate_trigger_sql(DEFAULT))


@dataclass(frozen=True)
class Years:
    """The partitions of the facts' table: its years, and the facts waiting in the
    default partition, by year."""

    years: tuple[int, ...]
    waiting: dict[int, int]


def years(connection: BaseDatabaseWrapper) -> Years:
    """The years that have their partition, and how many facts of each other year the
    default partition holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [PARENT],
        )
        names = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            f'SELECT extract(year FROM {COLUMN})::int, count(*) FROM "{DEFAULT}" GROUP BY 1'
        )
        waiting = {int(year): int(n) for year, n in cursor.fetchall()}
    prefix = f"{PARENT}_y"
    have = sorted(int(n[len(prefix) :]) for n in names if n.startswith(prefix))
    return Years(tuple(have), waiting)


def ensure_years(connection: BaseDatabaseWrapper, wanted: list[int]) -> list[int]:
    """Create the partitions of the ``wanted`` years that are missing, moving the facts of
    those years out of the default partition; the years created. Run as the tables'
    owner, in one transaction (a partition of a year the default partition holds facts of
    cannot be attached beside it: the default partition is detached, the year's partition
    made, its facts put back through the parent, and the old default dropped)."""
    from django.db import transaction

    if not is_partitioned(connection):
        raise PartitionError(
            f"{PARENT} is not partitioned on this database ({connection.vendor}): nothing to create"
        )
    for year in wanted:
        _check_year(year)
    with transaction.atomic(using=connection.alias):
        state = years(connection)
        missing = sorted(set(wanted) - set(state.years))
        if not missing:
            return []
        with connection.cursor() as cursor:
            if any(year in state.waiting for year in missing):
                held = f"{DEFAULT}_moving"
                cursor.execute(f'ALTER TABLE "{PARENT}" DETACH PARTITION "{DEFAULT}"')
                cursor.execute(f'ALTER TABLE "{DEFAULT}" RENAME TO "{held}"')
                for year in missing:
                    _create_partition(cursor, year)
                _create_default(cursor)
                cursor.execute(f'INSERT INTO "{PARENT}" SELECT * FROM "{held}"')
                cursor.execute(f'DROP TABLE "{held}"')
            else:
                for year in missing:
                    _create_partition(cursor, year)
    return missing


def _index_definitions(cursor: Any, table: str) -> list[tuple[str, str]]:
    """The table's own indexes (not its constraints'): name, and the statement that creates
    it again on the table of the same name."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) "
        "  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY 1",
        [table],
    )
    return [(name, d.replace(" ON ONLY ", " ON ")) for name, d in cursor.fetchall()]


def _trigger_definitions(cursor: Any, table: str) -> list[tuple[str, str, str]]:
    """The table's own triggers (not those cloned from a parent, not the key-once one):
    name, statement, enabled state."""
    cursor.execute(
        "SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t "
        "WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal AND t.tgparentid = 0 "
        "  AND t.tgname <> %s ORDER BY t.tgname",
        [table, KEY_ONCE_TRIGGER],
    )
    return [(name, definition, str(enabled)) for name, definition, enabled in cursor.fetchall()]


def _publications(cursor: Any, table: str) -> list[tuple[str, str | None, list[str]]]:
    """The publications the table is in: name, row filter, column list (empty: all)."""
    cursor.execute(
        "SELECT p.pubname, pg_get_expr(r.prqual, r.prrelid), "
        "       coalesce((SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a "
        "                  WHERE a.attrelid = r.prrelid AND a.attnum = ANY(r.prattrs)), "
        "                '{}'::name[]) "
        "  FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
        " WHERE r.prrelid = to_regclass(%s) ORDER BY p.pubname",
        [table],
    )
    return [(name, qual, list(columns)) for name, qual, columns in cursor.fetchall()]


def _grants(cursor: Any, table: str) -> list[tuple[str, str]]:
    """Who, besides its owner, was granted what on the table: (privilege, grantee) pairs
    (the runtime role's, the federation's replication role's SELECT)."""
    cursor.execute(
        "SELECT a.privilege_type, "
        "       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END "
        "  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "  LEFT JOIN pg_roles r ON r.oid = a.grantee "
        " WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner "
        " ORDER BY 2, 1",
        [table],
    )
    return [(privilege, grantee) for privilege, grantee in cursor.fetchall()]


def rebuild(schema_editor: Any, partitioned: bool) -> None:
    """Make the facts' table partitioned by year (or plain again), keeping its rows, its
    indexes, its triggers (the append-only ones, the federation's arrival trigger with its
    ``ENABLE REPLICA``), its grants (the runtime role's, the replication role's) and its
    place in a publication (then published through the
    partitioned table itself: ``publish_via_partition_root``). PostgreSQL only."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or is_partitioned(connection) == partitioned:
        return
    old = f"{PARENT}_unpartitioned" if partitioned else f"{PARENT}_partitioned"
    with connection.cursor() as cursor:
        indexes = _index_definitions(cursor, PARENT)
        triggers = _trigger_definitions(cursor, PARENT)
        publications = _publications(cursor, PARENT)
        grants = _grants(cursor, PARENT)
        cursor.execute(f'ALTER TABLE "{PARENT}" RENAME TO "{old}"')
        cursor.execute(f'ALTER TABLE "{old}" DROP CONSTRAINT "{PRIMARY_KEY}"')
        cursor.execute(f'ALTER TABLE "{old}" DROP CONSTRAINT "{EVENT_ONCE}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        spec = f" PARTITION BY RANGE ({COLUMN})" if partitioned else ""
        cursor.execute(f'CREATE TABLE "{PARENT}" (LIKE "{old}" INCLUDING DEFAULTS){spec}')
        if partitioned:
            cursor.execute(
                f'SELECT DISTINCT extract(year FROM {COLUMN})::int FROM "{old}" ORDER BY 1'
            )
            present = [int(year) for (year,) in cursor.fetchall()]
            this_year = timezone.localdate().year
            for year in sorted({*present, this_year, this_year + 1}):
                _create_partition(cursor, year)
            _create_default(cursor)
        cursor.execute(f'INSERT INTO "{PARENT}" SELECT * FROM "{old}"')
        cursor.execute(f'DROP TABLE "{old}" CASCADE')
        with_column = f", {COLUMN}" if partitioned else ""
        cursor.execute(
            f'ALTER TABLE "{PARENT}" ADD CONSTRAINT "{PRIMARY_KEY}" PRIMARY KEY (key{with_column})'
        )
        cursor.execute(
            f'ALTER TABLE "{PARENT}" ADD CONSTRAINT "{EVENT_ONCE}" '
            f"UNIQUE (issuer, number, event{with_column})"
        )
        for _, definition in indexes:
            cursor.execute(definition)
        if partitioned:
            cursor.execute(KEY_ONCE_SQL)
            cursor.execute(
                f'CREATE TRIGGER "{KEY_ONCE_TRIGGER}" BEFORE INSERT ON "{PARENT}" '
                f"FOR EACH ROW EXECUTE FUNCTION {KEY_ONCE_FUNCTION}()"
            )
        for name, definition, enabled in triggers:
            cursor.execute(definition)
            state = {"R": "ENABLE REPLICA", "A": "ENABLE ALWAYS", "D": "DISABLE"}.get(enabled)
            if state:
                cursor.execute(f'ALTER TABLE "{PARENT}" {state} TRIGGER "{name}"')
        # the owner's default privileges gave the new table what the old one may not have
        # had (UPDATE and DELETE to the runtime role): exactly the old grants, no more
        for grantee in sorted({grantee for _, grantee in _grants(cursor, PARENT)}):
            cursor.execute(f'REVOKE ALL ON "{PARENT}" FROM {grantee}')
        for privilege, grantee in grants:
            cursor.execute(f'GRANT {privilege} ON "{PARENT}" TO {grantee}')
        for publication, qual, columns in publications:
            listed = f" ({', '.join(columns)})" if columns else ""
            where = f" WHERE ({qual})" if qual else ""
            if partitioned:
                cursor.execute(
                    f'ALTER PUBLICATION "{publication}" SET (publish_via_partition_root = true)'
                )
            cursor.execute(f'ALTER PUBLICATION "{publication}" ADD TABLE "{PARENT}"{listed}{where}')
