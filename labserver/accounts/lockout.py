"""Guessing stopped and recorded: failed logins, the electronic-signature lock, unlocking.

21 CFR 11.300(d) asks that attempts at unauthorized use be detected and reported; ISO/IEC
17025 7.11.2 that the LIMS be protected from unauthorized access. Three pieces:

* **Logins** (the web sign-in and ``/admin/login/``) are counted and refused by django-axes
  (settings: ``CALTRACE_LOGIN_*``). :func:`audit_failed_login` turns each failure into an
  audit entry, and the failure that reaches the limit into a ``login.lock`` entry.
* **Electronic signatures**: every service that asks for the password again calls
  :func:`check_signature_password` inside its transaction and is wrapped by
  :func:`counts_signature_failures`, which writes the failure (``signature.fail``, and
  ``signature.lock`` at ``CALTRACE_SIGNATURE_FAILURE_LIMIT``) in a transaction of its own
  once the service's has rolled back: the refusal itself must not erase its record.
* **Unlocking**: a quality manager of the person's organization (the role that administers
  the organization's people, agents and keys) sees who is locked (:func:`locked_people`)
  and unlocks them (:func:`unlock_person`), with a reason, audited.

The attempted password is never written anywhere; a failed login records the user name
tried and the client address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial, wraps
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.core import audit
from labserver.core.errors import DomainError, InvalidTransition, NotPermitted
from labserver.core.throttles import client_ip
from uncertainty.display import datetime_text

from .access import has_role
from .models import Membership, Organization, Role, SignatureGuard, User

P = ParamSpec("P")
# Who may lift a person's locks in their organization.
UNLOCKERS = (Role.QUALITY_MANAGER, Role.ADMINISTRATOR)
R = TypeVar("R")


# ------------------------------------------------------------------ client address


def client_address(request: HttpRequest) -> str | None:
    """The client's address (``AXES_CLIENT_IP_CALLABLE``): the same address the per-address
    limits count (:func:`labserver.core.throttles.client_ip`: ``REMOTE_ADDR``, or behind
    ``CALTRACE_TRUSTED_PROXIES`` the right-most ``X-Forwarded-For`` hop that is not one of
    them; what a client writes further left is never believed)."""
    return client_ip(request) or None


# ------------------------------------------------------------------ failed logins


def _chains_of(user: User | None) -> list[int | None]:
    """The organizations whose audit chain records an event about ``user``: each one they
    are a member of; the system chain for an unknown name or a person of no organization."""
    if user is None:
        return [None]
    ids = sorted(
        set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    )
    return list(ids) or [None]


def login_cooloff() -> timedelta | None:
    """How long a login lockout lasts after the last failure (``None``: until unlocked), as
    axes reckons it (``AXES_COOLOFF_TIME``, set from ``CALTRACE_LOGIN_COOLOFF_MINUTES``)."""
    from axes.helpers import get_cool_off  # axes is an installed app; it loads late

    cooloff: timedelta | None = get_cool_off()
    return cooloff


def login_failure_limit() -> int:
    """Failures before a login lockout (``AXES_FAILURE_LIMIT``, set from
    ``CALTRACE_LOGIN_FAILURE_LIMIT``)."""
    return int(settings.AXES_FAILURE_LIMIT)


def audit_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """``user_login_failed`` receiver: one ``login.fail`` entry per failure, on the chain of
    each organization of the person named (the system chain for an unknown name), and a
    ``login.lock`` entry with the failure that reaches the limit.

    The actor is ``anonymous``: whoever typed the password proved no identity; the name
    tried, the address and the count are in ``after``. Axes' receiver runs first (it is
    installed before the LIMS apps) and leaves the count on the request. A signal, not a
    service, because the admin's login and the web sign-in are Django's own views; the
    entries are written in a transaction of their own, which commits."""
    user_model_field = User.USERNAME_FIELD
    attempted = str(credentials.get(user_model_field) or credentials.get("username") or "")
    address = client_address(request) if request is not None else None
    failures = getattr(request, "axes_failures_since_start", None)
    locked = bool(getattr(request, "axes_locked_out", False))
    limit = login_failure_limit()
    user = User.objects.filter(**{user_model_field: attempted}).first() if attempted else None
    after = {
        "username": attempted,
        "address": address,
        "path": request.path if request is not None else None,
        "failures": failures,
        "limit": limit,
        "locked": locked,
    }
    entry = partial(
        audit.record,
        actor=audit.ANONYMOUS,
        object_type="user",
        object_id=user.pk if user is not None else attempted,
    )
    cooloff = login_cooloff()
    with transaction.atomic():
        for organization_id in _chains_of(user):
            entry(action="login.fail", organization_id=organization_id, after=after)
            if locked and failures == limit:
                until = timezone.now() + cooloff if cooloff is not None else None
                lock = {"username": attempted, "address": address, "failures": failures}
                entry(
                    action="login.lock",
                    organization_id=organization_id,
                    after={**lock, "until": until},
                )


# ------------------------------------------------------------------ signatures


@dataclass(frozen=True)
class SignatureAttempt:
    """What a refused signature was for: who, which signing, on what, in which organization."""

    user: User
    signing: str  # the audit action the signature would have made, e.g. "run.review"
    object_type: str
    object_id: str
    organization_id: int
    locked: bool  # refused because signing was already locked (the password was not checked)


class SignatureRefused(NotPermitted):
    """A signature refused for its password: wrong, or signing locked. Carries the attempt
    so that :func:`counts_signature_failures` records it after the rollback."""

    def __init__(self, detail: str, *, attempt: SignatureAttempt) -> None:
        super().__init__(detail, field="password")
        self.attempt = attempt
        # The depth of transactions at which the failure was recorded; an entry written
        # deeper than the caller's depth was rolled back with the service.
        self.recorded_depth: int | None = None


class WrongSignaturePassword(SignatureRefused):
    """The password re-entered for a signature is not the signer's (403)."""


