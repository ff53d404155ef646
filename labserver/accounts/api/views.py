"""Organizations visible to the caller, the caller's own profile, and agents."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.core.api import ReasonIn, ScopedQuerysetMixin

from .. import services
from ..access import acting_person, is_agent, readable_organization_ids, require_role
from ..models import Agent, Membership, Organization, Role


class OrganizationOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    parent: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "code", "name", "kind", "parent", "accreditation", "region"]


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
