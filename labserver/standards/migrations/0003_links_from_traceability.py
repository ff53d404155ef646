"""The links between standards move here from the traceability app, in the migrations' state
only: the table ``traceability_standardlink`` stays as it is, rows, indexes and append-only
triggers included (traceability 0002 and 0004)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0004_append_only_truncate"),
        ("standards", "0002_certificate_standard_date_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay: created by traceability 0001 to 0004, with their names and triggers.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="StandardLink",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "used_on",
                            models.DateField(
                                help_text="The downstream certificate's calibration date"
                            ),
                        ),
                        ("function", models.CharField(blank=True, max_length=64)),
                        ("range_low", models.FloatField(blank=True, null=True)),
                        ("range_high", models.FloatField(blank=True, null=True)),
                        ("unit", models.CharField(blank=True, max_length=32)),
                        (
                            "certificate",
                            models.ForeignKey(
                                help_text="The downstream certificate: the calibration the upstream standard served",
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="links",
                                to="standards.standardcertificate",
                            ),
                        ),
                        (
                            "standard",
                            models.ForeignKey(
                                help_text="The upstream standard used for that calibration",
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="downstream_links",
                                to="standards.referencestandard",
                            ),
                        ),
                        (
                            "upstream_certificate",
                            models.ForeignKey(
                                blank=True,
                                help_text="The upstream standard's certificate in force on used_on (none: a break)",
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="downstream_links",
                                to="standards.standardcertificate",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "traceability_standardlink",
                        "ordering": ["certificate_id", "pk"],
                        "indexes": [
                            models.Index(
                                fields=["standard", "used_on"], name="link_standard_date_idx"
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("certificate", "standard", "function", "unit"),
                                name="standard_link_unique_use",
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
