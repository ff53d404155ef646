"""TRUNCATE refused on the certificates and their events, append-only since 0002
(PostgreSQL; issue 15, point 1)."""

from django.db import migrations

from labserver.core.db import refuse_truncate


class Migration(migrations.Migration):
    dependencies = [
        ("issuance", "0003_reverse_trace_covering_index"),
        ("core", "0005_append_only_truncate"),
    ]
    operations = [refuse_truncate("issuance_certificate", "issuance_certificateevent")]
