"""Runs, points, readings, the standards used, and the electronic signatures on a run.

Everything submitted is append-only: points, readings, standard usages and
signatures are never updated or deleted (a PostgreSQL trigger enforces it).
A run's ``state`` follows review and approval; its evidence never changes, and
a correction is a new run that names the one it supersedes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RunState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    REVIEWED = "reviewed", _("Reviewed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Run(models.Model):
    """One execution of a procedure for a job, as the agent submitted it."""

    id = models.UUIDField(primary_key=True, help_text="The run id chosen by the agent")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="runs"
    )
    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="runs")
    agent = models.ForeignKey("accounts.Agent", on_delete=models.PROTECT, related_name="runs")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="performed_runs"
    )
    procedure = models.ForeignKey("jobs.Procedure", on_delete=models.PROTECT, related_name="+")
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    software_version = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    # The window of the run's readings: the look-ups of its readings are bounded by it, so
    # that PostgreSQL visits the yearly partitions of those instants only
    # (labserver.measurements.partitions). Empty when no point of the run read anything.
    readings_from = models.DateTimeField(
        null=True, blank=True, help_text="The timestamp of the run's first reading"
    )
    readings_until = models.DateTimeField(
        null=True, blank=True, help_text="The timestamp of the run's last reading"
    )
    environment = models.JSONField(default=dict)
    raw_io = models.JSONField(default=list)
    payload = models.JSONField(help_text="The submitted body, as received")
    payload_sha256 = models.CharField(max_length=64, help_text="Of the canonical JSON body")
    signature = models.CharField(max_length=200, help_text="Agent's Ed25519 signature, base64")
    response = models.JSONField(help_text="The answer given, repeated on an identical resubmission")
    received_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.SUBMITTED)
    disagreements = models.PositiveIntegerField(default=0)
    agent_checks = models.JSONField(
        default=list, blank=True, help_text="The test-level checks the agent claimed"
    )
    server_checks = models.JSONField(
        default=list, blank=True, help_text="The test-level checks the server computed"
    )
    agent_curves = models.JSONField(
        default=dict, blank=True, help_text="The curves the agent fitted, by test id"
    )
    server_curves = models.JSONField(
        default=dict, blank=True, help_text="The curves the server fitted, by test id"
    )
    disagreement = models.JSONField(
        default=list,
        blank=True,
        help_text="Where the agent's checks and curves differ from the server's",
    )
    server_conformity = models.CharField(
        max_length=32,
        blank=True,
        help_text="The run's statement: its worst point or test-level check, by the server",
    )

    class Meta:
        indexes = [models.Index(fields=["organization", "state"], name="run_org_state_idx")]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"run {self.id}"


class PositionState(models.TextChoices):
    MEASURED = "measured", _("Measured")
    SKIPPED = "skipped", _("Skipped")
    REMOVED = "removed", _("Removed")


class RunPosition(models.Model):
    """One position of a multi-position run (N meters in series against one reference):
    the instrument mounted there, what became of it (measured, skipped or removed, and
    why), its test-level checks as the agent and the server computed them, and the
    server's statement over its points and checks. Its points are the run's points of
    this position. Each instrument has its own job (:attr:`job`), and gets its own
    certificate. Append-only, like the run's other evidence."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="positions")
    number = models.PositiveIntegerField(help_text="The position on the bench, from 1")
    job = models.ForeignKey(
        "jobs.Job",
        on_delete=models.PROTECT,
        related_name="positions",
        null=True,
        blank=True,
        help_text=(
            "The job of the instrument mounted here (matched by its serial when the run was "
            "received); none for a position skipped whose instrument has no open job"
        ),
    )
    serial = models.CharField(max_length=100)
    instrument_type = models.CharField(max_length=100, blank=True)
    parameters = models.JSONField(
        default=dict, blank=True, help_text="The numbers of its specification the run used"
    )
    state = models.CharField(max_length=16, choices=PositionState.choices)
    reason = models.TextField(blank=True, help_text="Why it was skipped or removed")
    agent_checks = models.JSONField(default=list, blank=True)
    server_checks = models.JSONField(default=list, blank=True)
    disagreement = models.JSONField(
        default=list, blank=True, help_text="Where the agent's checks differ from the server's"
    )
    disagreements = models.PositiveIntegerField(
        default=0, help_text="How many of its points and checks the agent's claims differ on"
    )
    server_conformity = models.CharField(
        max_length=32,
        blank=True,
        help_text="Its statement by the server: its worst point or check; empty when skipped",
    )
    identity = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "Its meter as read through its optical port before the test (protocol, port, "
            "the serial stated and its registers as stated); null when typed, not read"
        ),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="run_position_unique_number")
        ]
        ordering = ["run_id", "number"]

    def __str__(self) -> str:
        return f"position {self.number} of run {self.run_id}"


