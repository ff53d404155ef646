"""Tables partitioned by year, on PostgreSQL: the mechanics the partitioned tables share.

A table grows by years (the registry's certificate facts, the LIMS's readings) and is read
by a key that knows its year: range-partitioned on one date or time column, a partition
per calendar year (``<table>_y2026``) and a default partition that catches a year nobody
created yet, its look-ups stay flat however many years the node holds (the planner visits
the partitions of the years asked for). Each table is described once by a
:class:`YearlyTable`; this module makes it partitioned (or plain again) keeping its rows,
and creates a year's partition ahead of need, moving the rows of that year out of the
default partition (``manage.py partitions``, the operator's yearly step,
[Partitions by year](docs/operators/partitions.md)).

A partitioned table's primary key and unique constraints must contain the partition
column: they are rebuilt with it appended, while Django keeps seeing the key it knows.
Whether that key stays unique across partitions is each table's own matter (a trigger for
the registry's global keys, the identity sequence for the readings' ids): see the module
that describes the table.

What the rebuild keeps: the rows; the identity column's sequence position (a rebuilt table
goes on numbering where the old one stopped); the check and foreign-key constraints; the
indexes; the triggers (the append-only ones, cloned by PostgreSQL to every partition for the
row triggers, and a TRUNCATE trigger of its own on each partition, since a TRUNCATE of a
partition passes the parent's statement trigger); the grants, exactly; the table's place in
a publication (then published through the partitioned table itself:
``publish_via_partition_root``).

A year is a calendar year of the column's own values: a ``date`` as it is, a
``timestamptz`` in UTC (a partition's bounds are fixed when it is made, so they cannot
follow a session's or a node's time zone; the planner prunes on any bound whatever year the
lab calls it).

SQLite, the embedded default, keeps the plain tables: every function here does nothing
there, or says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from labserver.core.db import truncate_trigger_sql

__all__ = [
    "PartitionError",
    "YearlyTable",
    "Years",
    "ensure_years",
    "is_partitioned",
    "rebuild",
    "register",
    "registered",
    "years",
]

FIRST_YEAR, LAST_YEAR = 1900, 9998


class PartitionError(Exception):
    """A partition cannot be made as asked; the message names the year and the table."""


@dataclass(frozen=True)
class YearlyTable:
    """A table partitioned by the year of ``column``.

    ``keys``: the primary key's and unique constraints' names with the columns Django knows
    them by (the partition column is appended on PostgreSQL). ``timestamp``: the column is a
    ``timestamptz`` (years in UTC), else a ``date``. ``identity``: the identity column whose
    sequence goes on where it stopped, made ``GENERATED ALWAYS`` when partitioned (no
    hand-picked value can then repeat an id in another partition). ``own_triggers``: the
    triggers the table's module installs itself after a rebuild, left out of those kept.
    ``rows``: what the operator's command calls its rows.
    """

    parent: str
    column: str
    keys: tuple[tuple[str, tuple[str, ...]], ...]
    timestamp: bool = False
    identity: str | None = None
    own_triggers: tuple[str, ...] = field(default=())
    rows: str = "row(s)"

    @property
    def default(self) -> str:
        return f"{self.parent}_default"

    def partition(self, year: int) -> str:
        """The partition of the rows of ``year``."""
        return f"{self.parent}_y{year:04d}"

    def bound(self, year: int) -> str:
        """The first instant (or day) of ``year``, as a partition bound's literal."""
        return f"'{year:04d}-01-01 00:00:00+00'" if self.timestamp else f"'{year:04d}-01-01'"

    @property
    def year_of(self) -> str:
        """The SQL expression of a row's year."""
        if self.timestamp:
            return f"extract(year FROM \"{self.column}\" AT TIME ZONE 'UTC')::int"
        return f'extract(year FROM "{self.column}")::int'

    def check_year(self, year: int) -> None:
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise PartitionError(
                f"year {year}: a partition of {self.parent} is for a year from {FIRST_YEAR} "
                f"to {LAST_YEAR}"
            )


