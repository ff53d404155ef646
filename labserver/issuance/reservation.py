"""Certificate numbers after a restore to an earlier instant: void what was issued after it.

Numbering is gap-free (:func:`labserver.core.numbering.next_value`): each series' counter
holds the last number given. A database restored to an instant T brings the counters back
as they were at T, but the certificates issued after T may already be with customers,
printed on a report or a QR code. Left alone, the next certificate would take the number
of the first one issued after T: one number, two instruments.

:func:`reserve_numbers` advances each counter past every number the LIMS can learn was
issued after T, and records each such number as a :class:`~.models.VoidedNumber` (the
public lookup then says it was voided, and when, rather than "unknown"):

* the certificate files left in the storage that no certificate names (the orphans of
  ``verify_storage``): issuing stores ``certificates/<org>/<year>/<number>.pdf`` and
  ``.dcc.xml``, so the file name carries the number; a verification's DCC also carries
  its mark's number, from the mark series' own counter;
* numbers given by hand (a customer shows a certificate the LIMS no longer has).

The published audit anchors and the open data carry no certificate number (an anchor
states a chain's length and head; the datasets are counts and the standards register),
so they cannot name one; an anchor written after T says only *that* entries were lost
(``verify_audit --anchors``).

Each counter advanced is one audit entry in its organization's chain, naming the numbers
voided, where each was learnt and why. Run again, it finds them voided already and the
counters past them: nothing is written twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.accounts.models import Organization
from labserver.core import audit
from labserver.core.errors import DomainError
from labserver.core.models import Counter

from .models import Certificate, VoidedNumber
from .services import SERIES
from .stored_files import DIRECTORY, verify_storage

#: ``<org>-HC-<year>-<sequence>`` or ``<org>-KD-…`` (services.py): the organization's code
#: is a slug and may itself hold hyphens, hence the anchored series in the middle.
_NUMBER = re.compile(r"^(?P<org>[-a-zA-Z0-9_]+)-(?P<series>HC|KD)-(?P<year>\d{4})-(?P<seq>\d{6,})$")
#: A verification mark, ``<org>-<yy>-<7 digits>`` (services.py), its own series per year.
_MARK = re.compile(r"^(?P<org>[-a-zA-Z0-9_]+)-(?P<yy>\d{2})-(?P<seq>\d{7,})$")
_KIND_OF_SERIES = {series: kind for kind, series in SERIES.items()}
#: The file endings issuing gives a certificate's number (services._produce).
_ENDINGS = (".pdf", ".dcc.xml")


class NumberRefused(DomainError, ValueError):
    """A number that cannot be voided as asked: malformed, of an organization not named,
    of no organization, or on record as an issued certificate or mark (names it)."""

    code = "number_refused"


@dataclass(frozen=True)
class IssuedNumber:
    """A certificate or verification mark number, parsed: whose series it is (``counter``,
    the key ``services._produce`` draws it from) and where in it."""

    number: str
    organization: str
    year: int
    sequence: int
    counter: str
    mark: bool = False


def parse_number(number: str, *, field: str = "number") -> IssuedNumber:
    """``number`` as a certificate or verification mark number of ours, or
    :class:`NumberRefused` naming it."""
    text = number.strip()
    if match := _NUMBER.match(text):
        org, year = match["org"], int(match["year"])
        kind = _KIND_OF_SERIES[match["series"]]
        counter = f"certificate:{org}:{kind}:{year}"
        return IssuedNumber(text, org, year, int(match["seq"]), counter)
    if match := _MARK.match(text):
        # Marks print the year's last two digits; the counter is keyed by the full year.
        org, year = match["org"], 2000 + int(match["yy"])
        return IssuedNumber(text, org, year, int(match["seq"]), f"mark:{org}:{year}", mark=True)
    raise NumberRefused(
        f"{field}: {number!r} is not a certificate number "
        "(<organization>-HC-<year>-<6 digits> or <organization>-KD-<year>-<6 digits>) "
        "nor a verification mark number (<organization>-<yy>-<7 digits>)",
        field=field,
    )


def number_of_file(path: str) -> IssuedNumber | None:
    """The certificate number a stored file's name carries, or None when the name is not
    one issuing gives (``certificates/<org>/<year>/<number>.pdf`` or ``.dcc.xml``)."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != DIRECTORY:
        return None
    base = parts[3]
    stem = next((base[: -len(e)] for e in _ENDINGS if base.endswith(e)), None)
    if stem is None:
        return None
    try:
        found = parse_number(stem)
    except NumberRefused:
        return None
    if found.mark or (found.organization, str(found.year)) != (parts[1], parts[2]):
        return None
    return found


