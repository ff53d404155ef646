"""The one change the reports make: the audit entry of a report downloaded.

A report's figures leave the LIMS in a CSV file; who took which report of which
organization over which period is recorded in that organization's audit trail.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from labserver.accounts.access import acting_person
from labserver.accounts.models import Organization
from labserver.core import audit
from labserver.core.errors import NotFound

from .access import report_organization_ids
from .figures import Period


@transaction.atomic
def record_download(
    *, actor: Any, organization: Organization, report: str, period: Period, rows: int
) -> None:
    """Audit ``actor`` downloading ``report`` of ``organization`` over ``period`` (``rows``
    rows). Someone who may not read the organization's reports is answered "not found"."""
    person = acting_person(actor, action="downloading a report")
    if organization.pk not in report_organization_ids(person):
        raise NotFound("organization: not found", field="organization")
    audit.record(
        actor=person,
        action="report.download",
        object_type="report",
        object_id=report,
        organization_id=organization.pk,
        after={
            "report": report,
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "time_zone": period.zone.key,
            "rows": rows,
        },
    )