#: The tables partitioned by year, by parent name: each app registers its own when it is
#: ready (the apps below ``core`` know their tables; ``core`` only their mechanics).
_TABLES: dict[str, YearlyTable] = {}


def register(table: YearlyTable) -> YearlyTable:
    """Make ``table`` one that ``manage.py partitions`` looks after."""
    _TABLES[table.parent] = table
    return table


def registered() -> list[YearlyTable]:
    """The tables partitioned by year, by name."""
    return [_TABLES[name] for name in sorted(_TABLES)]


def is_partitioned(connection: BaseDatabaseWrapper, table: YearlyTable) -> bool:
    """Whether ``table`` is partitioned here (never on SQLite)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", [table.parent]
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def _create_partition(cursor: Any, table: YearlyTable, year: int) -> None:
    name = table.partition(year)
    cursor.execute(
        f'CREATE TABLE "{name}" PARTITION OF "{table.parent}" '
        f"FOR VALUES FROM ({table.bound(year)}) TO ({table.bound(year + 1)})"
    )
    # the row triggers are cloned from the parent; a TRUNCATE of the partition itself
    # would pass the parent's statement trigger: it gets its own
    cursor.execute(truncate_trigger_sql(name))


def _create_default(cursor: Any, table: YearlyTable) -> None:
    cursor.execute(f'CREATE TABLE "{table.default}" PARTITION OF "{table.parent}" DEFAULT')
    cursor.execute(truncate_trigger_sql(table.default))


def _copy(table: YearlyTable, source: str) -> str:
    """Every row of ``source`` into the table, ids and all."""
    overriding = " OVERRIDING SYSTEM VALUE" if table.identity else ""
    return f'INSERT INTO "{table.parent}"{overriding} SELECT * FROM "{source}"'


@dataclass(frozen=True)
class Years:
    """The partitions of a table: its years, and the rows waiting in the default partition,
    by year."""

    years: tuple[int, ...]
    waiting: dict[int, int]


def years(connection: BaseDatabaseWrapper, table: YearlyTable) -> Years:
    """The years that have their partition, and how many rows of each other year the
    default partition holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [table.parent],
        )
        names = [name for (name,) in cursor.fetchall()]
        cursor.execute(f'SELECT {table.year_of}, count(*) FROM "{table.default}" GROUP BY 1')
        waiting = {int(year): int(n) for year, n in cursor.fetchall()}
    prefix = f"{table.parent}_y"
    have = sorted(int(n[len(prefix) :]) for n in names if n.startswith(prefix))
    return Years(tuple(have), waiting)


def ensure_years(
    connection: BaseDatabaseWrapper, table: YearlyTable, wanted: list[int]
) -> list[int]:
    """Create the partitions of the ``wanted`` years that are missing, moving the rows of
    those years out of the default partition; the years created. Run as the tables' owner,
    in one transaction (a partition of a year the default partition holds rows of cannot be
    attached beside it: the default partition is detached, the year's partition made, its
    rows put back through the parent, and the old default dropped)."""
    from django.db import transaction

    if not is_partitioned(connection, table):
        raise PartitionError(
            f"{table.parent} is not partitioned on this database ({connection.vendor}): "
            "nothing to create"
        )
    for year in wanted:
        table.check_year(year)
    with transaction.atomic(using=connection.alias):
        state = years(connection, table)
        missing = sorted(set(wanted) - set(state.years))
        if not missing:
            return []
        with connection.cursor() as cursor:
            if any(year in state.waiting for year in missing):
                held = f"{table.default}_moving"
                cursor.execute(f'ALTER TABLE "{table.parent}" DETACH PARTITION "{table.default}"')
                cursor.execute(f'ALTER TABLE "{table.default}" RENAME TO "{held}"')
                for year in missing:
                    _create_partition(cursor, table, year)
                _create_default(cursor, table)
                cursor.execute(_copy(table, held))
                cursor.execute(f'DROP TABLE "{held}"')
            else:
                for year in missing:
                    _create_partition(cursor, table, year)
    return missing


