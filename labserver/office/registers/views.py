"""The directorate's entry pages of the national registers: a pattern approved, renewed or
withdrawn; an organization designated, its designation amended or withdrawn; a verifier
certified, the certification renewed or revoked; and the list of what the directorate
entered, each entry linked to its public page.

Every decision is written by the same service the API calls
(:mod:`labserver.accounts.registers`: the role, the checks, the fact and its audit entry, in
one transaction); a refusal is shown on the input it names, nothing written. Only the
administrator of a national directorate opens these pages (anyone else: 403; not signed in:
the sign-in page). An amendment or a renewal takes the entry's number and organization from
the register, never from the form: the person chooses the new scope and dates only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from labserver.accounts import registers
from labserver.accounts.models import Organization, Role
from labserver.core.errors import DomainError
from labserver.registry import national
from labserver.registry.models import (
    DesignationFact,
    PatternDecisionFact,
    VerifierCertificationFact,
)
from labserver.web.access import page_for
from labserver.web.registers import REGISTERS

from ..refusals import show_refusal, signed_in_person
from .forms import (
    FORM_NAMES,
    PatternForm,
    RenewPatternForm,
    RevokeForm,
    ScopeForm,
    WithdrawForm,
)

DirectoratePage = Callable[..., HttpResponseBase]

#: The registers as the pages name them (the public pages' slugs), their facts and state.
MODELS: dict[str, tuple[type[Any], Callable[[str, Any], national.InForce]]] = {
    "patterns": (PatternDecisionFact, national.pattern_state),
    "designations": (DesignationFact, national.designation_state),
    "verifiers": (VerifierCertificationFact, national.certification_state),
}
JOURNAL = 50  # the latest decisions listed
ENTRIES = 200  # a register's entries listed (the public pages search them all)


def directorate_page(view: DirectoratePage) -> DirectoratePage:
    """A page of the directorate's administrator, given the directorate: anyone else
    signed in is answered 403, naming who the page is for."""

    @page_for(Role.ADMINISTRATOR)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        directorate = registers.administered_directorate(request.user)
        if directorate is None:
            needed = _("the administrator of a national directorate")
            return render(request, "web/403.html", {"needed": needed}, status=403)
        return view(request, directorate, *args, **kwargs)

    return wrapped


# ------------------------------------------------------------------ the decisions


@dataclass(frozen=True)
class Decision:
    """One form of a register: its title, its form, and the service that writes it (given
    the actor and the cleaned input, with the entry's number when the decision is on an
    entry already registered)."""

    slug: str
    action: str
    title: Promise
    form: type[forms.Form]
    service: Callable[..., Any]
    done: Promise  # "%(number)s …": the message once written


def _input(form: forms.Form, number: str, grant: Any) -> dict[str, Any]:
    """What the service is given: the form's input, and on an entry its number (and, for
    an amendment or a renewal of a scope, its organization), from the register."""
    data: dict[str, Any] = (
        form.decision() if isinstance(form, ScopeForm) else dict(form.cleaned_data)
    )
    if number:
        data["number"] = number
    if isinstance(form, ScopeForm) and grant is not None:
        data["organization"] = grant.organization
    return data


DECISIONS = {
    (d.slug, d.action): d
    for d in (
        Decision(
            "patterns",
            "new",
            gettext_lazy("Approve a pattern"),
            PatternForm,
            registers.approve_pattern,
            gettext_lazy("Pattern %(number)s is approved."),
        ),
        Decision(
            "patterns",
            "renew",
            gettext_lazy("Renew a pattern approval"),
            RenewPatternForm,
            registers.renew_pattern,
            gettext_lazy("The approval of pattern %(number)s is renewed."),
        ),
        Decision(
            "patterns",
            "withdraw",
            gettext_lazy("Withdraw a pattern approval"),
            WithdrawForm,
            registers.withdraw_pattern,
            gettext_lazy("The approval of pattern %(number)s is withdrawn."),
        ),
        Decision(
            "designations",
            "new",
            gettext_lazy("Designate an organization"),
            ScopeForm,
            registers.designate_organization,
            gettext_lazy("Designation %(number)s is registered."),
        ),
        Decision(
            "designations",
            "amend",
            gettext_lazy("Amend a designation"),
            ScopeForm,
            registers.designate_organization,
            gettext_lazy("Designation %(number)s is amended."),
        ),
        Decision(
            "designations",
            "withdraw",
            gettext_lazy("Withdraw a designation"),
            WithdrawForm,
            registers.withdraw_designation,
            gettext_lazy("Designation %(number)s is withdrawn."),
        ),
        Decision(
            "verifiers",
            "new",
            gettext_lazy("Certify a verifier"),
            ScopeForm,
            registers.certify_verifier,
            gettext_lazy("Verifier's certificate %(number)s is registered."),
        ),
        Decision(
            "verifiers",
            "renew",
            gettext_lazy("Renew a verifier's certification"),
            ScopeForm,
            registers.certify_verifier,
            gettext_lazy("Verifier's certificate %(number)s is renewed."),
        ),
        Decision(
            "verifiers",
            "revoke",
            gettext_lazy("Revoke a verifier's certification"),
            RevokeForm,
            registers.revoke_certification,
            gettext_lazy("Verifier's certificate %(number)s is revoked."),
        ),
    )
}

# The actions offered on an entry of each register, in the list.
ACTIONS = {
    slug: [d for (s, action), d in DECISIONS.items() if s == slug and action != "new"]
    for slug in MODELS
}


def _latest_grant(directorate: Organization, slug: str, number: str) -> Any:
    """The entry's latest grant (approval, renewal, designation, certification) in the
    directorate's register; 404 when it has none of that number."""
    model = MODELS[slug][0]
    grant = (
        model.objects.filter(authority=directorate.code, number=number)
        .exclude(event__in=("withdrawn", "revoked"))
        .order_by("-at", "-key")
        .first()
    )
    if grant is None:
        raise Http404(f"number: the register has no {number}")
    return grant


