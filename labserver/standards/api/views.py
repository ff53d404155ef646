"""Reference standards, their certificates, their status on a date."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from labserver.accounts.access import readable_organization_ids
from labserver.accounts.api.scoping import OrganizationCreateMixin, ScopedQuerysetMixin
from labserver.accounts.models import Organization
from labserver.core.errors import DomainError, NotFound

from .. import services
from ..models import ReferenceStandard, StandardCertificate


class ReferenceUseIn(serializers.Serializer):  # type: ignore[type-arg]
    """A standard used for the calibration, with the function and range it served."""

    asset_id = serializers.CharField()
    function = serializers.CharField(required=False, default="")
    range_low = serializers.FloatField(required=False, allow_null=True, default=None)
    range_high = serializers.FloatField(required=False, allow_null=True, default=None)
    unit = serializers.CharField(required=False, default="")


class CertificateSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    reference_standards: Any = serializers.SlugRelatedField(
        slug_field="asset_id",
        many=True,
        required=False,
        queryset=ReferenceStandard.objects.none(),
    )
    reference_uses = ReferenceUseIn(
        many=True,
        required=False,
        write_only=True,
        help_text="Instead of reference_standards: each with its function and range",
    )
    values = serializers.JSONField(
        help_text=(
            "Calibrated values: a list of {quantity, nominal, value, unit, U, "
            "k (optional), coverage_probability (optional)}; in multipart, a JSON string"
        )
    )

    class Meta:
        model = StandardCertificate
        fields = [
            "id",
            "number",
            "internal",
            "issuing_lab",
            "accreditation",
            "calibrated_on",
            "issued_on",
            "due_on",
            "values",
            "file",
            "sha256",
            "reference_standards",
            "reference_uses",
            "calibrated_with_owner",
            "calibrated_with_standard",
            "calibrated_with_certificate",
            "created_at",
        ]
        extra_kwargs = {
            name: {
                "help_text": (
                    "Calibrated by a standard of another organization (on another node): "
                    + text
                    + "; the three together, never the standard's own organization"
                )
            }
            for name, text in (
                ("calibrated_with_owner", "its organization's code"),
                ("calibrated_with_standard", "its asset id"),
                ("calibrated_with_certificate", "its calibration certificate's number"),
            )
        }
        read_only_fields = ["sha256", "created_at"]
        validators: list[Any] = []

    def validate_values(self, value: Any) -> Any:
        if not isinstance(value, list):
            raise serializers.ValidationError("expected a list of calibrated values")
        return value


class StandardSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization: Any = serializers.SlugRelatedField(
        slug_field="code", queryset=Organization.objects.all()
    )
    status = serializers.SerializerMethodField()

    class Meta:
        model = ReferenceStandard
        fields = [
            "id",
            "organization",
            "asset_id",
            "name",
            "manufacturer",
            "model",
            "serial",
            "field",
            "level",
            "functions",
            "calibration_interval_months",
            "out_of_tolerance_since",
            "retired_on",
            "status",
        ]
        read_only_fields = ["out_of_tolerance_since", "retired_on"]
        validators: list[Any] = []

    def get_status(self, obj: ReferenceStandard) -> dict[str, Any]:
        today = self.context.get("today") or timezone.localdate()
        on = obj.status_on(today)
        return {
            "on": today,
            "status": on.status,
            "reason": on.reason,
            "certificate": on.certificate.number if on.certificate else None,
            "due_on": on.certificate.due_on if on.certificate else None,
        }


class OutOfToleranceIn(serializers.Serializer):  # type: ignore[type-arg]
    since = serializers.DateField()
    reason = serializers.CharField()


@extend_schema_view(
    create=extend_schema(
        responses={
            201: StandardSerializer,
            409: OpenApiResponse(description="`asset_id`: registered already in the organization"),
        }
    )
)
class StandardViewSet(
    OrganizationCreateMixin,
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    queryset = ReferenceStandard.objects.none()
    serializer_class = StandardSerializer
    register = staticmethod(services.register_standard)
    what = "a reference standard"
    filterset_fields = ["asset_id", "field", "level", "organization__code"]
    search_fields = ["asset_id", "name", "serial"]
    ordering_fields = ["asset_id", "name"]

    def get_queryset(self) -> Any:
        return self.scope(ReferenceStandard.objects.select_related("organization"))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    @extend_schema(
        parameters=[OpenApiParameter("on", type=date, description="Date of use (default today)")],
        responses=StandardSerializer,
    )
    @action(detail=True, methods=["get"], url_path="status")
    def status_on(self, request: Request, pk: str | None = None) -> Response:
        standard = self.get_object()
        raw = request.query_params.get("on")
        try:
            when = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise serializers.ValidationError({"on": f"not an ISO date: {raw!r}"}) from None
        context = {**self.get_serializer_context(), **({"today": when} if when else {})}
        return Response(StandardSerializer(standard, context=context).data)

    @extend_schema(methods=["GET"], responses=CertificateSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=CertificateSerializer,
        responses={
            201: CertificateSerializer,
            400: OpenApiResponse(
                description=(
                    "Refused, with the field at fault: implausible or disordered dates, "
                    "malformed values (e.g. values[1], values[0].U), an external "
                    "certificate numbered as one this laboratory issued, or a "
                    "calibrated_with_* part missing, malformed or naming the standard's own "
                    "organization"
                )
            ),
            404: OpenApiResponse(
                description="No such standard, or `reference_uses[i].asset_id` not found"
            ),
            409: OpenApiResponse(description="`number`: recorded already for this standard"),
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, JSONParser],
        pagination_class=None,  # the GET answers the plain list
    )
    def certificates(self, request: Request, pk: str | None = None) -> Response:
        standard = self.get_object()
        if request.method == "GET":
            rows = standard.certificates.prefetch_related("reference_standards")
            return Response(CertificateSerializer(rows, many=True).data)
        body = CertificateSerializer(data=request.data)
        body.fields["reference_standards"].child_relation.queryset = (  # type: ignore[attr-defined]
            ReferenceStandard.objects.filter(
                organization__in=readable_organization_ids(request.user)
            )
        )
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        used: list[Any] = list(data.pop("reference_standards", []))
        readable = ReferenceStandard.objects.filter(
            organization__in=readable_organization_ids(request.user)
        )
        for i, use in enumerate(data.pop("reference_uses", [])):
            where = f"reference_uses[{i}].asset_id"
            found = list(readable.filter(asset_id=use.pop("asset_id")))
            # asset ids are unique per organization: the standard's own comes first
            found.sort(key=lambda s: s.organization_id != standard.organization_id)
            if not found:
                raise NotFound(f"{where}: no such reference standard", field=where)
            if len(found) > 1 and found[0].organization_id != standard.organization_id:
                raise DomainError(f"{where}: ambiguous: in several organizations", field=where)
            used.append(services.ReferenceUse(found[0], **use))
        elsewhere = [
            data.pop(name, "")
            for name in (
                "calibrated_with_owner",
                "calibrated_with_standard",
                "calibrated_with_certificate",
            )
        ]
        certificate = services.record_certificate(
            actor=request.user,
            standard=standard,
            reference_standards=used,
            calibrated_with=services.StandardElsewhere(*elsewhere) if any(elsewhere) else None,
            **data,
        )
        return Response(CertificateSerializer(certificate).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OutOfToleranceIn, responses=StandardSerializer)
    @action(detail=True, methods=["post"], url_path="out-of-tolerance")
    def out_of_tolerance(self, request: Request, pk: str | None = None) -> Response:
        standard = self.get_object()
        body = OutOfToleranceIn(data=request.data)
        body.is_valid(raise_exception=True)
        standard = services.mark_out_of_tolerance(
            actor=request.user, standard=standard, **body.validated_data
        )
        return Response(StandardSerializer(standard, context=self.get_serializer_context()).data)