# ------------------------------------------------------------------ what a rebuild keeps


def _index_definitions(cursor: Any, name: str) -> list[tuple[str, str]]:
    """The table's own indexes (not its constraints'): name, and the statement that creates
    it again on the table of the same name."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) "
        "  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY 1",
        [name],
    )
    return [(index, d.replace(" ON ONLY ", " ON ")) for index, d in cursor.fetchall()]


def _other_constraints(cursor: Any, name: str) -> list[tuple[str, str]]:
    """The table's check and foreign-key constraints: name and definition."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('c', 'f') AND conparentid = 0 "
        "ORDER BY conname",
        [name],
    )
    return [(constraint, definition) for constraint, definition in cursor.fetchall()]


def _trigger_definitions(cursor: Any, table: YearlyTable) -> list[tuple[str, str, str]]:
    """The table's own triggers (not those cloned from a parent, not those its module
    installs itself): name, statement, enabled state."""
    cursor.execute(
        "SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t "
        "WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal AND t.tgparentid = 0 "
        "  AND NOT (t.tgname = ANY(%s)) ORDER BY t.tgname",
        [table.parent, list(table.own_triggers)],
    )
    return [(name, definition, str(enabled)) for name, definition, enabled in cursor.fetchall()]


def _publications(cursor: Any, name: str) -> list[tuple[str, str | None, list[str]]]:
    """The publications the table is in: name, row filter, column list (empty: all)."""
    cursor.execute(
        "SELECT p.pubname, pg_get_expr(r.prqual, r.prrelid), "
        "       coalesce((SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a "
        "                  WHERE a.attrelid = r.prrelid AND a.attnum = ANY(r.prattrs)), "
        "                '{}'::name[]) "
        "  FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
        " WHERE r.prrelid = to_regclass(%s) ORDER BY p.pubname",
        [name],
    )
    return [(pub, qual, list(columns)) for pub, qual, columns in cursor.fetchall()]


def _grants(cursor: Any, name: str) -> list[tuple[str, str]]:
    """Who, besides its owner, was granted what on the table or sequence: (privilege,
    grantee) pairs (the runtime role's, the federation's replication role's SELECT)."""
    cursor.execute(
        "SELECT a.privilege_type, "
        "       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END "
        "  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "  LEFT JOIN pg_roles r ON r.oid = a.grantee "
        " WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner "
        " ORDER BY 2, 1",
        [name],
    )
    return [(privilege, grantee) for privilege, grantee in cursor.fetchall()]


def _grant_exactly(cursor: Any, kind: str, name: str, grants: list[tuple[str, str]]) -> None:
    # the owner's default privileges gave the new object what the old one may not have had
    # (UPDATE and DELETE to the runtime role): exactly the old grants, no more
    for grantee in sorted({grantee for _, grantee in _grants(cursor, name)}):
        cursor.execute(f'REVOKE ALL ON {kind} "{name}" FROM {grantee}')
    for privilege, grantee in grants:
        cursor.execute(f'GRANT {privilege} ON {kind} "{name}" TO {grantee}')


def _sequence(cursor: Any, table: str, column: str) -> str | None:
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [f'"{table}"', column])
    (name,) = cursor.fetchone()
    return None if name is None else str(name).removeprefix("public.").strip('"')


