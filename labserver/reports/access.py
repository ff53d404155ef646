"""Who may read the reports of which organization.

The quality manager of an organization and its auditors (members, or holders of a valid
audit grant) read its reports; nobody else sees its figures, not even that it exists (an
organization asked for by someone who may not read it is "not found").
"""

from __future__ import annotations

from typing import Any

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Organization, Role

READERS = (Role.QUALITY_MANAGER, Role.AUDITOR)


def report_organization_ids(user: Any) -> set[int]:
    """The organizations whose reports ``user`` may read."""
    return organization_ids_with_role(user, *READERS) | granted_organization_ids(user)


def report_organizations(user: Any) -> list[Organization]:
    """Those organizations, by code."""
    return list(Organization.objects.filter(pk__in=report_organization_ids(user)).order_by("code"))
