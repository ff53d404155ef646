"""The procedure catalog and jobs with their actions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from labserver.accounts.access import (
    is_agent,
    organization_ids_with_role,
    readable_organization_ids,
)
from labserver.accounts.api.scoping import ScopedQuerysetMixin
from labserver.accounts.models import Agent, Role, User
from labserver.core.api import ReasonIn
from labserver.core.errors import NotPermitted
from labserver.instruments.models import Instrument

from .. import services
from ..models import Job, Procedure


class ProcedureOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument_type: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Procedure
        fields = [
            "id",
            "procedure_id",
            "version",
            "content_hash",
            "title",
            "title_vi",
            "kind",
            "field",
            "instrument_type",
            "definition",
            "registered_at",
        ]


class ProcedureIn(serializers.Serializer):  # type: ignore[type-arg]
    definition = serializers.DictField()


class ProcedureViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The national catalog of procedure definitions (readable by every signed-in caller)."""

    queryset = Procedure.objects.select_related("instrument_type")
    serializer_class = ProcedureOut
    filterset_fields = ["procedure_id", "version", "kind", "field", "content_hash"]
    search_fields = ["procedure_id", "title", "title_vi"]
    ordering_fields = ["procedure_id", "version"]

    @extend_schema(
        request=ProcedureIn,
        responses={
            201: ProcedureOut,
            409: OpenApiResponse(
                description="This id and version are registered with other content"
            ),
        },
    )
    @action(detail=False, methods=["post"])
    def register(self, request: Request) -> Response:
        if is_agent(request.user) or not organization_ids_with_role(
            request.user, Role.QUALITY_MANAGER
        ):
            raise NotPermitted("registering a procedure needs the role quality manager")
        body = ProcedureIn(data=request.data)
        body.is_valid(raise_exception=True)
        procedure = services.register_procedure(
            actor=request.user, definition=body.validated_data["definition"]
        )
        return Response(ProcedureOut(procedure).data, status=status.HTTP_201_CREATED)


class JobSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)
    instrument: Any = serializers.PrimaryKeyRelatedField(queryset=Instrument.objects.none())
    procedure: Any = serializers.PrimaryKeyRelatedField(queryset=Procedure.objects.all())
    assignee: Any = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), required=False, allow_null=True
    )
    bench: Any = serializers.SlugRelatedField(
        slug_field="name", queryset=Agent.objects.none(), required=False, allow_null=True
    )
    instrument_serial = serializers.CharField(source="instrument.serial", read_only=True)
    instrument_specification = serializers.JSONField(
        source="instrument.specification",
        read_only=True,
        help_text="The numbers a procedure takes from the instrument (Max, e, class...)",
    )
    procedure_ref = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "number",
            "organization",
            "instrument",
            "instrument_serial",
            "instrument_specification",
            "procedure",
            "procedure_ref",
            "assignee",
            "bench",
            "due_on",
            "state",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["number", "state", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            ids = readable_organization_ids(request.user)
            self.fields["instrument"].queryset = Instrument.objects.filter(  # type: ignore[attr-defined]
                organization__in=ids
            )
            self.fields["bench"].queryset = Agent.objects.filter(  # type: ignore[attr-defined]
                organization__in=ids, revoked_at__isnull=True
            )

    def get_procedure_ref(self, obj: Job) -> dict[str, str]:
        p = obj.procedure
        return {"id": p.procedure_id, "version": p.version, "hash": p.content_hash}


class ScheduleIn(serializers.Serializer):  # type: ignore[type-arg]
    assignee = serializers.CharField(required=False, allow_null=True)
    bench = serializers.CharField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False, allow_null=True)


STATE_REFUSED = OpenApiResponse(description="The job's state does not allow this action")


class JobViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    queryset = Job.objects.none()
    serializer_class = JobSerializer
    filterset_fields = ["state", "number", "instrument", "assignee__username", "bench__name"]
    search_fields = ["number", "instrument__serial"]
    ordering_fields = ["created_at", "due_on", "number"]

    def get_queryset(self) -> Any:
        queryset = self.scope(
            Job.objects.select_related(
                "organization", "instrument", "procedure", "assignee", "bench"
            )
        )
        if is_agent(self.request.user):
            agent = self.request.user.agent
            queryset = queryset.filter(bench=agent) | queryset.filter(bench__isnull=True)
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if is_agent(request.user):
            raise NotPermitted("agents cannot create jobs")
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.create_job(actor=request.user, **body.validated_data)
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    def _act(self, request: Request, fn: Any, **kwargs: Any) -> Response:
        if is_agent(request.user):
            raise NotPermitted("agents cannot change a job's state")
        job = fn(actor=request.user, job=self.get_object(), **kwargs)
        return Response(self.get_serializer(job).data)

    @extend_schema(request=None, responses={200: JobSerializer, 409: STATE_REFUSED})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, services.accept_job)

    @extend_schema(request=ScheduleIn, responses={200: JobSerializer, 409: STATE_REFUSED})
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        body = ScheduleIn(data=request.data)
        body.is_valid(raise_exception=True)
        job = self.get_object()
        data = body.validated_data
        assignee = bench = None
        if data.get("assignee"):
            assignee = User.objects.filter(username=data["assignee"]).first()
            if assignee is None:
                raise serializers.ValidationError({"assignee": "no such user"})
        if data.get("bench"):
            bench = Agent.objects.filter(
                organization_id=job.organization_id, name=data["bench"]
            ).first()
            if bench is None:
                raise serializers.ValidationError({"bench": "no such agent in this organization"})
        return self._act(
            request,
            services.schedule_job,
            assignee=assignee,
            bench=bench,
            due_on=data.get("due_on"),
        )

    @extend_schema(request=None, responses={200: JobSerializer, 409: STATE_REFUSED})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, services.start_job)

    @extend_schema(request=ReasonIn, responses={200: JobSerializer, 409: STATE_REFUSED})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        body = ReasonIn(data=request.data)
        body.is_valid(raise_exception=True)
        return self._act(request, services.cancel_job, reason=body.validated_data["reason"])
