"""Issued certificates, what happened to them since, and the keys that signed them.

A :class:`Certificate` row is written once, when the certificate is issued, and never
changed: its number, its files and their SHA-256 are what was signed and handed out.
What happens to it afterwards (superseded by an amendment, revoked) is a
:class:`CertificateEvent`, also written once; the current status is derived from the
events. On PostgreSQL a trigger refuses UPDATE and DELETE on both tables.

A :class:`SigningKeyRecord` keeps each signer certificate an organization has signed
with (recorded the first time it signs), so that key rotation leaves a trail; revoking a
key is the one status change of this app made in place, by its service only, audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from labserver.jobs.models import Job


class CertificateKind(models.TextChoices):
    CALIBRATION = "calibration", _("Calibration")
    VERIFICATION = "verification", _("Verification")


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    SUPERSEDED = "superseded", _("Superseded")
    REVOKED = "revoked", _("Revoked")


class SigningKeyRecord(models.Model):
    """A signer certificate of an organization: who it names, when it is valid, revoked?"""

    class Source(models.TextChoices):
        DEMO = "demo", _("DEMO PKI (not for production)")
        PKCS12 = "pkcs12", _("PKCS#12 file")
        PKCS11 = "pkcs11", _("PKCS#11 token")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="signing_keys"
    )
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the signer certificate (DER), hex"
    )
    subject = models.CharField(max_length=500)
    certificate_pem = models.TextField(blank=True, help_text="The signer certificate, PEM")
    trust_roots_pem = models.TextField(
        help_text="The CA certificate(s) a signature by this key is validated against, PEM"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    first_used_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "fingerprint"], name="signing_key_unique_fingerprint"
            )
        ]
        ordering = ["organization_id", "-first_used_at"]

    def __str__(self) -> str:
        return f"{self.subject} ({self.fingerprint[:16]}…)"


def certified_job(lookup: str, value: Any) -> Q:
    """Certificates whose job matches ``job<lookup>=value`` (e.g. ``"__in"``): a position's
    certificate is of its position's job (its instrument's), never of the run's own job;
    any other, of the run's job."""
    return Q(position__isnull=True, **{f"run__job{lookup}": value}) | Q(
        **{f"position__job{lookup}": value}
    )


def certified_instrument(lookup: str, value: Any) -> Q:
    """Certificates whose instrument matches ``instrument<lookup>=value`` (e.g.
    ``"__owner__in"``), as :func:`certified_job` finds it."""
    return certified_job(f"__instrument{lookup}", value)


class Certificate(models.Model):
    """An issued certificate: numbered, rendered, signed, stored with its SHA-256."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="certificates"
    )
    run = models.ForeignKey(
        "measurements.Run", on_delete=models.PROTECT, related_name="certificates"
    )
    position = models.ForeignKey(
        "measurements.RunPosition",
        on_delete=models.PROTECT,
        related_name="certificates",
        null=True,
        blank=True,
        help_text="The position of a multi-position run whose instrument this certifies",
    )
    number = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=CertificateKind.choices)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    pdf = models.FileField(upload_to="certificates/", max_length=300)
    pdf_sha256 = models.CharField(max_length=64, unique=True)
    dcc = models.FileField(upload_to="certificates/", max_length=300)
    dcc_sha256 = models.CharField(max_length=64)
    signing_key = models.ForeignKey(
        SigningKeyRecord, on_delete=models.PROTECT, related_name="certificates"
    )
    signer_fingerprint = models.CharField(max_length=64)
    verify_url = models.CharField(max_length=300)
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        help_text="The certificate this one amends (ISO/IEC 17025 7.8.8)",
    )
    amendment_reason = models.TextField(blank=True)
    mark_number = models.CharField(max_length=64, blank=True, help_text="Verification mark")
    valid_until = models.DateField(
        null=True, blank=True, help_text="End of the verification's validity"
    )

    class Meta:
        constraints = [
            # One certificate per run of one instrument, one per position of a
            # multi-position run; further ones are amendments.
            models.UniqueConstraint(
                fields=["run"],
                condition=Q(supersedes__isnull=True, position__isnull=True),
                name="certificate_one_original_per_run",
            ),
            models.UniqueConstraint(
                fields=["position"],
                condition=Q(supersedes__isnull=True, position__isnull=False),
                name="certificate_one_original_per_position",
            ),
            models.UniqueConstraint(
                fields=["organization", "kind", "year", "sequence"],
                name="certificate_unique_sequence",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "issued_at"], name="cert_org_issued_idx"),
            # The reverse trace: a run's certificates with their organization, from the
            # index alone.
            models.Index(fields=["run", "organization", "id"], name="cert_run_org_idx"),
        ]
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return self.number

    @property
    def job(self) -> Job:
        """The job of the instrument this certifies: its position's in a multi-position
        run, else the run's."""
        position = self.position
        if position is not None and position.job is not None:
            return position.job
        return self.run.job


class CertificateEvent(models.Model):
    """Something that happened to an issued certificate; written once, never changed."""

    class Kind(models.TextChoices):
        SUPERSEDED = "superseded", _("Superseded by an amendment")
        REVOKED = "revoked", _("Revoked")

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    replacement = models.ForeignKey(
        Certificate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "kind"], name="certificate_event_once_per_kind"
            )
        ]
        ordering = ["certificate_id", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.certificate} {self.kind} {self.at:%Y-%m-%d}"


class VoidedNumber(models.Model):
    """A certificate number that must never be issued again, though no row here holds it.

    After the database is restored to an earlier instant, the numbering counters are those
    of that instant, while certificates issued after it may be in a customer's hands. Each
    such number the LIMS can learn of (a file left in the storage, a number a customer
    shows) is written here by ``manage.py reserve_numbers`` as its counter is advanced past
    it, so that the public lookup of the number says it was voided, and when, instead of
    "unknown". Written once, never changed (a trigger on PostgreSQL).
    """

    class Source(models.TextChoices):
        FILE = "file", _("a certificate file left in the storage")
        GIVEN = "given", _("given by hand (e.g. shown by a customer)")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="voided_numbers"
    )
    number = models.CharField(max_length=64, unique=True)
    counter = models.CharField(max_length=100, help_text="The numbering counter it belongs to")
    source = models.CharField(max_length=8, choices=Source.choices)
    evidence = models.CharField(
        max_length=300, blank=True, help_text="The file it was found in, when found in one"
    )
    reason = models.TextField()
    voided_at = models.DateTimeField()

    class Meta:
        ordering = ["organization_id", "number"]

    def __str__(self) -> str:
        return f"{self.number} voided {self.voided_at:%Y-%m-%d}"
