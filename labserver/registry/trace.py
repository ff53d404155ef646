"""The reverse trace over the registry: every registered certificate a reference standard
touched, at any depth, in every node whose facts the registry holds.

On the national node the registry gathers every center's facts, so a standard found out of
tolerance (a national standard, say) is traced through every center: the certificates
that relied on it directly, and those that relied on a standard it calibrated, and so on.

The recursion runs over ``(standard, window)``. The seed is the standard over
``[since, until]``. Each step takes the link facts in which a tainted standard calibrated
another one within its window; the certificate so produced taints the calibrated standard
over the window in which that certificate was in force: from its calibration day until
the next registered calibration of the same standard (open-ended when there is none — a
use after its due date still relied on it). A standard reached again over a window it was
already tainted over adds nothing, so cycles end; the depth stops at :data:`MAX_DEPTH`.
Then the reliance facts of every tainted standard within its window name the certificates,
each with the smallest depth it was reached at and the standard it relied on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from .models import CalibrationLinkFact, CertificateFact, RelianceFact, StandardFact

__all__ = ["MAX_DEPTH", "Tainted", "Touched", "tainted_standards", "touched_certificates"]

MAX_DEPTH = 20
FOREVER = date(9999, 12, 31)


@dataclass(frozen=True, slots=True)
class Tainted:
    """A standard relied on over ``[start, end]``, reached at ``depth`` (0: the seed)
    through ``certificate`` (its calibration by the standard above; empty for the seed)."""

    owner: str
    standard: str
    start: date
    end: date
    depth: int
    certificate: str = ""
    via: tuple[str, str] = ("", "")
    """The standard above that calibrated it, (owner, asset id); empty for the seed."""


@dataclass(frozen=True, slots=True)
class Touched:
    """A registered certificate that relied on a tainted standard."""

    issuer: str
    number: str
    used_on: date
    owner: str
    standard: str
    depth: int
    status: str
    """The certificate's status as the registry knows it: valid, superseded or revoked."""


def _windows(calibrated: Iterable[StandardFact]) -> dict[tuple[str, str, str], tuple[date, date]]:
    """Each calibration certificate's window of force: its day to the next one's."""
    by_standard: dict[tuple[str, str], list[StandardFact]] = {}
    for fact in calibrated:
        by_standard.setdefault((fact.owner, fact.standard), []).append(fact)
    windows = {}
    for (owner, standard), facts in by_standard.items():
        facts.sort(key=lambda f: (f.calibrated_on or FOREVER, f.key))
        for fact, after in zip(facts, [*facts[1:], None], strict=True):
            start = fact.calibrated_on or FOREVER
            end = after.calibrated_on if after is not None and after.calibrated_on else FOREVER
            windows[(owner, standard, fact.certificate)] = (start, end)
    return windows


def tainted_standards(
    owner: str, standard: str, since: date, until: date | None = None
) -> list[Tainted]:
    """The standards the seed's use over ``[since, until]`` taints, with their windows."""
    seed = Tainted(owner, standard, since, until or FOREVER, 0)
    found = [seed]
    seen = {(owner, standard, seed.start, seed.end)}
    level = [seed]
    for depth in range(1, MAX_DEPTH + 1):
        if not level:
            break
        within = Q()
        for t in level:
            within |= Q(
                upstream_owner=t.owner,
                upstream_standard=t.standard,
                used_on__gte=t.start,
                used_on__lte=t.end,
            )
        links = list(CalibrationLinkFact.objects.filter(within))
        if not links:
            break
        calibrated = StandardFact.objects.filter(
            event=StandardFact.Event.CALIBRATED,
            owner__in={link.owner for link in links},
            standard__in={link.standard for link in links},
        )
        windows = _windows(calibrated)
        level = []
        for link in links:
            window = windows.get((link.owner, link.standard, link.certificate))
            if window is None:  # a link to a calibration never registered: from its day on
                window = (link.used_on, FOREVER)
            key = (link.owner, link.standard, *window)
            if key in seen:
                continue
            seen.add(key)
            tainted = Tainted(
                link.owner,
                link.standard,
                *window,
                depth,
                link.certificate,
                (link.upstream_owner, link.upstream_standard),
            )
            found.append(tainted)
            level.append(tainted)
    return found


def touched_certificates(
    owner: str,
    standard: str,
    since: date,
    until: date | None = None,
    *,
    tainted: list[Tainted] | None = None,
) -> list[Touched]:
    """Every registered certificate that relied on the standard, or on one it tainted,
    within the windows of :func:`tainted_standards` (``tainted``, when the caller has them
    already): by issuer and number, each once at its smallest depth."""
    if tainted is None:
        tainted = tainted_standards(owner, standard, since, until)
    within = Q()
    for t in tainted:
        within |= Q(
            standard_owner=t.owner, standard=t.standard, used_on__gte=t.start, used_on__lte=t.end
        )
    depth = {(t.owner, t.standard, t.start, t.end): t.depth for t in tainted}
    best: dict[tuple[str, str], tuple[int, RelianceFact]] = {}
    for fact in RelianceFact.objects.filter(within):
        reached = min(
            d
            for (o, s, start, end), d in depth.items()
            if (o, s) == (fact.standard_owner, fact.standard) and start <= fact.used_on <= end
        )
        key = (fact.issuer, fact.number)
        if key not in best or reached < best[key][0]:
            best[key] = (reached, fact)
    events: dict[tuple[str, str], set[str]] = {}
    numbers = {number for _, number in best}
    for issuer, number, event in CertificateFact.objects.filter(number__in=numbers).values_list(
        "issuer", "number", "event"
    ):
        events.setdefault((issuer, number), set()).add(event)
    touched = []
    for (issuer, number), (reached, fact) in best.items():
        seen = events.get((issuer, number), set())
        status = (
            "revoked" if "revoked" in seen else "superseded" if "superseded" in seen else "valid"
        )
        touched.append(
            Touched(
                issuer, number, fact.used_on, fact.standard_owner, fact.standard, reached, status
            )
        )
    touched.sort(key=lambda t: (t.depth, t.issuer, t.number))
    return touched
