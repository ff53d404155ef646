"""Issuing, amending and revoking certificates; revoking signing keys. Each audited.

Issuing is one transaction: the number (gap-free per organization, kind and year, from
:func:`labserver.core.numbering.next_value`, locked until the transaction ends), the
document, its DCC, the PDF, the signature, the stored files and their SHA-256, the
certificate row and the audit entry. Anything that fails (an incomplete record, a
signing key that is revoked or cannot sign) rolls it all back, the number included:
no number is ever burnt.

Files are written just before the row, inside the transaction, under hidden temporary
names, and moved to their final names only once the transaction has committed
(:mod:`.staging`): a signed PDF is never visible without its committed record. A
rollback removes the temporaries; a process killed before the commit leaves a temporary
that ``manage.py verify_storage --repair`` deletes, and one killed between the commit and
the move leaves a temporary that the same sweep publishes (its SHA-256 is on the record).

Once the issuing transaction commits, the organization's audit chain is anchored
(signed where it stands, :mod:`labserver.issuance.anchors`); an anchor that fails is logged
and never undoes the certificate.

Numbers: calibration ``<org>-HC-<year>-<6 digits>`` (hiệu chuẩn) and verification
``<org>-KD-<year>-<6 digits>`` (kiểm định), two series per organization and year;
verification marks ``<org>-<yy>-<7 digits>``, one series per organization and year.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labserver.accounts.access import require_field, require_role
from labserver.accounts.lockout import check_signature_password, counts_signature_failures
from labserver.accounts.models import Role, User
from labserver.core import audit
from labserver.core.errors import Conflict, InvalidEvidence, InvalidTransition, NotInRegister
from labserver.core.models import AuditAnchor
from labserver.core.numbering import next_value
from labserver.jobs.models import JobState
from labserver.jobs.services import locked_job, move_job
from labserver.measurements.models import PositionState, Run, RunPosition, RunState
from labserver.registry import national

from .anchors import anchor_after_commit
from .documents import IncompleteRecord, carries_mark, document_for
from .keys import SigningUnavailable, signer_for
from .models import (
    Certificate,
    CertificateEvent,
    CertificateKind,
    CertificateStatus,
    SigningKeyRecord,
)
from .registered import register_issued, register_key, register_key_revoked, register_revoked
from .staging import StagedFile, discard, publish, stage

if TYPE_CHECKING:
    from certificates.document import CertificateDocument

log = logging.getLogger(__name__)

__all__ = [
    "CertificateState",
    "amend_certificate",
    "certifiable_positions",
    "certificate_state",
    "issue_certificate",
    "preview_certificate",
    "revoke_certificate",
    "revoke_signing_key",
    "verify_url",
]

SERIES = {CertificateKind.CALIBRATION: "HC", CertificateKind.VERIFICATION: "KD"}


@dataclass(frozen=True)
class CertificateState:
    """A certificate's status now, derived from its events."""

    status: str
    superseded_by: Certificate | None = None
    superseded_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str = ""


def certificate_state(certificate: Certificate) -> CertificateState:
    """Valid, superseded (by which, when) or revoked (when, why): revocation counts first."""
    events = {e.kind: e for e in certificate.events.all()}
    revoked = events.get(CertificateEvent.Kind.REVOKED)
    superseded = events.get(CertificateEvent.Kind.SUPERSEDED)
    if revoked is not None:
        return CertificateState(
            CertificateStatus.REVOKED,
            superseded_by=superseded.replacement if superseded else None,
            superseded_at=superseded.at if superseded else None,
            revoked_at=revoked.at,
            revoked_reason=revoked.reason,
        )
    if superseded is not None:
        return CertificateState(
            CertificateStatus.SUPERSEDED,
            superseded_by=superseded.replacement,
            superseded_at=superseded.at,
        )
    return CertificateState(CertificateStatus.VALID)


