"""Reference standards, their calibration certificates and the links between them.

A standard's status on a date follows from its certificates, its
out-of-tolerance date and its retirement: it is usable on that date only when
a certificate is in force and it was neither out of tolerance nor retired.

A :class:`StandardLink` is written once, when the downstream certificate is recorded
(:func:`labserver.standards.services.record_certificate`), and never changed (a PostgreSQL
trigger refuses UPDATE and DELETE). It pins the upstream certificate *in force on the
downstream calibration date* — the latest one calibrated on or before it — or nothing,
which is a break in the chain: the upstream standard had no certificate then.
``used_on`` repeats the downstream certificate's ``calibrated_on`` so that the reverse
trace (:mod:`labserver.traceability.queries`) finds "the uses of standard S between two
dates" through one index, ``(standard, used_on)``, the same way it finds run usages
(``measurements.StandardUsage``, index ``(standard, used_on)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from labserver.core.fields import MeasurementField


class Status(models.TextChoices):
    IN_SERVICE = "in_service", _("In service")
    DUE = "due", _("Calibration due soon")
    OVERDUE = "overdue", _("Calibration overdue")
    OUT_OF_TOLERANCE = "out_of_tolerance", _("Out of tolerance")
    RETIRED = "retired", _("Retired")


USABLE = {Status.IN_SERVICE, Status.DUE}


@dataclass(frozen=True)
class StatusOnDate:
    status: Status
    certificate: StandardCertificate | None
    reason: str

    @property
    def usable(self) -> bool:
        return self.status in USABLE


class ReferenceStandard(models.Model):
    """An entry of the equipment register used as a reference."""

    class Level(models.TextChoices):
        # The level's words are in a context of their own: "Reference standard" is also
        # the pages' word for any reference standard, which this level is not.
        NATIONAL = "national", pgettext_lazy("standard level", "National standard")
        REFERENCE = "reference", pgettext_lazy("standard level", "Reference standard")
        WORKING = "working", pgettext_lazy("standard level", "Working standard")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="standards"
    )
    asset_id = models.CharField(max_length=64, help_text="Equipment register number")
    name = models.CharField(max_length=200)
    manufacturer = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    field = models.CharField(max_length=32, choices=MeasurementField.choices)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.WORKING)
    functions = models.JSONField(
        default=list,
        blank=True,
        help_text='Roles and ranges served: [{"role", "function", "unit", "min", "max"}]',
    )
    calibration_interval_months = models.PositiveSmallIntegerField()
    out_of_tolerance_since = models.DateField(null=True, blank=True)
    retired_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "asset_id"], name="standard_unique_asset_id"
            )
        ]
        ordering = ["organization_id", "asset_id"]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.name}"

    def certificate_on(self, when: date) -> StandardCertificate | None:
        """The certificate in force on ``when``: the latest calibrated on or before it."""
        return (
            self.certificates.filter(calibrated_on__lte=when)
            .order_by("-calibrated_on", "-pk")
            .first()
        )

    def status_on(self, when: date) -> StatusOnDate:
        """The standard's status on ``when``, with the certificate in force and why."""
        if self.retired_on is not None and self.retired_on <= when:
            return StatusOnDate(Status.RETIRED, None, f"retired on {self.retired_on}")
        certificate = self.certificate_on(when)
        if self.out_of_tolerance_since is not None and self.out_of_tolerance_since <= when:
            return StatusOnDate(
                Status.OUT_OF_TOLERANCE,
                certificate,
                f"out of tolerance since {self.out_of_tolerance_since}",
            )
        if certificate is None:
            return StatusOnDate(Status.OVERDUE, None, f"no calibration certificate on {when}")
        if when > certificate.due_on:
            return StatusOnDate(
                Status.OVERDUE,
                certificate,
                f"certificate {certificate.number} was due on {certificate.due_on}",
            )
        if certificate.due_on - when <= timedelta(days=settings.CALTRACE_DUE_SOON_DAYS):
            return StatusOnDate(
                Status.DUE,
                certificate,
                f"certificate {certificate.number} due {certificate.due_on}",
            )
        return StatusOnDate(
            Status.IN_SERVICE,
            certificate,
            f"certificate {certificate.number} valid until {certificate.due_on}",
        )

    def covers(self, function: str, unit: str, low: float, high: float) -> bool:
        """Whether one of the standard's declared ranges covers ``[low, high]`` in ``unit``."""
        for entry in self.functions or []:
            if entry.get("function") == function and entry.get("unit") == unit:
                lo, hi = entry.get("min"), entry.get("max")
                if (lo is None or lo <= low) and (hi is None or high <= hi):
                    return True
        return False


