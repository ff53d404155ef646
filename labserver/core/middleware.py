"""Refuse oversized request bodies before anything reads them (413, JSON body)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class RequestSizeLimitMiddleware:
    """A declared ``Content-Length`` above the limit is refused with 413 and nothing is read.

    JSON bodies are limited by ``CALTRACE_MAX_JSON_BYTES``, multipart uploads by
    ``CALTRACE_MAX_UPLOAD_BYTES``. A body without a length that grows past the
    limit is refused by Django while reading (see the API's exception handler).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse(
                {"code": "bad_request", "detail": f"invalid Content-Length {raw!r}", "field": None},
                status=400,
            )
        content_type = request.META.get("CONTENT_TYPE", "")
        limit = (
            settings.CALTRACE_MAX_UPLOAD_BYTES
            if content_type.startswith("multipart/")
            else settings.CALTRACE_MAX_JSON_BYTES
        )
        if length > limit:
            return JsonResponse(
                {
                    "code": "payload_too_large",
                    "detail": f"request body of {length} bytes exceeds the limit of {limit} bytes",
                    "field": None,
                },
                status=413,
            )
        return self.get_response(request)
