"""Anchors of the audit trail outside the database: signed, published, checked.

A hash chain alone proves nothing against whoever holds the database: they can edit an
entry, recompute every later hash and the head, and ``verify_audit`` finds a consistent
chain; restoring an old backup also leaves a consistent (shorter) chain. An *anchor* is
the statement ``{chain, organization, length, head, at}`` signed with the
organization's certificate-signing key (a detached CMS signature with its certificate
chain, :mod:`certificates.detached`; RFC 3161 time-stamped where ``CALTRACE_TSA_URL`` is
set). Once published it cannot be re-signed by whoever edits the database later, so
``verify_audit --anchors`` detects

* a rewritten history: the entry at ``seq = length`` no longer has the anchored hash;
* a restore to before an anchor: the chain is shorter than the anchor's length.

When: after every issued or amended certificate (on commit of the issuing transaction,
so that a failure to anchor never loses the certificate; it is logged and
``anchor_audit`` catches up) and by ``manage.py anchor_audit``, scheduled at least daily.

Checking a trail against them: :mod:`labserver.issuance.anchor_checks`.

Where: an append-only table (:class:`~labserver.core.models.AuditAnchor`), the public
endpoint ``GET /api/v1/audit/anchors/``, the open-data dataset ``audit-anchors``, and one
JSON line per anchor in ``CALTRACE_ANCHOR_DIR/<organization code>.jsonl`` (opened with
``O_APPEND`` and fsynced): a directory that an operator keeps off the database's host
and out of its backups.

Which key signs: an organization's own chain is signed with its own key. Chains with no
key of their own (``system``, and customers' chains) are signed with the key of
``CALTRACE_SYSTEM_ANCHOR_ORGANIZATION`` (a code, e.g. the national directorate) when it
is set; otherwise they are not anchored and ``anchor_audit`` says so: giving a
laboratory's key the power to vouch for records that are not its own is a choice for the
deployment, not a default.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from labserver.accounts.models import Organization
from labserver.core.audit import chain_key
from labserver.core.errors import DomainError
from labserver.core.models import AuditAnchor, AuditChain

from .keys import signer_for

__all__ = [
    "AnchorRun",
    "AnchorSourceError",
    "anchor_after_commit",
    "anchor_chain",
    "anchor_file",
    "anchor_moved_chains",
    "published",
    "statement_bytes",
    "statement_of",
]

logger = logging.getLogger("caltrace.audit.anchors")


class AnchorSourceError(DomainError, ValueError):
    """An anchors file, directory or URL that cannot be read, or an organization code
    that names none (names it)."""

    code = "anchor_source"


# ------------------------------------------------------------------------ the statement


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def statement_of(anchor: AuditAnchor) -> dict[str, Any]:
    """What is signed, as a dictionary (the ``statement`` of a published anchor)."""
    return {
        "chain": anchor.chain,
        "organization": anchor.organization_code,
        "length": anchor.length,
        "head": anchor.head,
        "at": _iso(anchor.at),
    }


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """The bytes that are signed: the statement as canonical JSON (keys sorted, no
    spaces, UTF-8), which ``jq -cjS .statement`` also prints."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def published(anchor: AuditAnchor) -> dict[str, Any]:
    """An anchor as it is published: one line of the anchor file, one item of the API."""
    return {
        "statement": statement_of(anchor),
        "signature": base64.b64encode(bytes(anchor.signature)).decode("ascii"),
        "signer_fingerprint": anchor.signer_fingerprint,
        "timestamped": anchor.timestamped,
        "trigger": anchor.trigger,
    }


# ------------------------------------------------------------------------ anchoring


def _signing_organization(key: str) -> Organization | None:
    """The organization whose key signs the anchors of chain ``key``; None: not anchored."""
    if key.startswith("org:"):
        organization = Organization.objects.filter(pk=int(key[4:])).first()
        if organization is not None and organization.kind != Organization.Kind.CUSTOMER:
            return organization
    code = getattr(settings, "CALTRACE_SYSTEM_ANCHOR_ORGANIZATION", "") or ""
    return Organization.objects.filter(code=code).first() if code else None


def _anchor_dir() -> Path:
    return Path(settings.CALTRACE_ANCHOR_DIR)


