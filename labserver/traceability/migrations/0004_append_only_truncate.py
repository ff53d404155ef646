"""TRUNCATE refused on the standards' links (0002) and the nonconformities' snapshots and
decisions (0003) (PostgreSQL; issue 15, point 1)."""

from django.db import migrations

from labserver.core.db import refuse_truncate


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0003_nonconformity"),
        ("core", "0005_append_only_truncate"),
    ]
    operations = [
        refuse_truncate(
            "traceability_standardlink", "traceability_affecteditem", "traceability_decision"
        )
    ]
