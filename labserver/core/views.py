"""The audit trail, read through the API by quality managers and auditors; the API's answers
to URLs no route matches and to unhandled errors."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, viewsets

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Role

from .api import error_body
from .models import AuditEntry


class AuditEntryOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "chain",
            "seq",
            "at",
            "actor",
            "organization",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "reason",
            "prev_hash",
            "hash",
        ]


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Entries of the organizations where the caller is quality manager or auditor."""

    queryset = AuditEntry.objects.none()
    serializer_class = AuditEntryOut
    filterset_fields = ["action", "object_type", "object_id", "actor", "chain"]
    ordering_fields = ["at", "seq"]

    def get_queryset(self) -> Any:
        user = self.request.user
        ids = organization_ids_with_role(user, Role.QUALITY_MANAGER, Role.AUDITOR)
        ids |= granted_organization_ids(user)
        return AuditEntry.objects.filter(organization_id__in=ids).order_by("-at", "-id")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for a URL no route matches (``/api/v1/standards/x/chain/`` where the
    route takes a number): under ``/api/`` the API's JSON error body, as for every other
    API error; elsewhere the site's page."""
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", str(exceptions.NotFound.default_detail)), status=404
        )
    return defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    """An unhandled error under ``/api/`` answers the API's JSON error body (the schema's
    content type), not the site's HTML page. Each one is a bug: the fuzz test fails on it."""
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", str(exceptions.APIException.default_detail)), status=500
        )
    return defaults.server_error(request)