@dataclass(frozen=True)
class Learnt:
    """A number to void and where it was learnt."""

    number: IssuedNumber
    source: VoidedNumber.Source
    evidence: str = ""


@dataclass
class Reservation:
    """What :func:`reserve_numbers` did: each counter advanced (from, to, numbers), and
    what it left because it was done already."""

    advanced: list[tuple[str, int, int, list[str]]] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    already_voided: list[str] = field(default_factory=list)
    unexplained_files: list[str] = field(default_factory=list)


def learn_from_storage() -> tuple[list[Learnt], list[str]]:
    """The numbers carried by the orphan files of the storage (the certificate's in the
    file name; a verification's mark inside its DCC), and the orphans whose name carries
    none (left for a person: they are reported, never guessed at)."""
    learnt: list[Learnt] = []
    unexplained: list[str] = []
    for problem in verify_storage().problems:
        if problem.kind != "orphan":
            continue
        found = number_of_file(problem.path)
        if found is None:
            unexplained.append(problem.path)
            continue
        learnt.append(Learnt(found, VoidedNumber.Source.FILE, problem.path))
        if problem.path.endswith(".dcc.xml"):
            mark = _mark_in(problem.path)
            # An amendment carries the mark of the certificate it replaces: a mark on record
            # is that certificate's, issued before the restore's target, not one to void.
            if (
                mark is not None
                and mark.organization == found.organization
                and not Certificate.objects.filter(mark_number=mark.number).exists()
            ):
                learnt.append(Learnt(mark, VoidedNumber.Source.FILE, problem.path))
    return learnt, unexplained


def _mark_in(path: str) -> IssuedNumber | None:
    """The verification mark number a stored DCC carries, parsed, or None."""
    from certificates.dcc import mark_number_of  # lxml: only when a DCC is read

    with default_storage.open(path, "rb") as handle:
        found = mark_number_of(handle.read())
    if found is None:
        return None
    try:
        mark = parse_number(found)
    except NumberRefused:
        return None
    return mark if mark.mark else None


def reserve_numbers(
    *,
    actor: object,
    given: list[str],
    organizations: list[str],
    reason: str,
    from_storage: bool = True,
) -> Reservation:
    """Void the numbers issued after a restore's target and advance their counters past
    them: those of the storage's orphan files (``from_storage``) and those ``given``.

    ``organizations`` (codes) limits the work to those organizations; a number given by
    hand must be of one of them, so that a mistyped code cannot void a number of another
    organization's series: with numbers given, at least one organization must be named.
    ``reason`` says why (the incident); it is on every audit entry and voided number.
    Refuses (:class:`NumberRefused`, nothing written) a malformed number, one of an
    organization not named or unknown, or one on record as an issued certificate.
    """
    if not reason.strip():
        raise NumberRefused("reason: say why the numbers are voided (the incident)", field="reason")
    known = {o.code: o for o in Organization.objects.all()}
    for code in organizations:
        if code not in known:
            raise NumberRefused(
                f"organization: no organization has the code {code!r}", field="organization"
            )
    if given and not organizations:
        raise NumberRefused(
            "organization: name the organization whose series the numbers given belong to",
            field="organization",
        )
    learnt = [Learnt(parse_number(n, field="number"), VoidedNumber.Source.GIVEN) for n in given]
    report = Reservation()
    if from_storage:
        files, report.unexplained_files = learn_from_storage()
        learnt += [f for f in files if not organizations or f.number.organization in organizations]
    for item in learnt:
        code = item.number.organization
        if code not in known or (
            item.source == VoidedNumber.Source.GIVEN and code not in organizations
        ):
            why = "which is not named (--organization)" if code in known else "which does not exist"
            raise NumberRefused(
                f"number: {item.number.number} is of the series of organization {code!r}, {why}",
                field="number",
            )
    numbers = [i.number.number for i in learnt]
    on_record = set(
        Certificate.objects.filter(number__in=numbers).values_list("number", flat=True)
    ) | set(
        Certificate.objects.filter(mark_number__in=numbers).values_list("mark_number", flat=True)
    )
    if on_record:
        raise NumberRefused(
            f"number: {', '.join(sorted(on_record))} is on record (an issued certificate "
            "or its verification mark), not a number to void",
            field="number",
        )
    by_counter: dict[str, dict[str, Learnt]] = {}
    for item in learnt:
        by_counter.setdefault(item.number.counter, {}).setdefault(item.number.number, item)
    for key in sorted(by_counter):
        _advance(key, by_counter[key], known, actor=actor, reason=reason, report=report)
    return report


