"""Token authentication for people (``ctu_…``) and agents (``cta_…``).

Tokens are random, shown once, and stored only as SHA-256. A request from an
agent authenticates as an :class:`AgentPrincipal`, never as a person.

Refused tokens are counted per client address in the shared cache
(:class:`~labserver.core.throttles.TokenFailureThrottle`); past the limit, every request
with a token from that address is answered 429 before any token is looked up, so tokens
cannot be tried at speed.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from labserver.core.throttles import TokenFailureThrottle

from .models import Agent, ApiToken

USER_PREFIX = "ctu_"
AGENT_PREFIX = "cta_"


def new_token(prefix: str) -> tuple[str, str]:
    """A fresh token and its stored hash."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AgentPrincipal:
    """The identity of a request made by a registered agent."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def get_username(self) -> str:
        return f"agent:{self.agent.name}"

    def __str__(self) -> str:
        return self.get_username()


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <token>``."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        failures = TokenFailureThrottle()
        failures.refuse_if_exhausted(request)
        try:
            return self._authenticate(header)
        except exceptions.AuthenticationFailed:
            failures.record_failure(request)
            raise

    def _authenticate(self, header: list[bytes]) -> tuple[Any, Any]:
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: expected 'Token <token>'")
        try:
            token = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Authorization: invalid token") from None
        digest = hash_token(token)
        if token.startswith(AGENT_PREFIX):
            agent = (
                Agent.objects.select_related("organization")
                .filter(token_hash=digest, revoked_at__isnull=True)
                .first()
            )
            if agent is None:
                raise exceptions.AuthenticationFailed("invalid or revoked agent token")
            return AgentPrincipal(agent), agent
        row = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed("invalid or revoked token")
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "labserver.accounts.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "'Token ctu_…' for people, 'Token cta_…' for agents",
        }
