"""The audit trail through the API: its entries, read by quality managers and auditors
of the organization (and by those granted access); its anchors, read by anyone."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Role
from labserver.core.models import AuditAnchor, AuditEntry
from labserver.core.throttles import LookupThrottle
from labserver.issuance.anchors import published


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


class AnchorStatementOut(serializers.Serializer):  # type: ignore[type-arg]
    """What is signed (as canonical JSON: keys sorted, no spaces, UTF-8)."""

    chain = serializers.CharField(help_text="org:<id> or system")
    organization = serializers.CharField(help_text="Code of the organization whose key signed")
    length = serializers.IntegerField(help_text="Entries in the chain when anchored")
    head = serializers.CharField(help_text="SHA-256 of entry number `length`, hex")
    at = serializers.CharField(help_text="When anchored, ISO 8601 UTC with microseconds")


class AuditAnchorOut(serializers.Serializer):  # type: ignore[type-arg]
    """A published anchor: also one line of the organization's anchor file."""

    statement = AnchorStatementOut()
    signature = serializers.CharField(
        help_text="Detached CMS SignedData (DER, base64) over the statement, with the "
        "signer's certificate chain and, where a TSA is configured, an RFC 3161 time-stamp"
    )
    signer_fingerprint = serializers.CharField(help_text="SHA-256 of the signer certificate")
    timestamped = serializers.BooleanField()
    trigger = serializers.ChoiceField(choices=AuditAnchor.Trigger.choices)

    def to_representation(self, instance: Any) -> Any:
        return published(instance)


class AuditAnchorList(generics.ListAPIView):  # type: ignore[type-arg]
    """Anyone may read the anchors of the audit trail, to keep copies and to check a
    LIMS's trail against them (``verify_audit --anchors <this URL>``). Oldest first, so
    that a copy is brought up to date by reading from where it stopped."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LookupThrottle]
    serializer_class = AuditAnchorOut
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        anchors = AuditAnchor.objects.order_by("at", "id")
        code = self.request.query_params.get("organization")
        if code is not None:
            if not code.strip():
                raise ValidationError({"organization": ["must not be empty"]})
            anchors = anchors.filter(organization_code=code.strip())
        return anchors

    @extend_schema(
        operation_id="audit_anchors",
        tags=["public"],
        parameters=[
            OpenApiParameter(
                "organization",
                str,
                description="Only the anchors signed by this organization (code)",
            )
        ],
        responses={
            200: AuditAnchorOut(many=True),
            400: OpenApiResponse(description="organization is given but empty"),
            404: OpenApiResponse(description="page beyond the last page"),
        },
        auth=[],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
