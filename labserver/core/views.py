"""The answers to URLs no route matches and to unhandled errors: under ``/api/`` the API's
JSON error body; elsewhere the site's bilingual pages (``web/404.html``, ``web/500.html``),
each with the field to type a certificate number, since a mistyped verification address is
the usual way a visitor gets there."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from rest_framework import exceptions

from .api import error_body
from .unavailable import is_database_unavailable, unavailable_response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for a URL no route matches (``/api/v1/standards/x/chain/`` where the
    route takes a number): under ``/api/`` the API's JSON error body, as for every other
    API error; elsewhere the site's page."""
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", str(exceptions.NotFound.default_detail)), status=404
        )
    return render(request, "web/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unhandled error under ``/api/`` answers the API's JSON error body (the schema's
    content type), not the site's HTML page. Each one is a bug: the fuzz test fails on it.
    A database that cannot be reached answers 503 with ``Retry-After`` instead, API or
    page (:mod:`.unavailable`)."""
    failure = sys.exc_info()[1]
    if failure is not None and is_database_unavailable(failure):
        return unavailable_response(request, failure)
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", str(exceptions.APIException.default_detail)), status=500
        )
    # Without the request's context: whatever failed (the session, the database) must not
    # fail this page again.
    return HttpResponse(loader.get_template("web/500.html").render(), status=500)
