"""The public check of a certificate this node did not issue, answered from its registry.

The national node's registry holds the facts of every center's certificates
(:mod:`labserver.registry`), so it answers ``/verify/<number>`` and the public lookup for
any of them: the status (valid, superseded and by which certificate, revoked), the issuer,
the instrument and the SHA-256 of the signed PDF. An uploaded PDF is checked against the
issuing center's registered signing keys: byte for byte the PDF registered, signed by the
key the registry names for it, chaining to the roots the center registered. What the
registry never holds is never shown: no customer, no results, no reason of a revocation
(ask the issuer).

On a center's node the same code answers for nothing but its own facts, which its own
records already answer: only a national node (or a central node hosting several centers)
has facts it did not write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.federation.documents import Checked, document_state
from labserver.federation.models import DocumentCheck
from labserver.instruments.models import InstrumentType
from labserver.registry.lookup import (
    RegisteredCertificate,
    issuer_description,
    registered_certificate,
    registered_key,
    registered_trust_roots,
)
from labserver.registry.models import CertificateFact
from labserver.registry.records import RegistryConflict
from labserver.web.templatetags.names import local_name

from .models import CertificateKind

if TYPE_CHECKING:
    from certificates.verify import PdfVerification

    from .verification import Verdict

__all__ = [
    "check_fetched_pdf",
    "registered_page_context",
    "registered_public",
    "verify_registered_upload",
]


def lookup(number: str) -> RegisteredCertificate | None:
    """The registry's answer for ``number``; None when it has none or when its facts
    conflict (the conflict is the feed's to report, never an answer to the public)."""
    try:
        return registered_certificate(number)
    except RegistryConflict:
        return None


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _day(moment: datetime | None, zone: ZoneInfo | None) -> date | None:
    """The calendar day of ``moment`` in the issuer's zone (UTC when the registry has none)."""
    if moment is None:
        return None
    return timezone.localdate(moment, zone or ZoneInfo("UTC"))


def _kind(issued: CertificateFact) -> str:
    """The kind as the issuer's own lookup states it (a notice is a failed verification)."""
    return CertificateKind.VERIFICATION if issued.kind == "notice" else issued.kind


@dataclass(frozen=True, slots=True)
class _Shown:
    registered: RegisteredCertificate
    name: str
    accreditation: str
    zone: ZoneInfo | None
    superseded_on: date | None
    revoked_on: date | None


def _shown(registered: RegisteredCertificate) -> _Shown:
    described = issuer_description(registered.issuer)
    zone = _zone(described.time_zone) if described else None
    superseded_on = None
    if registered.superseded_by:
        replacement = lookup(registered.superseded_by)
        superseded_on = (
            replacement.issued_on if replacement else _day(registered.superseded_at, zone)
        )
    return _Shown(
        registered,
        described.name if described else registered.issuer,
        described.accreditation if described else "",
        zone,
        superseded_on,
        _day(registered.revoked_at, zone),
    )


def registered_public(number: str) -> dict[str, Any] | None:
    """The public lookup's answer (``labserver.issuance.public``'s shape) from the registry."""
    registered = lookup(number)
    if registered is None:
        return None
    shown = _shown(registered)
    issued = registered.issued
    kind = InstrumentType.objects.filter(code=issued.instrument_type).first()
    return {
        "number": issued.number,
        "kind": _kind(issued),
        "status": registered.status,
        "issuer": {
            "name": shown.name,
            "accreditation": shown.accreditation or None,
            "code": issued.issuer,
        },
        "instrument": {
            "type": kind.name if kind else issued.instrument_type,
            "type_vi": (kind.name_vi or None) if kind else None,
            "manufacturer": issued.manufacturer,
            "model": issued.model,
            "serial": issued.serial,
        },
        "performed_on": None,  # the registry does not hold the run
        "issued_on": issued.issued_on.isoformat(),
        "mark_number": issued.mark or None,
        "valid_until": issued.valid_until.isoformat() if issued.valid_until else None,
        "supersedes": issued.supersedes or None,
        "superseded_by": registered.superseded_by,
        "superseded_on": shown.superseded_on.isoformat() if shown.superseded_on else None,
        "revoked_on": shown.revoked_on.isoformat() if shown.revoked_on else None,
        "revoked_reason": None,  # free text stays with the issuer
        "pdf_sha256": issued.pdf_sha256,
        "pdf_check": _pdf_check(issued),
        "answered_from": "registry",
    }


def _pdf_check(issued: CertificateFact) -> dict[str, Any]:
    """Whether this node fetched the signed PDF from its issuer and verified it
    (:mod:`labserver.federation.documents`): ``verified``, ``flagged`` (it could not be
    verified) or ``unchecked``, and when."""
    state, at = document_state(issued.key)
    return {"state": state, "checked_at": at.isoformat() if at else None}


def _checked_on(issued: CertificateFact, zone: ZoneInfo | None) -> SimpleNamespace:
    """The page's :func:`_pdf_check`: the state, and the day of the check in the issuer's
    zone."""
    state, at = document_state(issued.key)
    return SimpleNamespace(state=state, checked_on=_day(at, zone))


def registered_page_context(registered: RegisteredCertificate) -> dict[str, Any]:
    """The verification page's context for a registered certificate: the same names as
    for a certificate issued here, from the registry's facts."""
    shown = _shown(registered)
    issued = registered.issued
    kind = InstrumentType.objects.filter(code=issued.instrument_type).first()
    failed = registered.failed
    return {
        "certificate": SimpleNamespace(
            number=issued.number,
            get_kind_display=CertificateKind(_kind(issued)).label,
            organization=SimpleNamespace(name=shown.name, accreditation=shown.accreditation),
            mark_number=issued.mark,
            valid_until=issued.valid_until,
            supersedes=SimpleNamespace(number=issued.supersedes) if issued.supersedes else None,
            pdf_sha256=issued.pdf_sha256,
        ),
        "state": SimpleNamespace(
            status=registered.status,
            superseded_by=(
                SimpleNamespace(number=registered.superseded_by)
                if registered.superseded_by
                else None
            ),
            superseded_at=shown.superseded_on,
            revoked_at=shown.revoked_on,
            revoked_reason="",
        ),
        "instrument": SimpleNamespace(
            manufacturer=issued.manufacturer, model=issued.model, serial=issued.serial
        ),
        "instrument_type": local_name(kind) if kind else issued.instrument_type,
        "performed_on": None,
        "issued_on": issued.issued_on,
        "failed": failed,
        "registered": True,
        "pdf_check": _checked_on(issued, shown.zone),
        "issuer_code": issued.issuer,
        "zone": shown.zone,
    }


def verify_registered_upload(data: bytes, number_hint: str | None = None) -> Verdict | None:
    """The verdict on an uploaded file that matches no certificate issued here, from the
    registry (None when the registry has nothing of it either)."""
    from .verification import MAX_CANDIDATES, NUMBER, Verdict  # it imports us

    digest = hashlib.sha256(data).hexdigest()
    # One query, whatever the upload: the registered PDF of this hash, or the first of the
    # file's number-shaped strings (at most 64, as for our own) that the registry holds.
    candidates = [number_hint] if number_hint else []
    for match in NUMBER.finditer(data):
        candidates.append(match.group(1).decode("ascii"))
        if len(dict.fromkeys(candidates)) >= MAX_CANDIDATES:
            break
    candidates = list(dict.fromkeys(candidates))[:MAX_CANDIDATES]
    found = dict(
        CertificateFact.objects.filter(
            Q(pdf_sha256=digest) | Q(number__in=candidates), event=CertificateFact.Event.ISSUED
        ).values_list("pdf_sha256", "number")[: MAX_CANDIDATES + 1]
    )
    number = found.get(digest) or next((n for n in candidates if n in found.values()), None)
    registered = lookup(number) if number is not None else None
    if registered is None:
        return None
    issued = registered.issued
    problems: list[str] = []
    check, unreadable = _registered_signature(data, issued.issuer)
    if check is None:
        problems.append(
            _("The file is not a signed PDF we can read: %(reason)s") % {"reason": unreadable}
        )
    verdict = Verdict("valid", digest, number=issued.number, issued_sha256=issued.pdf_sha256)
    if check is not None:
        verdict.signed_at, verdict.signer, verdict.level = (
            check.signed_at,
            check.signer_subject,
            check.level,
        )
        problems.extend(check.problems)
    shown = _shown(registered)
    verdict.superseded_by = registered.superseded_by
    verdict.revoked_at = registered.revoked_at
    if digest != issued.pdf_sha256:
        verdict.status = "altered"
        problems.insert(
            0,
            _(
                "This file is not the one issued as certificate %(number)s: "
                "its content differs from the issued PDF."
            )
            % {"number": issued.number},
        )
    elif (
        check is None
        or not (check.intact and check.trusted and check.covers_whole_file)
        or check.signer_fingerprint != issued.signer_fingerprint
    ):
        verdict.status = "altered"
        problems.insert(0, _("The signature of this file does not validate."))
    elif registered.status == "revoked":
        verdict.status = "revoked"
        problems.append(
            _("Certificate %(number)s was revoked on %(day)s; its issuer states why.")
            % {"number": issued.number, "day": shown.revoked_on}
        )
    elif registered.status == "superseded":
        verdict.status = "superseded"
        problems.append(
            _("Certificate %(number)s was replaced by certificate %(replacement)s.")
            % {"number": issued.number, "replacement": registered.superseded_by}
        )
    verdict.problems = problems
    return verdict


def _registered_signature(data: bytes, issuer: str) -> tuple[PdfVerification | None, str]:
    """The PAdES validation of ``data`` against the roots ``issuer`` registered, or None and
    why the file cannot be read as a signed PDF."""
    from certificates.errors import VerificationError
    from certificates.verify import verify_pdf

    from .verification import roots_of  # it imports us

    try:
        return verify_pdf(data, trust_roots=roots_of(registered_trust_roots(issuer))), ""
    except VerificationError as exc:
        return None, exc.message


def check_fetched_pdf(issued: CertificateFact, data: bytes) -> Checked:
    """The national node's check of a signed PDF fetched from its issuer
    (:mod:`labserver.federation.documents`): the same validation as an uploaded file's, and
    stricter on the key, since the registry's record is accepted on it: the bytes are the
    PDF the fact registered, the signature is intact and covers the whole file, its signer
    is the fact's key, a key the issuer registered, chaining to the roots it registered.
    The detail names what failed (in English: it is the operator's, in the log and the
    status)."""
    digest = hashlib.sha256(data).hexdigest()
    where = f"certificate {issued.number} of {issued.issuer} (fact {issued.key})"
    if digest != issued.pdf_sha256:
        return Checked(
            DocumentCheck.Outcome.HASH_MISMATCH,
            f"{where}: the PDF fetched has SHA-256 {digest}, the fact registered "
            f"{issued.pdf_sha256}",
        )
    check, unreadable = _registered_signature(data, issued.issuer)
    if check is None:
        return Checked(
            DocumentCheck.Outcome.BAD_SIGNATURE, f"{where}: not a signed PDF: {unreadable}"
        )
    if not (check.intact and check.covers_whole_file):
        failed = "is not intact" if not check.intact else "does not cover the whole file"
        return Checked(
            DocumentCheck.Outcome.BAD_SIGNATURE,
            f"{where}: the signature {failed}: {'; '.join(check.problems)}".rstrip(": "),
        )
    if check.signer_fingerprint != issued.signer_fingerprint:
        return Checked(
            DocumentCheck.Outcome.UNREGISTERED_KEY,
            f"{where}: signed by the key {check.signer_fingerprint}, the fact names "
            f"{issued.signer_fingerprint}",
        )
    if not registered_key(issued.issuer, check.signer_fingerprint):
        return Checked(
            DocumentCheck.Outcome.UNREGISTERED_KEY,
            f"{where}: the key {check.signer_fingerprint} is not a signing key "
            f"{issued.issuer} registered",
        )
    if not check.trusted:
        return Checked(
            DocumentCheck.Outcome.UNREGISTERED_KEY,
            f"{where}: the signer's certificate does not chain to the roots {issued.issuer} "
            f"registered: {'; '.join(check.problems)}".rstrip(": "),
        )
    return Checked(DocumentCheck.Outcome.VERIFIED)
