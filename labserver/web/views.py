"""The home page, for everyone: a field to check a certificate by its number and, for a
signed-in person, the work waiting for them in each of their roles."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from labserver.accounts.models import Role, User

from .access import roles_of
from .worklist import work_for


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    held = roles_of(user)
    context = {
        "role_labels": [Role(role).label for role in Role.values if role in held],
        "work": work_for(user) if isinstance(user, User) and user.is_authenticated else [],
    }
    return render(request, "web/home.html", context)


@require_GET
def find_certificate(request: HttpRequest) -> HttpResponse:
    """The number typed in the field (a plain GET form): its verification page. An empty
    field answers the home page with the error next to the field."""
    number = request.GET.get("number", "").strip()
    if number and "/" not in number:
        return redirect(reverse("verify-page", args=[number]))
    error = _("Type the number printed on the certificate, e.g. HN-HC-2026-000123.")
    return render(request, "web/find.html", {"find_error": error}, status=400)