def verify_url(number: str) -> str:
    """The public verification page of certificate ``number`` (the QR code's target)."""
    base = str(settings.CALTRACE_PUBLIC_URL).rstrip("/")
    return f"{base}/verify/{number}"


def _locked_run(run: Run) -> Run:
    return (
        Run.objects.select_for_update(of=("self",))
        .select_related(
            "organization",
            "procedure",
            "job__instrument__instrument_type",
            "job__instrument__owner",
        )
        .get(pk=run.pk)
    )


def _require_signatory(actor: User, run: Run, action: str) -> None:
    require_role(actor, run.organization_id, Role.SIGNATORY, action=action)
    require_field(actor, run.organization_id, Role.SIGNATORY, run.procedure.field, action=action)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Issue:
    """One certificate to produce inside the issuing transaction."""

    actor: User
    run: Run
    issued_at: datetime
    supersedes: Certificate | None = None
    reason: str = ""
    mark_number: str = ""
    valid_until: date | None = None
    position: RunPosition | None = None


def _checked(document: CertificateDocument) -> CertificateDocument:
    """``document`` if it states all its kind requires, else the record at fault (422)."""
    from certificates.errors import DocumentError

    try:
        document.check()
    except DocumentError as exc:
        raise IncompleteRecord(f"document.{exc}", field=f"document.{exc.field}") from None
    return document


def _produce(job: _Issue, staged: list[StagedFile]) -> Certificate:
    """Number, build, render, sign and store one certificate; call inside the transaction."""
    from certificates.document import Amendment, Bilingual
    from certificates.errors import CertificateError, SigningError

    run = job.run
    org = run.organization
    kind = CertificateKind(run.procedure.kind)
    if kind == CertificateKind.VERIFICATION:
        _require_designation(job)
    loaded = signer_for(org)  # before numbering: an unconfigured key costs nothing
    if loaded.fingerprint:
        _refuse_revoked(org.pk, loaded.fingerprint)
    # The year of the number is the year of the issue date the certificate prints.
    year = timezone.localdate(job.issued_at, org.zone).year
    sequence = next_value(f"certificate:{org.code}:{kind}:{year}")
    number = f"{org.code}-{SERIES[kind]}-{year}-{sequence:06d}"
    mark_number, valid_until = job.mark_number, job.valid_until
    if carries_mark(run, job.position) and not mark_number:
        mark_number = f"{org.code}-{year % 100:02d}-{next_value(f'mark:{org.code}:{year}'):07d}"
    amendment = None
    if job.supersedes is not None:
        amendment = Amendment(
            replaces=job.supersedes.number,
            type_of_change="amended",
            reason=Bilingual(job.reason, job.reason),
            replaces_sha256=job.supersedes.pdf_sha256,
        )
    url = verify_url(number)
    document = _checked(
        document_for(
            run,
            number=number,
            issued_at=job.issued_at,
            verify_url=url,
            amendment=amendment,
            mark_number=mark_number or None,
            mark_valid_until=valid_until,
            position=job.position,
        )
    )
    if document.mark is not None:
        valid_until = document.mark.valid_until

    from certificates.dcc import build_dcc
    from certificates.pdf import render_pdf
    from certificates.verify import verify_pdf

    try:
        dcc = build_dcc(document)
        pdf = render_pdf(document, dcc_xml=dcc)
        signed = loaded.sign(
            pdf,
            reason=f"{number}: {document.title.en}",
            location=org.region or org.name,
            name=job.actor.signature_name(),
        )
    except SigningError as exc:
        raise SigningUnavailable(f"certificate {number} cannot be signed: {exc}") from None
    except CertificateError as exc:
        field = f"document.{exc.field}" if exc.field else "document"
        raise IncompleteRecord(f"certificate {number}: {exc}", field=field) from None
    # What we hand out must pass our own public check.
    check = verify_pdf(signed, trust_roots=loaded.trust_roots, crls=loaded.crls)
    if not (check.intact and check.trusted and check.covers_whole_file):
        raise SigningUnavailable(
            f"certificate {number}: the signed PDF does not validate: {'; '.join(check.problems)}"
        )
    loaded.fingerprint = check.signer_fingerprint
    _refuse_revoked(org.pk, check.signer_fingerprint)
    key = _key_record(org.pk, loaded, check, job.issued_at)
    base = f"certificates/{org.code}/{year}/{number}"
    staged.append(stage(f"{base}.pdf", signed))
    staged.append(stage(f"{base}.dcc.xml", dcc))
    pdf_name, dcc_name = staged[-2].name, staged[-1].name
    certificate = Certificate.objects.create(
        organization=org,
        run=run,
        position=job.position,
        number=number,
        kind=kind,
        year=year,
        sequence=sequence,
        issued_at=job.issued_at,
        issued_by=job.actor,
        pdf=pdf_name,
        pdf_sha256=_sha256(signed),
        dcc=dcc_name,
        dcc_sha256=_sha256(dcc),
        signing_key=key,
        signer_fingerprint=check.signer_fingerprint,
        verify_url=url,
        supersedes=job.supersedes,
        amendment_reason=job.reason,
        mark_number=mark_number,
        valid_until=valid_until,
    )
    register_issued(certificate)  # the registry's fact, in this same transaction
    return certificate


