"""The registry's facts of the certificates issued before the registry existed.

A node upgraded to a version with the registry has certificates already: each gets the
facts it would have been given when it was issued, amended or revoked (the same values as
:mod:`labserver.issuance.registered` writes, from the historical models), so the node's
registry is whole from the first day. A fact already there is left alone, so running it on
a node that has some is harmless.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

FAILING = ("fail", "conditional fail")


def backfill(apps: Any, schema_editor: Any = None) -> int:
    """Write the missing facts of every certificate; how many were written.

    Every query runs on the migration's own connection (the owner's, when
    ``DATABASE_OWNER_URL`` is set): the runtime role of ``default`` is granted nothing until
    ``migrate`` ends."""
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    Certificate = apps.get_model("issuance", "Certificate")
    CertificateEvent = apps.get_model("issuance", "CertificateEvent")
    StandardUsage = apps.get_model("measurements", "StandardUsage")
    CertificateFact = apps.get_model("registry", "CertificateFact")
    RelianceFact = apps.get_model("registry", "RelianceFact")
    have = set(CertificateFact.objects.using(db).values_list("key", flat=True))
    written = 0
    issued: dict[int, Any] = {}
    certificates = (
        Certificate.objects.using(db)
        .select_related(
            "organization",
            "run__job__instrument__instrument_type",
            "run__job__instrument__pattern",
            "position__job__instrument__instrument_type",
            "position__job__instrument__pattern",
            "supersedes",
        )
        .order_by("issued_at", "pk")
    )
    for certificate in certificates:
        org = certificate.organization
        position = certificate.position
        job = position.job if position is not None and position.job_id else certificate.run.job
        instrument = job.instrument
        verdict = ""
        if certificate.kind == "verification":
            conformity = (position or certificate.run).server_conformity
            verdict = "fail" if conformity in FAILING else "pass"
        values = {
            "issuer": org.code,
            "region": org.region,
            "number": certificate.number,
            "kind": "notice" if verdict == "fail" else certificate.kind,
            "verdict": verdict,
            "instrument_type": instrument.instrument_type.code,
            "pattern": instrument.pattern.number if instrument.pattern_id else "",
            "manufacturer": instrument.manufacturer,
            "model": instrument.model,
            "serial": instrument.serial,
            "issued_on": _local_date(certificate.issued_at, org.time_zone),
            "valid_until": certificate.valid_until,
            "mark": certificate.mark_number,
            "supersedes": certificate.supersedes.number if certificate.supersedes_id else "",
            "pdf_sha256": certificate.pdf_sha256,
            "signer_fingerprint": certificate.signer_fingerprint,
        }
        issued[certificate.pk] = values
        events = [("issued", certificate.issued_at, {})]
        if certificate.supersedes_id:
            previous = issued.get(certificate.supersedes_id)
            if previous is not None:
                superseded = {**previous, "superseded_by": certificate.number}
                events.append(("superseded", certificate.issued_at, superseded))
        for event, at, own in events:
            fields = own or values
            key = f"{fields['issuer']}/{fields['number']}/{event}"
            if key in have:
                continue
            CertificateFact.objects.using(db).create(key=key, event=event, at=at, **fields)
            have.add(key)
            written += 1
        for usage in (
            StandardUsage.objects.using(db)
            .filter(run_id=certificate.run_id)
            .select_related("standard__organization", "certificate")
            .order_by("pk")
        ):
            key = (
                f"{org.code}/{certificate.number}/{usage.standard.organization.code}/"
                f"{usage.standard.asset_id}/{usage.certificate.number}"
            )
            if not RelianceFact.objects.using(db).filter(key=key).exists():
                RelianceFact.objects.using(db).create(
                    key=key,
                    issuer=org.code,
                    number=certificate.number,
                    standard_owner=usage.standard.organization.code,
                    standard=usage.standard.asset_id,
                    standard_certificate=usage.certificate.number,
                    standard_certificate_issuer=usage.certificate.issuing_lab,
                    used_on=usage.used_on,
                )
                written += 1
    for event in CertificateEvent.objects.using(db).filter(kind="revoked").order_by("at", "pk"):
        values = issued.get(event.certificate_id)
        key = f"{values['issuer']}/{values['number']}/revoked" if values else ""
        if values is None or key in have:
            continue
        CertificateFact.objects.using(db).create(key=key, event="revoked", at=event.at, **values)
        have.add(key)
        written += 1
    return written


def _local_date(at: Any, zone: str) -> Any:
    from zoneinfo import ZoneInfo

    return timezone.localdate(at, ZoneInfo(zone))


def forwards(apps: Any, schema_editor: Any) -> None:
    backfill(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("issuance", "0006_certificate_position"),
        ("measurements", "0010_run_position_identity"),
        ("instruments", "0002_customer_accounts_active_instruments"),
        ("standards", "0003_links_from_traceability"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
