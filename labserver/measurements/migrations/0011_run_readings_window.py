"""The window of a run's readings kept on the run (the first and last reading's timestamp),
filled for the runs received before it: the look-ups of a run's readings are bounded by it,
so that PostgreSQL visits only the yearly partitions of those instants
(:mod:`labserver.measurements.partitions`)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import Max, Min


def fill(apps: Any, schema_editor: Any) -> None:
    Run = apps.get_model("measurements", "Run")
    Reading = apps.get_model("measurements", "Reading")
    alias = schema_editor.connection.alias
    windows = (
        Reading.objects.using(alias)
        .values("point__run_id")
        .annotate(first=Min("timestamp"), last=Max("timestamp"))
        .order_by()
    )
    for window in windows.iterator():
        Run.objects.using(alias).filter(pk=window["point__run_id"]).update(
            readings_from=window["first"], readings_until=window["last"]
        )


class Migration(migrations.Migration):
    dependencies = [("measurements", "0010_run_position_identity")]

    operations = [
        migrations.AddField(
            model_name="run",
            name="readings_from",
            field=models.DateTimeField(
                blank=True, null=True, help_text="The timestamp of the run's first reading"
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="readings_until",
            field=models.DateTimeField(
                blank=True, null=True, help_text="The timestamp of the run's last reading"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
