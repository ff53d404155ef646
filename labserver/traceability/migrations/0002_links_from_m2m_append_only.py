"""Links for the certificates recorded before this app: one per row of the old M2M
``StandardCertificate.reference_standards``, pinning the upstream certificate in force on
the downstream calibration date (set-based, one INSERT … SELECT); then the links become
append-only on PostgreSQL. (Run usages are append-only since measurements 0002.)"""

from typing import Any

from django.db import migrations

from labserver.core.db import append_only


def links_from_m2m(apps: Any, schema_editor: Any) -> None:
    certificate = apps.get_model("standards", "StandardCertificate")
    link = apps.get_model("traceability", "StandardLink")
    through = certificate.reference_standards.through
    qn = schema_editor.connection.ops.quote_name
    m2m = qn(through._meta.db_table)
    certs = qn(certificate._meta.db_table)
    links = qn(link._meta.db_table)
    downstream = qn(through._meta.get_field("standardcertificate").column)
    upstream = qn(through._meta.get_field("referencestandard").column)
    schema_editor.execute(
        f"""
        INSERT INTO {links}
            (certificate_id, standard_id, upstream_certificate_id, used_on,
             function, range_low, range_high, unit)
        SELECT m.{downstream}, m.{upstream},
               (SELECT u.id FROM {certs} u
                 WHERE u.standard_id = m.{upstream} AND u.calibrated_on <= c.calibrated_on
                 ORDER BY u.calibrated_on DESC, u.id DESC LIMIT 1),
               c.calibrated_on, '', NULL, NULL, ''
          FROM {m2m} m JOIN {certs} c ON c.id = m.{downstream}
         WHERE NOT EXISTS (SELECT 1 FROM {links} l
                            WHERE l.certificate_id = m.{downstream}
                              AND l.standard_id = m.{upstream})
        """
    )


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0001_initial"),
        ("standards", "0002_certificate_standard_date_index"),
        ("core", "0002_audit_append_only"),
    ]
    operations = [
        migrations.RunPython(links_from_m2m, migrations.RunPython.noop, elidable=False),
        append_only("traceability_standardlink"),
    ]
