"""Which requests a person sees: a customer its own organizations' requests, a center's
reception desk and quality manager the requests for the instruments the center serves.
Another organization's request is simply not found (404)."""

from __future__ import annotations

from typing import Any

from labserver.accounts.access import customer_organization_ids, organization_ids_with_role
from labserver.accounts.models import Role

from .models import CustomerRequest, RequestQuerySet

# Who answers the requests at the center.
CENTER_DESK = (Role.RECEPTION, Role.QUALITY_MANAGER)


def _requests() -> RequestQuerySet:
    return CustomerRequest.objects.select_related(
        "organization", "customer", "created_by"
    ).with_recorded_state()


def requests_of_customer(user: Any) -> RequestQuerySet:
    """The requests made by the customer organizations ``user`` belongs to as a customer."""
    return _requests().filter(customer_id__in=customer_organization_ids(user))


def center_ids(user: Any) -> set[int]:
    """The centers whose requests ``user`` answers."""
    return organization_ids_with_role(user, *CENTER_DESK)


def requests_of_center(user: Any) -> RequestQuerySet:
    """The requests for instruments served by the centers whose desk ``user`` runs."""
    return _requests().filter(organization_id__in=center_ids(user))
