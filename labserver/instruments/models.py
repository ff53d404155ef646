"""Instrument types and approved patterns (national reference data), customers' instruments."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from labserver.core.fields import MeasurementField


class InstrumentType(models.Model):
    """A kind of measuring instrument, e.g. "non-automatic weighing instrument"."""

    class LegalCategory(models.TextChoices):
        GROUP_1 = "group_1", _("Group 1: controlled (pattern approval, verification)")
        GROUP_2 = "group_2", _("Group 2: calibration or testing")

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    name_vi = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=32, choices=MeasurementField.choices)
    legal_category = models.CharField(max_length=16, choices=LegalCategory.choices)
    verification_interval_months = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PatternApproval(models.Model):
    """An approved pattern: the approval number and what it covers."""

    number = models.CharField(max_length=64, unique=True)
    instrument_type = models.ForeignKey(
        InstrumentType, on_delete=models.PROTECT, related_name="patterns"
    )
    manufacturer = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    approved_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.manufacturer} {self.model}"


class Instrument(models.Model):
    """A customer's instrument as registered by the center that serves it."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="instruments"
    )
    owner = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="owned_instruments"
    )
    instrument_type = models.ForeignKey(
        InstrumentType, on_delete=models.PROTECT, related_name="instruments"
    )
    pattern = models.ForeignKey(
        PatternApproval, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    manufacturer = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    serial = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True)
    specification = models.JSONField(
        default=dict, blank=True, help_text="Range, resolution, accuracy class, as data"
    )
    # A retired instrument stays on record with its jobs and certificates (never deleted);
    # no new job is created for it.
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "instrument_type", "manufacturer", "serial"],
                name="instrument_unique_serial",
            )
        ]
        ordering = ["organization_id", "serial"]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model} s/n {self.serial}"


class CustomerAccount(models.Model):
    """A center's account of a customer organization: how to reach it, and whether the
    center still serves it. A customer is an :class:`~labserver.accounts.models.Organization`
    of kind customer; the account is what the front office keeps about it. Deactivated,
    never deleted: its instruments, jobs and certificates stay on record."""

    center = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="customer_accounts"
    )
    customer = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="customer_account"
    )
    contact = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    email = models.EmailField(blank=True)
    tax_code = models.CharField(max_length=32, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["center_id", "customer_id"]

    def __str__(self) -> str:
        return f"{self.customer.code} @ {self.center.code}"
