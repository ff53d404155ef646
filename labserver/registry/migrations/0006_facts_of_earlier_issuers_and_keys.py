"""The registry's facts of the issuing organizations and signing keys a node had before the
registry existed, with the values :mod:`labserver.accounts.services` and
:mod:`labserver.issuance.services` write; customers are never described. A fact already
there is left alone."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any = None) -> int:
    """Write the missing facts of every issuing organization and signing key."""
    # On the migration's own connection (the owner's, when DATABASE_OWNER_URL is set): the
    # runtime role of ``default`` is granted nothing until ``migrate`` ends.
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    Organization = apps.get_model("accounts", "Organization")
    SigningKeyRecord = apps.get_model("issuance", "SigningKeyRecord")
    OrganizationFact = apps.get_model("registry", "OrganizationFact")
    SigningKeyFact = apps.get_model("registry", "SigningKeyFact")
    described = set(OrganizationFact.objects.using(db).values_list("code", flat=True))
    facts = [
        OrganizationFact(
            key=f"{org.code}/described/{org.created_at.isoformat()}",
            code=org.code,
            at=org.created_at,
            name=org.name,
            kind=org.kind,
            region=org.region,
            accreditation=org.accreditation,
            parent=org.parent.code if org.parent_id else "",
            time_zone=org.time_zone,
        )
        for org in Organization.objects.using(db).exclude(kind="customer").select_related("parent")
        if org.code not in described
    ]
    have = set(SigningKeyFact.objects.using(db).values_list("key", flat=True))
    keys = []
    for record in SigningKeyRecord.objects.using(db).select_related("organization").order_by("pk"):
        code = record.organization.code
        in_use = f"{code}/key/{record.fingerprint}/in_use"
        if in_use not in have:
            keys.append(
                SigningKeyFact(
                    key=in_use,
                    issuer=code,
                    fingerprint=record.fingerprint,
                    event="in_use",
                    at=record.first_used_at,
                    certificate_pem=record.certificate_pem,
                    trust_roots_pem=record.trust_roots_pem,
                    valid_from=record.valid_from,
                    valid_until=record.valid_until,
                )
            )
        revoked = f"{code}/key/{record.fingerprint}/revoked"
        if record.revoked_at is not None and revoked not in have:
            keys.append(
                SigningKeyFact(
                    key=revoked,
                    issuer=code,
                    fingerprint=record.fingerprint,
                    event="revoked",
                    at=record.revoked_at,
                )
            )
    OrganizationFact.objects.using(db).bulk_create(facts)
    SigningKeyFact.objects.using(db).bulk_create(keys)
    return len(facts) + len(keys)


def forwards(apps: Any, schema_editor: Any) -> None:
    backfill(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_issuers_and_keys"),
        ("accounts", "0005_front_office_roles"),
        ("issuance", "0006_certificate_position"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
