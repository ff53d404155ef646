"""The home page, for everyone: what each audience can open from here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from labserver.accounts.models import Role

from .access import roles_of


def home(request: HttpRequest) -> HttpResponse:
    held = roles_of(request.user)
    labels = [Role(role).label for role in Role.values if role in held]
    return render(request, "web/home.html", {"role_labels": labels})
