"""The arrival trigger on the recall notices' table: on a center subscribing to its notices,
a notice arriving again, or contradicting one it holds, is recorded, never merged nor
allowed to stop replication."""

from django.db import migrations

from labserver.federation.arrivals import RECALL_TABLES, arrival_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0005_document_sources_and_checks"),
        ("registry", "0010_recall_notices"),
    ]

    operations = [arrival_trigger(RECALL_TABLES, drop_function=False)]
