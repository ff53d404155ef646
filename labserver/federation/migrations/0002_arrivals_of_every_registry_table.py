"""The arrival trigger on every registry table: the standards' facts, the links between
standards, the issuers' descriptions and their signing keys cross too, and a repeated or
contradicting one is recorded, never merged nor allowed to stop replication."""

from django.db import migrations

from labserver.federation.arrivals import TABLES, arrival_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0001_initial"),
        ("registry", "0007_certificate_by_pdf_hash"),
    ]

    operations = [arrival_trigger(TABLES)]
