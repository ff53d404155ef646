"""Nonconformities of standards found out of tolerance (ISO/IEC 17025 7.10) over HTTP.

- ``GET /api/v1/nonconformities/`` and ``{id}/`` — the caller's organizations' (another
  organization's is not found, 404); people only, agents are refused (403).
- ``POST /api/v1/nonconformities/`` — a quality manager of the standard's organization
  opens one: the standard is marked out of tolerance and the reverse trace recorded.
- ``POST {id}/decisions/`` — a quality manager decides on one affected certificate
  (``no_action``, ``amend``, ``recall``; a recall needs the password to revoke).
- ``POST {id}/close/`` — a quality manager closes it, once every certificate is decided.
- ``GET {id}/letters.pdf?customer=CODE`` — the customer letters of the recalled
  certificates (all customers, one letter per page, without ``customer``).

Example, ``POST /api/v1/nonconformities/`` with ``{"standard": 3,
"out_of_tolerance_since": "2026-10-01", "found_on": "2026-11-20", "description":
"As-found error +25 µV at 10 V", "shift": 2.5e-5, "shift_unit": "V"}`` (abridged)::

    {"id": 1, "number": "QT1-NC-2026-0001", "organization": "QT1",
     "standard": {"id": 3, "asset_id": "QT1-CAL-01"}, "status": "open",
     "out_of_tolerance_since": "2026-10-01", "found_on": "2026-11-20", …,
     "affected": [
       {"id": 1, "kind": "certificate", "certificate": 7, "number": "QT1-HC-2026-000001",
        "status": "valid", "organization": "QT1", "depth": 1, "via_standard": "QT1-CAL-01",
        "used_on": "2026-11-02", "function": "dcv", "range_low": 0.0, "range_high": 10.0,
        "unit": "V",
        "reevaluation": {"shift": 2.5e-05, "unit": "V", "stored_verdict": "pass",
                         "re_evaluated_verdict": "fail", "changed": true,
                         "not_re_evaluated": 0},
        "decision": null}],
     "decisions": [], "undecided": ["QT1-HC-2026-000001"]}

``POST {id}/decisions/`` with ``{"certificate": 7, "action": "recall", "reason": "…",
"password": "…"}`` answers 201 with the decision::

    {"id": 1, "certificate": 7, "number": "QT1-HC-2026-000001", "action": "recall",
     "reason": "…", "decided_by": "Qt1-Qm", "decided_at": "2026-11-21T09:12:00+07:00",
     "recall": "revoked", "supersedes": null}
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.accounts.access import acting_person, readable_organization_ids
from labserver.accounts.api.schema import SIGNATURE_REFUSALS
from labserver.core.api import PdfRenderer
from labserver.core.errors import NotFound
from labserver.issuance.models import Certificate
from labserver.standards.models import ReferenceStandard

from .. import letters, services
from ..models import AffectedItem, Decision, Nonconformity

# ---------------------------------------------------------------------------- bodies


class NonconformityIn(serializers.Serializer):  # type: ignore[type-arg]
    standard = serializers.IntegerField(help_text="The standard found out of tolerance (id)")
    out_of_tolerance_since = serializers.DateField()
    found_on = serializers.DateField()
    description = serializers.CharField()
    shift = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The as-found shift of the standard's value, to re-evaluate the verdicts",
    )
    shift_unit = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionIn(serializers.Serializer):  # type: ignore[type-arg]
    certificate = serializers.IntegerField(help_text="An affected issued certificate (id)")
    action = serializers.ChoiceField(choices=Decision.Action.choices)
    reason = serializers.CharField()
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        style={"input_type": "password"},
        help_text="Re-entered to revoke the certificate (recall)",
    )


class CloseIn(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(required=False, allow_blank=True, default="")


# ---------------------------------------------------------------------------- answers


class DecisionOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    number = serializers.CharField(source="certificate.number", read_only=True)
    decided_by = serializers.CharField(source="decided_by.signature_name", read_only=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "certificate",
            "number",
            "action",
            "reason",
            "decided_by",
            "decided_at",
            "recall",
            "supersedes",
        ]


class AffectedOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization = serializers.CharField(source="organization_code")
    decision = serializers.SerializerMethodField(help_text="The decision in force, if any")

    class Meta:
        model = AffectedItem
        fields = [
            "id",
            "kind",
            "certificate",
            "standard_certificate",
            "number",
            "status",
            "organization",
            "depth",
            "via_standard",
            "used_on",
            "function",
            "range_low",
            "range_high",
            "unit",
            "reevaluation",
            "decision",
        ]

    @extend_schema_field(DecisionOut(allow_null=True))
    def get_decision(self, obj: AffectedItem) -> dict[str, Any] | None:
        decided = self.context.get("current", {}).get(obj.certificate_id)
        return DecisionOut(decided).data if decided is not None else None


class StandardRefOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    asset_id = serializers.CharField()


class NonconformityOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization = serializers.CharField(source="organization.code", read_only=True)
    standard = StandardRefOut(read_only=True)
    opened_by = serializers.CharField(
        source="opened_by.signature_name",
        read_only=True,
        default=None,
        help_text="Empty: opened by the node on a recall notice of the national registry",
    )
    closed_by = serializers.CharField(
        source="closed_by.signature_name", read_only=True, default=None
    )
    affected = serializers.SerializerMethodField()
    decisions = DecisionOut(many=True, read_only=True)
    undecided = serializers.SerializerMethodField()

    class Meta:
        model = Nonconformity
        fields = [
            "id",
            "number",
            "organization",
            "standard",
            "out_of_tolerance_since",
            "found_on",
            "description",
            "shift",
            "shift_unit",
            "opened_by",
            "opened_at",
            "notified_by",
            "upstream_owner",
            "upstream_standard",
            "status",
            "closed_by",
            "closed_at",
            "closing_note",
            "affected",
            "decisions",
            "undecided",
        ]

    def _current(self, obj: Nonconformity) -> dict[int, Decision]:
        """The decision in force per certificate, from the prefetched decisions."""
        decisions = list(obj.decisions.all())
        superseded = {d.supersedes_id for d in decisions}
        return {d.certificate_id: d for d in decisions if d.pk not in superseded}

    @extend_schema_field(AffectedOut(many=True))
    def get_affected(self, obj: Nonconformity) -> list[dict[str, Any]]:
        context = {"current": self._current(obj)}
        return list(AffectedOut(obj.affected.all(), many=True, context=context).data)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_undecided(self, obj: Nonconformity) -> list[str]:
        current = self._current(obj)
        return sorted(
            {
                a.number
                for a in obj.affected.all()
                if a.kind == AffectedItem.Kind.CERTIFICATE and a.certificate_id not in current
            }
        )


# ------------------------------------------------------------------------------ views


def _visible(user: Any) -> Any:
    return (
        Nonconformity.objects.filter(organization__in=readable_organization_ids(user))
        .select_related("organization", "standard", "opened_by", "closed_by")
        .prefetch_related("affected", "decisions__certificate", "decisions__decided_by")
    )


class NonconformityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Nonconformities of out-of-tolerance standards (ISO/IEC 17025 7.10). Another
    organization's is not found (404); agents are refused (403)."""

    queryset = Nonconformity.objects.none()
    serializer_class = NonconformityOut
    people_only = True  # the schema documents the 403 an agent gets
    filterset_fields = ["status", "number"]
    ordering_fields = ["opened_at", "number"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        acting_person(request.user, action="working on nonconformities")

    def get_queryset(self) -> Any:
        return _visible(self.request.user)

    def _fresh(self, pk: int) -> Nonconformity:
        return _visible(self.request.user).get(pk=pk)  # type: ignore[no-any-return]

    @extend_schema(
        request=NonconformityIn,
        responses={
            201: NonconformityOut,
            404: OpenApiResponse(description="`standard`: no such standard of the caller's"),
            409: OpenApiResponse(description="The standard already has an open nonconformity"),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Open: mark the standard out of tolerance and record the reverse trace (quality
        manager of the standard's organization)."""
        actor = acting_person(request.user, action="opening a nonconformity")
        body = NonconformityIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        standard = (
            ReferenceStandard.objects.filter(organization__in=readable_organization_ids(actor))
            .select_related("organization")
            .filter(pk=data.pop("standard"))
            .first()
        )
        if standard is None:
            raise NotFound("standard: not found", field="standard")
        opened = services.open_nonconformity(actor=actor, standard=standard, **data)
        return Response(
            NonconformityOut(self._fresh(opened.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=DecisionIn,
        responses={
            201: DecisionOut,
            404: OpenApiResponse(description="No such nonconformity, or `certificate` not found"),
            409: OpenApiResponse(description="The nonconformity is closed"),
            **SIGNATURE_REFUSALS,
        },
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, pk: str | None = None) -> Response:
        """Decide on one affected certificate; a later decision supersedes (append-only)."""
        actor = acting_person(request.user, action="deciding on a nonconformity")
        nonconformity = self.get_object()
        body = DecisionIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        certificate = (
            Certificate.objects.filter(organization__in=readable_organization_ids(actor))
            .prefetch_related("events")
            .filter(pk=data.pop("certificate"))
            .first()
        )
        if certificate is None:
            raise NotFound("certificate: not found", field="certificate")
        decision = services.decide(
            actor=actor, nonconformity=nonconformity, certificate=certificate, **data
        )
        return Response(DecisionOut(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CloseIn,
        responses={
            200: NonconformityOut,
            409: OpenApiResponse(
                description="Already closed, or a certificate is undecided or a recall pending"
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close, once every affected certificate is decided and no recall is pending."""
        actor = acting_person(request.user, action="closing a nonconformity")
        body = CloseIn(data=request.data)
        body.is_valid(raise_exception=True)
        closed = services.close_nonconformity(
            actor=actor, nonconformity=self.get_object(), **body.validated_data
        )
        return Response(NonconformityOut(self._fresh(closed.pk)).data)


class LettersView(APIView):
    renderer_classes = [JSONRenderer, PdfRenderer]
    people_only = True  # the schema documents the 403 an agent gets

    @extend_schema(
        operation_id="nonconformities_letters",
        tags=["nonconformities"],
        parameters=[
            OpenApiParameter(
                "customer", type=str, description="One customer organization's code (default: all)"
            )
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description=(
            "The customer notification letters of the recalled certificates, in Vietnamese "
            "and English: one letter per customer organization, each on its own page."
        ),
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        acting_person(request.user, action="reading nonconformities")
        nonconformity = _visible(request.user).filter(pk=pk).first()
        if nonconformity is None:
            raise NotFound("nonconformity: not found")
        customer = request.query_params.get("customer") or None
        found = letters.letters_for(nonconformity, customer)
        response = HttpResponse(letters.render_letters(found), content_type="application/pdf")
        name = nonconformity.number + (f"-{customer}" if customer else "")
        response["Content-Disposition"] = f'attachment; filename="{name}-letters.pdf"'
        return response
