"""The links moved to the standards app (standards 0003), the nonconformities to their own
app (nonconformities 0001): gone from this app's state only, the tables stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("standards", "0003_links_from_traceability"),
        ("nonconformities", "0001_initial"),
        ("traceability", "0004_append_only_truncate"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay: created by traceability 0001 to 0004, with their names and triggers.
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="decision",
                    name="certificate",
                ),
                migrations.RemoveField(
                    model_name="decision",
                    name="decided_by",
                ),
                migrations.RemoveField(
                    model_name="decision",
                    name="nonconformity",
                ),
                migrations.RemoveField(
                    model_name="decision",
                    name="supersedes",
                ),
                migrations.RemoveField(
                    model_name="nonconformity",
                    name="closed_by",
                ),
                migrations.RemoveField(
                    model_name="nonconformity",
                    name="opened_by",
                ),
                migrations.RemoveField(
                    model_name="nonconformity",
                    name="organization",
                ),
                migrations.RemoveField(
                    model_name="nonconformity",
                    name="standard",
                ),
                migrations.RemoveField(
                    model_name="standardlink",
                    name="certificate",
                ),
                migrations.RemoveField(
                    model_name="standardlink",
                    name="standard",
                ),
                migrations.RemoveField(
                    model_name="standardlink",
                    name="upstream_certificate",
                ),
                migrations.DeleteModel(
                    name="AffectedItem",
                ),
                migrations.DeleteModel(
                    name="Decision",
                ),
                migrations.DeleteModel(
                    name="Nonconformity",
                ),
                migrations.DeleteModel(
                    name="StandardLink",
                ),
            ],
        ),
    ]