class Point(models.Model):
    """One test point: its model, the agent's result and the server's own re-evaluation
    with its uncertainty budget; in a multi-position run, of one position."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="points")
    position = models.ForeignKey(
        RunPosition,
        on_delete=models.PROTECT,
        related_name="points",
        null=True,
        blank=True,
        help_text="The position of a multi-position run this point is of",
    )
    index = models.PositiveIntegerField()
    test = models.CharField(max_length=100)
    nominal = models.FloatField()
    unit = models.CharField(max_length=32)
    model = models.JSONField()
    output = models.CharField(max_length=100)
    readings_quantity = models.CharField(max_length=100)
    acceptance = models.JSONField(default=dict, blank=True)
    agent_result = models.JSONField()
    server_result = models.JSONField()
    budget = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "The uncertainty budget of the server's evaluation "
            "(procedures.evaluation.Budget); none on points received before it was kept"
        ),
    )
    agent_conformity = models.CharField(max_length=32, blank=True)
    server_conformity = models.CharField(max_length=32, blank=True)
    disagreement = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "index"],
                condition=models.Q(position__isnull=True),
                name="point_unique_index",
            ),
            models.UniqueConstraint(
                fields=["position", "index"],
                condition=models.Q(position__isnull=False),
                name="point_unique_position_index",
            ),
        ]
        ordering = ["run_id", "position_id", "index"]


class Reading(models.Model):
    """One reading of a point, with the raw text it came from."""

    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="readings")
    index = models.PositiveIntegerField()
    quantity = models.CharField(
        max_length=100, help_text="The model quantity whose samples this reading is"
    )
    value = models.FloatField()
    unit = models.CharField(max_length=32)
    timestamp = models.DateTimeField()
    stable = models.BooleanField(null=True)
    raw = models.TextField(blank=True)

    class Meta:
        ordering = ["point_id", "index"]


class StandardUsage(models.Model):
    """A reference standard used in a run: the certificate in force then, function and range."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="standard_usages")
    standard = models.ForeignKey(
        "standards.ReferenceStandard", on_delete=models.PROTECT, related_name="usages"
    )
    certificate = models.ForeignKey(
        "standards.StandardCertificate", on_delete=models.PROTECT, related_name="usages"
    )
    used_on = models.DateField()
    role = models.CharField(max_length=32)
    function = models.CharField(max_length=64)
    range_low = models.FloatField(null=True)
    range_high = models.FloatField(null=True)
    unit = models.CharField(max_length=32)

    class Meta:
        indexes = [
            # The reverse trace: a standard's uses within a date window, answered from the
            # index alone (every column it reads is a key: no heap page per use).
            models.Index(
                fields=[
                    "standard",
                    "used_on",
                    "run",
                    "function",
                    "unit",
                    "range_low",
                    "range_high",
                ],
                name="usage_standard_date_cover_idx",
            )
        ]


class RunSignature(models.Model):
    """An electronic signature on a run: who, when, and what it means (21 CFR 11.50)."""

    class Meaning(models.TextChoices):
        PERFORMED = "performed", _("Performed by")
        CHECKED = "checked", _("Checked by")
        AUTHORIZED = "authorized", _("Authorized by")
        REJECTED = "rejected", _("Rejected by")

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="signatures")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200, help_text="Printed name at the time of signing")
    meaning = models.CharField(max_length=16, choices=Meaning.choices)
    signed_at = models.DateTimeField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "signed_at"]
