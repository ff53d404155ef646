import django.db.models.deletion
from django.db import migrations, models

from labserver.core.db import append_only


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("core", "0002_audit_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.CharField(max_length=64)),
                ("organization_code", models.CharField(max_length=32)),
                ("length", models.PositiveBigIntegerField()),
                ("head", models.CharField(max_length=64)),
                ("at", models.DateTimeField()),
                (
                    "signature",
                    models.BinaryField(help_text="Detached CMS (DER) over the canonical statement"),
                ),
                ("signer_fingerprint", models.CharField(max_length=64)),
                ("timestamped", models.BooleanField(default=False)),
                (
                    "trigger",
                    models.CharField(
                        choices=[
                            ("certificate", "a certificate was issued"),
                            ("scheduled", "scheduled (anchor_audit)"),
                            ("forced", "forced (anchor_audit --force)"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        blank=True,
                        help_text="The organization whose key signed (for the system chain: the one configured)",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["chain", "length", "at"],
                "indexes": [
                    models.Index(fields=["chain", "length"], name="audit_anchor_chain_len_idx"),
                    models.Index(
                        fields=["organization_code", "at"], name="audit_anchor_org_at_idx"
                    ),
                ],
            },
        ),
        append_only("core_auditanchor"),
    ]
