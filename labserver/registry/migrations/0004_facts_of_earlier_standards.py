"""The registry's facts of the reference standards recorded before the registry existed:
each standard's registration, its calibration certificates with the standards that served
them, and the day it has been out of tolerance since, with the values
:mod:`labserver.standards.services` writes. A fact already there is left alone."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any = None) -> int:
    """Write the missing facts of every standard; how many were written."""
    # On the migration's own connection (the owner's, when DATABASE_OWNER_URL is set): the
    # runtime role of ``default`` is granted nothing until ``migrate`` ends.
    db = schema_editor.connection.alias if schema_editor is not None else "default"
    ReferenceStandard = apps.get_model("standards", "ReferenceStandard")
    StandardLink = apps.get_model("standards", "StandardLink")
    StandardFact = apps.get_model("registry", "StandardFact")
    CalibrationLinkFact = apps.get_model("registry", "CalibrationLinkFact")
    facts = []
    links = []
    for standard in (
        ReferenceStandard.objects.using(db).select_related("organization").order_by("pk")
    ):
        described = {
            "owner": standard.organization.code,
            "standard": standard.asset_id,
            "name": standard.name,
            "field": standard.field,
            "level": standard.level,
            "manufacturer": standard.manufacturer,
            "model": standard.model,
            "serial": standard.serial,
        }
        base = f"{standard.organization.code}/{standard.asset_id}"
        facts.append(
            StandardFact(
                key=f"{base}/registered", event="registered", at=standard.created_at, **described
            )
        )
        for certificate in standard.certificates.order_by("calibrated_on", "pk"):
            facts.append(
                StandardFact(
                    key=f"{base}/calibrated/{certificate.number}",
                    event="calibrated",
                    at=certificate.created_at,
                    certificate=certificate.number,
                    certificate_issuer=certificate.issuing_lab,
                    accreditation=certificate.accreditation,
                    calibrated_on=certificate.calibrated_on,
                    due_on=certificate.due_on,
                    certificate_sha256=certificate.sha256,
                    **described,
                )
            )
            for link in (
                StandardLink.objects.using(db)
                .filter(certificate=certificate)
                .select_related("standard__organization", "upstream_certificate")
            ):
                upstream = link.standard
                key = (
                    f"{base}/{certificate.number}/{upstream.organization.code}/{upstream.asset_id}"
                )
                links.append(
                    CalibrationLinkFact(
                        key=key,
                        owner=standard.organization.code,
                        standard=standard.asset_id,
                        certificate=certificate.number,
                        upstream_owner=upstream.organization.code,
                        upstream_standard=upstream.asset_id,
                        upstream_certificate=(
                            link.upstream_certificate.number if link.upstream_certificate else ""
                        ),
                        used_on=link.used_on,
                    )
                )
        if standard.out_of_tolerance_since is not None:
            since = standard.out_of_tolerance_since
            facts.append(
                StandardFact(
                    key=f"{base}/out_of_tolerance/{since.isoformat()}",
                    event="out_of_tolerance",
                    at=standard.created_at,
                    since=since,
                    **described,
                )
            )
    have = set(StandardFact.objects.using(db).values_list("key", flat=True))
    have_links = set(CalibrationLinkFact.objects.using(db).values_list("key", flat=True))
    new = [f for f in facts if f.key not in have]
    new_links = [link for link in links if link.key not in have_links]
    StandardFact.objects.using(db).bulk_create(new, ignore_conflicts=True)
    CalibrationLinkFact.objects.using(db).bulk_create(new_links, ignore_conflicts=True)
    return len(new) + len(new_links)


def forwards(apps: Any, schema_editor: Any) -> None:
    backfill(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_standard_facts"),
        ("standards", "0003_links_from_traceability"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
