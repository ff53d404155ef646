"""Procedures (versioned definitions, by content hash) and jobs."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from labserver.core.fields import MeasurementField
from procedures.definition import ProcedureDefinition, definition_from_data


class Procedure(models.Model):
    """One version of a procedure definition, identified by id, version and content hash."""

    class Kind(models.TextChoices):
        CALIBRATION = "calibration", _("Calibration")
        VERIFICATION = "verification", _("Verification")

    procedure_id = models.SlugField(max_length=100)
    version = models.CharField(max_length=32)
    content_hash = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=300)
    title_vi = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    field = models.CharField(max_length=32, choices=MeasurementField.choices)
    instrument_type = models.ForeignKey(
        "instruments.InstrumentType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="procedures",
    )
    definition = models.JSONField(help_text="The procedure definition as registered")
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["procedure_id", "version"], name="procedure_unique_version"
            )
        ]
        ordering = ["procedure_id", "version"]

    def __str__(self) -> str:
        return f"{self.procedure_id} v{self.version}"


_DEFINITIONS: dict[str, ProcedureDefinition] = {}


def parsed_procedure(procedure: Procedure) -> ProcedureDefinition:
    """The checked definition of a catalog entry (parsed once per content hash)."""
    parsed = _DEFINITIONS.get(procedure.content_hash)
    if parsed is None:
        parsed = definition_from_data(procedure.definition, source=str(procedure))
        _DEFINITIONS[procedure.content_hash] = parsed
    return parsed


class JobState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    MEASURED = "measured", _("Measured")
    REVIEWED = "reviewed", _("Reviewed")
    APPROVED = "approved", _("Approved")
    ISSUED = "issued", _("Issued")
    CANCELLED = "cancelled", _("Cancelled")


# A job is done once its certificate is issued or it is cancelled.
DONE_STATES = (JobState.ISSUED, JobState.CANCELLED)
# Not yet at the bench: a day on the calendar that has passed makes these late.
NOT_STARTED = (JobState.REQUESTED, JobState.ACCEPTED, JobState.SCHEDULED)


def overdue_q(today: date) -> models.Q:
    """Jobs late on ``today`` (the lab's date): past their due date and not done, or past
    their scheduled day and not yet started."""
    return (models.Q(due_on__lt=today) & ~models.Q(state__in=DONE_STATES)) | (
        models.Q(scheduled_on__lt=today) & models.Q(state__in=NOT_STARTED)
    )


class Job(models.Model):
    """A work order: this instrument, this procedure, this bench or person, by this date."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="jobs"
    )
    number = models.CharField(max_length=32)
    instrument = models.ForeignKey(
        "instruments.Instrument", on_delete=models.PROTECT, related_name="jobs"
    )
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="jobs")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_jobs",
    )
    bench = models.ForeignKey(
        "accounts.Agent", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    due_on = models.DateField(null=True, blank=True)
    # The day the job is planned at its bench (the front office's calendar); due_on is
    # the date promised to the customer.
    scheduled_on = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.REQUESTED)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="job_unique_number")
        ]
        indexes = [models.Index(fields=["organization", "state"], name="job_org_state_idx")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number

    def is_overdue(self, today: date) -> bool:
        """What :func:`overdue_q` selects, for a job in hand."""
        return (
            self.due_on is not None and self.due_on < today and self.state not in DONE_STATES
        ) or (
            self.scheduled_on is not None
            and self.scheduled_on < today
            and self.state in NOT_STARTED
        )