class SignatureLocked(SignatureRefused):
    """The person's signing is locked after repeated wrong passwords (423 Locked)."""

    status = 423
    code = "signature_locked"


def _unlockers(organization_id: int) -> str:
    code = Organization.objects.filter(pk=organization_id).values_list("code", flat=True).first()
    return _("a quality manager of %(organization)s") % {"organization": code or "?"}


def _locked_error(attempt: SignatureAttempt, guard: SignatureGuard) -> SignatureLocked:
    since = timezone.localtime(guard.locked_at) if guard.locked_at else timezone.localtime()
    detail = _(
        "signature refused: %(name)s's signing is locked since %(since)s after "
        "%(limit)d wrong passwords; %(who)s can unlock it"
    ) % {
        "name": attempt.user.get_username(),
        "since": datetime_text(since),
        "limit": int(settings.CALTRACE_SIGNATURE_FAILURE_LIMIT),
        "who": _unlockers(attempt.organization_id),
    }
    return SignatureLocked(detail, attempt=attempt)


def check_signature_password(
    user: User,
    password: str,
    *,
    signing: str,
    object_type: str,
    object_id: object,
    organization_id: int,
) -> None:
    """The signer's password, re-entered for an electronic signature (21 CFR 11.200): refuse
    while their signing is locked (423, without looking at the password), refuse a wrong
    one (403, field ``password``), and set the count of failures back to 0 on a right one.

    Call inside the service's transaction, from a service wrapped by
    :func:`counts_signature_failures` (which records the refusal)."""
    attempt = SignatureAttempt(
        user=user,
        signing=signing,
        object_type=object_type,
        object_id=str(object_id),
        organization_id=organization_id,
        locked=False,
    )
    guard = SignatureGuard.objects.filter(user=user).first()
    if guard is not None and guard.locked_at is not None:
        raise _locked_error(replace(attempt, locked=True), guard)
    if not user.check_password(password):
        raise WrongSignaturePassword(
            _("signature refused: the password is not correct"), attempt=attempt
        )
    if guard is not None and guard.failures:
        # With the signature's own transaction: a signature that is rolled back resets nothing.
        SignatureGuard.objects.filter(pk=guard.pk).update(failures=0)


