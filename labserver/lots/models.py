"""An in-service lot: installed meters of one type and year whose verification's validity is
extended by testing a random sample of them.

Every table here is append-only: a lot is written once, then each step appends its record
(the meters imported, the sampling plan the organization configured, the sample drawn, each
sampled meter's result, the decision). A step is never redone in place; the lot's state is
which records it has (:attr:`Lot.stage`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    NEW = "new", _("Meters to import")
    TO_PLAN = "to_plan", _("Sampling plan to choose")
    TO_DRAW = "to_draw", _("Sample to draw")
    TESTING = "testing", _("Results to enter")
    TO_DECIDE = "to_decide", _("To decide")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class OCModel(models.TextChoices):
    BINOMIAL = "binomial", _("Binomial (sample under one tenth of the lot)")
    HYPERGEOMETRIC = "hypergeometric", _("Hypergeometric (sample one tenth of the lot or more)")


class Lot(models.Model):
    """The lot as the quality manager defined it."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="lots"
    )
    number = models.CharField(max_length=32)
    instrument_type = models.ForeignKey(
        "instruments.InstrumentType", on_delete=models.PROTECT, related_name="+"
    )
    pattern = models.ForeignKey(
        "instruments.PatternApproval",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    installed_year = models.PositiveSmallIntegerField()
    owner = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="lot_unique_number")
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number

    @property
    def stage(self) -> str:
        """Where the lot is: the first step whose record it lacks. A listing annotates
        ``meter_count`` and ``result_count`` (:func:`labserver.lots.access.readable_lots`)
        so that it does not count them lot by lot."""
        decision = getattr(self, "decision", None)
        if decision is not None:
            return Stage.ACCEPTED if decision.accepted else Stage.REJECTED
        meters = getattr(self, "meter_count", None)
        if not (self.meters.exists() if meters is None else meters):
            return Stage.NEW
        if getattr(self, "plan", None) is None:
            return Stage.TO_PLAN
        draw = getattr(self, "draw", None)
        if draw is None:
            return Stage.TO_DRAW
        results = getattr(self, "result_count", None)
        if (self.results.count() if results is None else results) < len(draw.serials):
            return Stage.TESTING
        return Stage.TO_DECIDE


class LotMeter(models.Model):
    """One installed meter of the lot, by its serial number."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="meters")
    serial = models.CharField(max_length=100)
    location = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "serial"], name="lot_meter_serial_once")
        ]
        ordering = ["serial"]


class SamplingPlan(models.Model):
    """Single sampling by attributes, as the organization configured it: the sample size n,
    the acceptance number c and what they come from (its quality levels, or the table it
    adopts), stated on the record. caltrace computes nothing of the plan itself."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="plan")
    sample_size = models.PositiveIntegerField()
    acceptance_number = models.PositiveIntegerField()
    basis = models.TextField()
    oc_model = models.CharField(max_length=16, choices=OCModel.choices)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    chosen_at = models.DateTimeField(auto_now_add=True)


class SampleDraw(models.Model):
    """The sample drawn: the seed, the algorithm's name and the serials in the order drawn."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="draw")
    seed = models.BigIntegerField()
    algorithm = models.CharField(max_length=64)
    serials = models.JSONField()
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drawn_at = models.DateTimeField(auto_now_add=True)


class MeterResult(models.Model):
    """A sampled meter's result, with its verification certificate when there is one."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="results")
    meter = models.OneToOneField(LotMeter, on_delete=models.PROTECT, related_name="result")
    passed = models.BooleanField()
    certificate = models.ForeignKey(
        "issuance.Certificate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meter__serial"]


class LotDecision(models.Model):
    """The lot's decision, by the plan's rule: accepted (validity extended until a date) when
    the sample holds at most c failures, rejected otherwise."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="decision")
    accepted = models.BooleanField()
    failures = models.PositiveIntegerField()
    valid_until = models.DateField(null=True, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
