"""Database-level guarantees that do not depend on the application behaving.

On PostgreSQL, append-only tables get a row trigger that refuses UPDATE and
DELETE and a statement trigger that refuses TRUNCATE, for every database user,
the owner's and the application's included (only a superuser switching
triggers off, ``session_replication_role = replica``, or the tables' owner
dropping them gets past; the application's runtime role is neither, see
:mod:`labserver.core.roles`). The audit chain heads may move only by appending
one entry. (SQLite, the embedded default, relies on the application alone.)
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

#: The trigger function of every append-only table: the row trigger (UPDATE, DELETE) and the
#: statement trigger (TRUNCATE) both call it. :mod:`labserver.core.roles` finds the append-only
#: tables by it, so a table protected here is also granted as append-only.
APPEND_ONLY_FUNCTION = "caltrace_append_only"

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {APPEND_ONLY_FUNCTION}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'caltrace: % on %.% refused: the table is append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _row_trigger_sql(table: str) -> str:
    return (
        f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}";'
        f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {APPEND_ONLY_FUNCTION}();"
    )


def truncate_trigger_sql(table: str) -> str:
    # A row trigger never sees TRUNCATE: it needs its own statement-level trigger.
    return (
        f'DROP TRIGGER IF EXISTS {table}_append_only_truncate ON "{table}";'
        f'CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON "{table}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {APPEND_ONLY_FUNCTION}();"
    )


def _postgresql_only(
    forwards_sql: Any, backwards_sql: Any, tables: tuple[str, ...]
) -> migrations.RunPython:
    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION_SQL, params=None)
        for table in tables:
            for sql in forwards_sql(table):
                schema_editor.execute(sql)

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            for sql in backwards_sql(table):
                schema_editor.execute(sql)

    return migrations.RunPython(forwards, backwards, elidable=False)


def append_only(*tables: str) -> migrations.RunPython:
    """A migration operation that makes ``tables`` append-only on PostgreSQL: no UPDATE, no
    DELETE (row trigger), no TRUNCATE (statement trigger)."""
    return _postgresql_only(
        lambda table: [_row_trigger_sql(table), truncate_trigger_sql(table)],
        lambda table: [
            f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}";',
            f'DROP TRIGGER IF EXISTS {table}_append_only_truncate ON "{table}";',
        ],
        tables,
    )


def refuse_truncate(*tables: str) -> migrations.RunPython:
    """The TRUNCATE trigger alone, for the tables made append-only before :func:`append_only`
    installed it (their row triggers are already there)."""
    return _postgresql_only(
        lambda table: [truncate_trigger_sql(table)],
        lambda table: [f'DROP TRIGGER IF EXISTS {table}_append_only_truncate ON "{table}";'],
        tables,
    )


#: Chain heads (``core_auditchain``) move only the way ``audit.record`` moves them: one step,
#: to the hash of the entry appended just before in the same transaction, whose previous hash
#: is the old head. A head is created at the genesis (length 0) and never removed.
CHAIN_HEAD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION caltrace_chain_head_moves() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' OR TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'caltrace: % on %.% refused: an audit chain head is never removed',
            TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.length <> 0 OR NEW.head <> repeat('0', 64) THEN
            RAISE EXCEPTION 'caltrace: audit chain % refused: a head starts at the genesis '
                '(length 0), not at length % ending in %', NEW.key, NEW.length, NEW.head
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.key <> OLD.key THEN
        RAISE EXCEPTION 'caltrace: audit chain % refused: its key cannot become %',
            OLD.key, NEW.key
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.length <> OLD.length + 1 THEN
        RAISE EXCEPTION 'caltrace: audit chain % refused: the head moves by one appended '
            'entry, not from length % to %', OLD.key, OLD.length, NEW.length
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM core_auditentry e
         WHERE e.chain = NEW.key AND e.seq = NEW.length
           AND e.hash = NEW.head AND e.prev_hash = OLD.head
    ) THEN
        RAISE EXCEPTION 'caltrace: audit chain % refused: head % is not the hash of entry % '
            'appended after %', OLD.key, NEW.head, NEW.length, OLD.head
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def chain_heads_move_only_by_appending() -> migrations.RunPython:
    """A migration operation that installs the triggers of ``core_auditchain`` on PostgreSQL."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(CHAIN_HEAD_FUNCTION_SQL, params=None)
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS core_auditchain_moves ON core_auditchain;"
            "CREATE TRIGGER core_auditchain_moves BEFORE INSERT OR UPDATE OR DELETE "
            "ON core_auditchain FOR EACH ROW EXECUTE FUNCTION caltrace_chain_head_moves();"
            "DROP TRIGGER IF EXISTS core_auditchain_truncate ON core_auditchain;"
            "CREATE TRIGGER core_auditchain_truncate BEFORE TRUNCATE ON core_auditchain "
            "FOR EACH STATEMENT EXECUTE FUNCTION caltrace_chain_head_moves();"
        )

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS core_auditchain_moves ON core_auditchain;"
            "DROP TRIGGER IF EXISTS core_auditchain_truncate ON core_auditchain;"
            "DROP FUNCTION IF EXISTS caltrace_chain_head_moves();"
        )

    return migrations.RunPython(forwards, backwards, elidable=False)
