"""TRUNCATE refused on the submitted evidence, append-only since 0002 (PostgreSQL;
issue 15, point 1)."""

from django.db import migrations

from labserver.core.db import refuse_truncate


class Migration(migrations.Migration):
    dependencies = [
        ("measurements", "0005_reverse_trace_covering_index"),
        ("core", "0005_append_only_truncate"),
    ]
    operations = [
        refuse_truncate(
            "measurements_point",
            "measurements_reading",
            "measurements_standardusage",
            "measurements_runsignature",
        )
    ]
