"""The certificate facts' table partitioned by the year of issue, on PostgreSQL
(:mod:`labserver.registry.partitions`): its rows, indexes, triggers and publication kept,
a partition per year present plus this year's and the next, and a default partition.
Nothing changes on SQLite, nor in Django's view of the model."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from labserver.registry.partitions import rebuild


def forwards(apps: Any, schema_editor: Any) -> None:
    rebuild(schema_editor, partitioned=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_certificate_by_pdf_hash")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
