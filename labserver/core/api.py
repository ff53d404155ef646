"""API conventions: pagination, and one error body for every failure.

Every error is ``{"code": ..., "detail": ..., "field": ...}``; validation
errors also carry ``"errors"``, every field at fault with its path
(``points[3].readings[2].unit``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .unavailable import is_database_unavailable, retry_after_s, unavailable_body

log = logging.getLogger(__name__)


class ReasonIn(serializers.Serializer):  # type: ignore[type-arg]
    """The reason for an action that needs one (revoke, cancel, out of tolerance...)."""

    reason = serializers.CharField()


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _flatten(detail: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(path, message, code) for every leaf of a DRF error detail."""
    if isinstance(detail, dict):
        out: list[tuple[str, str, str]] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                sub = path
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                sub = f"{path}[{key}]"
            elif path:
                sub = f"{path}.{key}"
            else:
                sub = str(key)
            out.extend(_flatten(value, sub))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [(path, str(item), getattr(item, "code", "invalid")) for item in detail]
        out = []
        for index, item in enumerate(detail):
            if item in ({}, []):
                continue
            out.extend(_flatten(item, f"{path}[{index}]"))
        return out
    return [(path, str(detail), getattr(detail, "code", "invalid"))]


def error_body(code: str, detail: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "detail": detail, "field": field, **extra}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = _error_response(exc, context)
    request = context.get("request")
    if response is not None and request is not None:
        # An error is JSON whatever the success would have been (a PDF, a CSV): the binary
        # renderers pass their data through as it is and would send the dict's keys.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if is_database_unavailable(exc):
        request = context.get("request")
        log.warning("database unavailable (%s): %s", getattr(request, "path", "?"), exc)
        return Response(
            unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after_s())},
        )
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.detail, exc.field), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", str(exc)),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first_path, first_message, first_code = errors[0] if errors else ("", "invalid", "invalid")
        field = first_path or None
        detail = f"{field}: {first_message}" if field else first_message
        response.data = error_body(
            "invalid" if first_code == "invalid" else str(first_code),
            detail,
            field,
            errors=[{"field": p or None, "detail": m} for p, m, _ in errors],
        )
        return response
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        response.data = error_body(
            code if isinstance(code, str) else exc.default_code, str(exc.detail)
        )
    return response


class PdfRenderer(BaseRenderer):
    """``.pdf`` downloads (certificates, labels, letters): the view makes the bytes, passed
    through as they are."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data
