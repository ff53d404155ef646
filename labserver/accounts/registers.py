"""The directorate enters the national registers (on the national node): approved patterns,
designated organizations and their scopes, verifiers' certifications.

Each service is done by the administrator of an organization of kind ``directorate``
(:data:`ADMINISTERED_BY`), writes one append-only fact of the registry
(:mod:`labserver.registry.models`) and its audit entry in one transaction, and refuses bad
input naming the field and the value. Reading the registers, and enforcing them at a center,
is :mod:`labserver.registry.national`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.core import audit
from labserver.core.errors import Conflict, InvalidEvidence, NotPermitted
from labserver.core.fields import MeasurementField
from labserver.registry.models import (
    DesignationFact,
    OrganizationFact,
    PatternDecisionFact,
    VerifierCertificationFact,
)
from labserver.registry.national import fact_key

from .access import acting_person
from .models import Membership, Organization, Role

__all__ = [
    "ADMINISTERED_BY",
    "administered_directorate",
    "approve_pattern",
    "certify_verifier",
    "designate_organization",
    "renew_pattern",
    "revoke_certification",
    "withdraw_designation",
    "withdraw_pattern",
]

#: The role, in an organization of kind ``directorate``, that enters the national registers.
ADMINISTERED_BY = Role.ADMINISTRATOR

_NUMBER = re.compile(r"[-A-Za-z0-9_.:]{1,64}")
_CODE = re.compile(r"[-A-Za-z0-9_]{1,64}")


# ------------------------------------------------------------------ input


def _number(field: str, value: str) -> str:
    value = (value or "").strip()
    if not _NUMBER.fullmatch(value):
        raise InvalidEvidence(
            _("%(field)s: %(value)r is not a register number (1 to 64 letters, digits, - _ . :)")
            % {"field": field, "value": value},
            field=field,
        )
    return value


def _code(field: str, value: str) -> str:
    value = (value or "").strip()
    if not _CODE.fullmatch(value):
        raise InvalidEvidence(
            _("%(field)s: %(value)r is not a code (letters, digits, - and _)")
            % {"field": field, "value": value},
            field=field,
        )
    return value


def _text(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200:
        raise InvalidEvidence(
            _("%(field)s: required, at most 200 characters") % {"field": field}, field=field
        )
    return value


def _fields(values: Iterable[str]) -> list[str]:
    chosen = sorted({v.strip() for v in values})
    unknown = [v for v in chosen if v not in MeasurementField.values]
    if unknown:
        raise InvalidEvidence(
            _("fields: unknown field(s) %(unknown)s; expected %(expected)s")
            % {
                "unknown": ", ".join(repr(v) for v in unknown),
                "expected": ", ".join(MeasurementField.values),
            },
            field="fields",
        )
    return chosen


def _scope(fields: Iterable[str], instrument_types: Iterable[str]) -> tuple[list[str], list[str]]:
    chosen = _fields(fields)
    types = sorted({_code("instrument_types", t) for t in instrument_types})
    if not chosen and not types:
        raise InvalidEvidence(
            _("fields: name at least one field of measurement or instrument type"),
            field="fields",
        )
    return chosen, types


def _validity(start: date, end: date | None, start_field: str) -> None:
    if end is not None and end < start:
        raise InvalidEvidence(
            _("valid_until: %(end)s is before %(start_field)s %(start)s")
            % {"end": end.isoformat(), "start_field": start_field, "start": start.isoformat()},
            field="valid_until",
        )


def _known_organization(code: str) -> str:
    """An organization of this node, or one the registry describes (a center's node)."""
    code = _code("organization", code)
    if (
        Organization.objects.filter(code=code).exclude(kind=Organization.Kind.CUSTOMER).exists()
        or OrganizationFact.objects.filter(code=code).exists()
    ):
        return code
    raise InvalidEvidence(
        _("organization: no organization %(code)r on this node nor in its registry")
        % {"code": code},
        field="organization",
    )


def administered_directorate(user: Any) -> Organization | None:
    """The one national directorate whose registers ``user`` administers today, if any
    (the pages ask it to answer anyone else with 403 before a form is shown)."""
    if not getattr(user, "is_authenticated", False):
        return None
    memberships = [
        m
        for m in Membership.objects.filter(
            user=user,
            role=ADMINISTERED_BY,
            active=True,
            organization__kind=Organization.Kind.DIRECTORATE,
        ).select_related("organization")
        if m.valid_until is None or m.valid_until >= timezone.localdate()
    ]
    return memberships[0].organization if len(memberships) == 1 else None


def _authority(actor: Any) -> Organization:
    """The directorate whose registers ``actor`` administers (403 otherwise)."""
    person = acting_person(actor, action="entering the national registers")
    directorate = administered_directorate(person)
    if directorate is None:
        raise NotPermitted(
            _("entering the national registers needs the role %(role)s in one national directorate")
            % {"role": Role(ADMINISTERED_BY).label.lower()}
        )
    return directorate


def _insert(fact: models.Model, actor: Any, authority: Organization, action: str) -> None:
    """``fact`` inserted (the same key twice: 409) and audited, in the caller's transaction."""
    try:
        with transaction.atomic():
            fact.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            _("%(key)s: this decision is already registered") % {"key": fact.pk}, field="number"
        ) from None
    values = {
        f.attname: getattr(fact, f.attname)
        for f in fact._meta.concrete_fields
        if f.attname != "key"
    }
    audit.record(
        actor=actor,
        action=action,
        object_type=fact._meta.model_name or "fact",
        object_id=fact.pk,
        organization_id=authority.pk,
        after={k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()},
    )


