"""Covering indexes for the reverse trace: a standard's uses in a window, and a run's
certificates with their organization, read from the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("measurements", "0004_run_checks_curves_conformity"),
        ("standards", "0002_certificate_standard_date_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="standardusage",
            name="usage_standard_date_idx",
        ),
        migrations.AddIndex(
            model_name="standardusage",
            index=models.Index(
                fields=[
                    "standard",
                    "used_on",
                    "run",
                    "function",
                    "unit",
                    "range_low",
                    "range_high",
                ],
                name="usage_standard_date_cover_idx",
            ),
        ),
    ]
