"""Refuse oversized request bodies before anything reads them (413, JSON body); end idle
sessions."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
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


class SessionIdleMiddleware:
    """End a signed-in session after ``CALTRACE_SESSION_IDLE_MINUTES`` without a request.

    The session's expiry is ``SESSION_COOKIE_AGE`` (the idle time plus
    ``CALTRACE_SESSION_RENEW_SECONDS``) from its last save. Rather than saving the session
    on every request (``SESSION_SAVE_EVERY_REQUEST``: a write to the session table for
    each page, each API call and each chart a page loads), this renews it only when the
    last renewal is older than the renewal interval: at most one write a minute per
    person. The session therefore ends between the idle time and the idle time plus
    that interval after the last request, never before. Static files are answered by
    WhiteNoise before this runs; anonymous visitors have no session to renew.
    """

    KEY = "_caltrace_renewed_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        self.renew(request)
        return response

    def renew(self, request: HttpRequest) -> None:
        session = getattr(request, "session", None)
        if session is None:
            return
        # Reading the session of a request that sent no session cookie (an agent's API
        # call) would only add "Vary: Cookie"; a fresh login has modified it already.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES and not session.modified:
            return
        if SESSION_KEY not in session:  # nobody signed in
            return
        now = int(time.time())
        renewed = session.get(self.KEY)
        if not isinstance(renewed, int) or now - renewed >= settings.CALTRACE_SESSION_RENEW_SECONDS:
            session[self.KEY] = now  # modified: SessionMiddleware saves it with a new expiry
