"""TRUNCATE refused on the audit entries (0002) and the anchors (0003), which their row
triggers never see; and the chain heads move only by appending: no DELETE, no TRUNCATE, no
step back, no jump, no head that is not the hash of the entry appended after it (PostgreSQL;
issue 15, point 1)."""

from django.db import migrations

from labserver.core.db import chain_heads_move_only_by_appending, refuse_truncate


class Migration(migrations.Migration):
    dependencies = [("core", "0004_cache_table")]
    operations = [
        refuse_truncate("core_auditentry", "core_auditanchor"),
        chain_heads_move_only_by_appending(),
    ]