def _require_designation(job: _Issue) -> None:
    """On a node enforcing the national registers, a verification certificate is issued
    only by an organization designated, on the issue date, for the instrument's type or its
    field (:func:`labserver.registry.national.designation_refusal`); an amendment is a
    certificate issued that day too. Elsewhere, nothing is checked (and nothing queried)."""
    if not national.enforced():
        return
    run, org = job.run, job.run.organization
    position = job.position
    of = position.job if position is not None and position.job is not None else run.job
    instrument_type = of.instrument.instrument_type
    refusal = national.designation_refusal(
        organization=org.code,
        field=run.procedure.field,
        instrument_type=instrument_type.code,
        on=timezone.localdate(job.issued_at, org.zone),
    )
    if refusal:
        raise NotInRegister(refusal, field="organization")


def _refuse_revoked(org_id: int, fingerprint: str) -> None:
    key = SigningKeyRecord.objects.filter(
        organization_id=org_id, fingerprint=fingerprint, revoked_at__isnull=False
    ).first()
    if key is not None and key.revoked_at is not None:
        raise SigningUnavailable(
            f"the signing key {key.fingerprint[:16]}… was revoked on "
            f"{timezone.localdate(key.revoked_at)} ({key.revoked_reason}): configure a new key",
            field="signing_key",
        )


def _key_record(org_id: int, loaded: Any, check: Any, when: datetime) -> SigningKeyRecord:
    """The record of the key that signed (created the first time it signs), with its
    certificate, so that the key's identity stays on record after it is rotated out."""
    from cryptography.hazmat.primitives import serialization

    source, roots = loaded.source, loaded.trust_roots
    signer_certificate = loaded.signer.key.certificate
    pem = signer_certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    key = (
        SigningKeyRecord.objects.select_for_update()
        .filter(organization_id=org_id, fingerprint=check.signer_fingerprint)
        .first()
    )
    if key is not None:
        return key
    key = SigningKeyRecord.objects.create(
        organization_id=org_id,
        fingerprint=check.signer_fingerprint,
        subject=check.signer_subject,
        certificate_pem=pem,
        valid_from=signer_certificate.not_valid_before_utc,
        valid_until=signer_certificate.not_valid_after_utc,
        trust_roots_pem=b"".join(roots).decode("ascii"),
        source=source,
        first_used_at=when,
    )
    register_key(key)
    audit.record(
        actor=None,
        action="signing_key.first_use",
        object_type="signing_key",
        object_id=key.pk,
        organization_id=org_id,
        after={"fingerprint": key.fingerprint, "subject": key.subject, "source": source},
    )
    return key