def _initial(decision: Decision, grant: Any) -> dict[str, Any]:
    """What an amendment or a renewal starts from: the entry's scope, from today."""
    today = timezone.localdate()
    if grant is None or decision.form is not ScopeForm:
        return {}
    return {
        "scope_fields": grant.fields,
        "instrument_types": ", ".join(grant.instrument_types),
        "valid_from": today,
        "valid_until": grant.valid_until,
    }


@directorate_page
def decide(
    request: HttpRequest, directorate: Organization, slug: str, action: str, number: str = ""
) -> HttpResponse:
    """A register's form: shown, then written through the register's service; a refusal
    is shown on the input it names (400 for an input the form refuses itself)."""
    decision = DECISIONS.get((slug, action))
    if decision is None or (action == "new") != (not number):
        raise Http404(f"{slug}/{action}")
    grant = _latest_grant(directorate, slug, number) if number else None
    more: dict[str, Any] = {"entry": True} if decision.form is ScopeForm and grant else {}
    form = decision.form(request.POST or None, initial=_initial(decision, grant), **more)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                fact = decision.service(
                    actor=signed_in_person(request), **_input(form, number, grant)
                )
            except DomainError as error:
                show_refusal(form, error, names=FORM_NAMES)
                status = error.status
            else:
                messages.success(request, str(decision.done) % {"number": fact.number})
                return redirect("office:registers")
    context = {
        "decision": decision,
        "register": REGISTERS[slug],
        "form": form,
        "number": number,
        "grant": grant,
    }
    return render(request, "office/registers/form.html", context, status=status)


@require_GET
@directorate_page
def entered(request: HttpRequest, directorate: Organization) -> HttpResponse:
    """What the directorate entered: each register's entries with their state today and
    the decisions that can follow, and the latest decisions, each linked to its public
    page."""
    today = timezone.localdate()
    sections = []
    journal: list[tuple[str, Any]] = []
    for slug, (model, state) in MODELS.items():
        facts = model.objects.filter(authority=directorate.code)
        numbers = facts.order_by("number").values_list("number", flat=True).distinct()
        entries = [state(number, today) for number in numbers[:ENTRIES]]
        sections.append(
            {
                "register": REGISTERS[slug],
                "entries": entries,
                "actions": ACTIONS[slug],
                "more": len(numbers) > len(entries),
            }
        )
        journal += [(slug, fact) for fact in facts.order_by("-at", "-key")[:JOURNAL]]
    journal.sort(key=lambda item: item[1].at, reverse=True)
    titles = {slug: REGISTERS[slug].title for slug in MODELS}
    context = {
        "directorate": directorate,
        "sections": sections,
        "journal": [(slug, titles[slug], fact) for slug, fact in journal[:JOURNAL]],
        "today": today,
        "new": [d for d in DECISIONS.values() if d.action == "new"],
    }
    return render(request, "office/registers/entered.html", context)
