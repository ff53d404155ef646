"""An organization's people, as its administrator manages them: invitations, roles and
certifications, deactivation. Each change is permission-checked (the role organization
administrator in the organization concerned), atomic and audited; nothing is deleted.

An invited person's account is created inactive with no usable password; the invitation's
one-time link (Django's token machinery, :data:`invitation_tokens`) lets them choose one,
which activates the account. The link dies with its first use: the token is made from the
password and the active flag, both of which the acceptance changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.core import audit
from labserver.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from labserver.core.fields import MeasurementField

from .access import organization_ids_with_role, require_role
from .models import Membership, Organization, Role, User
from .services import grant_role

ADMINISTRATORS = (Role.ADMINISTRATOR,)
# The roles an administrator gives within their organization; a customer's role belongs to
# the customer's organization, registered by the reception desk.
STAFF_ROLES = tuple(role for role in Role if role != Role.CUSTOMER)
USERNAME = re.compile(r"^[\w.@+-]{1,150}$")


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """One-time tokens of invitations, apart from password resets (their own salt)."""

    key_salt = "labserver.accounts.people.InvitationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        # The active flag too: once the account is activated the link is spent.
        return f"{super()._make_hash_value(user, timestamp)}{int(user.is_active)}"


invitation_tokens = InvitationTokenGenerator()


def administered_organization_ids(user: Any) -> set[int]:
    """The organizations whose people ``user`` manages."""
    return organization_ids_with_role(user, *ADMINISTRATORS)


def _check_certification(
    *, role: str, fields: list[str], valid_until: date | None
) -> tuple[list[str], date | None]:
    if role not in STAFF_ROLES:
        raise DomainError(
            _("role: expected one of %(roles)s") % {"roles": ", ".join(STAFF_ROLES)},
            field="role",
        )
    unknown = sorted(set(fields) - set(MeasurementField.values))
    if unknown:
        raise DomainError(
            _("fields: unknown field(s) %(fields)s") % {"fields": ", ".join(unknown)},
            field="fields",
        )
    if valid_until is not None and valid_until < timezone.localdate():
        raise DomainError(
            _("valid_until: %(day)s is in the past") % {"day": valid_until}, field="valid_until"
        )
    return sorted(set(fields)), valid_until


@transaction.atomic
def invite_person(
    *,
    actor: Any,
    organization: Organization,
    username: str,
    full_name: str,
    email: str,
    role: str,
    fields: list[str] | None = None,
    certificate_number: str = "",
    valid_until: date | None = None,
    link: Callable[[User, str], str],
) -> User:
    """Create ``username``'s account, inactive and without a password, give them ``role``
    in ``organization`` and e-mail them ``link(user, token)``, where they choose their
    password. The mail leaves once the transaction has committed."""
    require_role(actor, organization.pk, *ADMINISTRATORS, action="inviting a person")
    username = username.strip()
    if not USERNAME.match(username):
        raise DomainError(
            _("username: letters, digits and @ . + - _ only, at most 150"), field="username"
        )
    if not full_name.strip():
        raise DomainError(_("full_name: required"), field="full_name")
    if "@" not in email:
        raise DomainError(_("email: an e-mail address is required"), field="email")
    fields, valid_until = _check_certification(
        role=role, fields=fields or [], valid_until=valid_until
    )
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("username: %(name)s is taken") % {"name": username}, field="username")
    user = User(username=username, full_name=full_name.strip(), email=email.strip())
    user.is_active = False
    user.set_unusable_password()
    user.save()
    audit.record(
        actor=actor,
        action="user.invite",
        object_type="user",
        object_id=user.pk,
        organization_id=organization.pk,
        after={"username": username, "full_name": user.full_name, "email": user.email},
    )
    grant_role(
        actor=actor,
        user=user,
        organization=organization,
        role=role,
        fields=fields,
        certificate_number=certificate_number.strip(),
        valid_until=valid_until,
    )
    _send_invitation(actor=actor, user=user, organization=organization, link=link)
    return user


def _send_invitation(
    *, actor: Any, user: User, organization: Organization, link: Callable[[User, str], str]
) -> None:
    """E-mail ``user`` a fresh one-time link, once the transaction has committed."""
    url = link(user, invitation_tokens.make_token(user))
    subject = _("Your caltrace account at %(organization)s") % {"organization": organization.name}
    body = _(
        "Hello %(name)s,\n\n%(actor)s invited you to caltrace at %(organization)s, with the "
        "user name %(username)s. Choose your password here (the link works once):\n\n%(url)s\n"
    ) % {
        "name": user.full_name,
        "actor": actor.signature_name(),
        "organization": organization.name,
        "username": user.get_username(),
        "url": url,
    }
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))


def _invited(user: User) -> bool:
    """Invited and not yet arrived: inactive, never given a password."""
    return not user.is_active and not user.has_usable_password()


@transaction.atomic
def resend_invitation(
    *, actor: Any, user: User, organization: Organization, link: Callable[[User, str], str]
) -> User:
    """A new link for a person who has not chosen their password yet (the first one
    expired or was lost); the earlier link keeps working until either is used."""
    require_role(actor, organization.pk, *ADMINISTRATORS, action="inviting a person")
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise NotPermitted(
            _("%(name)s is not a member of %(organization)s")
            % {"name": user.get_username(), "organization": organization.code}
        )
    if not _invited(user):
        raise InvalidTransition(
            _("%(name)s has already chosen a password") % {"name": user.get_username()},
            field="user",
        )
    audit.record(
        actor=actor,
        action="user.reinvite",
        object_type="user",
        object_id=user.pk,
        organization_id=organization.pk,
        after={"email": user.email},
    )
    _send_invitation(actor=actor, user=user, organization=organization, link=link)
    return user


@transaction.atomic
def accept_invitation(*, user: User, token: str, password: str) -> User:
    """The invited person chooses their password through the link: the account becomes
    active, the link is spent. Refused: a spent or altered link (403), a password that
    Django's validators refuse (field ``password``)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active or not invitation_tokens.check_token(user, token):
        raise NotPermitted(
            _(
                "this invitation link is used, expired or not valid; ask your administrator "
                "for a new one"
            ),
            field="token",
        )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError(
            _("password: %(problems)s") % {"problems": " ".join(error.messages)},
            field="password",
        ) from None
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    for organization_id in _organizations_of(user):
        audit.record(
            actor=user,
            action="user.activate",
            object_type="user",
            object_id=user.pk,
            organization_id=organization_id,
            before={"is_active": False},
            after={"is_active": True},
        )
    return user