def _locked_guard(user: User) -> SignatureGuard:
    # get_or_create survives a concurrent first failure (it reads the row the other made).
    SignatureGuard.objects.get_or_create(user=user)
    return SignatureGuard.objects.select_for_update().get(user=user)


def _record_attempt(attempt: SignatureAttempt, action: str, **after: Any) -> None:
    """One audit entry about a signing attempt, on the record it would have signed."""
    audit.record(
        actor=attempt.user,
        action=action,
        object_type=attempt.object_type,
        object_id=attempt.object_id,
        organization_id=attempt.organization_id,
        after={"signing": attempt.signing, **after},
    )


def _record_refusal(refused: SignatureRefused) -> SignatureRefused:
    """Write the refusal (and the lock it leads to) in a transaction that commits; return
    the error to raise: the one given, or :class:`SignatureLocked` when this failure locks."""
    attempt = refused.attempt
    limit = int(settings.CALTRACE_SIGNATURE_FAILURE_LIMIT)
    with transaction.atomic():
        guard = _locked_guard(attempt.user)
        if attempt.locked or guard.locked_at is not None:
            _record_attempt(attempt, "signature.refuse", locked_at=guard.locked_at)
            return refused
        guard.failures += 1
        _record_attempt(attempt, "signature.fail", failures=guard.failures, limit=limit)
        if guard.failures < limit:
            guard.save(update_fields=["failures"])
            return refused
        guard.locked_at = timezone.now()
        guard.save(update_fields=["failures", "locked_at"])
        audit.record(
            actor=attempt.user,
            action="signature.lock",
            object_type="user",
            object_id=attempt.user.pk,
            organization_id=attempt.organization_id,
            after={"failures": guard.failures, "locked_at": guard.locked_at},
        )
    return _locked_error(attempt, guard)


def counts_signature_failures(service: Callable[P, R]) -> Callable[P, R]:
    """Wrap a service that checks a signature password (outside its ``transaction.atomic``):
    a refusal is recorded once the service's transaction has rolled back, in a transaction
    that commits.

    A service that calls another one inside its own transaction (a nonconformity's recall
    revokes a certificate) is wrapped too: the entry the inner one wrote was rolled back
    with the outer transaction, and the outer wrapper writes it again at its own depth."""

    @wraps(service)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        depth = len(transaction.get_connection().atomic_blocks)
        try:
            return service(*args, **kwargs)
        except SignatureRefused as refused:
            if refused.recorded_depth is not None and refused.recorded_depth <= depth:
                raise
            error = _record_refusal(refused)
            error.recorded_depth = depth
            if error is refused:
                raise
            raise error from None

    return wrapped


# ------------------------------------------------------------------ who is locked


@dataclass(frozen=True)
class LoginLock:
    address: str | None
    failures: int
    last: datetime
    until: datetime | None  # None: until unlocked


@dataclass
class LockState:
    """Why ``user`` cannot sign in (from some address) or sign, now."""

    user: User
    logins: list[LoginLock] = field(default_factory=list)
    signature_locked_at: datetime | None = None
    signature_failures: int = 0

    @property
    def locked(self) -> bool:
        return bool(self.logins) or self.signature_locked_at is not None


