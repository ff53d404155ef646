"""The trigger that stands between replication and the registry on a subscribing node.

PostgreSQL's apply worker runs with ``session_replication_role = replica`` (and an empty
``search_path``: every table here is named with its schema), so the
registry's ordinary triggers do not fire for the rows it applies. The arrival trigger is
``ENABLE REPLICA``: it fires for exactly those rows (the apply worker's and the initial
copy's) and never for the node's own writes, which :mod:`labserver.registry.records`
already refuses when they contradict (a ``RegistryConflict`` in the issuing transaction).

For each arriving fact it decides, before the insert:

* the same key is there with the same content: a **duplicate**, not inserted, recorded;
* the same key is there with other content (a number reused): a **contradiction**;
* a certificate fact whose key is not ``<issuer>/<number>/<event>``, or a fact of the
  national registers whose key does not begin with its directorate's code: a contradiction;
* a ``superseded`` or ``revoked`` fact, or a reliance, of a certificate the registry never
  saw issued: a contradiction;
* otherwise the fact is inserted.

A contradiction or a duplicate is written to ``federation_arrival`` (with the subscription
it came by, found from the apply worker's process in ``pg_stat_subscription``) and the row
is skipped (the trigger returns NULL): no primary-key collision ever stops the apply
worker, and the rows after it keep flowing. Two centers' workers racing for one key: the
loser's insert fails once, its worker retries the transaction, and the trigger then sees
the winner's row.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

FUNCTION = "caltrace_federation_arrival"
TABLES = (
    "registry_certificatefact",
    "registry_reliancefact",
    "registry_standardfact",
    "registry_calibrationlinkfact",
    "registry_organizationfact",
    "registry_signingkeyfact",
)
"""The registry's tables the arrival trigger stands before (migration 0002: all of them;
0001 installed it on the first two)."""
REGISTER_TABLES = (
    "registry_patterndecisionfact",
    "registry_designationfact",
    "registry_verifiercertificationfact",
)
"""The national registers' tables, on a center that subscribes to them (migration 0003)."""
RECALL_TABLES = ("registry_recallnoticefact",)
"""The recall notices' table, on a center that subscribes to its notices (migration 0005)."""

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
DECLARE
    arrived jsonb := to_jsonb(NEW);
    earlier jsonb;
    source text;
    kind text := 'contradiction';
    known boolean;
    reason text := NULL;
    -- a partition's trigger stands for its partitioned table: the checks and the report
    -- are about the whole table
    tbl text := TG_TABLE_NAME;
BEGIN
    SELECT c.relname INTO tbl FROM pg_catalog.pg_class c
     WHERE c.oid = coalesce(pg_catalog.pg_partition_root(TG_RELID), TG_RELID);
    EXECUTE format('SELECT to_jsonb(t) FROM %I.%I t WHERE t.key = $1',
                   TG_TABLE_SCHEMA, tbl)
       INTO earlier USING NEW.key;
    IF earlier IS NOT NULL THEN
        IF earlier = arrived THEN
            kind := 'duplicate';
            reason := 'already registered with the same content';
        ELSE
            reason := 'already registered with other content (a number reused?): '
                || 'registered ' || earlier::text;
        END IF;
    ELSIF tbl = 'registry_certificatefact'
          AND NEW.key IS DISTINCT FROM
              ((arrived->>'issuer') || '/' || (arrived->>'number') || '/'
               || (arrived->>'event')) THEN
        reason := 'the key is not <issuer>/<number>/<event>';
    ELSIF tbl IN ('registry_patterndecisionfact', 'registry_designationfact',
                  'registry_verifiercertificationfact')
          AND NOT starts_with(NEW.key, (arrived->>'authority') || '/') THEN
        reason := 'the key does not begin with its directorate''s code';
    ELSIF tbl IN ('registry_reliancefact', 'registry_certificatefact')
          AND (tbl = 'registry_reliancefact' OR arrived->>'event' <> 'issued') THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.registry_certificatefact f '
                       'WHERE f.issuer = $1 AND f.number = $2 AND f.event = ''issued'')',
                       TG_TABLE_SCHEMA)
           INTO known USING (arrived->>'issuer'), (arrived->>'number');
        IF NOT known THEN
            reason := coalesce(arrived->>'event', 'reliance')
                || ' of certificate ' || (arrived->>'number')
                || ' that the registry never saw issued';
        END IF;
    END IF;
    IF reason IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT s.subname INTO source FROM pg_catalog.pg_stat_subscription s
     WHERE s.pid = pg_catalog.pg_backend_pid() LIMIT 1;
    EXECUTE format('INSERT INTO %I.federation_arrival '
                   '(at, subscription, kind, table_name, issuer, key, reason, "row") '
                   'VALUES (clock_timestamp(), $1, $2, $3, $4, $5, $6, $7)', TG_TABLE_SCHEMA)
      USING coalesce(source, ''), kind, tbl,
            coalesce(arrived->>'issuer', arrived->>'owner', arrived->>'code',
                     arrived->>'authority', ''),
            NEW.key, reason, arrived;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _trigger(table: str) -> str:
    return f"{table}_federation_arrival"


def arrival_trigger(
    tables: tuple[str, ...] = TABLES, *, drop_function: bool = True
) -> migrations.RunPython:
    """A migration operation installing the arrival trigger on the registry's ``tables``, on
    PostgreSQL (SQLite has no replication); undone, it drops the triggers, and the function
    too unless other tables' triggers still call it (``drop_function=False``)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION_SQL, params=None)
        for table in tables:
            name = _trigger(table)
            schema_editor.execute(
                f'DROP TRIGGER IF EXISTS {name} ON "{table}";'
                f'CREATE TRIGGER {name} BEFORE INSERT ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();"
                # fires in the apply worker (session_replication_role = replica) only
                f'ALTER TABLE "{table}" ENABLE REPLICA TRIGGER {name};'
            )

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f'DROP TRIGGER IF EXISTS {_trigger(table)} ON "{table}";')
        if drop_function:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}();")

    return migrations.RunPython(forwards, backwards, elidable=False)
