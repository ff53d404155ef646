"""Database-level guarantees that do not depend on the application behaving.

On PostgreSQL, append-only tables get a trigger that refuses UPDATE and DELETE
for every database user, the application's included. (SQLite, the embedded
default, relies on the application alone.)
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION caltrace_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'caltrace: % on %.% refused: the table is append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _trigger_sql(table: str) -> str:
    return (
        f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}";'
        f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
        "FOR EACH ROW EXECUTE FUNCTION caltrace_append_only();"
    )


def append_only(*tables: str) -> migrations.RunPython:
    """A migration operation that makes ``tables`` append-only on PostgreSQL."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION_SQL, params=None)
        for table in tables:
            schema_editor.execute(_trigger_sql(table))

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}";')

    return migrations.RunPython(forwards, backwards, elidable=False)
