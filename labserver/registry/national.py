"""Reading the national registers: approved patterns, designated organizations and their
scopes, verifiers' certifications.

The registers are entered once, at the national node, by the directorate
(:mod:`labserver.accounts.registers`), and cross to the centers by logical replication (the
publication of the national registers, :mod:`labserver.federation.replication`). Here: an
entry's state on a day, and, on a node where ``CALTRACE_NATIONAL_REGISTERS`` is on, why a
run is refused (:func:`verifier_refusal`, :func:`pattern_refusal`): the registers as
replicated are the law's word on who may verify and which patterns are approved on a day.

A fact's key begins with the directorate's code (the ``authority``), then the register, the
number, the event and the day it takes effect: ``TCDL/pattern/PAT-1/approved/2026-01-05``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings

from .models import DesignationFact, PatternDecisionFact, VerifierCertificationFact

__all__ = [
    "InForce",
    "certification_state",
    "designation_refusal",
    "designation_state",
    "enforced",
    "fact_key",
    "pattern_refusal",
    "pattern_state",
    "verifier_refusal",
]


def enforced() -> bool:
    """Whether this node refuses runs against the national registers (the setting)."""
    return bool(getattr(settings, "CALTRACE_NATIONAL_REGISTERS", False))


def fact_key(authority: str, register: str, number: str, event: str, day: date) -> str:
    """The global key of a register's fact."""
    return f"{authority}/{register}/{number}/{event}/{day.isoformat()}"


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class InForce:
    """An entry of a register on a day: its facts (oldest first) and whether it is in force
    then; ``why`` says why not (empty when in force)."""

    number: str
    facts: list[Any]
    in_force: bool
    why: str

    @property
    def latest(self) -> Any:
        return self.facts[-1]


def _state(
    number: str,
    facts: list[Any],
    on: date,
    *,
    granted: tuple[str, ...],
    start: str,
    ended: str,
    end: str,
    what: str,
) -> InForce:
    """The entry in force on ``on`` when a ``granted`` fact covers that day (from its
    ``start`` to its ``valid_until``) and no ``ended`` fact took effect (its ``end``) on or
    before it."""
    if not facts:
        return InForce(number, [], False, f"the national register has no {what} {number}")
    for fact in facts:
        if fact.event == ended and getattr(fact, end) <= on:
            return InForce(
                number,
                facts,
                False,
                f"{what} {number} was {ended} from {getattr(fact, end).isoformat()}",
            )
    grants = [f for f in facts if f.event in granted]
    for fact in grants:
        begins = getattr(fact, start)
        if begins <= on and (fact.valid_until is None or on <= fact.valid_until):
            return InForce(number, facts, True, "")
    ends = [f.valid_until for f in grants if f.valid_until is not None]
    if grants and all(getattr(f, start) > on for f in grants):
        first = min(getattr(f, start) for f in grants)
        why = f"{what} {number} is in force only from {first.isoformat()}"
    elif ends:
        why = f"{what} {number} expired on {max(ends).isoformat()}"
    else:
        why = f"{what} {number} is not in force on {on.isoformat()}"
    return InForce(number, facts, False, why)


@dataclass(frozen=True)
class _Register:
    """How a register's facts say an entry is in force: its granting events and the field
    each starts from, the event that ends it and the field of the day it ends."""

    model: type[Any]
    granted: tuple[str, ...]
    start: str
    ended: str
    end: str
    what: str

    def state(self, number: str, on: date) -> InForce:
        facts = list(self.model.objects.filter(number=number).order_by("at", "key"))
        return _state(
            number,
            facts,
            on,
            granted=self.granted,
            start=self.start,
            ended=self.ended,
            end=self.end,
            what=self.what,
        )


_PATTERNS = _Register(
    PatternDecisionFact,
    ("approved", "renewed"),
    "approved_on",
    "withdrawn",
    "withdrawn_on",
    "pattern approval",
)
_VERIFIERS = _Register(
    VerifierCertificationFact,
    ("certified",),
    "valid_from",
    "revoked",
    "revoked_on",
    "verifier's certificate",
)
_DESIGNATIONS = _Register(
    DesignationFact, ("designated",), "valid_from", "withdrawn", "withdrawn_on", "designation"
)


def pattern_state(number: str, on: date) -> InForce:
    """Pattern approval ``number`` in the register, on ``on``."""
    return _PATTERNS.state(number, on)


