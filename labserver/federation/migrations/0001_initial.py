from django.db import migrations, models

from labserver.core.db import append_only
from labserver.federation.arrivals import arrival_trigger


class Migration(migrations.Migration):
    initial = True

    dependencies = [("registry", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Arrival",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(help_text="When it arrived (the subscriber's clock)"),
                ),
                (
                    "subscription",
                    models.CharField(help_text="The subscription (center)", max_length=64),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("contradiction", "Contradiction"), ("duplicate", "Duplicate")],
                        max_length=16,
                    ),
                ),
                ("table_name", models.CharField(max_length=64)),
                ("issuer", models.CharField(max_length=32)),
                ("key", models.CharField(help_text="The fact's global key", max_length=300)),
                ("reason", models.TextField()),
                ("row", models.JSONField(help_text="The row as received")),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["subscription", "kind", "at"], name="federation_arrival_sub_idx"
                    )
                ],
            },
        ),
        append_only("federation_arrival"),
        arrival_trigger(("registry_certificatefact", "registry_reliancefact")),
    ]
