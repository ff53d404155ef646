"""What is to be told today, and to whom: the catalogue of notifications.

Each function returns :class:`Item` s, one per (person, record, occasion). The people are a
customer organization's active people with the customer role and an e-mail address; each
item names only records of an organization the person belongs to, so nobody is told about
another organization's instruments. Whether a person wants the kind, and whether the item
was already sent, is for :mod:`.services` to decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from labserver.accounts.models import Membership, Role, User
from labserver.instruments.models import Instrument
from labserver.issuance.models import Certificate, CertificateKind, CertificateStatus
from labserver.issuance.services import certificate_state
from labserver.nonconformities.letters import Letter, letters_for
from labserver.nonconformities.models import Decision
from labserver.portal.customers import DueBasis, due_date, with_certificates

from .models import Kind

#: Days before the due date at which the owners are told, widest first.
THRESHOLDS = (90, 60, 30)
#: Instruments read at a time when looking for those falling due.
CHUNK = 500


@dataclass(frozen=True)
class Item:
    """One record to tell one person about. ``group`` gathers the items that travel in one
    e-mail (the instruments of one threshold, the certificates of one letter); ``facts`` are
    what the e-mail prints of the record."""

    kind: str
    recipient: User
    organization_id: int  # the center whose record it is
    subject: str
    occasion: str
    group: str
    facts: dict[str, Any] = field(default_factory=dict, compare=False)


def public_link(url_name: str, *args: Any) -> str:
    """An address of the LIMS as a person outside reads it (``CALTRACE_PUBLIC_URL``)."""
    return str(settings.CALTRACE_PUBLIC_URL).rstrip("/") + reverse(url_name, args=args)


def customers_people(organization_ids: Iterable[int]) -> dict[int, list[User]]:
    """The people to tell of each customer organization: active, customer role, an address."""
    people: dict[int, list[User]] = {}
    memberships = (
        Membership.objects.filter(
            organization__in=set(organization_ids),
            role=Role.CUSTOMER,
            active=True,
            user__is_active=True,
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("organization_id", "user_id")
    )
    for membership in memberships:
        people.setdefault(membership.organization_id, []).append(membership.user)
    return people


def threshold(days_left: int) -> int | None:
    """The narrowest threshold ``days_left`` has crossed (None: none yet, or already due).

    Days only go down, so after a missed run the owner is told the narrower threshold once
    rather than each wider one late."""
    if days_left < 0:
        return None
    crossed = [t for t in THRESHOLDS if days_left <= t]
    return min(crossed) if crossed else None


def _instrument_facts(instrument: Instrument) -> dict[str, Any]:
    return {
        "instrument_type": instrument.instrument_type,
        "instrument": f"{instrument.manufacturer} {instrument.model}",
        "serial": instrument.serial,
        "link": public_link("portal:instrument", instrument.pk),
    }


def _chunks(instruments: QuerySet[Instrument]) -> Iterator[list[Instrument]]:
    chunk: list[Instrument] = []
    for instrument in instruments.iterator(chunk_size=CHUNK):
        chunk.append(instrument)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def falling_due(today: date) -> list[Item]:
    """Each active instrument whose current certificate falls due within 90 days, to each
    of its owner's people, at the narrowest threshold it has crossed (its due date is the
    portal's: :func:`labserver.portal.customers.due_date`)."""
    people = customers_people(
        Membership.objects.filter(role=Role.CUSTOMER, active=True).values_list(
            "organization_id", flat=True
        )
    )
    instruments = (
        Instrument.objects.filter(owner__in=people, active=True)
        .select_related("instrument_type")
        .order_by("owner_id", "instrument_type__code", "serial", "pk")
    )
    items = []
    for chunk in _chunks(instruments):
        for row in with_certificates(chunk):
            current = row.current
            if current is None or current.due_on is None:
                continue
            crossed = threshold((current.due_on - today).days)
            if crossed is None:
                continue
            facts = {
                **_instrument_facts(row.instrument),
                "certificate": current.certificate.number,
                "due_on": current.due_on,
                "days_left": (current.due_on - today).days,
            }
            for person in people[row.instrument.owner_id]:
                items.append(
                    Item(
                        kind=Kind.DUE,
                        recipient=person,
                        organization_id=row.instrument.organization_id,
                        subject=f"certificate:{current.certificate.number}",
                        occasion=str(crossed),
                        group=f"due:{crossed}",
                        facts=facts,
                    )
                )
    return items


