"""503 Service Unavailable, with ``Retry-After``, when the database cannot be reached.

A LIMS whose PostgreSQL is stopped, restarting or unreachable must not answer 500 ("our
bug") to a bench agent: the agent keeps a run queued and sends it again on 5xx, but a
503 with ``Retry-After`` tells it, and a person, that the server is fine and when to try
again. Three places turn such a failure into that answer, so that none slips through:

* the API's exception handler (``core.api.exception_handler``): our JSON error shape;
* :class:`DatabaseUnavailableMiddleware` for the pages: a short page in the reader's
  language, rendered without the database;
* :func:`server_error` (``handler500``) for a failure outside any view (a session saved
  by the session middleware), which Django otherwise turns into a 500.

Only failures of the connection itself count (:func:`is_database_unavailable`): a query
that is wrong (a missing table, a syntax error, a constraint) stays a 500 and is logged as
the programming error it is.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

#: SQLSTATEs of a server that is there but cannot serve: class 08 (connection exception)
#: is matched by prefix; admin shutdown, crash shutdown, cannot connect now (starting up
#: or recovering), too many connections.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})

#: SQLite's messages for a database file that cannot be opened or is held by another
#: writer past the timeout; "no such table" and the like are programming errors.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk I/O error")

CODE = "database_unavailable"
DETAIL = "the database is unavailable: retry after the time Retry-After gives"


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database connection failed or was lost, not that the
    query was wrong."""
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or unusable
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        return str(cause).startswith(_SQLITE_UNAVAILABLE)
    if cause is None or not type(cause).__module__.startswith("psycopg"):
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        # psycopg raises without a SQLSTATE only when no server answered: refused, reset,
        # closed mid-query, timed out connecting.
        return True
    return str(sqlstate).startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def retry_after_s() -> int:
    return int(settings.CALTRACE_DATABASE_RETRY_AFTER_S)


def unavailable_body() -> dict[str, Any]:
    """The API's error shape (``core.api.error_body``) for a database that is down."""
    return {"code": CODE, "detail": DETAIL, "field": None}


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with ``Retry-After``: JSON for the API, a page otherwise (no database needed)."""
    log.warning("database unavailable (%s %s): %s", request.method, request.path, exc)
    seconds = retry_after_s()
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(unavailable_body(), status=503)
    else:
        # No request in the context: the context processors (the signed-in user, the
        # navigation) would query the very database that is down.
        page = render_to_string("web/503.html", {"retry_after": seconds})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(seconds)
    return response


class DatabaseUnavailableMiddleware:
    """A view that lost its database answers 503 with ``Retry-After`` instead of 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return unavailable_response(request, exception)
        return None
