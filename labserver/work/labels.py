"""The words of the pages for the states and meanings the models store in English."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .presentation import VERDICTS

RUN_STATES = {
    "submitted": _("Submitted"),
    "reviewed": _("Reviewed"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
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

MEANINGS = {
    "performed": _("Performed by"),
    "checked": _("Checked by"),
    "authorized": _("Authorized by"),
    "rejected": _("Rejected by"),
}

CERTIFICATE_STATES = {
    "valid": _("Valid"),
    "superseded": _("Superseded"),
    "revoked": _("Revoked"),
}


def verdict_label(statement: str) -> str:
    """The verdict in the page's language (empty when nothing was judged)."""
    return str(VERDICTS.get(statement, statement)) if statement else ""
