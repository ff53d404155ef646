"""The nonconformities, their snapshots and decisions move here from the traceability app, in
the migrations' state only: the tables ``traceability_nonconformity``,
``traceability_affecteditem`` and ``traceability_decision`` stay as they are, rows, indexes
and the append-only triggers of the last two included (traceability 0003 and 0004)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("traceability", "0004_append_only_truncate"),
        ("accounts", "0003_signature_guard"),
        ("issuance", "0005_voided_numbers"),
        ("standards", "0003_links_from_traceability"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay: created by traceability 0001 to 0004, with their names and triggers.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Nonconformity",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "number",
                            models.CharField(
                                help_text="<org>-NC-<year>-<4 digits>", max_length=64, unique=True
                            ),
                        ),
                        (
                            "out_of_tolerance_since",
                            models.DateField(
                                help_text="The first day the standard is taken to have been out of tolerance"
                            ),
                        ),
                        (
                            "found_on",
                            models.DateField(help_text="The day it was found out of tolerance"),
                        ),
                        (
                            "description",
                            models.TextField(help_text="What was found, e.g. the as-found error"),
                        ),
                        (
                            "shift",
                            models.FloatField(
                                blank=True,
                                help_text="The as-found shift of its value, when known",
                                null=True,
                            ),
                        ),
                        ("shift_unit", models.CharField(blank=True, max_length=32)),
                        ("opened_at", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("closed", "Closed")],
                                default="open",
                                max_length=8,
                            ),
                        ),
                        ("closed_at", models.DateTimeField(blank=True, null=True)),
                        ("closing_note", models.TextField(blank=True)),
                        (
                            "closed_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "opened_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "organization",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="nonconformities",
                                to="accounts.organization",
                            ),
                        ),
                        (
                            "standard",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="nonconformities",
                                to="standards.referencestandard",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "traceability_nonconformity",
                        "ordering": ["-opened_at", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="Decision",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("no_action", "No action"),
                                    ("amend", "Amend"),
                                    ("recall", "Recall"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("reason", models.TextField()),
                        ("decided_at", models.DateTimeField()),
                        (
                            "recall",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("", "not a recall"),
                                    ("revoked", "revoked by this decision"),
                                    ("already_revoked", "already revoked"),
                                    ("pending", "pending: the decider may not revoke it"),
                                ],
                                default="",
                                max_length=16,
                            ),
                        ),
                        (
                            "certificate",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="issuance.certificate",
                            ),
                        ),
                        (
                            "decided_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "supersedes",
                            models.OneToOneField(
                                blank=True,
                                help_text="The earlier decision for the same certificate",
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="superseded_by",
                                to="nonconformities.decision",
                            ),
                        ),
                        (
                            "nonconformity",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="decisions",
                                to="nonconformities.nonconformity",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "traceability_decision",
                        "ordering": ["nonconformity_id", "decided_at", "pk"],
                    },
                ),
                migrations.CreateModel(
                    name="AffectedItem",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("certificate", "Issued certificate"),
                                    ("standard_certificate", "Standard certificate"),
                                ],
                                max_length=24,
                            ),
                        ),
                        ("number", models.CharField(max_length=64)),
                        (
                            "status",
                            models.CharField(
                                help_text="Its status when the trace was taken", max_length=16
                            ),
                        ),
                        ("organization_code", models.CharField(max_length=32)),
                        (
                            "depth",
                            models.PositiveSmallIntegerField(
                                help_text="1: used the standard itself"
                            ),
                        ),
                        (
                            "via_standard",
                            models.CharField(
                                help_text="Asset id of the standard used", max_length=64
                            ),
                        ),
                        ("used_on", models.DateField()),
                        ("function", models.CharField(blank=True, max_length=64)),
                        ("range_low", models.FloatField(blank=True, null=True)),
                        ("range_high", models.FloatField(blank=True, null=True)),
                        ("unit", models.CharField(blank=True, max_length=32)),
                        (
                            "reevaluation",
                            models.JSONField(
                                blank=True,
                                default=dict,
                                help_text="Stored and re-evaluated verdict with the nonconformity's shift, if given",
                            ),
                        ),
                        (
                            "certificate",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="issuance.certificate",
                            ),
                        ),
                        (
                            "standard_certificate",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="standards.standardcertificate",
                            ),
                        ),
                        (
                            "nonconformity",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="affected",
                                to="nonconformities.nonconformity",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "traceability_affecteditem",
                        "ordering": ["nonconformity_id", "pk"],
                    },
                ),
                migrations.AddIndex(
                    model_name="nonconformity",
                    index=models.Index(fields=["organization", "status"], name="nc_org_status_idx"),
                ),
                migrations.AddIndex(
                    model_name="decision",
                    index=models.Index(
                        fields=["nonconformity", "certificate"], name="nc_decision_cert_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="affecteditem",
                    index=models.Index(
                        fields=["nonconformity", "kind"], name="nc_affected_kind_idx"
                    ),
                ),
            ],
        ),
    ]
