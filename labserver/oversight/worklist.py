"""The counters of the signed-in home page (:mod:`labserver.web.worklist`).

They live here because this app stands above every record they count (jobs, runs,
certificates, standards, nonconformities); each counts in the organizations where the person
holds the line's role, with one query.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Role, User
from labserver.jobs.models import Job, JobState
from labserver.measurements.models import Run, RunState
from labserver.nonconformities.models import Nonconformity
from labserver.standards.models import ReferenceStandard, StandardCertificate
from labserver.web.worklist import WorkItem, register

# A job is open until it is issued or cancelled.
OPEN_JOB_STATES = [
    state for state in JobState.values if state not in (JobState.ISSUED, JobState.CANCELLED)
]


def my_jobs(user: User, organizations: set[int]) -> int:
    """Open jobs assigned to the person."""
    return Job.objects.filter(
        organization_id__in=organizations, assignee=user, state__in=OPEN_JOB_STATES
    ).count()


def runs_to_review(user: User, organizations: set[int]) -> int:
    """Submitted runs someone else performed (four eyes)."""
    return (
        Run.objects.filter(organization_id__in=organizations, state=RunState.SUBMITTED)
        .exclude(operator=user)
        .count()
    )


def runs_to_approve(user: User, organizations: set[int]) -> int:
    """Reviewed runs, waiting for a signatory's approval."""
    return Run.objects.filter(organization_id__in=organizations, state=RunState.REVIEWED).count()


def certificates_to_issue(user: User, organizations: set[int]) -> int:
    """Approved runs without a certificate yet."""
    return Run.objects.filter(
        organization_id__in=organizations, state=RunState.APPROVED, certificates__isnull=True
    ).count()


def standards_falling_due(user: User, organizations: set[int]) -> int:
    """Standards in service whose certificate in force is due within the lab's warning
    period (``CALTRACE_DUE_SOON_DAYS``), overdue, or missing: the quality page lists them."""
    today = timezone.localdate()
    in_force = StandardCertificate.objects.filter(
        standard=OuterRef("pk"), calibrated_on__lte=today
    ).order_by("-calibrated_on", "-pk")
    soon = today + timedelta(days=settings.CALTRACE_DUE_SOON_DAYS)
    return (
        ReferenceStandard.objects.filter(organization_id__in=organizations)
        .filter(Q(retired_on__isnull=True) | Q(retired_on__gt=today))
        .annotate(due_on=Subquery(in_force.values("due_on")[:1]))
        .filter(Q(due_on__isnull=True) | Q(due_on__lte=soon))
        .count()
    )


def open_nonconformities(user: User, organizations: set[int]) -> int:
    return Nonconformity.objects.filter(
        organization_id__in=organizations, status=Nonconformity.Status.OPEN
    ).count()


def register_counters() -> None:
    """Called once the apps are ready (:class:`labserver.oversight.apps.OversightConfig`)."""
    for item in (
        WorkItem("my-jobs", Role.METROLOGIST, _("My jobs"), "work:jobs", my_jobs),
        WorkItem(
            "runs-to-review",
            Role.REVIEWER,
            _("Runs to review"),
            "work:jobs",
            runs_to_review,
            query=f"state={JobState.MEASURED}",
        ),
        WorkItem(
            "runs-to-approve",
            Role.SIGNATORY,
            _("Runs to approve"),
            "work:jobs",
            runs_to_approve,
            query=f"state={JobState.REVIEWED}",
        ),
        WorkItem(
            "certificates-to-issue",
            Role.SIGNATORY,
            _("Certificates to issue"),
            "work:jobs",
            certificates_to_issue,
            query=f"state={JobState.APPROVED}",
        ),
        WorkItem(
            "standards-due",
            Role.QUALITY_MANAGER,
            _("Standards falling due or overdue"),
            "oversight:quality",
            standards_falling_due,
        ),
        WorkItem(
            "open-nonconformities",
            Role.QUALITY_MANAGER,
            _("Open nonconformities"),
            "oversight:nonconformities",
            open_nonconformities,
        ),
    ):
        register(item)
