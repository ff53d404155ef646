"""The reception desk's line on the signed-in home page: the customers' requests waiting
for the center (to answer or to schedule)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from labserver.accounts.models import Role, User
from labserver.customer_requests.models import CustomerRequest, RequestState
from labserver.web.worklist import WorkItem, register


def requests_waiting(user: User, organizations: set[int]) -> int:
    """Requests of the person's centers submitted or accepted, not yet scheduled."""
    return (
        CustomerRequest.objects.filter(organization_id__in=organizations)
        .in_recorded_states(RequestState.SUBMITTED, RequestState.ACCEPTED)
        .count()
    )


def register_counters() -> None:
    register(
        WorkItem(
            key="requests-waiting",
            role=Role.RECEPTION,
            label=_("Customers' requests to answer or schedule"),
            url_name="office:requests",
            count=requests_waiting,
        )
    )
