"""Links between reference standards: which standard, with which of its certificates, was
used to calibrate which standard certificate.

A :class:`StandardLink` is written once, when the downstream certificate is recorded
(``labserver.standards.services.record_certificate``), and never changed (a PostgreSQL
trigger refuses UPDATE and DELETE). It pins the upstream certificate *in force on the
downstream calibration date* — the latest one calibrated on or before it — or nothing,
which is a break in the chain: the upstream standard had no certificate then.

``used_on`` repeats the downstream certificate's ``calibrated_on`` so that the reverse
trace can find "the uses of standard S between two dates" through one index,
``(standard, used_on)``, the same way it finds run usages
(``measurements.StandardUsage``, index ``(standard, used_on)``).
"""

from __future__ import annotations

from django.db import models


class StandardLink(models.Model):
    """Standard ``standard`` (with ``upstream_certificate`` in force) calibrated ``certificate``."""

    certificate = models.ForeignKey(
        "standards.StandardCertificate",
        on_delete=models.PROTECT,
        related_name="links",
        help_text="The downstream certificate: the calibration the upstream standard served",
    )
    standard = models.ForeignKey(
        "standards.ReferenceStandard",
        on_delete=models.PROTECT,
        related_name="downstream_links",
        help_text="The upstream standard used for that calibration",
    )
    upstream_certificate = models.ForeignKey(
        "standards.StandardCertificate",
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