def _append_line(path: Path, line: bytes) -> None:
    """Append one line with a single ``write`` on an ``O_APPEND`` descriptor, then fsync
    it (and the directory, for a new file): on return the line is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"{path}: short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created and hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def anchor_file(code: str) -> Path:
    """The anchor file of the organization ``code`` (the signer's code)."""
    return _anchor_dir() / f"{code}.jsonl"


def anchor_chain(
    key: str, *, trigger: str = AuditAnchor.Trigger.SCHEDULED, force: bool = False
) -> AuditAnchor | None:
    """Sign where chain ``key`` stands now, store it and append it to the anchor file.

    Returns None when the chain is empty, when its head has not moved since its last
    anchor (unless ``force``), or when no key may sign it (see the module's text).
    Raises :class:`~labserver.issuance.keys.SigningUnavailable` when the key cannot sign,
    and ``OSError`` when the anchor file cannot be written (the row is then not kept).
    """
    chain = AuditChain.objects.filter(key=key).first()
    if chain is None or chain.length == 0:
        return None
    last = AuditAnchor.objects.filter(chain=key).order_by("-length", "-at").first()
    if not force and last is not None and last.length == chain.length and last.head == chain.head:
        return None
    organization = _signing_organization(key)
    if organization is None:
        return None
    loaded = signer_for(organization)
    anchor = AuditAnchor(
        chain=key,
        organization=organization,
        organization_code=organization.code,
        length=chain.length,
        head=chain.head,
        at=datetime.now(UTC),
        trigger=trigger,
        signer_fingerprint=loaded.signer.key.fingerprint,
        timestamped=bool(loaded.signer.timestamp_url),
    )
    anchor.signature = loaded.sign_detached(statement_bytes(statement_of(anchor)))
    line = json.dumps(published(anchor), sort_keys=True, ensure_ascii=False) + "\n"
    with transaction.atomic():
        anchor.save()
        # Inside the transaction: a file that cannot be written rolls the row back, so
        # every stored anchor is also in the file. (A failed commit after the write
        # leaves a line without a row: still a true, signed statement.)
        _append_line(anchor_file(organization.code), line.encode("utf-8"))
    return anchor


def anchor_after_commit(organization_id: int, *, trigger: str) -> None:
    """Anchor the organization's chain once the current transaction commits.

    Called by the issuing services: the certificate is committed first, so a key, TSA or
    disk that fails here never loses it; the failure is logged (``anchor_audit``, run
    daily, anchors the head later).
    """
    key = chain_key(organization_id)

    def run() -> None:
        try:
            anchor_chain(key, trigger=trigger)
        except Exception:
            logger.exception("audit anchor of %s failed; anchor_audit will retry", key)

    transaction.on_commit(run)


@dataclass(frozen=True)
class AnchorRun:
    """What :func:`anchor_moved_chains` did, chain by chain."""

    anchored: tuple[AuditAnchor, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]


def anchor_moved_chains(*, force: bool = False, codes: Iterable[str] = ()) -> AnchorRun:
    """Anchor every chain whose head moved since its last anchor (every chain with
    ``force``), or only the chains of the organizations ``codes``. One failure does not
    stop the others."""
    keys = list(
        AuditChain.objects.filter(length__gt=0).order_by("key").values_list("key", flat=True)
    )
    wanted = list(codes)
    if wanted:
        ids = dict(Organization.objects.filter(code__in=wanted).values_list("code", "pk"))
        unknown = sorted(set(wanted) - set(ids))
        if unknown:
            raise AnchorSourceError(
                f"no organization with code {', '.join(unknown)}", field="organization"
            )
        selected = {chain_key(pk) for pk in ids.values()}
        keys = [k for k in keys if k in selected]
    anchored: list[AuditAnchor] = []
    unchanged: list[str] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    trigger = AuditAnchor.Trigger.FORCED if force else AuditAnchor.Trigger.SCHEDULED
    for key in keys:
        if _signing_organization(key) is None:
            skipped.append(key)
            continue
        try:
            anchor = anchor_chain(key, trigger=trigger, force=force)
        except DomainError as exc:
            failed.append((key, f"{exc.field}: {exc.detail}" if exc.field else exc.detail))
            logger.error("audit anchor of %s failed: %s", key, exc)
            continue
        except OSError as exc:
            failed.append((key, str(exc)))
            logger.error("audit anchor of %s failed: %s", key, exc)
            continue
        if anchor is None:
            unchanged.append(key)
        else:
            anchored.append(anchor)
    return AnchorRun(tuple(anchored), tuple(unchanged), tuple(skipped), tuple(failed))
