"""Organizations in their hierarchy, users, memberships with roles, agents and API tokens."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labserver.core.fields import MeasurementField
from uncertainty.display import datetime_text


def default_time_zone() -> str:
    """The deployment's zone (``TIME_ZONE``), given to an organization that names none."""
    return str(settings.TIME_ZONE)


def validate_time_zone(name: str) -> None:
    """An IANA zone name this machine's zone database knows (``Asia/Ho_Chi_Minh``)."""
    if name not in available_timezones():
        raise ValidationError(
            _("%(name)s is not a time zone name of the IANA database (e.g. Asia/Ho_Chi_Minh)."),
            code="invalid_time_zone",
            params={"name": name},
        )


class Organization(models.Model):
    """A directorate, a verification center, an accredited lab or a customer."""

    class Kind(models.TextChoices):
        DIRECTORATE = "directorate", _("National directorate")
        REGIONAL_CENTER = "regional_center", _("Regional verification center")
        PROVINCIAL_CENTER = "provincial_center", _("Provincial verification center")
        LAB = "lab", _("Accredited laboratory")
        CUSTOMER = "customer", _("Customer")

    code = models.SlugField(max_length=32, unique=True, help_text="Short code used in numbers")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    accreditation = models.CharField(max_length=100, blank=True, help_text="e.g. VILAS 123")
    region = models.CharField(max_length=100, blank=True)
    address = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=(
            "IANA zone of the organization (e.g. Asia/Ho_Chi_Minh): the dates and times of its "
            "certificates, letters and pages are written in it, with the offset."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def zone(self) -> ZoneInfo:
        """The organization's zone; a name the zone database lost since is an error, not UTC.

        Raises:
            ZoneInfoNotFoundError: the stored name is not in this machine's zone database.
        """
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ZoneInfoNotFoundError(
                f"organization {self.code}: time zone {self.time_zone!r} is not in the zone "
                "database (install tzdata or correct the organization's time_zone)"
            ) from None


class User(AbstractUser):
    """A person. ``full_name`` is what electronic signatures print."""

    full_name = models.CharField(max_length=200, blank=True)

    def signature_name(self) -> str:
        return self.full_name or self.get_full_name() or self.get_username()


class Role(models.TextChoices):
    METROLOGIST = "metrologist", _("Metrologist / verifier")
    REVIEWER = "reviewer", _("Reviewer")
    SIGNATORY = "signatory", _("Signatory")
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    AUDITOR = "auditor", _("Auditor")
    CUSTOMER = "customer", _("Customer")
    # The front office: registers customers, their instruments and jobs, and schedules them.
    RECEPTION = "reception", _("Reception")
    # Manages the organization's people: invites, roles, certifications, deactivation.
    ADMINISTRATOR = "administrator", _("Organization administrator")


class Membership(models.Model):
    """A person's role in an organization; ``fields`` are what their certification covers."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    fields = models.JSONField(
        default=list, blank=True, help_text=f"Fields covered: {', '.join(MeasurementField.values)}"
    )
    certificate_number = models.CharField(max_length=64, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="membership_unique_role"
            )
        ]
        ordering = ["organization_id", "user_id", "role"]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.organization.code}"


class AuditGrant(models.Model):
    """Read-only access of an auditor to another organization's records."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_grants"
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    valid_until = models.DateField(null=True, blank=True)
    reason = models.TextField(blank=True)


class Agent(models.Model):
    """A registered bench or field device: its own token and Ed25519 public key; revocable."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="agents")
    name = models.SlugField(max_length=64)
    public_key = models.CharField(max_length=64, help_text="Ed25519 public key, raw, base64")
    token_hash = models.CharField(max_length=64, unique=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="agent_unique_name")
        ]
        ordering = ["organization_id", "name"]

    def __str__(self) -> str:
        return f"agent {self.name} @ {self.organization.code}"


class ApiToken(models.Model):
    """A person's API token; only its SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    label = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class SignatureGuard(models.Model):
    """A person's consecutive wrong passwords on electronic signatures, and the lock they
    lead to (21 CFR 11.300(d)): a counter, not a record of its own; every change to it is an
    audit entry (``signature.fail``, ``signature.lock``, ``user.unlock``). A correct
    signature sets ``failures`` back to 0; only a quality manager clears ``locked_at``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signature_guard"
    )
    failures = models.PositiveIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        # in the organization's zone with its offset, as the pages write it
        if self.locked_at is None:
            state = "open"
        else:
            state = f"locked since {datetime_text(timezone.localtime(self.locked_at))}"
        return f"signing of {self.user}: {self.failures} failure(s), {state}"
