"""The words the pages print for the codes the records store (the datasets keep the codes)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

FIELDS = {
    "mass": _("Mass and weighing"),
    "pressure": _("Pressure"),
    "temperature": _("Temperature"),
    "electrical": _("Electrical (DC/LF)"),
    "volume_flow": _("Volume and flow"),
    "length": _("Length"),
    "energy": _("Electrical energy"),
}

LEVELS = {
    "national": _("National standard"),
    "reference": _("Reference standard"),
    "working": _("Working standard"),
}

STANDARD_STATUS = {
    "in_service": _("In service"),
    "due": _("Calibration due soon"),
    "overdue": _("Calibration overdue"),
    "out_of_tolerance": _("Out of tolerance"),
    "retired": _("Retired"),
}

#: The class each standard status is shown with (colour plus the word, never colour alone).
STANDARD_STATUS_CLASS = {
    "in_service": "pass",
    "due": "warn",
    "overdue": "fail",
    "out_of_tolerance": "fail",
    "retired": "muted",
}

JOB_STATES = {
    "requested": _("Requested"),
    "accepted": _("Accepted"),
    "scheduled": _("Scheduled"),
    "in_progress": _("In progress"),
    "measured": _("Measured"),
    "reviewed": _("Reviewed"),
    "approved": _("Approved"),
    "issued": _("Issued"),
    "cancelled": _("Cancelled"),
}