# ------------------------------------------------------------------ patterns


@transaction.atomic
def approve_pattern(
    *,
    actor: Any,
    number: str,
    instrument_type: str,
    manufacturer: str,
    model: str,
    approved_on: date,
    valid_until: date | None,
) -> PatternDecisionFact:
    """Register a pattern approval decision (a number is approved once; its validity is
    later renewed, or the approval withdrawn)."""
    authority = _authority(actor)
    number = _number("number", number)
    _validity(approved_on, valid_until, "approved_on")
    if PatternDecisionFact.objects.filter(
        authority=authority.code, number=number, event=PatternDecisionFact.Event.APPROVED
    ).exists():
        raise Conflict(
            _("number: pattern %(number)s is already approved") % {"number": number},
            field="number",
        )
    fact = PatternDecisionFact(
        key=fact_key(authority.code, "pattern", number, "approved", approved_on),
        authority=authority.code,
        number=number,
        event=PatternDecisionFact.Event.APPROVED,
        at=timezone.now(),
        instrument_type=_code("instrument_type", instrument_type),
        manufacturer=_text("manufacturer", manufacturer),
        model=_text("model", model),
        approved_on=approved_on,
        valid_until=valid_until,
    )
    _insert(fact, actor, authority, "registry.pattern.approved")
    return fact


def _approved(authority: str, number: str) -> PatternDecisionFact:
    fact = PatternDecisionFact.objects.filter(
        authority=authority, number=number, event=PatternDecisionFact.Event.APPROVED
    ).first()
    if fact is None:
        raise Conflict(
            _("number: the register has no approval of pattern %(number)s") % {"number": number},
            field="number",
        )
    return fact


@transaction.atomic
def renew_pattern(
    *, actor: Any, number: str, renewed_on: date, valid_until: date | None
) -> PatternDecisionFact:
    """Register a renewal of an approved pattern's validity, from ``renewed_on``."""
    authority = _authority(actor)
    approved = _approved(authority.code, _number("number", number))
    _validity(renewed_on, valid_until, "renewed_on")
    fact = PatternDecisionFact(
        key=fact_key(authority.code, "pattern", approved.number, "renewed", renewed_on),
        authority=authority.code,
        number=approved.number,
        event=PatternDecisionFact.Event.RENEWED,
        at=timezone.now(),
        instrument_type=approved.instrument_type,
        manufacturer=approved.manufacturer,
        model=approved.model,
        approved_on=renewed_on,
        valid_until=valid_until,
    )
    _insert(fact, actor, authority, "registry.pattern.renewed")
    return fact


@transaction.atomic
def withdraw_pattern(*, actor: Any, number: str, withdrawn_on: date) -> PatternDecisionFact:
    """Register the withdrawal of a pattern approval from ``withdrawn_on`` on."""
    authority = _authority(actor)
    approved = _approved(authority.code, _number("number", number))
    fact = PatternDecisionFact(
        key=fact_key(authority.code, "pattern", approved.number, "withdrawn", withdrawn_on),
        authority=authority.code,
        number=approved.number,
        event=PatternDecisionFact.Event.WITHDRAWN,
        at=timezone.now(),
        instrument_type=approved.instrument_type,
        manufacturer=approved.manufacturer,
        model=approved.model,
        approved_on=approved.approved_on,
        valid_until=approved.valid_until,
        withdrawn_on=withdrawn_on,
    )
    _insert(fact, actor, authority, "registry.pattern.withdrawn")
    return fact


