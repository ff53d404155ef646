"""Instrument types and patterns (national reference data), and customers' instruments."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from labserver.accounts.access import (
    customer_organization_ids,
    is_agent,
    readable_organization_ids,
)
from labserver.accounts.api.scoping import OrganizationCreateMixin
from labserver.accounts.models import Organization

from .. import services
from ..models import Instrument, InstrumentType, PatternApproval


class InstrumentTypeOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = InstrumentType
        fields = [
            "id",
            "code",
            "name",
            "name_vi",
            "field",
            "legal_category",
            "verification_interval_months",
        ]


class InstrumentTypeViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = InstrumentType.objects.all()
    serializer_class = InstrumentTypeOut
    filterset_fields = ["code", "field", "legal_category"]
    search_fields = ["code", "name", "name_vi"]
    ordering_fields = ["code", "name"]


class PatternOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument_type: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = PatternApproval
        fields = [
            "id",
            "number",
            "instrument_type",
            "manufacturer",
            "model",
            "approved_on",
            "valid_until",
        ]


class PatternViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = PatternApproval.objects.select_related("instrument_type")
    serializer_class = PatternOut
    filterset_fields = ["number", "instrument_type__code", "manufacturer"]
    search_fields = ["number", "manufacturer", "model"]
    ordering_fields = ["number", "approved_on"]


class InstrumentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization: Any = serializers.SlugRelatedField(
        slug_field="code", queryset=Organization.objects.all()
    )
    owner: Any = serializers.SlugRelatedField(
        slug_field="code", queryset=Organization.objects.all()
    )
    instrument_type: Any = serializers.SlugRelatedField(
        slug_field="code", queryset=InstrumentType.objects.all()
    )
    pattern: Any = serializers.SlugRelatedField(
        slug_field="number",
        queryset=PatternApproval.objects.all(),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = Instrument
        fields = [
            "id",
            "organization",
            "owner",
            "instrument_type",
            "pattern",
            "manufacturer",
            "model",
            "serial",
            "location",
            "specification",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list[Any] = []  # uniqueness is the service's, with a clear message


@extend_schema_view(
    create=extend_schema(
        responses={
            201: InstrumentSerializer,
            409: OpenApiResponse(description="This manufacturer and serial are registered already"),
        }
    )
)
class InstrumentViewSet(
    OrganizationCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    queryset = Instrument.objects.none()
    serializer_class = InstrumentSerializer
    register = staticmethod(services.register_instrument)
    what = "an instrument"
    filterset_fields = ["serial", "instrument_type__code", "owner__code", "organization__code"]
    search_fields = ["serial", "manufacturer", "model"]
    ordering_fields = ["serial", "created_at"]

    def get_queryset(self) -> Any:
        user = self.request.user
        visible = Q(organization__in=readable_organization_ids(user))
        if not is_agent(user):
            visible |= Q(owner__in=customer_organization_ids(user))
        return Instrument.objects.filter(visible).select_related(
            "organization", "owner", "instrument_type", "pattern"
        )
