from django.db import migrations

from labserver.core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("measurements", "0001_initial"), ("core", "0002_audit_append_only")]
    operations = [
        append_only(
            "measurements_point",
            "measurements_reading",
            "measurements_standardusage",
            "measurements_runsignature",
        )
    ]
