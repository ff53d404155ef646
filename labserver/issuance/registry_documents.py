"""A certificate's signed PDF, fetched by the national node (issue 21, point 2).

The registry's facts cross to the national node by replication; the signed PDF does not (it
names the customer). The national node accepts a center's record only once it has checked
that PDF against the center's registered key, so it fetches it here
(:mod:`labserver.federation.documents`): ``GET /api/v1/registry/documents/<number>.pdf``.

Only the national node may: it sends ``Authorization: National <secret>``, the secret this
center was given, set in its environment (``CALTRACE_NATIONAL_FETCH_SECRET``) and never in
its database, compared in constant time. Nobody else gets the file: no header is a 401, a
wrong secret (or none configured here) a 403, each refusal audited and counted against the
address like a refused API token (:class:`~labserver.core.throttles.TokenFailureThrottle`).
Every fetch is audited too, on the certificate's organization's chain (who: ``node:national``
and its address; which number). Only a certificate this node issued is served, exactly as
issued (:func:`~labserver.issuance.stored_files.open_as_issued`), a superseded or revoked one
too: the registry holds its facts, and the national node checks them all.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from labserver.core import audit
from labserver.core.errors import NotFound
from labserver.core.throttles import TokenFailureThrottle, client_ip

from .models import Certificate
from .stored_files import open_as_issued

__all__ = ["NATIONAL", "NationalNodeAuthentication", "registry_document"]

#: Who fetches: the national node, proved by the shared secret.
NATIONAL = audit.RemoteNode("national")
KEYWORD = "National"
SECRET_SETTING = "CALTRACE_NATIONAL_FETCH_SECRET"


def _organization_of(number: str) -> int | None:
    """The chain an entry about ``number`` goes to: its issuer's, else the system's."""
    return (
        Certificate.objects.filter(number=number).values_list("organization_id", flat=True).first()
    )


def _audited(actor: Any, action: str, number: str, **after: Any) -> None:
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=action,
            object_type="certificate",
            object_id=number,
            organization_id=_organization_of(number),
            after=after,
        )


class NationalNodeAuthentication(authentication.BaseAuthentication):
    """``Authorization: National <secret>``, the secret of ``CALTRACE_NATIONAL_FETCH_SECRET``:
    the national node, or a refusal (audited, counted per address)."""

    def authenticate(self, request: Request) -> tuple[Any, None]:
        failures = TokenFailureThrottle()
        failures.refuse_if_exhausted(request)
        scheme, _, given = authentication.get_authorization_header(request).partition(b" ")
        expected: str = getattr(settings, SECRET_SETTING, "")
        refusal: exceptions.APIException | None = None
        if scheme.decode("latin-1").lower() != KEYWORD.lower() or not given:
            refusal = exceptions.NotAuthenticated(
                f"Authorization: expected '{KEYWORD} <secret>', the national node's secret"
            )
        elif not expected:
            refusal = exceptions.PermissionDenied(
                f"this node serves no signed PDF to the national node: {SECRET_SETTING} is not set"
            )
        elif not hmac.compare_digest(given, expected.encode("utf-8")):
            refusal = exceptions.PermissionDenied(
                "Authorization: not the national node's secret for this node"
            )
        if refusal is None:
            return NATIONAL, None
        failures.record_failure(request)
        number = str((request.parser_context or {}).get("kwargs", {}).get("number", ""))
        _audited(
            audit.ANONYMOUS,
            "registry.document_refused",
            number,
            address=client_ip(request),
            reason=str(refusal.detail),
        )
        raise refusal

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="caltrace registry documents"'


def registry_document(number: str, *, actor: Any, address: str) -> bytes:
    """The signed PDF of certificate ``number`` as issued here, for ``actor`` (the national
    node) at ``address``; audited, found or not."""
    certificate = Certificate.objects.filter(number=number).first()
    if certificate is None:
        _audited(actor, "registry.document_not_found", number, address=address)
        raise NotFound(f"number: no certificate {number} was issued by this node", field="number")
    data = open_as_issued(certificate, "pdf", actor=actor)  # a refusal is audited there
    _audited(
        actor, "registry.document_fetched", number, address=address, sha256=certificate.pdf_sha256
    )
    return data