def _organizations_of(user: User) -> list[int]:
    return sorted(
        set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    )


@transaction.atomic
def set_membership(
    *,
    actor: Any,
    user: User,
    organization: Organization,
    role: str,
    fields: list[str] | None = None,
    certificate_number: str = "",
    valid_until: date | None = None,
) -> Membership:
    """Give ``user`` (already a member of ``organization``) ``role`` there, or change the
    fields, number and validity of their certification in it (active again if it was not)."""
    require_role(actor, organization.pk, *ADMINISTRATORS, action="setting a person's roles")
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise NotPermitted(
            _("%(name)s is not a member of %(organization)s")
            % {"name": user.get_username(), "organization": organization.code}
        )
    fields, valid_until = _check_certification(
        role=role, fields=fields or [], valid_until=valid_until
    )
    return grant_role(
        actor=actor,
        user=user,
        organization=organization,
        role=role,
        fields=fields,
        certificate_number=certificate_number.strip(),
        valid_until=valid_until,
    )


def _reason(reason: str) -> str:
    if not reason.strip():
        raise DomainError(_("reason: state the reason"), field="reason")
    return reason.strip()


@transaction.atomic
def end_membership(*, actor: Any, membership: Membership, reason: str) -> Membership:
    """Deactivate one role of a person (the membership stays, inactive). The last active
    administrator of an organization stays: nobody could manage its people after."""
    require_role(
        actor, membership.organization_id, *ADMINISTRATORS, action="ending a person's role"
    )
    reason = _reason(reason)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not membership.active:
        raise InvalidTransition(_("this role is already inactive"), field="membership")
    if membership.role == Role.ADMINISTRATOR:
        others = Membership.objects.filter(
            organization_id=membership.organization_id, role=Role.ADMINISTRATOR, active=True
        ).exclude(pk=membership.pk)
        if not others.filter(user__is_active=True).exists():
            raise InvalidTransition(
                _("the last organization administrator stays; appoint another one first"),
                field="membership",
            )
    membership.active = False
    membership.save(update_fields=["active"])
    audit.record(
        actor=actor,
        action="membership.deactivate",
        object_type="membership",
        object_id=membership.pk,
        organization_id=membership.organization_id,
        before={"user": membership.user.get_username(), "role": membership.role, "active": True},
        after={"active": False},
        reason=reason,
    )
    return membership


@transaction.atomic
def deactivate_person(*, actor: Any, user: User, reason: str) -> User:
    """Deactivate ``user``'s account: they can no longer sign in; their records, roles and
    signatures stay. Only an administrator of every organization they belong to may do it,
    and never to themselves."""
    if getattr(actor, "pk", None) == user.pk:
        raise InvalidTransition(_("you cannot deactivate your own account"), field="user")
    return _switch_account(actor=actor, user=user, reason=reason, active=False)


@transaction.atomic
def reactivate_person(*, actor: Any, user: User, reason: str) -> User:
    """Let a deactivated person sign in again (their roles are as they were): an
    administrator of every organization they belong to, with the reason."""
    return _switch_account(actor=actor, user=user, reason=reason, active=True)


def _switch_account(*, actor: Any, user: User, reason: str, active: bool) -> User:
    """Set ``user``'s account active or not, audited on each of their organizations' chains
    (inside the caller's transaction). An invited person who never arrived is neither."""
    organizations = _organizations_of(user)
    what = "reactivating an account" if active else "deactivating an account"
    for organization_id in organizations:
        require_role(actor, organization_id, *ADMINISTRATORS, action=what)
    reason = _reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    name = {"name": user.get_username()}
    if _invited(user):
        raise InvalidTransition(
            _("%(name)s has not chosen a password yet: send the invitation again") % name,
            field="user",
        )
    if user.is_active == active:
        already = (
            _("%(name)s's account is already active")
            if active
            else _("%(name)s's account is already inactive")
        )
        raise InvalidTransition(already % name, field="user")
    user.is_active = active
    user.save(update_fields=["is_active"])
    for organization_id in organizations:
        audit.record(
            actor=actor,
            action="user.reactivate" if active else "user.deactivate",
            object_type="user",
            object_id=user.pk,
            organization_id=organization_id,
            before={"username": user.get_username(), "is_active": not active},
            after={"is_active": active},
            reason=reason,
        )
    return user