def _audit_after(certificate: Certificate) -> dict[str, Any]:
    position = certificate.position
    return {
        "number": certificate.number,
        "run": str(certificate.run_id),
        **(
            {"position": position.number, "job": certificate.job.number}
            if position is not None
            else {}
        ),
        "kind": certificate.kind,
        "pdf_sha256": certificate.pdf_sha256,
        "dcc_sha256": certificate.dcc_sha256,
        "signer_fingerprint": certificate.signer_fingerprint,
        "mark_number": certificate.mark_number or None,
        "valid_until": certificate.valid_until,
        "supersedes": certificate.supersedes.number if certificate.supersedes else None,
    }


@contextmanager
def _issuing() -> Iterator[list[StagedFile]]:
    """The issuing transaction, and the publication of its files once it has committed.

    ``durable``: this must be the outermost transaction, or "committed" would mean nothing
    (an enclosing transaction could still roll back after the files were published).

    Yields the list that :func:`_produce` fills with staged files. An error inside the
    block rolls back and removes them. An error of the commit itself leaves them where
    they are: the connection may have been lost after the server committed, and only the
    record can tell; ``verify_storage --repair`` publishes them if it is there and deletes
    them if not. A failed move after the commit is logged, not raised: the certificate is
    issued, and the same sweep completes the move.
    """
    staged: list[StagedFile] = []
    body_done = False
    try:
        with transaction.atomic(durable=True):
            yield staged
            body_done = True
    except BaseException:
        if not body_done:
            discard(staged)
        raise
    try:
        publish(staged)
    except OSError:
        log.exception(
            "issued, but its files were not moved to their final names; "
            "run manage.py verify_storage --repair: %s",
            ", ".join(f.name for f in staged),
        )


def _produce_and_finish(
    job: _Issue, staged: list[StagedFile], finish: Callable[[Certificate], None]
) -> Certificate:
    certificate = _produce(job, staged)
    finish(certificate)
    return certificate


@counts_signature_failures
def _require_one_instrument(run: Run) -> None:
    """A run of one instrument: a multi-position run's instruments each get their own
    certificate, never one for all of them (its points are by position)."""
    if run.positions.exists():
        raise InvalidTransition(
            f"run {run.pk} measured several instruments (positions): each is certified on "
            "its own, not the run as one",
            field="run",
        )


def issue_certificate(
    *, actor: User, run: Run, password: str, position: RunPosition | None = None
) -> Certificate:
    """Issue the certificate of an approved run: signatory of the run's organization,
    certified for its field, password re-entered; one certificate per run (409). Of a
    multi-position run, the certificate of one ``position`` (its instrument), one per
    position (409); :func:`labserver.issuance.batch.issue_run_certificates` issues them all
    by one signature act."""

    def check_signer(locked: Run) -> None:
        check_signature_password(
            actor,
            password,
            signing="certificate.issue",
            object_type="run",
            object_id=locked.pk,
            organization_id=locked.organization_id,
        )

    return issue_signed(actor=actor, run=run, check_signer=check_signer, position=position)


def certifiable_positions(run: Run) -> list[RunPosition]:
    """The positions of ``run`` that get a certificate: measured, with their instrument's
    job, in bench order (a skipped or removed one gets none)."""
    return list(
        run.positions.filter(state=PositionState.MEASURED, job__isnull=False)
        .select_related("job__instrument__instrument_type", "job__instrument__owner")
        .order_by("number")
    )


def _certified_position(run: Run, position: RunPosition) -> RunPosition:
    """``position`` read again as a position of the locked ``run`` that gets a certificate
    (with its job and instrument), else refused naming it."""
    found = (
        run.positions.select_related("job__instrument__instrument_type", "job__instrument__owner")
        .filter(pk=position.pk)
        .first()
    )
    if found is None:
        raise InvalidEvidence(f"position: not a position of run {run.pk}", field="position")
    if found.state != PositionState.MEASURED or found.job is None:
        why = f" ({found.reason})" if found.reason else ""
        raise InvalidTransition(
            f"position {found.number} of run {run.pk} was {found.get_state_display().lower()}"
            f"{why}: it gets no certificate",
            field="position",
        )
    return found


