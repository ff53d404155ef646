"""Runs: submitted by agents (signed, idempotent), read, reviewed, approved or rejected."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from labserver.accounts.access import acting_person, is_agent
from labserver.accounts.api.schema import SIGNATURE_REFUSALS
from labserver.core.api import ScopedQuerysetMixin
from labserver.core.errors import NotPermitted

from .. import services
from ..models import Run
from .serializers import RejectIn, RunAccepted, RunDetailOut, RunIn, RunOut, SignIn


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
            queryset = queryset.prefetch_related(
                "points__readings",
                "standard_usages__standard",
                "standard_usages__certificate",
                "signatures__user",
            )
        else:
            queryset = queryset.prefetch_related("signatures__user")
        return queryset

    def get_serializer_class(self) -> Any:
        return RunDetailOut if self.action == "retrieve" else RunOut

    @extend_schema(
        request=RunIn,
        parameters=[
            OpenApiParameter(
                services.SIGNATURE_HEADER,
                location=OpenApiParameter.HEADER,
                required=True,
                description="Base64 Ed25519 signature of the exact request body by the agent's key",
            )
        ],
        responses={
            201: RunAccepted,
            200: OpenApiResponse(RunAccepted, description="The same run submitted again"),
            409: OpenApiResponse(description="The run id was used with another body"),
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
            data=data,
            validated=payload.validated_data,
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

    @extend_schema(request=SignIn, responses={200: RunOut, **SIGNATURE_REFUSALS})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        return self._sign(request, SignIn, services.review_run)

    @extend_schema(request=SignIn, responses={200: RunOut, **SIGNATURE_REFUSALS})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._sign(request, SignIn, services.approve_run)

    @extend_schema(request=RejectIn, responses={200: RunOut, **SIGNATURE_REFUSALS})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._sign(request, RejectIn, services.reject_run)
