"""The OpenAPI schema documents every answer an operation can give, errors included.

drf-spectacular documents what a view declares (its serializers and ``extend_schema``
overrides): the success answer and the few errors a view names. The failures that come from
the machinery around the view are the same for every operation that shares that machinery,
so they are added here, once, from what the operation really has:

- a request body (its parsers): 400 (validation), 413 (``RequestSizeLimitMiddleware`` and
  Django's own limit), 415 (a media type no parser takes);
- query parameters: 400 (a filter or parameter that does not parse);
- path parameters, a paginated list (a page past the end), or a ``format`` parameter (one
  that names no renderer): 404;
- authentication (any operation that does not declare ``auth=[]``): 401 (no or bad token)
  and, for the methods that change something, 403 (role, agent versus person, CSRF); reads
  too on the views that set ``people_only = True`` (they refuse agents whatever the method);
- every operation: 429 (throttled: per client address on the anonymous operations, per
  failed token on the others), with ``Retry-After``, and 503 (the database is unavailable,
  with ``Retry-After``; or, where a view says so, the signing key cannot sign).

Every error body is the ``Error`` component: the shape ``labserver.core.api`` writes
(``code``, ``detail``, ``field``, and ``errors`` for validation). An error a view names
itself with only a description (``409: OpenApiResponse(description=...)``) gets the same body.
Per-endpoint errors (409 states and conflicts, 422 evidence, 404 on a body's reference, 403 on
a read refused to an agent) stay declared on the endpoint, where the reason is known.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ErrorItemOut(serializers.Serializer):  # type: ignore[type-arg]
    """One field at fault in a validation error."""

    field = serializers.CharField(
        allow_null=True, help_text="Path of the field (points[3].readings[2].unit); null: the body"
    )
    detail = serializers.CharField()


@extend_schema_serializer(component_name="Error")
class ErrorOut(serializers.Serializer):  # type: ignore[type-arg]
    """The body of every error the API answers (``labserver.core.api.error_body``)."""

    code = serializers.CharField(
        help_text="Machine-readable reason: invalid, not_found, permission_denied, "
        "not_authenticated, invalid_state, conflict, payload_too_large, throttled, ..."
    )
    detail = serializers.CharField(help_text="What is wrong, naming the field at fault")
    field = serializers.CharField(
        allow_null=True, help_text="The field at fault (a path into the body), or null"
    )
    # the metaclass takes the field out of the class: Serializer.errors is not shadowed
    errors = ErrorItemOut(  # type: ignore[assignment]
        many=True, required=False, help_text="Validation errors only: every field at fault"
    )


# DRF's throttles always say when to come back; a 503 says it when the database is down,
# not when the signing key is unavailable (that waits for a person, not for time).
RETRY_AFTER_THROTTLED = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    required=True,
    description="Seconds to wait before trying again",
    response=["429"],
)
RETRY_AFTER_UNAVAILABLE = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Seconds to wait before trying again (when the database is unavailable)",
    response=["503"],
)

# Descriptions of the errors added to every operation that can give them.
DESCRIPTIONS = {
    "400": "Invalid request: the body or a parameter does not validate (`field` names it)",
    "401": "No credentials, or a token that is invalid or revoked",
    "403": "The caller may not do this (role, agent versus person, or CSRF for a session)",
    "404": "Not found: missing, or not visible to the caller (the two look the same)",
    "413": "The request body exceeds the size limit",
    "415": "The request body's media type is not one this operation reads",
    "429": "Too many requests: throttled; retry after `Retry-After` seconds",
    "503": "The service is temporarily unavailable (database); retry after `Retry-After` seconds",
}


def nullable_source(field: Any) -> bool:
    """Whether a read-only serializer field reads a value the model lets be null.

    drf-spectacular takes nullability from the field's ``allow_null``, which a declared
    read-only field (``SlugRelatedField(slug_field="code", read_only=True)`` over a nullable
    foreign key, ``CharField(source="supersedes.number")``) never sets: the schema then says
    "string" and the API answers null. The model is the truth: any nullable step of the
    field's source makes the value nullable.
    """
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    if model is None or field.source == "*":
        return False
    for attr in field.source_attrs:
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if model_field.is_relation and not model_field.concrete:
            # a reverse relation: only a reverse one-to-one can be missing
            return bool(model_field.one_to_one)
        if getattr(model_field, "null", False):
            return True
        model = model_field.related_model
        if model is None:
            return False
    return False


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with the errors each operation can give (see the module)."""

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), RETRY_AFTER_THROTTLED, RETRY_AFTER_UNAVAILABLE]

    def error_codes(self) -> list[str]:
        """The error statuses of this operation that come from its machinery."""
        codes = {"429", "503"}
        parameters = self._get_parameters()
        takes_body = self.method in UNSAFE_METHODS and self.get_request_serializer() is not None
        if takes_body:
            codes |= {"400", "413", "415"}
        if any(p["in"] == "query" for p in parameters):
            codes.add("400")
        paginated = self._is_list_view() and self._get_paginator() is not None  # type: ignore[no-untyped-call]
        if (
            any(p["in"] == "path" for p in parameters)
            or paginated
            # DRF answers 404 for a ?format= that names no renderer of the view
            or any(p["in"] == "query" and p["name"] == "format" for p in parameters)
        ):
            codes.add("404")
        if self.requires_authentication():
            codes.add("401")
            if self.method in UNSAFE_METHODS or getattr(self.view, "people_only", False):
                codes.add("403")
        return sorted(codes)

    def requires_authentication(self) -> bool:
        """False for the anonymous operations (no authenticator, or AllowAny)."""
        if not self.view.get_authenticators():
            return False
        return not any(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _get_serializer_field_meta(self, field: Any, direction: Any) -> dict[str, Any]:
        meta: dict[str, Any] = super()._get_serializer_field_meta(  # type: ignore[no-untyped-call]
            field, direction
        )
        if getattr(field, "read_only", False) and "nullable" not in meta and nullable_source(field):
            meta["nullable"] = True
        return meta

    def _error_response(self, code: str, description: str) -> dict[str, Any]:
        response: dict[str, Any] = self._get_response_for_code(  # type: ignore[no-untyped-call]
            ErrorOut, code, media_types=["application/json"]
        )
        response["description"] = description
        return response

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, entry in responses.items():
            # An error declared by the view with a description only: our body, its words.
            if code >= "400" and "content" not in entry:
                declared = self._error_response(code, entry.get("description", ""))
                entry["content"] = declared["content"]
                if "headers" in declared:
                    entry.setdefault("headers", declared["headers"])
        for code in self.error_codes():
            if code not in responses:
                responses[code] = self._error_response(code, DESCRIPTIONS[code])
        return dict(sorted(responses.items()))
