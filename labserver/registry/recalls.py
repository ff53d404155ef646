"""The recall notices of the national registry: who must hear that a standard they relied on
was found out of tolerance.

On the national node the registry holds every center's facts. When a standard's
out-of-tolerance fact is there (written at home or replicated from its owner's node),
:func:`write_notices` traces it (:mod:`labserver.registry.trace`) and writes one
:class:`~labserver.registry.models.RecallNoticeFact` per affected certificate and per
affected standard, addressed to its issuer (its owner). The notices cross to each center by
the publication of its own notices (``manage.py federation publish --recalls``, a row filter
on the addressee), and the center opens its own nonconformity from them
(:mod:`labserver.nonconformities.notified`).

Written by a scheduled task (``manage.py registry_recalls notify``), not in the transaction
that brought the fact: an apply worker of logical replication must never run a trace, and a
certificate registered later than the fact (a center offline for a day) is caught by the
next run. The key of a notice is its fact's, its addressee's and its certificate's (or
standard's), so a run writes only what no run wrote before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from .models import RecallNoticeFact, StandardFact
from .trace import FOREVER, Tainted, tainted_standards, touched_certificates

__all__ = ["Notified", "notice_key", "notices_for", "write_notices"]


def notice_key(out_of_tolerance: str, issuer: str, kind: str, what: str) -> str:
    """The global key of a notice: the out-of-tolerance fact's key, the addressee, what."""
    return f"{out_of_tolerance}/notice/{issuer}/{kind}/{what}"


def _window_of(tainted: list[Tainted], owner: str, standard: str, used_on: date) -> Tainted:
    """The tainted window of ``(owner, standard)`` that covers ``used_on``, the shallowest."""
    covering = [
        t
        for t in tainted
        if (t.owner, t.standard) == (owner, standard) and t.start <= used_on <= t.end
    ]
    return min(covering, key=lambda t: t.depth)


def notices_for(fact: StandardFact, at: datetime) -> list[RecallNoticeFact]:
    """Every notice the out-of-tolerance ``fact`` calls for, as the registry stands now: one
    per registered certificate that relied on the standard (or on one it tainted) within its
    window, one per standard it tainted (a standard it calibrated, and so on)."""
    if fact.event != StandardFact.Event.OUT_OF_TOLERANCE or fact.since is None:
        raise ValueError(f"{fact.key}: not an out-of-tolerance fact with its day")
    tainted = tainted_standards(fact.owner, fact.standard, fact.since)
    common = {
        "at": at,
        "owner": fact.owner,
        "standard": fact.standard,
        "out_of_tolerance": fact.key,
        "since": fact.since,
        "found_on": timezone.localdate(fact.at),
    }
    notices = []
    for t in tainted[1:]:  # the seed is the standard itself
        kind = RecallNoticeFact.Kind.STANDARD
        notices.append(
            RecallNoticeFact(
                key=notice_key(fact.key, t.owner, kind, t.standard),
                issuer=t.owner,
                kind=kind,
                number=t.certificate,
                affected_standard=t.standard,
                via_owner=t.via[0],
                via_standard=t.via[1],
                depth=t.depth,
                used_on=t.start,
                window_start=t.start,
                window_end=None if t.end == FOREVER else t.end,
                **common,
            )
        )
    for touched in touched_certificates(fact.owner, fact.standard, fact.since, tainted=tainted):
        window = _window_of(tainted, touched.owner, touched.standard, touched.used_on)
        kind = RecallNoticeFact.Kind.CERTIFICATE
        notices.append(
            RecallNoticeFact(
                key=notice_key(fact.key, touched.issuer, kind, touched.number),
                issuer=touched.issuer,
                kind=kind,
                number=touched.number,
                via_owner=touched.owner,
                via_standard=touched.standard,
                depth=touched.depth + 1,
                used_on=touched.used_on,
                window_start=window.start,
                window_end=None if window.end == FOREVER else window.end,
                **common,
            )
        )
    return notices


@dataclass
class Notified:
    """What :func:`write_notices` did for one out-of-tolerance fact."""

    out_of_tolerance: str
    written: Counter[str] = field(default_factory=Counter)
    """New notices, by addressee."""
    already: int = 0
    """Notices an earlier run wrote."""

    def __str__(self) -> str:
        if not self.written:
            return f"{self.out_of_tolerance}: nothing new ({self.already} notice(s) written before)"
        to = ", ".join(f"{n} to {issuer}" for issuer, n in sorted(self.written.items()))
        return f"{self.out_of_tolerance}: {sum(self.written.values())} new notice(s): {to}"


def write_notices() -> list[Notified]:
    """Write the notices every out-of-tolerance fact of the registry calls for that no
    earlier run wrote, a transaction per fact; what each fact got, oldest fact first."""
    done = []
    facts = StandardFact.objects.filter(
        event=StandardFact.Event.OUT_OF_TOLERANCE, since__isnull=False
    )
    for fact in facts.order_by("at", "key"):
        with transaction.atomic():
            notices = notices_for(fact, timezone.now())
            known = set(
                RecallNoticeFact.objects.filter(out_of_tolerance=fact.key).values_list(
                    "key", flat=True
                )
            )
            new = [n for n in notices if n.key not in known]
            # another run at the same time: its notices are the same facts, kept once
            RecallNoticeFact.objects.bulk_create(new, ignore_conflicts=True)
            done.append(Notified(fact.key, Counter(n.issuer for n in new), len(notices) - len(new)))
    return done
