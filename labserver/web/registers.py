"""The national registers' public pages: approved patterns, designated organizations and
their scopes, verifiers' certifications, each a list searchable by number, instrument type
or organization, and a page per entry with its state today and every decision on it.

Read-only and for anyone, like the certificate check: on the national node they show what
its directorate entered; on a center that subscribes to the registers, what reached it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from labserver.core.fields import MeasurementField
from labserver.core.throttles import LookupThrottle
from labserver.registry import national
from labserver.registry.models import (
    DesignationFact,
    PatternDecisionFact,
    VerifierCertificationFact,
)

from .throttling import throttled

PAGE_SIZE = 50


@dataclass(frozen=True)
class Register:
    """One register as its pages show it."""

    slug: str
    title: Any
    model: type[Any]
    searched: tuple[str, ...]
    state: Callable[[str, date], national.InForce]
    hint: Any


REGISTERS = {
    r.slug: r
    for r in (
        Register(
            "patterns",
            _("Approved patterns"),
            PatternDecisionFact,
            ("number", "instrument_type", "manufacturer", "model"),
            national.pattern_state,
            _("Approval number, instrument type, manufacturer or model"),
        ),
        Register(
            "designations",
            _("Designated organizations"),
            DesignationFact,
            ("number", "organization"),
            national.designation_state,
            _("Decision number or organization code"),
        ),
        Register(
            "verifiers",
            _("Verifiers' certifications"),
            VerifierCertificationFact,
            ("number", "organization"),
            national.certification_state,
            _("Certificate number or organization code"),
        ),
    )
}


def _register(slug: str) -> Register:
    register = REGISTERS.get(slug)
    if register is None:
        raise Http404(slug)
    return register


def _scope(fact: Any) -> list[str]:
    """A designation's or a certification's scope, for a person: the fields' names, then
    the instrument types' codes."""
    names = dict(MeasurementField.choices)
    return [str(names.get(f, f)) for f in fact.fields] + list(fact.instrument_types)


def _entry(register: Register, state: national.InForce) -> dict[str, Any]:
    granted = [f for f in state.facts if f.event not in ("withdrawn", "revoked")]
    shown = granted[-1] if granted else state.latest
    return {
        "number": state.number,
        "fact": shown,
        "in_force": state.in_force,
        "why": state.why,
        "scope": _scope(shown) if hasattr(shown, "fields") else [],
    }


@require_GET
@throttled(LookupThrottle)
def index(request: HttpRequest) -> HttpResponse:
    """The three registers, with how many entries each holds."""
    counts = {
        slug: r.model.objects.values("number").distinct().count() for slug, r in REGISTERS.items()
    }
    return render(
        request,
        "web/registers/index.html",
        {"registers": [(r, counts[r.slug]) for r in REGISTERS.values()]},
    )


@require_GET
@throttled(LookupThrottle)
def register_list(request: HttpRequest, slug: str) -> HttpResponse:
    """A register's entries, searched by ``q`` (a part of a number, type, manufacturer,
    model or organization code), 50 a page, each with its state today."""
    register = _register(slug)
    query = request.GET.get("q", "").strip()[:100]
    facts = register.model.objects.all()
    if query:
        match = Q()
        for column in register.searched:
            match |= Q(**{f"{column}__icontains": query})
        facts = facts.filter(match)
    numbers = facts.order_by("number").values_list("number", flat=True).distinct()
    page = Paginator(numbers, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    entries = [_entry(register, register.state(number, today)) for number in page]
    return render(
        request,
        "web/registers/list.html",
        {"register": register, "query": query, "page": page, "entries": entries, "today": today},
    )


@require_GET
@throttled(LookupThrottle)
def register_entry(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    """One entry: its state today and every decision on it, oldest first."""
    register = _register(slug)
    today = timezone.localdate()
    state = register.state(number, today)
    if not state.facts:
        return render(request, "web/404.html", status=404)
    return render(
        request,
        "web/registers/entry.html",
        {
            "register": register,
            "entry": _entry(register, state),
            "facts": state.facts,
            "today": today,
        },
    )