def _existing(run: Run, position: RunPosition | None) -> Certificate | None:
    """The first certificate issued from ``run`` (from its ``position``): its original, or
    an amendment of another run's certificate that reports this run's results."""
    found = Certificate.objects.filter(run=run)
    if position is not None:
        found = found.filter(position=position)
    return found.order_by("pk").first()


def _what(run: Run, position: RunPosition | None) -> str:
    return f"run {run.pk}" if position is None else f"position {position.number} of run {run.pk}"


def issue_signed(
    *,
    actor: User,
    run: Run,
    check_signer: Callable[[Run], None],
    position: RunPosition | None = None,
    **more: Any,
) -> Certificate:
    """Issue the certificate of ``run`` (of its ``position``'s instrument) in its own
    issuing transaction (the number, the signed files, the row, its job issued and the
    audit entry, or none of them), with ``check_signer`` given the locked run after the
    role and field checks: :func:`issue_certificate` checks the password there; a batch
    (:mod:`.batch`), which checked it once for all its runs and positions, checks nothing
    more. ``more`` is added to the audit entry (the batch)."""

    def finish(certificate: Certificate) -> None:
        audit.record(
            actor=actor,
            action="certificate.issue",
            object_type="certificate",
            object_id=certificate.number,
            organization_id=certificate.organization_id,
            after={**_audit_after(certificate), **more},
        )
        job = locked_job(certificate.job.pk)
        if job.state == JobState.APPROVED:
            move_job(job, JobState.ISSUED, actor=actor, reason=certificate.number)
        anchor_after_commit(certificate.organization_id, trigger=AuditAnchor.Trigger.CERTIFICATE)

    with _issuing() as staged:
        locked = _locked_run(run)
        _require_signatory(actor, locked, "issuing a certificate")
        check_signer(locked)
        if locked.state != RunState.APPROVED:
            raise InvalidTransition(
                f"run {locked.pk} is {locked.state}: only an approved run is certified",
                field="run",
            )
        if position is None:
            _require_one_instrument(locked)
        else:
            position = _certified_position(locked, position)
        existing = _existing(locked, position)
        if existing is not None:
            raise Conflict(
                f"{_what(locked, position)} already has certificate {existing.number}: "
                "a change is an amendment of it",
                field="run" if position is None else "position",
            )
        job = _Issue(actor, locked, timezone.now(), position=position)
        return _produce_and_finish(job, staged, finish)


# What a preview prints where the issued certificate prints its number (and a
# verification its mark number): never a number of the series, reserved or not.
PREVIEW_NUMBER = "(chưa cấp số / not yet assigned)"


