"""Who may open a page: every page view is wrapped by :func:`page_for`.

``page_for(*roles)`` lets in a signed-in person holding one of ``roles`` in some
organization (an auditor with a grant counts as an auditor) and answers anyone else
with the sign-in page (not signed in) or a 403 page that says which role the page needs.
``page_for()`` with no role lets in any signed-in person. Which records a page shows is
still narrowed to the person's organizations by the page's own queries
(:func:`labserver.accounts.access.readable_organization_ids`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Role, User

View = Callable[..., HttpResponseBase]


def roles_of(user: Any) -> set[str]:
    """The roles ``user`` holds in any organization (an audit grant counts as auditor)."""
    if not isinstance(user, User) or not user.is_authenticated:
        return set()
    held = {role for role in Role.values if organization_ids_with_role(user, role)}
    if granted_organization_ids(user):
        held.add(Role.AUDITOR)
    return held


def page_for(*roles: str) -> Callable[[View], View]:
    """Decorate a page view: signed-in people holding one of ``roles`` (any, if none)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not isinstance(user, User) or not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and not roles_of(user) & set(roles):
                names = ", ".join(str(Role(role).label) for role in roles)
                return render(request, "web/403.html", {"needed": names}, status=403)
            return view(request, *args, **kwargs)

        wrapped.caltrace_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate
