"""Locked accounts: who in the quality manager's organizations is locked out of signing in
or signing, and unlocking them with a reason (issue 15, point 4).

The list and the unlock go through :mod:`labserver.accounts.lockout`, the same the API
uses (``GET /api/v1/users/locked/``, ``POST /api/v1/users/<id>/unlock/``): a person of
another organization is not found (404); a person without the role is refused (403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from labserver.accounts import lockout
from labserver.accounts.access import organization_ids_with_role, readable_organization_ids
from labserver.accounts.models import Role, User
from labserver.core.errors import DomainError
from labserver.web.access import page_for


def _render(
    request: HttpRequest, *, error: str = "", failed: str = "", reason: str = "", status: int = 200
) -> HttpResponse:
    ids = organization_ids_with_role(request.user, Role.QUALITY_MANAGER)
    context: dict[str, Any] = {
        "people": lockout.locked_people(ids),
        "error": error,
        "failed": failed,
        "reason": reason,
    }
    return render(request, "oversight/locks.html", context, status=status)


@require_GET
@page_for(Role.QUALITY_MANAGER)
def locked_accounts(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
@page_for(Role.QUALITY_MANAGER)
def unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = request.user
    assert isinstance(actor, User)  # page_for let in only signed-in people
    ids = readable_organization_ids(actor)
    user = User.objects.filter(pk=user_id, memberships__organization_id__in=ids).first()
    if user is None:
        raise Http404("user: not found")
    reason = request.POST.get("reason", "")
    try:
        lockout.unlock_person(actor=actor, user=user, reason=reason)
    except DomainError as exc:
        return _render(
            request, error=exc.detail, failed=str(user.pk), reason=reason, status=exc.status
        )
    messages.success(
        request, _("%(name)s is unlocked: signing in and signing.") % {"name": user.username}
    )
    return redirect("oversight:locks")
