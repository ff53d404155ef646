from django.db import migrations

from labserver.core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("issuance", "0001_initial"), ("core", "0002_audit_append_only")]
    # An issued certificate and what happens to it afterwards are written once, never
    # changed or deleted (signing keys are not listed: a key's revocation is recorded on it).
    operations = [append_only("issuance_certificate", "issuance_certificateevent")]
