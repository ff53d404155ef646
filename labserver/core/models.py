"""The audit trail: append-only entries, hash-chained per organization.

Each entry's hash covers its content and the previous entry's hash, and each
chain's head records its length and last hash, so that an altered, inserted or
deleted entry (the last one included) is detected by ``manage.py verify_audit``.
On PostgreSQL a trigger refuses UPDATE and DELETE on the entries, whoever the
database user is.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from uncertainty.display import datetime_text

GENESIS = "0" * 64


class AuditChain(models.Model):
    """The head of one hash chain: ``org:<id>`` for an organization's records, or ``system``."""

    key = models.CharField(max_length=64, primary_key=True)
    length = models.PositiveBigIntegerField(default=0)
    head = models.CharField(max_length=64, default=GENESIS)

    def __str__(self) -> str:
        return f"{self.key} ({self.length} entries)"


class AuditEntry(models.Model):
    """One state change: who, when, what (before and after), why."""

    chain = models.CharField(max_length=64)
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    actor = models.CharField(max_length=200, help_text="user:<username>, agent:<name> or system")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_entry_chain_seq_unique")
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_entry_object_idx"),
            models.Index(fields=["organization", "at"], name="audit_entry_org_at_idx"),
        ]
        ordering = ["chain", "seq"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class Counter(models.Model):
    """A gap-free sequence (job numbers per organization and year), incremented under lock."""

    key = models.CharField(max_length=100, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class AuditAnchor(models.Model):
    """A signed statement of where a chain stood: ``{chain, organization, length, head, at}``.

    The statement is signed with the organization's certificate-signing key (a detached
    CMS signature carrying the signer's certificate chain, time-stamped RFC 3161 where a
    TSA is configured) and also written to a file outside the database
    (:mod:`labserver.issuance.anchors`). Whoever rewrites the chain and recomputes every later
    hash, or restores an older backup, cannot re-sign the anchors published before:
    ``verify_audit --anchors`` then finds the anchored hash missing or different.
    Append-only like the entries (a trigger on PostgreSQL).
    """

    class Trigger(models.TextChoices):
        CERTIFICATE = "certificate", _("a certificate was issued")
        SCHEDULED = "scheduled", _("scheduled (anchor_audit)")
        FORCED = "forced", _("forced (anchor_audit --force)")

    chain = models.CharField(max_length=64)
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The organization whose key signed (for the system chain: the one configured)",
    )
    organization_code = models.CharField(max_length=32)
    length = models.PositiveBigIntegerField()
    head = models.CharField(max_length=64)
    at = models.DateTimeField()
    signature = models.BinaryField(help_text="Detached CMS (DER) over the canonical statement")
    signer_fingerprint = models.CharField(max_length=64)
    timestamped = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)

    class Meta:
        indexes = [
            models.Index(fields=["chain", "length"], name="audit_anchor_chain_len_idx"),
            models.Index(fields=["organization_code", "at"], name="audit_anchor_org_at_idx"),
        ]
        ordering = ["chain", "length", "at"]

    def __str__(self) -> str:
        return f"anchor {self.chain}@{self.length} {datetime_text(self.at, seconds=True)}"
