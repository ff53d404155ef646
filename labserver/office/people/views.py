"""An organization's people, as its administrator manages them: who is a member with which
roles (and, for verifiers, reviewers and signatories, the fields, number and validity of
their certification), inviting a person, changing or ending a role, deactivating an account,
and unlocking an account locked after wrong passwords (sign-in or signature). And the page
where an invited person chooses their password.

Every change goes through :mod:`labserver.accounts.people` and
:func:`labserver.accounts.lockout.unlock_person` (the role, the checks, the audit entry);
nothing is deleted. A person who is not a member of an organization the administrator
manages is not found (404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from labserver.accounts import lockout, people
from labserver.accounts.models import Membership, Organization, User
from labserver.core.errors import DomainError
from labserver.web.access import page_for

from ..refusals import show_refusal, signed_in_person
from .forms import InviteForm, NewPasswordForm, ReasonForm, RoleForm

ADMINISTRATORS = people.ADMINISTRATORS


def _organizations(request: HttpRequest) -> list[Organization]:
    ids = people.administered_organization_ids(request.user)
    return list(Organization.objects.filter(pk__in=ids).order_by("code"))


def _person(request: HttpRequest, user_id: int) -> User:
    ids = people.administered_organization_ids(request.user)
    found = User.objects.filter(pk=user_id, memberships__organization_id__in=ids).first()
    if found is None:
        raise Http404("person: not found")
    return found


@require_GET
@page_for(*ADMINISTRATORS)
def people_list(request: HttpRequest) -> HttpResponse:
    """The members of the organizations the person administers, with their roles."""
    ids = people.administered_organization_ids(request.user)
    members = (
        User.objects.filter(memberships__organization_id__in=ids).distinct().order_by("username")
    )
    memberships: dict[int, list[Membership]] = {}
    for membership in Membership.objects.filter(
        organization_id__in=ids, user__in=members
    ).select_related("organization"):
        memberships.setdefault(membership.user_id, []).append(membership)
    locked = {state.user.pk for state in lockout.locked_people(ids)}
    rows = [
        {"user": user, "memberships": memberships.get(user.pk, []), "locked": user.pk in locked}
        for user in members
    ]
    return render(request, "office/people/list.html", {"rows": rows})


def _chosen(request: HttpRequest, organizations: list[Organization]) -> Organization:
    wanted = request.POST.get("organization", "")
    return next((o for o in organizations if str(o.pk) == wanted), organizations[0])


def invitation_link(request: HttpRequest) -> Any:
    """``link(user, token)``: the absolute address of the invitation's page."""

    def link(user: User, token: str) -> str:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        return request.build_absolute_uri(reverse("office:welcome", args=[uid, token]))

    return link


