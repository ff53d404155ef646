"""The search field in the site's header, for signed-in staff (not customers, not
visitors), except on the search page itself, which has its own."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from labserver.web.access import roles_of

from .queries import STAFF_ROLES


def search_field(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``search_field`` is true where the header offers the search."""
    shown = bool(roles_of(request.user) & set(STAFF_ROLES))
    return {"search_field": shown and request.path != reverse("search:search")}
