"""A record of each notification (sent or failed) and each person's choices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    DUE = "due", _("Instruments falling due")
    ISSUED = "issued", _("Certificates issued")
    RECALL = "recall", _("Recall letters")


class Notification(models.Model):
    """One thing told to one person: an instrument crossing a threshold, a certificate, a
    recalled certificate. Its key (kind, recipient, subject, occasion) is unique, so a rerun
    finds it and sends nothing twice; a failed one stays ``failed`` (never ``sent``) and is
    tried again by the next run. Several of them may travel in one e-mail (the instruments
    of one threshold, the certificates of one letter)."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The center whose record it is about (its audit chain records the sending)",
    )
    subject = models.CharField(max_length=100, help_text="The record it is about: certificate:N")
    occasion = models.CharField(
        max_length=64, blank=True, help_text="Days before due (90, 60, 30); the nonconformity"
    )
    status = models.CharField(max_length=8, choices=Status.choices)
    address = models.CharField(max_length=254, help_text="The address it went to")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the last attempt failed")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "recipient", "subject", "occasion"],
                name="notification_unique_key",
            )
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.occasion} → {self.recipient_id}"


class Preference(models.Model):
    """What a person wants to receive (everything unless they say otherwise) and in which
    language (blank: the deployment's default, ``LANGUAGE_CODE``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notification_preference"
    )
    due = models.BooleanField(default=True)
    issued = models.BooleanField(default=True)
    recall = models.BooleanField(default=True)
    # One of settings.LANGUAGES (the service checks it); not a choices field, the language
    # names being each language's own name, untranslated.
    language = models.CharField(max_length=8, blank=True)

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))
