"""Organizations visible to the caller, the caller's own profile, agents, and people locked
out (and their unlocking)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.accounts.api.scoping import ScopedQuerysetMixin
from labserver.core.api import ReasonIn
from labserver.core.errors import NotPermitted

from .. import lockout, services
from ..access import (
    acting_person,
    is_agent,
    organization_ids_with_role,
    readable_organization_ids,
    require_role,
)
from ..models import Agent, Membership, Organization, Role, User


class OrganizationOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    parent: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "code", "name", "kind", "parent", "accreditation", "region", "time_zone"]


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = Organization.objects.none()
    serializer_class = OrganizationOut
    filterset_fields = ["kind", "code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name"]

    def get_queryset(self) -> Any:
        ids = readable_organization_ids(self.request.user)
        return Organization.objects.filter(pk__in=ids).select_related("parent")


class MembershipOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "role", "fields", "certificate_number", "valid_until"]


class MeOut(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    full_name = serializers.CharField()
    memberships = MembershipOut(many=True)


class AgentMeOut(serializers.Serializer):  # type: ignore[type-arg]
    agent = serializers.CharField(help_text="The agent's name")
    organization = serializers.CharField(help_text="Its organization's code")
    memberships = MembershipOut(many=True, help_text="Always empty: an agent has no role")


class MeView(APIView):
    @extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="Me",
            serializers=[MeOut, AgentMeOut],
            resource_type_field_name=None,
        ),
        description="The caller: a person with their memberships, or an agent.",
    )
    def get(self, request: Request) -> Response:
        user = request.user
        if is_agent(user):
            agent = user.agent
            return Response(
                {"agent": agent.name, "organization": agent.organization.code, "memberships": []}
            )
        person = acting_person(user, action="reading a profile")
        memberships = Membership.objects.filter(user=person, active=True).select_related(
            "organization"
        )
        return Response(
            {
                "username": person.get_username(),
                "full_name": person.signature_name(),
                "memberships": MembershipOut(memberships, many=True).data,
            }
        )


class AgentOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    organization: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "organization",
            "name",
            "public_key",
            "registered_at",
            "revoked_at",
            "revoked_reason",
        ]


class AgentViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = Agent.objects.none()
    serializer_class = AgentOut
    filterset_fields = ["name"]
    ordering_fields = ["name", "registered_at"]

    def get_queryset(self) -> Any:
        if is_agent(self.request.user):
            return Agent.objects.none()
        return self.scope(Agent.objects.select_related("organization"))

    @extend_schema(request=ReasonIn, responses=AgentOut)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        agent = self.get_object()
        require_role(
            request.user, agent.organization_id, Role.QUALITY_MANAGER, action="revoking an agent"
        )
        body = ReasonIn(data=request.data)
        body.is_valid(raise_exception=True)
        agent = services.revoke_agent(
            actor=request.user, agent=agent, reason=body.validated_data["reason"]
        )
        return Response(AgentOut(agent).data)


class LoginLockOut(serializers.Serializer):  # type: ignore[type-arg]
    address = serializers.CharField(allow_null=True)
    failures = serializers.IntegerField()
    last = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True, help_text="null: until unlocked")


class LockStateOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField(source="user.full_name")
    locked = serializers.BooleanField()
    login_locks = LoginLockOut(source="logins", many=True)
    signature_locked_at = serializers.DateTimeField(allow_null=True)
    signature_failures = serializers.IntegerField()


LOCK_ERRORS = {
    403: OpenApiResponse(description="Not a quality manager of the person's organization"),
    404: OpenApiResponse(description="No such person in the caller's organizations"),
}


class UserLockViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """People locked out of signing in or signing, and unlocking them (a quality manager
    of their organization; issue 15, point 4). Another organization's people are not
    found (404)."""

    queryset = User.objects.none()
    serializer_class = LockStateOut

    def get_queryset(self) -> Any:
        if is_agent(self.request.user):
            return User.objects.none()
        ids = readable_organization_ids(self.request.user)
        return User.objects.filter(memberships__organization_id__in=ids).distinct()

    @extend_schema(responses={200: LockStateOut(many=True), 403: LOCK_ERRORS[403]})
    @action(detail=False, methods=["get"], pagination_class=None)
    def locked(self, request: Request) -> Response:
        """The people locked out now in the organizations where the caller is quality
        manager."""
        person = acting_person(request.user, action="listing locked people")
        ids = organization_ids_with_role(person, Role.QUALITY_MANAGER)
        if not ids:
            raise NotPermitted("listing locked people needs the role quality manager")
        return Response(LockStateOut(lockout.locked_people(ids), many=True).data)

    @extend_schema(
        request=ReasonIn,
        responses={
            200: LockStateOut,
            **LOCK_ERRORS,
            409: OpenApiResponse(description="The person is not locked out"),
        },
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, pk: str | None = None) -> Response:
        """Lift the person's login lockouts and signature lock, with a reason (audited)."""
        person = acting_person(request.user, action="unlocking a person")
        user = self.get_object()
        body = ReasonIn(data=request.data)
        body.is_valid(raise_exception=True)
        state = lockout.unlock_person(actor=person, user=user, reason=body.validated_data["reason"])
        return Response(LockStateOut(state).data)