# ------------------------------------------------------------------ designations, verifiers

ScopedFact = DesignationFact | VerifierCertificationFact


def _grant(
    model: type[ScopedFact],
    register: str,
    event: str,
    *,
    actor: Any,
    number: str,
    organization: str,
    fields: Sequence[str],
    instrument_types: Sequence[str],
    valid_from: date,
    valid_until: date | None,
) -> ScopedFact:
    """A designation or a certification: an organization's (a verifier's) scope and validity."""
    authority = _authority(actor)
    number = _number("number", number)
    chosen, types = _scope(fields, instrument_types)
    _validity(valid_from, valid_until, "valid_from")
    fact = model(
        key=fact_key(authority.code, register, number, event, valid_from),
        authority=authority.code,
        number=number,
        organization=_known_organization(organization),
        event=event,
        at=timezone.now(),
        fields=chosen,
        instrument_types=types,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    _insert(fact, actor, authority, f"registry.{register}.{event}")
    return fact


def _end(
    model: type[ScopedFact],
    register: str,
    granted: str,
    event: str,
    ends: str,
    *,
    actor: Any,
    number: str,
    on: date,
    what: str,
) -> ScopedFact:
    """The end of a designation or a certification from ``on``: its latest grant repeated,
    with the day it ends (``ends``); ``what``, the refusal where the register holds no grant
    of ``number``."""
    authority = _authority(actor)
    number = _number("number", number)
    last = (
        model.objects.filter(authority=authority.code, number=number, event=granted)
        .order_by("-valid_from")
        .first()
    )
    if last is None:
        raise Conflict(what % {"number": number}, field="number")
    fact = model(
        key=fact_key(authority.code, register, number, event, on),
        authority=authority.code,
        number=number,
        organization=last.organization,
        event=event,
        at=timezone.now(),
        fields=last.fields,
        instrument_types=last.instrument_types,
        valid_from=last.valid_from,
        valid_until=last.valid_until,
        **{ends: on},
    )
    _insert(fact, actor, authority, f"registry.{register}.{event}")
    return fact


@transaction.atomic
def designate_organization(**decision: Any) -> DesignationFact:
    """Register the designation decision ``number``: ``organization`` may verify within the
    scope (``fields``, ``instrument_types``) from ``valid_from`` to ``valid_until``."""
    fact = _grant(DesignationFact, "designation", DesignationFact.Event.DESIGNATED, **decision)
    assert isinstance(fact, DesignationFact)
    return fact


@transaction.atomic
def withdraw_designation(*, actor: Any, number: str, withdrawn_on: date) -> DesignationFact:
    """Register the withdrawal of designation ``number`` from ``withdrawn_on`` on."""
    fact = _end(
        DesignationFact,
        "designation",
        DesignationFact.Event.DESIGNATED,
        DesignationFact.Event.WITHDRAWN,
        "withdrawn_on",
        actor=actor,
        number=number,
        on=withdrawn_on,
        what=_("number: the register has no designation %(number)s"),
    )
    assert isinstance(fact, DesignationFact)
    return fact


@transaction.atomic
def certify_verifier(**decision: Any) -> VerifierCertificationFact:
    """Register verifier's certificate ``number`` of a verifier of ``organization``, its
    scope (``fields``, ``instrument_types``) from ``valid_from`` to ``valid_until`` (a
    renewal is a new fact of the same number from its new ``valid_from``)."""
    fact = _grant(
        VerifierCertificationFact,
        "verifier",
        VerifierCertificationFact.Event.CERTIFIED,
        **decision,
    )
    assert isinstance(fact, VerifierCertificationFact)
    return fact


@transaction.atomic
def revoke_certification(*, actor: Any, number: str, revoked_on: date) -> VerifierCertificationFact:
    """Register the revocation of verifier's certificate ``number`` from ``revoked_on``."""
    fact = _end(
        VerifierCertificationFact,
        "verifier",
        VerifierCertificationFact.Event.CERTIFIED,
        VerifierCertificationFact.Event.REVOKED,
        "revoked_on",
        actor=actor,
        number=number,
        on=revoked_on,
        what=_("number: the register has no verifier's certificate %(number)s"),
    )
    assert isinstance(fact, VerifierCertificationFact)
    return fact