def _advance(
    key: str,
    items: dict[str, Learnt],
    known: dict[str, Organization],
    *,
    actor: object,
    reason: str,
    report: Reservation,
) -> None:
    """One counter: void its new numbers and move it past them, with one audit entry."""
    with transaction.atomic():
        counter, _ = Counter.objects.select_for_update().get_or_create(key=key)
        done = set(
            VoidedNumber.objects.filter(number__in=list(items)).values_list("number", flat=True)
        )
        report.already_voided += sorted(done)
        new = [items[n] for n in sorted(items) if n not in done]
        highest = max(i.number.sequence for i in items.values())
        if not new and counter.value >= highest:
            return
        organization = known[next(iter(items.values())).number.organization]
        now = datetime.now(UTC)
        VoidedNumber.objects.bulk_create(
            VoidedNumber(
                organization=organization,
                number=i.number.number,
                counter=key,
                source=i.source,
                evidence=i.evidence,
                reason=reason,
                voided_at=now,
            )
            for i in new
        )
        before = counter.value
        counter.value = max(before, highest)
        counter.save(update_fields=["value"])
        audit.record(
            actor=actor,
            action="numbering.reserved",
            object_type="counter",
            object_id=key,
            organization_id=organization.pk,
            before={"value": before},
            after={
                "value": counter.value,
                "voided": [
                    {"number": i.number.number, "source": str(i.source), "evidence": i.evidence}
                    for i in new
                ],
            },
            reason=reason,
            at=now,
        )
    report.advanced.append((key, before, counter.value, [i.number.number for i in new]))
    report.voided += [i.number.number for i in new]


def voided(number: str) -> VoidedNumber | None:
    """The voiding of ``number``, when it was voided (the public lookup's second question,
    asked only when no certificate has the number)."""
    return VoidedNumber.objects.select_related("organization").filter(number=number).first()


def voided_notice(record: VoidedNumber) -> str:
    """What the public is told of a voided number, in the active language: that it was
    voided and when, and whom to ask. Not "unknown": someone may hold a certificate with
    this number, issued before the restore undid it; only its issuer can say what it is."""
    return _(
        "Number %(number)s was voided after a database restore on %(date)s: the issuing "
        "center (%(issuer)s) cannot confirm it. Ask %(issuer)s about the certificate that "
        "bears it."
    ) % {
        "number": record.number,
        "date": timezone.localdate(record.voided_at).isoformat(),
        "issuer": record.organization.name,
    }


def voided_answer(record: VoidedNumber) -> dict[str, object]:
    """The public lookup's answer for a voided number (API, status 410): the error body
    every API error has (``labserver.core.schema``), the notice as its ``detail``."""
    return {"code": "number_voided", "detail": voided_notice(record), "field": "number"}