def preview_certificate(*, actor: User, run: Run, position: RunPosition | None = None) -> bytes:
    """The certificate ``run`` would be issued as, unsigned and watermarked as a preview
    on every page (:data:`certificates.pdf.PREVIEW_WATERMARK`), for its signatory to read
    before entering the password: same document and layout as :func:`issue_certificate`
    makes, dated now, with :data:`PREVIEW_NUMBER` for its number.

    Who may issue may preview (a signatory of the run's organization certified for its
    field), of an approved run without a certificate; of a multi-position run, the
    certificate of one measured ``position`` without one. Nothing is stored and no number is
    taken. Not audited: the audit trail and its signed anchors record the changes to
    regulated records, and a preview changes none; who previewed which run is written to
    the application's log instead (a question of use, not of evidence).
    """
    from certificates.errors import CertificateError
    from certificates.pdf import render_pdf

    _require_signatory(actor, run, "previewing a certificate")
    if run.state != RunState.APPROVED:
        raise InvalidTransition(
            f"run {run.pk} is {run.state}: only an approved run is certified", field="run"
        )
    if position is None:
        _require_one_instrument(run)
    else:
        position = _certified_position(run, position)
    existing = _existing(run, position)
    if existing is not None:
        raise Conflict(
            f"{_what(run, position)} already has certificate {existing.number}: read it, "
            "not a preview",
            field="run" if position is None else "position",
        )
    document = _checked(
        document_for(
            run,
            number=PREVIEW_NUMBER,
            issued_at=timezone.now(),
            verify_url=verify_url("PREVIEW"),
            mark_number=PREVIEW_NUMBER if carries_mark(run, position) else None,
            position=position,
        )
    )
    try:
        pdf = render_pdf(document, preview=True)
    except CertificateError as exc:
        field = f"document.{exc.field}" if exc.field else "document"
        raise IncompleteRecord(f"preview: {exc}", field=field) from None
    log.info("certificate preview of %s by %s", _what(run, position), actor.username)
    return pdf


def _locked_certificate(certificate: Certificate) -> Certificate:
    """The certificate, read after locking the row of its run: two amendments or revocations
    of one certificate wait for each other. Not the certificate's own row: locking a row
    needs UPDATE on its table, which the runtime role does not hold on an append-only one
    (docs/centers/lims.md, "Two database roles")."""
    Run.objects.select_for_update().filter(pk=certificate.run_id).values_list("pk").get()
    return Certificate.objects.select_related(
        "organization", "run__procedure", "supersedes", "position__job__instrument"
    ).get(pk=certificate.pk)


@counts_signature_failures
def amend_certificate(
    *, actor: User, certificate: Certificate, password: str, reason: str, run: Run | None = None
) -> Certificate:
    """A new certificate (new number) that replaces ``certificate`` (ISO/IEC 17025 7.8.8):
    from the same run (of the same position), or from ``run`` (an approved run of the same
    instrument with no certificate yet for it: the position of that instrument when it is
    a multi-position run). The original stays readable and is marked superseded."""

    def finish(replacement: Certificate) -> None:
        CertificateEvent.objects.create(
            certificate=original,
            kind=CertificateEvent.Kind.SUPERSEDED,
            reason=reason,
            actor=actor,
            at=replacement.issued_at,
            replacement=replacement,
        )
        audit.record(
            actor=actor,
            action="certificate.amend",
            object_type="certificate",
            object_id=replacement.number,
            organization_id=replacement.organization_id,
            before={"number": original.number, "pdf_sha256": original.pdf_sha256},
            after=_audit_after(replacement),
            reason=reason,
        )
        anchor_after_commit(replacement.organization_id, trigger=AuditAnchor.Trigger.CERTIFICATE)

    with _issuing() as staged:
        original = _locked_certificate(certificate)
        source = _locked_run(run if run is not None else original.run)
        _require_signatory(actor, source, "amending a certificate")
        check_signature_password(
            actor,
            password,
            signing="certificate.amend",
            object_type="certificate",
            object_id=original.number,
            organization_id=original.organization_id,
        )
        if not reason.strip():
            raise InvalidEvidence("reason: an amendment states its reason", field="reason")
        state = certificate_state(original)
        if state.status != CertificateStatus.VALID:
            raise InvalidTransition(
                f"certificate {original.number} is {state.status}: only a valid certificate "
                "can be amended",
                field="certificate",
            )
        position = original.position
        if run is not None:
            position = _position_of(source, original)
            if source.organization_id != original.organization_id or (
                position is None and source.job.instrument_id != original.job.instrument_id
            ):
                raise InvalidEvidence(
                    "run: not a run of the certificate's instrument in this organization",
                    field="run",
                )
            if source.state != RunState.APPROVED:
                raise InvalidTransition(
                    f"run {source.pk} is {source.state}: only an approved run is certified",
                    field="run",
                )
            if _existing(source, position) is not None:
                raise Conflict(f"{_what(source, position)} already has a certificate", field="run")
        same_run = source.pk == original.run_id
        job = _Issue(
            actor,
            source,
            timezone.now(),
            supersedes=original,
            reason=reason.strip(),
            # The mark on the instrument stays when the results are the same run's.
            mark_number=original.mark_number if same_run else "",
            valid_until=original.valid_until if same_run else None,
            position=position,
        )
        return _produce_and_finish(job, staged, finish)


