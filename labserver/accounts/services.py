"""State changes of organizations, people and agents; each audited."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from labserver.core import audit
from labserver.core.errors import Conflict, DomainError
from labserver.core.fields import MeasurementField
from labserver.registry.records import IssuerDescribed, record_issuer

from .auth import AGENT_PREFIX, USER_PREFIX, new_token
from .models import Agent, ApiToken, Membership, Organization, Role, User


def decode_public_key(text: str) -> bytes:
    """An Ed25519 public key from base64 (32 raw bytes) or a PEM SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode("ascii"))
        except ValueError as exc:
            raise DomainError(f"not a PEM public key: {exc}", field="public_key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise DomainError("the public key is not an Ed25519 key", field="public_key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("public key: not valid base64", field="public_key") from None
    if len(raw) != 32:
        raise DomainError(
            f"public key: an Ed25519 key has 32 bytes, got {len(raw)}", field="public_key"
        )
    return raw


@transaction.atomic
def create_organization(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    parent: Organization | None = None,
    accreditation: str = "",
    region: str = "",
    address: str = "",
) -> Organization:
    if kind not in Organization.Kind.values:
        raise DomainError(
            f"kind: expected one of {', '.join(Organization.Kind.values)}, got {kind!r}",
            field="kind",
        )
    if Organization.objects.filter(code=code).exists():
        raise Conflict(f"an organization with code {code!r} exists", field="code")
    org = Organization.objects.create(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        accreditation=accreditation,
        region=region,
        address=address,
    )
    if kind != Organization.Kind.CUSTOMER:  # a customer is nobody's public fact
        record_issuer(
            IssuerDescribed(
                code=code,
                name=name,
                kind=kind,
                region=region,
                accreditation=accreditation,
                parent=parent.code if parent is not None else "",
                time_zone=org.time_zone,
            ),
            org.created_at,
        )
    audit.record(
        actor=actor,
        action="organization.create",
        object_type="organization",
        object_id=org.pk,
        organization_id=org.pk,
        after={"code": code, "name": name, "kind": kind, "parent": parent and parent.code},
    )
    return org


@transaction.atomic
def create_user(
    *,
    actor: Any,
    username: str,
    password: str | None,
    full_name: str,
    email: str = "",
) -> User:
    if User.objects.filter(username=username).exists():
        raise Conflict(f"a user named {username!r} exists", field="username")
    user = User(username=username, full_name=full_name, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.pk,
        organization_id=None,
        after={"username": username, "full_name": full_name},
    )
    return user


@transaction.atomic
def grant_role(
    *,
    actor: Any,
    user: User,
    organization: Organization,
    role: str,
    fields: list[str] | None = None,
    certificate_number: str = "",
    valid_until: date | None = None,
) -> Membership:
    if role not in Role.values:
        raise DomainError(
            f"role: expected one of {', '.join(Role.values)}, got {role!r}", field="role"
        )
    unknown = sorted(set(fields or []) - set(MeasurementField.values))
    if unknown:
        raise DomainError(
            f"fields: unknown field(s) {', '.join(unknown)}; "
            f"expected {', '.join(MeasurementField.values)}",
            field="fields",
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, role=role
    )
    before = None if created else {"fields": membership.fields, "active": membership.active}
    membership.fields = sorted(set(fields or []))
    membership.certificate_number = certificate_number
    membership.valid_until = valid_until
    membership.active = True
    membership.save()
    audit.record(
        actor=actor,
        action="membership.grant",
        object_type="membership",
        object_id=membership.pk,
        organization_id=organization.pk,
        before=before,
        after={
            "user": user.username,
            "role": role,
            "fields": membership.fields,
            "certificate_number": certificate_number,
            "valid_until": valid_until,
        },
    )
    return membership


@transaction.atomic
def issue_api_token(*, actor: Any, user: User, label: str = "") -> str:
    """A new API token for a person; returned once, stored as its hash."""
    token, digest = new_token(USER_PREFIX)
    row = ApiToken.objects.create(user=user, label=label, token_hash=digest)
    audit.record(
        actor=actor,
        action="token.issue",
        object_type="api_token",
        object_id=row.pk,
        organization_id=None,
        after={"user": user.username, "label": label},
    )
    return token


@transaction.atomic
def register_agent(
    *, actor: Any, organization: Organization, name: str, public_key: str
) -> tuple[Agent, str]:
    """Register a bench or field device; returns it and its token (shown once)."""
    raw = decode_public_key(public_key)
    if Agent.objects.filter(organization=organization, name=name).exists():
        raise Conflict(f"an agent named {name!r} exists in {organization.code}", field="name")
    token, digest = new_token(AGENT_PREFIX)
    agent = Agent.objects.create(
        organization=organization,
        name=name,
        public_key=base64.b64encode(raw).decode("ascii"),
        token_hash=digest,
        registered_by=actor if isinstance(actor, User) else None,
    )
    audit.record(
        actor=actor,
        action="agent.register",
        object_type="agent",
        object_id=agent.pk,
        organization_id=organization.pk,
        after={"name": name, "public_key": agent.public_key},
    )
    return agent, token


@transaction.atomic
def revoke_agent(*, actor: Any, agent: Agent, reason: str) -> Agent:
    if agent.revoked_at is not None:
        return agent
    if not reason.strip():
        raise DomainError("a reason is required to revoke an agent", field="reason")
    agent.revoked_at = timezone.now()
    agent.revoked_reason = reason
    agent.save(update_fields=["revoked_at", "revoked_reason"])
    audit.record(
        actor=actor,
        action="agent.revoke",
        object_type="agent",
        object_id=agent.pk,
        organization_id=agent.organization_id,
        before={"revoked_at": None},
        after={"revoked_at": agent.revoked_at},
        reason=reason,
    )
    return agent