def _login_locks(usernames: Iterable[str]) -> dict[str, list[LoginLock]]:
    """Axes' lockouts now, per user name: the (name, address) pairs at or over the limit
    among the failures within the cool-off (as axes counts them)."""
    from axes.models import AccessAttempt  # axes is an installed app; its models load late

    limit = login_failure_limit()
    cooloff = login_cooloff()
    attempts = AccessAttempt.objects.filter(username__in=list(usernames))
    if cooloff is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cooloff)
    rows = (
        attempts.values("username", "ip_address")
        .annotate(total=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(total__gte=limit)
        .order_by("username", "ip_address")
    )
    found: dict[str, list[LoginLock]] = {}
    for row in rows:
        found.setdefault(row["username"], []).append(
            LoginLock(
                address=row["ip_address"],
                failures=row["total"],
                last=row["last"],
                until=row["last"] + cooloff if cooloff is not None else None,
            )
        )
    return found


def lock_state(user: User) -> LockState:
    guard = SignatureGuard.objects.filter(user=user).first()
    return LockState(
        user=user,
        logins=_login_locks([user.get_username()]).get(user.get_username(), []),
        signature_locked_at=guard.locked_at if guard else None,
        signature_failures=guard.failures if guard else 0,
    )


def locked_people(organization_ids: Iterable[int]) -> list[LockState]:
    """The members of ``organization_ids`` who are locked out of signing in or signing."""
    members = list(
        User.objects.filter(memberships__organization_id__in=list(organization_ids))
        .distinct()
        .order_by("username")
    )
    by_name = {user.get_username(): user for user in members}
    logins = _login_locks(by_name)
    guards = {
        guard.user_id: guard
        for guard in SignatureGuard.objects.filter(user__in=members, locked_at__isnull=False)
    }
    states = []
    for user in members:
        guard = guards.get(user.pk)
        state = LockState(
            user=user,
            logins=logins.get(user.get_username(), []),
            signature_locked_at=guard.locked_at if guard else None,
            signature_failures=guard.failures if guard else 0,
        )
        if state.locked:
            states.append(state)
    return states


def unlock_organization(actor: Any, user: User) -> Organization:
    """The organization through which ``actor`` may unlock ``user``: one where ``actor`` is
    quality manager or organization administrator (who manages its people) and ``user`` a
    member; else refused (403)."""
    shared = Organization.objects.filter(memberships__user=user).distinct().order_by("code")
    for organization in shared:
        if has_role(actor, organization.pk, *UNLOCKERS):
            return organization
    raise NotPermitted(
        _(
            "unlocking %(name)s needs the role quality manager or organization administrator "
            "in their organization"
        )
        % {"name": user.get_username()}
    )


@transaction.atomic
def unlock_person(*, actor: User, user: User, reason: str) -> LockState:
    """Lift ``user``'s login lockouts (every address) and signature lock, with a reason: a
    quality manager of one of their organizations; one ``user.unlock`` entry there."""
    organization = unlock_organization(actor, user)
    if not reason.strip():
        raise DomainError(_("reason: an unlock states its reason"), field="reason")
    from axes.utils import reset  # axes is an installed app; its models load late

    before = lock_state(user)
    guard = SignatureGuard.objects.select_for_update().filter(user=user).first()
    pending = before.locked or (guard is not None and guard.failures > 0)
    if not pending:
        raise InvalidTransition(
            _("%(name)s is not locked out") % {"name": user.get_username()}, field="user"
        )
    reset(username=user.get_username())
    if guard is not None:
        guard.failures = 0
        guard.locked_at = None
        guard.save(update_fields=["failures", "locked_at"])
    audit.record(
        actor=actor,
        action="user.unlock",
        object_type="user",
        object_id=user.pk,
        organization_id=organization.pk,
        before={
            "username": user.get_username(),
            "login_locks": [
                {"address": lock.address, "failures": lock.failures, "until": lock.until}
                for lock in before.logins
            ],
            "signature_locked_at": before.signature_locked_at,
            "signature_failures": before.signature_failures,
        },
        after={"login_locks": [], "signature_locked_at": None, "signature_failures": 0},
        reason=reason.strip(),
    )
    return lock_state(user)