def _position_of(source: Run, original: Certificate) -> RunPosition | None:
    """The position of ``source`` (a multi-position run) that measured the instrument of
    ``original``: None for a run of one instrument."""
    if not source.positions.exists():
        return None
    found = (
        source.positions.filter(
            state=PositionState.MEASURED, job__instrument_id=original.job.instrument_id
        )
        .select_related("job__instrument__instrument_type", "job__instrument__owner")
        .first()
    )
    if found is None:
        raise InvalidEvidence(
            "run: not a run of the certificate's instrument in this organization", field="run"
        )
    return found


@counts_signature_failures
@transaction.atomic
def revoke_certificate(
    *, actor: User, certificate: Certificate, password: str, reason: str
) -> Certificate:
    """Withdraw a certificate: signatory or quality manager; it stays readable, revoked."""
    original = _locked_certificate(certificate)
    require_role(
        actor,
        original.organization_id,
        Role.SIGNATORY,
        Role.QUALITY_MANAGER,
        action="revoking a certificate",
    )
    check_signature_password(
        actor,
        password,
        signing="certificate.revoke",
        object_type="certificate",
        object_id=original.number,
        organization_id=original.organization_id,
    )
    if not reason.strip():
        raise InvalidEvidence("reason: a revocation states its reason", field="reason")
    if original.events.filter(kind=CertificateEvent.Kind.REVOKED).exists():
        raise InvalidTransition(
            f"certificate {original.number} is already revoked", field="certificate"
        )
    event = CertificateEvent.objects.create(
        certificate=original,
        kind=CertificateEvent.Kind.REVOKED,
        reason=reason.strip(),
        actor=actor,
        at=timezone.now(),
    )
    register_revoked(original, event.at)
    audit.record(
        actor=actor,
        action="certificate.revoke",
        object_type="certificate",
        object_id=original.number,
        organization_id=original.organization_id,
        before={"status": certificate_state(original).status},
        after={"status": CertificateStatus.REVOKED, "at": event.at},
        reason=event.reason,
    )
    return original


@counts_signature_failures
@transaction.atomic
def revoke_signing_key(
    *, actor: User, key: SigningKeyRecord, password: str, reason: str
) -> SigningKeyRecord:
    """Record that a signing key is compromised or withdrawn: quality manager; nothing
    is signed with it afterwards. The certificates it signed keep their own status."""
    key = SigningKeyRecord.objects.select_for_update().get(pk=key.pk)
    require_role(actor, key.organization_id, Role.QUALITY_MANAGER, action="revoking a key")
    check_signature_password(
        actor,
        password,
        signing="signing_key.revoke",
        object_type="signing_key",
        object_id=key.pk,
        organization_id=key.organization_id,
    )
    if not reason.strip():
        raise InvalidEvidence("reason: a revocation states its reason", field="reason")
    if key.revoked_at is not None:
        raise InvalidTransition("the key is already revoked", field="key")
    key.revoked_at = timezone.now()
    key.revoked_reason = reason.strip()
    key.save(update_fields=["revoked_at", "revoked_reason"])
    register_key_revoked(key)
    audit.record(
        actor=actor,
        action="signing_key.revoke",
        object_type="signing_key",
        object_id=key.pk,
        organization_id=key.organization_id,
        before={"revoked_at": None},
        after={"revoked_at": key.revoked_at, "fingerprint": key.fingerprint},
        reason=key.revoked_reason,
    )
    return key