def _keep_sequence(cursor: Any, table: YearlyTable, old: str, partitioned: bool) -> None:
    """The new identity goes on where the old one stopped, under the old sequence's name
    and grants, and is generated always when partitioned (by default again when plain)."""
    assert table.identity is not None
    column = table.identity
    old_sequence = _sequence(cursor, old, column)
    new_sequence = _sequence(cursor, table.parent, column)
    if old_sequence is None or new_sequence is None:
        raise PartitionError(f"{table.parent}.{column} is not an identity column")
    grants = _grants(cursor, old_sequence)
    cursor.execute(f'SELECT last_value, is_called FROM "{old_sequence}"')
    last, called = cursor.fetchone()
    cursor.execute("SELECT setval(%s, %s, %s)", [f'"{new_sequence}"', last, called])
    cursor.execute(f'DROP TABLE "{old}" CASCADE')
    cursor.execute(f'ALTER SEQUENCE "{new_sequence}" RENAME TO "{old_sequence}"')
    how = "ALWAYS" if partitioned else "BY DEFAULT"
    cursor.execute(f'ALTER TABLE "{table.parent}" ALTER COLUMN {column} SET GENERATED {how}')
    _grant_exactly(cursor, "SEQUENCE", old_sequence, grants)


def rebuild(schema_editor: Any, table: YearlyTable, partitioned: bool) -> list[int]:
    """Make ``table`` partitioned by year (or plain again), keeping what the module's
    docstring lists: a partition for every year its rows have, this year's and the next,
    and a default partition. The years made (none when plain). PostgreSQL only; the table's
    module adds what is its own (a trigger keeping a key unique) after it."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or is_partitioned(connection, table) == partitioned:
        return []
    parent = table.parent
    old = f"{parent}_unpartitioned" if partitioned else f"{parent}_partitioned"
    made: list[int] = []
    with connection.cursor() as cursor:
        indexes = _index_definitions(cursor, parent)
        others = _other_constraints(cursor, parent)
        triggers = _trigger_definitions(cursor, table)
        publications = _publications(cursor, parent)
        grants = _grants(cursor, parent)
        cursor.execute(f'ALTER TABLE "{parent}" RENAME TO "{old}"')
        for name, _ in [*table.keys, *others]:
            cursor.execute(f'ALTER TABLE "{old}" DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        spec = f' PARTITION BY RANGE ("{table.column}")' if partitioned else ""
        identity = " INCLUDING IDENTITY" if table.identity else ""
        cursor.execute(f'CREATE TABLE "{parent}" (LIKE "{old}" INCLUDING DEFAULTS{identity}){spec}')
        if partitioned:
            cursor.execute(f'SELECT DISTINCT {table.year_of} FROM "{old}" ORDER BY 1')
            present = [int(year) for (year,) in cursor.fetchall()]
            this_year = timezone.localdate().year
            made = sorted({*present, this_year, this_year + 1})
            for year in made:
                _create_partition(cursor, table, year)
            _create_default(cursor, table)
        cursor.execute(_copy(table, old))
        if table.identity:
            _keep_sequence(cursor, table, old, partitioned)
        else:
            cursor.execute(f'DROP TABLE "{old}" CASCADE')
        for index, (name, columns) in enumerate(table.keys):
            listed = ", ".join(
                f'"{c}"' for c in ([*columns, table.column] if partitioned else columns)
            )
            kind = "PRIMARY KEY" if index == 0 else "UNIQUE"
            cursor.execute(f'ALTER TABLE "{parent}" ADD CONSTRAINT "{name}" {kind} ({listed})')
        for name, definition in others:
            cursor.execute(f'ALTER TABLE "{parent}" ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition, enabled in triggers:
            cursor.execute(definition)
            state = {"R": "ENABLE REPLICA", "A": "ENABLE ALWAYS", "D": "DISABLE"}.get(enabled)
            if state:
                cursor.execute(f'ALTER TABLE "{parent}" {state} TRIGGER "{name}"')
        _grant_exactly(cursor, "TABLE", parent, grants)
        for publication, qual, published in publications:
            listed = f" ({', '.join(published)})" if published else ""
            where = f" WHERE ({qual})" if qual else ""
            if partitioned:
                cursor.execute(
                    f'ALTER PUBLICATION "{publication}" SET (publish_via_partition_root = true)'
                )
            cursor.execute(f'ALTER PUBLICATION "{publication}" ADD TABLE "{parent}"{listed}{where}')
    return made
