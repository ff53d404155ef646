"""Runs: submitted by agents (signed, idempotent), read, reviewed, approved or rejected."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from labserver.accounts.access import acting_person, is_agent
from labserver.accounts.api.schema import SIGNATURE_REFUSALS
from labserver.accounts.api.scoping import ScopedQuerysetMixin
from labserver.core.errors import NotPermitted

from .. import services
from ..models import Run
from ..partitions import readings_prefetch
from .serializers import RejectIn, RunAccepted, RunDetailOut, RunIn, RunOut, SignIn

# Base64 of the 64 bytes of an Ed25519 signature: 86 characters and two of padding.
SIGNATURE_PATTERN = r"^[A-Za-z0-9+/]{86}==$"
RUN_STATE_REFUSED = OpenApiResponse(description="The run's state does not allow this step")


class RunViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    queryset = Run.objects.none()
    filterset_fields = ["state", "job__number", "agent__name", "operator__username"]
    search_fields = ["job__number"]
    ordering_fields = ["received_at", "started_at"]

    def get_queryset(self) -> Any:
        queryset = self.scope(
            Run.objects.select_related("organization", "job", "agent", "operator", "procedure")
        )
        if self.action == "retrieve":
            # the readings in get_object, once the run's window is known
            queryset = queryset.prefetch_related(
                "positions__job",
                "standard_usages__standard",
                "standard_usages__certificate",
                "signatures__user",
            )
        else:
            queryset = queryset.prefetch_related("signatures__user")
        return queryset

    def get_object(self) -> Any:
        run = super().get_object()
        if self.action == "retrieve":
            # bounded by the run's window: PostgreSQL reads the partitions of its years only
            prefetch_related_objects(
                [run],
                readings_prefetch([run], "points__readings"),
                readings_prefetch([run], "positions__points__readings"),
            )
        return run

    def get_serializer_class(self) -> Any:
        return RunDetailOut if self.action == "retrieve" else RunOut

    @extend_schema(
        request=RunIn,
        parameters=[
            OpenApiParameter(
                services.SIGNATURE_HEADER,
                location=OpenApiParameter.HEADER,
                required=True,
                pattern=SIGNATURE_PATTERN,
                description=(
                    "The Ed25519 signature (64 bytes, RFC 8032) of the exact bytes of the request "
                    "body by the agent's private key, base64-encoded (RFC 4648, with padding: 88 "
                    "characters); the LIMS checks it against the public key registered for the "
                    "agent whose token authenticates the request"
                ),
            )
        ],
        responses={
            201: RunAccepted,
            200: OpenApiResponse(RunAccepted, description="The same run submitted again"),
            403: OpenApiResponse(
                description=(
                    "Not an agent, or the signature is missing, not base64 or does not match "
                    "the body and the agent's key (code `bad_signature`), or the operator may "
                    "not perform the procedure"
                )
            ),
            409: OpenApiResponse(
                description="The run id was used with another body, or the job cannot take a run"
            ),
            422: OpenApiResponse(
                description=(
                    "The evidence is inconsistent (`invalid_evidence`) or a standard was not "
                    "usable on the date of use (`standard_not_usable`), with the field at fault"
                )
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Read the exact bytes first: the signature covers them, not a re-serialisation.
        body = request._request.body
        data = request.data
        if not is_agent(request.user):
            raise NotPermitted("runs are submitted by registered agents")
        principal = request.user
        signature = request.headers.get(services.SIGNATURE_HEADER)
        services.verify_signature(principal.agent.public_key, body, signature)
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object")
        payload = RunIn(data=data)
        payload.is_valid(raise_exception=True)
        submission = services.submit_run(
            principal=principal,
            body=data,
            record=payload.validated_data["record"],
            signature=signature or "",
        )
        return Response(
            submission.run.response,
            status=status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK,
        )

    def _sign(self, request: Request, serializer: Any, fn: Any, **extra: Any) -> Response:
        actor = acting_person(request.user, action="signing a run")
        body = serializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = fn(actor=actor, run=self.get_object(), **body.validated_data, **extra)
        return Response(RunOut(run).data)

    @extend_schema(
        request=SignIn, responses={200: RunOut, 409: RUN_STATE_REFUSED, **SIGNATURE_REFUSALS}
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        return self._sign(request, SignIn, services.review_run)

    @extend_schema(
        request=SignIn, responses={200: RunOut, 409: RUN_STATE_REFUSED, **SIGNATURE_REFUSALS}
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._sign(request, SignIn, services.approve_run)

    @extend_schema(
        request=RejectIn,
        responses={
            200: RunOut,
            409: RUN_STATE_REFUSED,
            422: OpenApiResponse(description="The rejection does not state its reason"),
            **SIGNATURE_REFUSALS,
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._sign(request, RejectIn, services.reject_run)
