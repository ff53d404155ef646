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

The year's partition is made ahead of need by ``manage.py partitions`` (the operator's
yearly step, [Partitions by year](docs/operators/partitions.md)); a row of a year without its
partition lands in the default partition, and the command moves such rows into the year's
partition when it creates it. The mechanics are those of every table partitioned by year
(:mod:`labserver.core.partitions`); what is the registry's own is here: the table's
description and the key-once trigger.

SQLite, the embedded default, keeps the plain table: every function here does nothing
there.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from labserver.core import partitions as yearly
from labserver.core.partitions import PartitionError, Years

__all__ = [
    "CERTIFICATE_FACTS",
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
PRIMARY_KEY = f"{PARENT}_pkey"
KEY_ONCE_FUNCTION = "caltrace_registry_key_once"
KEY_ONCE_TRIGGER = f"{PARENT}_key_once"
CERTIFICATE_FACTS = yearly.YearlyTable(
    parent=PARENT,
    column="issued_on",
    keys=(
        (PRIMARY_KEY, ("key",)),
        ("registry_certificate_event_once", ("issuer", "number", "event")),
    ),
    own_triggers=(KEY_ONCE_TRIGGER,),
    rows="fact(s)",
)
DEFAULT = CERTIFICATE_FACTS.default

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


def partition_name(year: int) -> str:
    """The partition of the facts of certificates issued in ``year``."""
    return CERTIFICATE_FACTS.partition(year)


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    """Whether the facts' table is partitioned here (never on SQLite)."""
    return yearly.is_partitioned(connection, CERTIFICATE_FACTS)


def years(connection: BaseDatabaseWrapper) -> Years:
    """The years that have their partition, and how many facts of each other year the
    default partition holds."""
    return yearly.years(connection, CERTIFICATE_FACTS)


def ensure_years(connection: BaseDatabaseWrapper, wanted: list[int]) -> list[int]:
    """Create the partitions of the ``wanted`` years that are missing, moving the facts of
    those years out of the default partition (:func:`labserver.core.partitions.ensure_years`)."""
    return yearly.ensure_years(connection, CERTIFICATE_FACTS, wanted)


def rebuild(schema_editor: Any, partitioned: bool) -> None:
    """Make the facts' table partitioned by year (or plain again), keeping its rows, indexes,
    triggers (the append-only ones, the federation's arrival trigger with its ``ENABLE
    REPLICA``), grants (the runtime role's, the replication role's) and its place in a
    publication (:func:`labserver.core.partitions.rebuild`); partitioned, the key-once
    trigger keeps a key unique across the partitions. PostgreSQL only."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or is_partitioned(connection) == partitioned:
        return
    yearly.rebuild(schema_editor, CERTIFICATE_FACTS, partitioned)
    if partitioned:
        with connection.cursor() as cursor:
            cursor.execute(KEY_ONCE_SQL)
            cursor.execute(
                f'CREATE TRIGGER "{KEY_ONCE_TRIGGER}" BEFORE INSERT ON "{PARENT}" '
                f"FOR EACH ROW EXECUTE FUNCTION {KEY_ONCE_FUNCTION}()"
            )
