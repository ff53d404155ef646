"""Covering indexes for the reverse trace: a standard's uses in a window, and a run's
certificates with their organization, read from the index alone."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_ordering"),
        ("issuance", "0002_certificates_append_only"),
        ("measurements", "0004_run_checks_curves_conformity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="certificate",
            index=models.Index(fields=["run", "organization", "id"], name="cert_run_org_idx"),
        ),
    ]
