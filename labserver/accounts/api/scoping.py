"""Mixins of the API's views that keep every request inside the caller's organizations."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response

from labserver.core.errors import NotPermitted

from ..access import acting_person, readable_organization_ids


class OrganizationCreateMixin:
    """``create`` for records a person registers in one of their organizations.

    The body names the organization by code; the serializer validates the rest;
    ``register(actor=..., organization=..., **fields)`` (a service) does the
    change. Agents and people without a role there are refused (403).
    """

    request: Any
    register: Any  # the service, e.g. staticmethod(services.register_instrument)
    what = "a record"
    get_serializer: Any  # GenericAPIView's

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        actor = acting_person(request.user, action=f"registering {self.what}")
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = data.pop("organization")
        if organization.pk not in readable_organization_ids(actor):
            raise NotPermitted(f"registering {self.what} needs a role in that organization")
        record = self.register(actor=actor, organization=organization, **data)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)


class ScopedQuerysetMixin:
    """Narrow every queryset to the organizations the caller may read.

    ``scope_field`` names the organization of the record (``organization`` or a
    path such as ``run__organization``). Anything outside is never found:
    lists omit it and details answer 404, the same as a missing record.
    """

    scope_field = "organization"
    request: Any

    def scope(self, queryset: Any) -> Any:
        ids = readable_organization_ids(self.request.user)
        return queryset.filter(**{f"{self.scope_field}__in": ids})