def _window(today: date) -> tuple[date, date]:
    """The days whose certificates and recalls a run still tells about (a later run
    retries what failed within them)."""
    return today - timedelta(days=int(settings.CALTRACE_NOTIFICATIONS_WINDOW_DAYS)), today


def issued_certificates(today: date) -> list[Item]:
    """Each certificate issued in the window and still valid, to its instrument's owner's
    people, one e-mail each."""
    first, last = _window(today)
    certificates = (
        Certificate.objects.filter(
            issued_at__date__gte=first - timedelta(days=1),
            issued_at__date__lte=last + timedelta(days=1),
        )
        .select_related(
            "organization",
            "run__job__instrument__instrument_type",
            "position__job__instrument__instrument_type",
        )
        .prefetch_related("events")
        .order_by("issued_at", "pk")
    )
    chosen = [
        c
        for c in certificates
        if first <= timezone.localdate(c.issued_at, c.organization.zone) <= last
        and certificate_state(c).status == CertificateStatus.VALID
    ]
    people = customers_people(c.job.instrument.owner_id for c in chosen)
    items = []
    for certificate in chosen:
        instrument = certificate.job.instrument
        due, basis = due_date(certificate)
        facts = {
            **_instrument_facts(instrument),
            "certificate": certificate.number,
            "kind": CertificateKind(certificate.kind).label,  # lazy: the reader's language
            "issued_on": timezone.localdate(certificate.issued_at, certificate.organization.zone),
            "due_on": due,
            "recommended": basis == DueBasis.RECOMMENDED,
            "verify_url": certificate.verify_url,
            "center": certificate.organization.name,
        }
        for person in people.get(instrument.owner_id, []):
            items.append(
                Item(
                    kind=Kind.ISSUED,
                    recipient=person,
                    organization_id=certificate.organization_id,
                    subject=f"certificate:{certificate.number}",
                    occasion="",
                    group=f"issued:{certificate.number}",
                    facts=facts,
                )
            )
    return items


def recall_letters(today: date) -> list[Item]:
    """The letter of each nonconformity whose recall decisions in force were taken in the
    window, to the people of each customer it is addressed to: an item per recalled
    certificate, the letter (:func:`labserver.nonconformities.letters.letters_for`) with
    them."""
    first, last = _window(today)
    decisions = Decision.objects.filter(
        action=Decision.Action.RECALL,
        superseded_by__isnull=True,
        decided_at__date__gte=first - timedelta(days=1),
        decided_at__date__lte=last + timedelta(days=1),
    ).select_related(
        "nonconformity__organization",
        "certificate__run__job__instrument__owner",
        "certificate__position__job__instrument__owner",
    )
    letters: dict[tuple[int, str], Any] = {}
    for decision in decisions:
        nonconformity = decision.nonconformity
        if (
            not first
            <= timezone.localdate(decision.decided_at, nonconformity.organization.zone)
            <= last
        ):
            continue
        owner = decision.certificate.job.instrument.owner
        letters.setdefault((nonconformity.pk, owner.code), (nonconformity, owner))
    items = []
    people = customers_people(owner.pk for _nc, owner in letters.values())
    for nonconformity, owner in letters.values():
        [letter] = letters_for(nonconformity, owner.code)
        for person in people.get(owner.pk, []):
            items.extend(_letter_items(letter, person, nonconformity))
    return items


def _letter_items(letter: Letter, person: User, nonconformity: Any) -> list[Item]:
    return [
        Item(
            kind=Kind.RECALL,
            recipient=person,
            organization_id=nonconformity.organization_id,
            subject=f"certificate:{recalled.number}",
            occasion=nonconformity.number,
            group=f"recall:{letter.reference}",
            facts={"letter": letter, "recalled": recalled},
        )
        for recalled in letter.certificates
    ]


def everything(today: date) -> list[Item]:
    """All three kinds, for the run of ``today``."""
    return [*falling_due(today), *issued_certificates(today), *recall_letters(today)]
