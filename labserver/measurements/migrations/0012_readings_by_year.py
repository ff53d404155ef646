"""The readings' table partitioned by the year of the reading, on PostgreSQL
(:mod:`labserver.measurements.partitions`): its rows, identity sequence, constraints,
indexes, append-only triggers and grants kept, a partition per year present plus this
year's and the next, and a default partition. Reversible: backwards, the plain table again,
rows and all. Nothing changes on SQLite, nor in Django's view of the model."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from labserver.measurements.partitions import rebuild


def forwards(apps: Any, schema_editor: Any) -> None:
    rebuild(schema_editor, partitioned=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("measurements", "0011_run_readings_window")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
