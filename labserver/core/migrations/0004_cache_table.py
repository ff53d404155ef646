"""The table of the database cache (``CACHES["default"]`` unless Redis is configured), so
that ``migrate`` alone readies the demo, the tests and production.

The table is made whatever the current CACHES says (a center may switch between Redis
and the database later); it is not a model, so Django's own ``createcachetable`` makes it,
and does nothing if it exists.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "caltrace_cache"  # settings.CALTRACE_CACHE_TABLE


def create_table(apps: Any, schema_editor: Any) -> None:
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_anchor")]

    operations = [migrations.RunPython(create_table, drop_table, elidable=False)]