@page_for(*ADMINISTRATORS)
def invite(request: HttpRequest) -> HttpResponse:
    """Invite a person: their account, inactive until they choose a password through the
    one-time link e-mailed to them, with a first role."""
    organizations = _organizations(request)
    form = InviteForm(request.POST or None)
    chosen = _chosen(request, organizations)
    if request.method == "POST" and form.is_valid():
        try:
            invited = people.invite_person(
                actor=signed_in_person(request),
                organization=chosen,
                link=invitation_link(request),
                **form.membership(),
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(
                request,
                _("%(name)s is invited: the link to choose a password went to %(email)s.")
                % {"name": invited.username, "email": invited.email},
            )
            return redirect("office:person", invited.pk)
    context = {"form": form, "organizations": organizations, "chosen": chosen}
    status = 400 if request.method == "POST" else 200
    return render(request, "office/people/invite.html", context, status=status)


def _person_page(
    request: HttpRequest, user: User, *, failed: str = "", form: Any = None, status: int = 200
) -> HttpResponse:
    """The person's page; ``failed`` names the form a refusal belongs to, shown bound."""
    ids = people.administered_organization_ids(request.user)
    memberships = list(
        Membership.objects.filter(user=user, organization_id__in=ids).select_related("organization")
    )

    def bound(name: str, fresh: Any) -> Any:
        return form if failed == name else fresh

    rows = [
        {
            "membership": m,
            "edit": bound(
                f"m{m.pk}",
                RoleForm(
                    prefix=f"m{m.pk}",
                    fixed_role=True,
                    initial={
                        "role": m.role,
                        "certified_fields": m.fields,
                        "certificate_number": m.certificate_number,
                        "valid_until": m.valid_until,
                    },
                ),
            ),
            "end": bound(f"end{m.pk}", ReasonForm(prefix=f"end{m.pk}")),
        }
        for m in memberships
    ]
    context = {
        "person": user,
        "rows": rows,
        "organizations": sorted({m.organization for m in memberships}, key=lambda o: o.code),
        "add": bound("add", RoleForm(prefix="add")),
        "deactivate": bound("deactivate", ReasonForm(prefix="deactivate")),
        "reactivate": bound("reactivate", ReasonForm(prefix="reactivate")),
        "unlock": bound("unlock", ReasonForm(prefix="unlock")),
        "lock": lockout.lock_state(user),
    }
    return render(request, "office/people/person.html", context, status=status)


@require_GET
@page_for(*ADMINISTRATORS)
def person(request: HttpRequest, user_id: int) -> HttpResponse:
    return _person_page(request, _person(request, user_id))


def _act(request: HttpRequest, user: User, name: str, form: Any, change: Any) -> HttpResponse:
    """Run ``change(data)`` when ``form`` is valid; a refusal is shown on that form."""
    if form.is_valid():
        data = form.membership() if isinstance(form, RoleForm) else form.cleaned_data
        try:
            note = change(data)
        except DomainError as error:
            show_refusal(form, error)
            return _person_page(request, user, failed=name, form=form, status=error.status)
        messages.success(request, note)
        return redirect("office:person", user.pk)
    return _person_page(request, user, failed=name, form=form, status=400)


def _membership(request: HttpRequest, user: User, membership_id: int) -> Membership:
    ids = people.administered_organization_ids(request.user)
    found = (
        Membership.objects.filter(pk=membership_id, user=user, organization_id__in=ids)
        .select_related("organization", "user")
        .first()
    )
    if found is None:
        raise Http404("membership: not found")
    return found


@require_POST
@page_for(*ADMINISTRATORS)
def set_role(request: HttpRequest, user_id: int, membership_id: int = 0) -> HttpResponse:
    """Give the person a role (``membership_id`` 0) or change one's certification."""
    user = _person(request, user_id)
    actor = signed_in_person(request)
    if membership_id:
        membership = _membership(request, user, membership_id)
        name, organization = f"m{membership.pk}", membership.organization
        form = RoleForm(request.POST, prefix=name, fixed_role=True)
    else:
        organizations = [
            o
            for o in _organizations(request)
            if Membership.objects.filter(user=user, organization=o).exists()
        ]
        name, organization = "add", _chosen(request, organizations)
        form = RoleForm(request.POST, prefix=name)

    def change(data: dict[str, Any]) -> str:
        if membership_id and data["role"] != membership.role:
            raise DomainError(_("role: a role's certification keeps its role"), field="role")
        done = people.set_membership(actor=actor, user=user, organization=organization, **data)
        return _("%(name)s: %(role)s in %(organization)s saved.") % {
            "name": user.username,
            "role": done.get_role_display(),
            "organization": organization.code,
        }

    return _act(request, user, name, form, change)


@require_POST
@page_for(*ADMINISTRATORS)
def end_role(request: HttpRequest, user_id: int, membership_id: int) -> HttpResponse:
    """Deactivate one of the person's roles (kept, inactive)."""
    user = _person(request, user_id)
    membership = _membership(request, user, membership_id)
    name = f"end{membership.pk}"

    def change(data: dict[str, Any]) -> str:
        people.end_membership(
            actor=signed_in_person(request), membership=membership, reason=data["reason"]
        )
        return _("%(name)s is no longer %(role)s in %(organization)s.") % {
            "name": user.username,
            "role": membership.get_role_display(),
            "organization": membership.organization.code,
        }

    return _act(request, user, name, ReasonForm(request.POST, prefix=name), change)


def _with_reason(
    request: HttpRequest, user_id: int, name: str, service: Any, note: str
) -> HttpResponse:
    """A change to the person's account that states its reason:
    ``service(actor=..., user=..., reason=...)``, then ``note`` (with the person's name)."""
    user = _person(request, user_id)

    def change(data: dict[str, Any]) -> str:
        service(actor=signed_in_person(request), user=user, reason=data["reason"])
        return note % {"name": user.username}

    return _act(request, user, name, ReasonForm(request.POST, prefix=name), change)


@require_POST
@page_for(*ADMINISTRATORS)
def deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate the person's account: no more signing in; records and history stay."""
    return _with_reason(
        request,
        user_id,
        "deactivate",
        people.deactivate_person,
        _("%(name)s's account is deactivated."),
    )


@require_POST
@page_for(*ADMINISTRATORS)
def reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """Let a deactivated person sign in again, with the reason."""
    return _with_reason(
        request,
        user_id,
        "reactivate",
        people.reactivate_person,
        _("%(name)s's account is active again."),
    )


@require_POST
@page_for(*ADMINISTRATORS)
def resend(request: HttpRequest, user_id: int) -> HttpResponse:
    """A new one-time link for an invited person who has not chosen a password yet."""
    user = _person(request, user_id)
    ids = people.administered_organization_ids(request.user)
    organization = (
        Organization.objects.filter(pk__in=ids, memberships__user=user).order_by("code").first()
    )
    assert organization is not None  # _person found them in one of these
    try:
        people.resend_invitation(
            actor=signed_in_person(request),
            user=user,
            organization=organization,
            link=invitation_link(request),
        )
    except DomainError as error:
        messages.error(request, str(error.detail))
    else:
        messages.success(
            request,
            _("A new link to choose a password went to %(email)s.") % {"email": user.email},
        )
    return redirect("office:person", user.pk)


@require_POST
@page_for(*ADMINISTRATORS)
def unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    """Lift the person's sign-in lockouts and signature lock, with the reason."""
    return _with_reason(
        request,
        user_id,
        "unlock",
        lockout.unlock_person,
        _("%(name)s is unlocked: signing in and signing."),
    )


def welcome(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The invitation's page (no sign-in: the link is the proof): choose a password."""
    try:
        user = User.objects.filter(pk=int(force_str(urlsafe_base64_decode(uidb64)))).first()
    except (TypeError, ValueError, OverflowError):
        user = None
    usable = (
        user is not None
        and not user.is_active
        and people.invitation_tokens.check_token(user, token)
    )
    form = NewPasswordForm(request.POST or None)
    if usable and request.method == "POST" and form.is_valid():
        assert user is not None
        try:
            people.accept_invitation(user=user, token=token, password=form.cleaned_data["password"])
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(
                request,
                _("Your password is set. Sign in as %(name)s.") % {"name": user.username},
            )
            return redirect("web:login")
    context = {"form": form, "usable": usable, "person": user if usable else None}
    status = 200 if usable and request.method == "GET" else (400 if usable else 404)
    return render(request, "office/people/welcome.html", context, status=status)