def certification_state(number: str, on: date) -> InForce:
    """Verifier's certificate ``number`` in the register, on ``on``."""
    return _VERIFIERS.state(number, on)


def designation_state(number: str, on: date) -> InForce:
    """Designation ``number`` in the register, on ``on``."""
    return _DESIGNATIONS.state(number, on)


def _current_grant(state: InForce, granted: str, on: date) -> Any:
    """The grant of an entry in force that speaks for ``on``: the latest to begin on or
    before it (a renewal or an amendment of the scope is a new grant of the same number)."""
    held = [f for f in state.facts if f.event == granted]
    return max(
        (f for f in held if f.valid_from <= on), key=lambda f: f.valid_from, default=held[-1]
    )


def _covers(grant: Any, field: str, instrument_type: str) -> bool:
    """Whether a designation's or a certification's scope covers the work: its field of
    measurement, or its instrument type named on its own."""
    return field in grant.fields or instrument_type in grant.instrument_types


def verifier_refusal(
    *,
    username: str,
    certificate_number: str,
    organization: str,
    field: str,
    instrument_type: str,
    on: date,
) -> str | None:
    """Why the national register does not let ``username`` (holding the verifier's
    certificate ``certificate_number`` at ``organization``) verify ``instrument_type`` of
    ``field`` on ``on``; ``None`` when it does."""
    if not certificate_number:
        return (
            f"operator: {username} has no verifier's certificate number recorded, and the "
            "national register is enforced on this node"
        )
    state = certification_state(certificate_number, on)
    if not state.in_force:
        return f"operator: {username}: {state.why} (on {on.isoformat()})"
    current = _current_grant(state, VerifierCertificationFact.Event.CERTIFIED, on)
    if current.organization != organization:
        return (
            f"operator: {username}: verifier's certificate {certificate_number} is held at "
            f"{current.organization} in the national register, not at {organization}"
        )
    if not _covers(current, field, instrument_type):
        return (
            f"operator: {username}: verifier's certificate {certificate_number} covers "
            f"{', '.join(current.fields + current.instrument_types)} in the national "
            f"register, not the field '{field}' nor the instrument type '{instrument_type}'"
        )
    return None


def pattern_refusal(*, serial: str, pattern: str | None, on: date) -> str | None:
    """Why the national register does not let the instrument ``serial`` (of approved pattern
    ``pattern``) be verified on ``on``; ``None`` when it does."""
    if not pattern:
        return f"instrument: {serial} has no pattern approval, which its instrument type requires"
    state = pattern_state(pattern, on)
    if not state.in_force:
        return f"instrument: {serial}: {state.why} (on {on.isoformat()})"
    return None


def designation_refusal(
    *, organization: str, field: str, instrument_type: str, on: date
) -> str | None:
    """Why the national register does not let ``organization`` issue a verification
    certificate of an instrument of ``instrument_type`` (of ``field``) on ``on``; ``None``
    when one of its designations in force that day covers the type or its field.

    Verification is, by Circular 23/2013, "a control measure performed by a *designated*
    verification organization"; the designation decision names the organization's scope
    (the fields of measurement, or the instrument types) and its validity (Decree
    105/2016/NĐ-CP as amended by 154/2018/NĐ-CP): a certificate outside that scope, or
    after the designation lapsed or was withdrawn, is no legal verification. A calibration
    certificate needs no designation and is not asked about."""
    numbers = (
        DesignationFact.objects.filter(organization=organization)
        .order_by("number")
        .values_list("number", flat=True)
        .distinct()
    )
    reasons = []
    for number in numbers:
        state = designation_state(number, on)
        if not state.in_force:
            reasons.append(state.why)
            continue
        current = _current_grant(state, DesignationFact.Event.DESIGNATED, on)
        if current.organization != organization:
            reasons.append(f"designation {number} is held by {current.organization}")
        elif _covers(current, field, instrument_type):
            return None
        else:
            scope = ", ".join(current.fields + current.instrument_types)
            reasons.append(f"designation {number} covers {scope}")
    why = "; ".join(reasons) or "the national register has no designation of it"
    return (
        f"organization: {organization} holds no designation in force on {on.isoformat()} "
        f"covering the instrument type '{instrument_type}' (field '{field}'): {why}"
    )
