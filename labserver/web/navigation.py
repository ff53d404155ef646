"""The pages listed in the navigation bar, each with the roles that may open it.

A page adds itself here (``url_name``, a lazily translated label, its roles; no roles:
any signed-in person; ``public=True``: anyone; ``when``: only to a person it answers true
for, among those holding the roles). The bar shows a person only what their
roles open; the page view still checks (:func:`labserver.web.access.page_for`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from .access import roles_of


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: Any  # a lazily translated string
    roles: tuple[str, ...] = ()
    public: bool = False
    when: Callable[[Any], bool] | None = None


NAV: list[NavEntry] = []


def register(entry: NavEntry) -> None:
    if all(e.url_name != entry.url_name for e in NAV):
        NAV.append(entry)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``nav_items`` for the person (or visitor) asking."""
    user = request.user
    signed_in = bool(getattr(user, "is_authenticated", False))
    held = roles_of(user)
    items = []
    for entry in NAV:
        allowed = signed_in and (not entry.roles or held & set(entry.roles))
        if allowed and entry.when is not None:
            allowed = entry.when(user)
        if entry.public or allowed:
            url = reverse(entry.url_name)
            items.append({"url": url, "label": entry.label, "current": request.path == url})
    return {"nav_items": items}
