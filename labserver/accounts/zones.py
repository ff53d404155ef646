"""Each organization writes its dates and times in its own zone.

A certificate, its DCC, the recall letters and the public check print the issuing
organization's zone (:attr:`Organization.zone`). The pages a signed-in person reads use
the zone of their organization: :class:`OrganizationTimeZoneMiddleware` activates it for
the request, so ``timezone.localtime``, ``localdate`` and the ``|moment`` filter follow it.
Every time a page shows carries its offset, so a person of another zone reading the page
still reads the same instant.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import Membership, User

__all__ = ["OrganizationTimeZoneMiddleware", "zone_of_user"]


def zone_of_user(user: User | AnonymousUser | None) -> ZoneInfo | None:
    """The zone of the organization of ``user``'s first active membership (by code), or
    None for an anonymous visitor or a person without a membership (the deployment's
    ``TIME_ZONE`` then applies)."""
    if user is None or not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user, active=True)
        .select_related("organization")
        .order_by("organization__code", "pk")
        .first()
    )
    return membership.organization.zone if membership is not None else None


class OrganizationTimeZoneMiddleware:
    """Activate the signed-in person's organization's zone for the request (after
    ``AuthenticationMiddleware``); the deployment's zone for everyone else. API calls
    authenticated by token are answered in ISO 8601 with the offset whatever the zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_of_user(getattr(request, "user", None))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
