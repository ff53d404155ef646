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


class DocumentSource(models.Model):
    """Where the national node fetches an issuer's signed PDFs: the base URL of the center's
    LIMS (``manage.py federation source add``). The secret that proves the national node to
    the center is never stored: it is read from the environment variable named after the
    issuer's code (:func:`labserver.federation.documents.secret_variable`)."""

    issuer = models.CharField(max_length=32, unique=True, help_text="The issuer's code")
    url = models.URLField(max_length=500, help_text="The center's LIMS, e.g. https://lims.qt1.vn")
    added_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.issuer}: {self.url}"


class DocumentCheck(models.Model):
    """One check of a registered certificate's signed PDF, fetched from its issuer: what was
    found. Append-only; the PDF itself is never kept. ``unreachable`` and ``not_found`` are
    tried again by a later fetch (a later row); any other outcome is final, at most one per
    fact (a constraint), and a flag stays a flag."""

    class Outcome(models.TextChoices):
        VERIFIED = "verified", pgettext_lazy("federation", "Verified")
        HASH_MISMATCH = "hash_mismatch", pgettext_lazy("federation", "Not the registered PDF")
        BAD_SIGNATURE = "bad_signature", pgettext_lazy("federation", "Signature does not validate")
        UNREGISTERED_KEY = (
            "unregistered_key",
            pgettext_lazy("federation", "Not signed by a registered key"),
        )
        UNREACHABLE = "unreachable", pgettext_lazy("federation", "Center unreachable")
        NOT_FOUND = "not_found", pgettext_lazy("federation", "Not found at the center")

    issuer = models.CharField(max_length=32)
    number = models.CharField(max_length=64)
    fact_key = models.CharField(max_length=200, help_text="The certificate's issued fact")
    checked_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.TextField(blank=True, help_text="What failed, named")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the bytes fetched")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fact_key"],
                condition=~models.Q(outcome__in=["unreachable", "not_found"]),
                name="federation_documentcheck_final_once",
            )
        ]
        indexes = [
            models.Index(fields=["issuer", "outcome"], name="federation_doccheck_issuer_idx"),
            models.Index(fields=["number"], name="federation_doccheck_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.fact_key}: {self.outcome}"
