"""Who may see and do what, in which organization.

A person sees the records of the organizations they are a member of, and an
auditor also those granted to them; nothing else. An agent sees its own
organization's records that it needs. "Missing" and "not yours" look the same
to the caller: lookups go through querysets already narrowed to what the
caller may see, so a foreign record is simply not found (404).
"""

from __future__ import annotations

from typing import Any, TypeGuard

from django.db.models import Q
from django.utils import timezone

from labserver.core.errors import NotPermitted

from .auth import AgentPrincipal
from .models import AuditGrant, Membership, Role, User

_CACHE = "_caltrace_access"


def _memberships(user: Any) -> list[Membership]:
    cached = getattr(user, _CACHE, None)
    if cached is None:
        today = timezone.localdate()
        cached = list(
            Membership.objects.filter(user=user, active=True)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
            .select_related("organization")
        )
        setattr(user, _CACHE, cached)
    return cached


def is_agent(user: Any) -> TypeGuard[AgentPrincipal]:
    return isinstance(user, AgentPrincipal)


def acting_person(user: Any, *, action: str) -> User:
    """The signed-in person doing ``action``; agents are refused (403)."""
    if not isinstance(user, User):
        raise NotPermitted(f"{action} is done by a person, not by an agent")
    return user


def readable_organization_ids(user: Any) -> set[int]:
    """Organizations whose records ``user`` may read."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    if is_agent(user):
        return {user.agent.organization_id}
    return {m.organization_id for m in _memberships(user)} | granted_organization_ids(user)


def granted_organization_ids(user: Any) -> set[int]:
    """Organizations an auditor was granted read-only access to, valid today."""
    if is_agent(user) or not getattr(user, "is_authenticated", False):
        return set()
    today = timezone.localdate()
    grants = AuditGrant.objects.filter(user=user).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today)
    )
    return set(grants.values_list("organization_id", flat=True))


def organization_ids_with_role(user: Any, *roles: str) -> set[int]:
    """Organizations where ``user`` holds one of ``roles`` (auditor grants are read-only)."""
    if is_agent(user) or not getattr(user, "is_authenticated", False):
        return set()
    return {m.organization_id for m in _memberships(user) if m.role in roles}


def has_role(user: Any, organization_id: int, *roles: str) -> bool:
    return organization_id in organization_ids_with_role(user, *roles)


def fields_covered(user: Any, organization_id: int, role: str) -> set[str]:
    """The fields of measurement ``user``'s certification covers in that role and organization."""
    covered: set[str] = set()
    for m in _memberships(user):
        if m.organization_id == organization_id and m.role == role:
            covered.update(m.fields or [])
    return covered


def require_role(user: Any, organization_id: int, *roles: str, action: str) -> None:
    """Refuse (403) an action on a record the user can see but has no role for."""
    if not has_role(user, organization_id, *roles):
        names = " or ".join(Role(r).label.lower() for r in roles)
        raise NotPermitted(f"{action} needs the role {names} in this organization")


def require_field(user: Any, organization_id: int, role: str, field: str, *, action: str) -> None:
    """A verifier performs, and a signatory signs, only within their certified fields."""
    if field not in fields_covered(user, organization_id, role):
        raise NotPermitted(
            f"{action}: {user.get_username()}'s certification as {Role(role).label.lower()} "
            f"does not cover the field '{field}'"
        )


def customer_organization_ids(user: Any) -> set[int]:
    """Customer organizations the user belongs to as a customer."""
    return {m.organization_id for m in _memberships(user) if m.role == Role.CUSTOMER}