class StandardCertificate(models.Model):
    """A calibration certificate of a reference standard (internal or external)."""

    standard = models.ForeignKey(
        ReferenceStandard, on_delete=models.PROTECT, related_name="certificates"
    )
    number = models.CharField(max_length=100)
    internal = models.BooleanField(default=False)
    issuing_lab = models.CharField(max_length=200)
    accreditation = models.CharField(max_length=100, blank=True)
    calibrated_on = models.DateField()
    issued_on = models.DateField()
    due_on = models.DateField()
    values = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"quantity", "nominal", "value", "unit", "U", "k", "coverage_probability"}]',
    )
    file = models.FileField(upload_to="standard-certificates/%Y/", null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # A standard of another organization (on another node: not in this database) that
    # calibrated this one, as the registry names it; empty when none did.
    calibrated_with_owner = models.CharField(
        max_length=64, blank=True, help_text="The upstream standard's organization code"
    )
    calibrated_with_standard = models.CharField(
        max_length=64, blank=True, help_text="The upstream standard's asset id (register number)"
    )
    calibrated_with_certificate = models.CharField(
        max_length=64, blank=True, help_text="The upstream standard's calibration certificate"
    )
    reference_standards = models.ManyToManyField(
        ReferenceStandard,
        blank=True,
        related_name="calibrated_certificates",
        help_text="The standards used to calibrate this one (internal calibrations)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["standard", "number"], name="standard_certificate_unique_number"
            )
        ]
        indexes = [
            # the certificate in force on a date, and the next one (traceability windows)
            models.Index(fields=["standard", "calibrated_on"], name="stdcert_standard_cal_idx"),
        ]
        ordering = ["standard_id", "-calibrated_on"]

    def __str__(self) -> str:
        return f"{self.number} ({self.issuing_lab}, {self.calibrated_on})"

    @property
    def calibrated_elsewhere(self) -> bool:
        """Whether another organization's standard calibrated this one (a link that ends here,
        continued in that organization's own records)."""
        return bool(self.calibrated_with_owner)


class StandardLink(models.Model):
    """Standard ``standard`` (with ``upstream_certificate`` in force) calibrated ``certificate``."""

    certificate = models.ForeignKey(
        StandardCertificate,
        on_delete=models.PROTECT,
        related_name="links",
        help_text="The downstream certificate: the calibration the upstream standard served",
    )
    standard = models.ForeignKey(
        ReferenceStandard,
        on_delete=models.PROTECT,
        related_name="downstream_links",
        help_text="The upstream standard used for that calibration",
    )
    upstream_certificate = models.ForeignKey(
        StandardCertificate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downstream_links",
        help_text="The upstream standard's certificate in force on used_on (none: a break)",
    )
    used_on = models.DateField(help_text="The downstream certificate's calibration date")
    function = models.CharField(max_length=64, blank=True)
    range_low = models.FloatField(null=True, blank=True)
    range_high = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)

    class Meta:
        # The table kept the name of the app it was created in (traceability, 0001).
        db_table = "traceability_standardlink"
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "standard", "function", "unit"],
                name="standard_link_unique_use",
            )
        ]
        indexes = [
            # reverse trace: the uses of a standard within a window
            models.Index(fields=["standard", "used_on"], name="link_standard_date_idx"),
        ]
        ordering = ["certificate_id", "pk"]

    def __str__(self) -> str:
        return f"{self.standard_id} -> certificate {self.certificate_id} on {self.used_on}"
