"""Nonconformities: reference standards found out of tolerance, and what was done about the
work they touched (ISO/IEC 17025:2017 7.10).

The tables were created by the traceability app (its migrations 0003 and 0004 make the
snapshot and the decisions append-only on PostgreSQL) and keep their names: the models moved
here in the migrations' state only (``nonconformities`` 0001, ``traceability`` 0005).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Nonconformity(models.Model):
    """A reference standard found out of tolerance, and what was done about the work it
    touched (ISO/IEC 17025:2017 7.10): opened by a quality manager with the reverse trace
    of that moment (:class:`AffectedItem`), decided per issued certificate
    (:class:`Decision`), closed once every one is decided. Only ``status`` and the closing
    fields change after it is opened, by the closing service, audited.

    Opened on a recall notice of the national registry (:mod:`.notified`), it names the
    out-of-tolerance fact it answers (``notified_by``) and the upstream standard and its
    owner, and nobody opened it: the node did, on the registry's word."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="nonconformities"
    )
    number = models.CharField(max_length=64, unique=True, help_text="<org>-NC-<year>-<4 digits>")
    standard = models.ForeignKey(
        "standards.ReferenceStandard", on_delete=models.PROTECT, related_name="nonconformities"
    )
    out_of_tolerance_since = models.DateField(
        help_text="The first day the standard is taken to have been out of tolerance"
    )
    found_on = models.DateField(help_text="The day it was found out of tolerance")
    description = models.TextField(help_text="What was found, e.g. the as-found error")
    shift = models.FloatField(
        null=True, blank=True, help_text="The as-found shift of its value, when known"
    )
    shift_unit = models.CharField(max_length=32, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: opened by the node on a recall notice of the national registry",
    )
    opened_at = models.DateTimeField()
    notified_by = models.CharField(
        max_length=300,
        blank=True,
        default="",
        help_text="The out-of-tolerance fact of the national registry it answers (empty: "
        "found here)",
    )
    upstream_owner = models.CharField(
        max_length=32, blank=True, default="", help_text="The notified standard's owner"
    )
    upstream_standard = models.CharField(
        max_length=64, blank=True, default="", help_text="The notified out-of-tolerance standard"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True)

    class Meta:
        db_table = "traceability_nonconformity"
        indexes = [models.Index(fields=["organization", "status"], name="nc_org_status_idx")]
        constraints = [
            # a recall notice of the national registry opens one nonconformity a center
            models.UniqueConstraint(
                fields=["organization", "notified_by"],
                condition=~models.Q(notified_by=""),
                name="nc_notified_once",
            )
        ]
        ordering = ["-opened_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class AffectedItem(models.Model):
    """One row of the reverse trace a nonconformity was opened with, as it stood then:
    an issued certificate (which needs a decision) or a downstream standard certificate
    (recorded: that standard is suspect too). Written once, never changed."""

    class Kind(models.TextChoices):
        CERTIFICATE = "certificate", _("Issued certificate")
        STANDARD_CERTIFICATE = "standard_certificate", _("Standard certificate")

    nonconformity = models.ForeignKey(
        Nonconformity, on_delete=models.PROTECT, related_name="affected"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    certificate = models.ForeignKey(
        "issuance.Certificate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    standard_certificate = models.ForeignKey(
        "standards.StandardCertificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    number = models.CharField(max_length=64)
    status = models.CharField(max_length=16, help_text="Its status when the trace was taken")
    organization_code = models.CharField(max_length=32)
    depth = models.PositiveSmallIntegerField(help_text="1: used the standard itself")
    via_standard = models.CharField(max_length=64, help_text="Asset id of the standard used")
    used_on = models.DateField()
    function = models.CharField(max_length=64, blank=True)
    range_low = models.FloatField(null=True, blank=True)
    range_high = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    reevaluation = models.JSONField(
        default=dict,
        blank=True,
        help_text="Stored and re-evaluated verdict with the nonconformity's shift, if given",
    )

    class Meta:
        db_table = "traceability_affecteditem"
        indexes = [models.Index(fields=["nonconformity", "kind"], name="nc_affected_kind_idx")]
        ordering = ["nonconformity_id", "pk"]

    def __str__(self) -> str:
        return f"{self.nonconformity_id}: {self.number} (depth {self.depth})"


class Decision(models.Model):
    """What is done about one affected issued certificate: no action, amend or recall,
    with who, when and why. Append-only: a later decision for the same certificate
    supersedes the earlier one, which stays."""

    class Action(models.TextChoices):
        NO_ACTION = "no_action", _("No action")
        AMEND = "amend", _("Amend")
        RECALL = "recall", _("Recall")

    class Recall(models.TextChoices):
        NONE = "", _("not a recall")
        REVOKED = "revoked", _("revoked by this decision")
        ALREADY_REVOKED = "already_revoked", _("already revoked")
        PENDING = "pending", _("pending: the decider may not revoke it")

    nonconformity = models.ForeignKey(
        Nonconformity, on_delete=models.PROTECT, related_name="decisions"
    )
    certificate = models.ForeignKey(
        "issuance.Certificate", on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()
    recall = models.CharField(max_length=16, choices=Recall.choices, blank=True, default="")
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        help_text="The earlier decision for the same certificate",
    )

    class Meta:
        db_table = "traceability_decision"
        indexes = [
            models.Index(fields=["nonconformity", "certificate"], name="nc_decision_cert_idx")
        ]
        ordering = ["nonconformity_id", "decided_at", "pk"]

    def __str__(self) -> str:
        return f"{self.nonconformity_id}: {self.certificate_id} {self.action}"
