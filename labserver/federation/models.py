"""What arrived from another node and was not merged.

A fact arriving by replication that contradicts the registry (the same key with other
content, a later fact of a certificate never seen issued, a key that is not its issuer's,
number's and event's) is kept here instead, with the subscription (the center) it came
from, the row as received and why; a fact that arrives again identical is kept here too, as
a duplicate, so that "exactly once" can be checked. Written by the arrival trigger
(:mod:`labserver.federation.arrivals`) inside the apply worker's transaction; append-only
on PostgreSQL.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import pgettext_lazy


class Arrival(models.Model):
    """A replicated fact the registry did not take: a contradiction or a duplicate."""

    class Kind(models.TextChoices):
        CONTRADICTION = "contradiction", pgettext_lazy("federation", "Contradiction")
        DUPLICATE = "duplicate", pgettext_lazy("federation", "Duplicate")

    at = models.DateTimeField(help_text="When it arrived (the subscriber's clock)")
    subscription = models.CharField(max_length=64, help_text="The subscription (center)")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    table_name = models.CharField(max_length=64)
    issuer = models.CharField(max_length=32)
    key = models.CharField(max_length=300, help_text="The fact's global key")
    reason = models.TextField()
    row = models.JSONField(help_text="The row as received")

    class Meta:
        indexes = [
            models.Index(fields=["subscription", "kind", "at"], name="federation_arrival_sub_idx")
        ]

    def __str__(self) -> str:
        return f"{self.subscription}: {self.key} ({self.kind})"
