"""The signed-in person's notification settings (``/account/notifications/``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from labserver.accounts.models import User
from labserver.core.errors import DomainError
from labserver.web.access import page_for

from . import services
from .forms import PreferencesForm
from .services import PREFERENCE_FIELDS


@require_http_methods(["GET", "POST"])
@page_for()
def preferences(request: HttpRequest) -> HttpResponse:
    """Which kinds of e-mail the person receives, and in which language."""
    user = request.user
    assert isinstance(user, User)  # page_for let only a signed-in person in
    current = services.preference_of(user)
    form = PreferencesForm(
        request.POST or None,
        initial={name: getattr(current, name) for name in PREFERENCE_FIELDS},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.set_preferences(actor=user, user=user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field or None, exc.detail)
                status = exc.status
            else:
                messages.success(request, _("Your notification settings are saved."))
                return redirect("notifications:preferences")
        else:
            status = 400
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "email": user.email},
        status=status,
    )
