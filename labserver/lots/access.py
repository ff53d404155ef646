"""Which lots a person sees: those of the organizations whose records they may read (an
auditor's granted ones included). Another organization's lot is simply not found (404);
changing a lot needs the quality manager's role in its organization (the services check)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from labserver.accounts.access import readable_organization_ids
from labserver.accounts.models import Role

from .models import Lot

# Who runs a lot's sampling inspection.
LOT_MANAGERS = (Role.QUALITY_MANAGER,)


def readable_lots(user: Any) -> QuerySet[Lot]:
    """The lots of the organizations ``user`` may read, with what their pages show."""
    return Lot.objects.filter(organization_id__in=readable_organization_ids(user)).select_related(
        "organization", "owner", "instrument_type", "pattern", "plan", "draw", "decision"
    )


def listed_lots(user: Any) -> QuerySet[Lot]:
    """:func:`readable_lots` with the counts :attr:`Lot.stage` reads, for a listing."""
    return readable_lots(user).annotate(
        meter_count=Count("meters", distinct=True), result_count=Count("results", distinct=True)
    )
