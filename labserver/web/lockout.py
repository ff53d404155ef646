"""The answer to a login refused by a lockout (``AXES_LOCKOUT_CALLABLE``).

A page in the reader's language that says the sign-in is locked, until when and who can
unlock it, with 429 Too Many Requests (never a stack trace, never a bare 403); a JSON
error in the API's shape to a client that asks for JSON. The count, the cool-off and the
unlocking are :mod:`labserver.accounts.lockout`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.accounts.lockout import client_address, login_cooloff
from labserver.core.api import error_body
from uncertainty.display import datetime_text

STATUS = 429


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.path.startswith("/api/")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or ("application/json" in accept and "text/html" not in accept)
    )


def locked_until(username: str, address: str | None) -> datetime | None:
    """When the lockout of ``username`` from ``address`` ends (``None``: until unlocked)."""
    from axes.models import AccessAttempt  # axes is an installed app; its models load late

    cooloff = login_cooloff()
    if cooloff is None:
        return None
    last = AccessAttempt.objects.filter(username=username, ip_address=address).aggregate(
        last=Max("attempt_time")
    )["last"]
    return (last or timezone.now()) + cooloff


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))
    until = locked_until(username, client_address(request))
    if _wants_json(request):
        detail = (
            _(
                "sign-in locked after too many wrong passwords until %(until)s; "
                "a quality manager of your center can unlock it"
            )
            % {"until": datetime_text(timezone.localtime(until))}
            if until is not None
            else _(
                "sign-in locked after too many wrong passwords until a quality manager "
                "of your center unlocks it"
            )
        )
        body = error_body(
            "login_locked", detail, "username", until=until.isoformat() if until else None
        )
        return JsonResponse(body, status=STATUS)
    context = {"username": username, "until": until and timezone.localtime(until)}
    return render(request, "web/locked.html", context, status=STATUS)
