"""The audit trail, read through the API by quality managers and auditors."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Role

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
