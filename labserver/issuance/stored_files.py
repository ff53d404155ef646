"""Certificate files served only as issued, and the check of the whole certificate store.

A certificate's signed PDF and DCC XML are stored when it is issued, together with their
SHA-256 (``services.issue_certificate``). Anyone who can write to the media directory
could replace those bytes; the database row would still say "issued". So every path that
hands a certificate file out reads it through :func:`open_as_issued`, which hashes the
bytes and refuses (an audited :class:`FileNotAsIssued`) when they are not the ones
recorded. :func:`verify_storage` checks the whole store at once, for
``manage.py verify_storage``, and with ``repair`` also completes what a killed issuing
process left (the states are described in :mod:`.staging`): it publishes a temporary
whose committed record is waiting for it, and deletes the stale ones no record needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from labserver.core import audit
from labserver.core.errors import DomainError

from .models import Certificate
from .staging import StagedFile, final_name_of, publish

Which = Literal["pdf", "dcc"]
FILES: tuple[Which, ...] = ("pdf", "dcc")

#: How each file is named to people (the same in every language: both are format names).
LABELS: dict[str, str] = {"pdf": "PDF", "dcc": "DCC XML"}

#: Where issued certificates' files live in the storage (``services.issue_certificate``).
DIRECTORY = "certificates"

_CHUNK = 64 * 1024


class FileNotAsIssued(DomainError):
    """A stored certificate file differs from what was issued, or is gone (409).

    409 rather than 404 or 500: the certificate exists and the caller may read it; it is
    the stored state that conflicts with the record, and nothing the caller can fix.
    """

    status = 409
    code = "file_altered"

    def __init__(self, *, number: str, which: str, missing: bool) -> None:
        label = LABELS[which]
        if missing:
            detail = (
                f"the stored {label} of certificate {number} is missing from the storage; "
                "it is not served"
            )
        else:
            detail = (
                f"the stored {label} of certificate {number} does not match the SHA-256 "
                "recorded when it was issued; it is not served"
            )
        super().__init__(detail, field=which, code="file_missing" if missing else "file_altered")
        self.number = number
        self.which = which
        self.label = label
        self.missing = missing


def _read(name: str, *, keep: bool) -> tuple[bytes, str]:
    """The file's bytes (empty unless ``keep``) and their SHA-256, read in chunks.

    Raises FileNotFoundError when the storage has no such file.
    """
    if not name:
        raise FileNotFoundError("no file name recorded")
    digest = hashlib.sha256()
    parts: list[bytes] = []
    with default_storage.open(name, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if keep:
                parts.append(chunk)
    return b"".join(parts), digest.hexdigest()


def _recorded(certificate: Certificate, which: Which) -> tuple[str, str]:
    if which == "pdf":
        return certificate.pdf.name or "", certificate.pdf_sha256
    return certificate.dcc.name or "", certificate.dcc_sha256


def open_as_issued(certificate: Certificate, which: Which, *, actor: Any) -> bytes:
    """The bytes of the certificate's ``which`` file, only if they are the ones issued.

    Otherwise nothing of the file is returned: one audit entry records the refusal
    (``certificate.file_altered`` or ``certificate.file_missing``; ``actor`` is the one who
    asked, ``None`` for the public) and :class:`FileNotAsIssued` is raised.
    """
    if actor is not None and not actor.is_authenticated:
        actor = None  # an anonymous visitor is the public
    name, expected = _recorded(certificate, which)
    found: str | None
    try:
        data, found = _read(name, keep=True)
    except FileNotFoundError:
        found = None
    else:
        if hmac.compare_digest(found, expected):
            return data
    refusal = FileNotAsIssued(number=certificate.number, which=which, missing=found is None)
    # Its own transaction: the refusal is raised to the caller right after, and must not
    # take the entry down with it.
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=f"certificate.{refusal.code}",
            object_type="certificate",
            object_id=certificate.number,
            organization_id=certificate.organization_id,
            after={
                "file": which,
                "path": name,
                "recorded_sha256": expected,
                "found_sha256": found,
            },
        )
    raise refusal


# ------------------------------------------------------------------ the whole store


ProblemKind = Literal["altered", "missing", "orphan", "unpublished", "stale temporary"]


@dataclass(frozen=True)
class StoredFileProblem:
    """One file that is not as issued (altered, missing), that no certificate names
    (orphan), or that a killed issuing process left under its temporary name: waiting for
    its committed record (unpublished) or needed by none (stale temporary)."""

    kind: ProblemKind
    path: str
    number: str | None = None
    which: str | None = None

    def __str__(self) -> str:
        label = LABELS.get(self.which or "", self.which)
        if self.kind == "stale temporary":
            return f"stale temporary: {self.path} (no certificate needs it; --repair deletes it)"
        if self.kind == "unpublished":
            return (
                f"unpublished: certificate {self.number} {label}: {self.path} "
                "(the record is committed, the file still has its temporary name; "
                "--repair publishes it)"
            )
        if self.number is None:
            return f"orphan: {self.path} (no certificate names it)"
        return f"{self.kind}: certificate {self.number} {label}: {self.path}"


@dataclass
class StorageReport:
    certificates: int = 0
    files: int = 0
    problems: list[StoredFileProblem] = field(default_factory=list)
    #: What ``repair`` did, one line each (published, deleted).
    repaired: list[str] = field(default_factory=list)
    #: Temporaries younger than the stale age and needed by no record yet: an issue may
    #: still be running; left alone.
    in_progress: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        line = (
            f"{self.certificates} certificates, {self.files} files checked: "
            f"{len(self.problems)} problems"
        )
        if self.repaired:
            line += f", {len(self.repaired)} repaired"
        if self.in_progress:
            line += f", {len(self.in_progress)} temporaries in progress"
        return line


def _stored_names(directory: str) -> Iterator[str]:
    """Every file under ``directory`` in the storage (names as the storage gives them)."""
    try:
        folders, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{directory}/{name}"
    for folder in folders:
        yield from _stored_names(f"{directory}/{folder}")


@dataclass(frozen=True)
class _Recorded:
    number: str
    which: Which
    sha256: str


def stale_age() -> timedelta:
    """How old a temporary no record needs must be before the sweep deletes it: older
    than any issue takes, so that a running issue never loses its files."""
    return timedelta(minutes=settings.CALTRACE_STALE_TEMPORARY_MINUTES)


def _sweep_temporary(
    name: str,
    recorded: dict[str, _Recorded],
    report: StorageReport,
    *,
    repair: bool,
    stale_before: datetime,
) -> None:
    """Classify one temporary (``name`` is its storage name) and, with ``repair``, act."""
    folder, _, base = name.rpartition("/")
    final = f"{folder}/{final_name_of(base)}"
    record = recorded.get(final)
    if record is not None and not default_storage.exists(final):
        _, found = _read(name, keep=False)
        if hmac.compare_digest(found, record.sha256):
            if not repair:
                report.problems.append(
                    StoredFileProblem("unpublished", name, record.number, record.which)
                )
                return
            temporary = Path(default_storage.path(name))
            publish([StagedFile(final, temporary, Path(default_storage.path(final)))])
            report.repaired.append(
                f"published: certificate {record.number} {LABELS[record.which]}: {final}"
            )
            return
    modified = datetime.fromtimestamp(os.stat(default_storage.path(name)).st_mtime, tz=UTC)
    if modified > stale_before:
        report.in_progress.append(f"in progress: {name}")
    elif repair:
        default_storage.delete(name)
        report.repaired.append(f"deleted stale temporary: {name}")
    else:
        report.problems.append(StoredFileProblem("stale temporary", name))


def verify_storage(*, repair: bool = False, stale_after: timedelta | None = None) -> StorageReport:
    """Check every issued certificate's PDF and DCC against their SHA-256, find the files
    in the certificates' directory that no certificate names, and the temporaries that
    issuing left behind.

    ``repair`` publishes each temporary whose committed record waits for it (its SHA-256
    is the one recorded and the final file is missing) and deletes the temporaries that no
    record needs once older than ``stale_after`` (default :func:`stale_age`). Altered,
    missing and orphan files are only reported: they are evidence, for a person to judge.
    """
    report = StorageReport()
    stale_before = datetime.now(UTC) - (stale_age() if stale_after is None else stale_after)
    recorded: dict[str, _Recorded] = {}
    rows = Certificate.objects.order_by("pk").only(
        "number", "pdf", "pdf_sha256", "dcc", "dcc_sha256"
    )
    for certificate in rows.iterator():
        report.certificates += 1
        for which in FILES:
            name, expected = _recorded(certificate, which)
            recorded[name] = _Recorded(certificate.number, which, expected)
    stored = sorted(_stored_names(DIRECTORY))
    for name in stored:
        if final_name_of(name.rpartition("/")[2]) is not None:
            # One that vanishes meanwhile was published or removed by its own issuing
            # process, still running: nothing to report.
            with contextlib.suppress(FileNotFoundError):
                _sweep_temporary(name, recorded, report, repair=repair, stale_before=stale_before)
    # A file waiting under its temporary name is reported as unpublished, not as missing.
    waiting = {(p.number, p.which) for p in report.problems if p.kind == "unpublished"}
    for name, record in recorded.items():
        report.files += 1
        try:
            _, found = _read(name, keep=False)
        except FileNotFoundError:
            if (record.number, record.which) not in waiting:
                report.problems.append(
                    StoredFileProblem("missing", name, record.number, record.which)
                )
            continue
        if not hmac.compare_digest(found, record.sha256):
            report.problems.append(StoredFileProblem("altered", name, record.number, record.which))
    for name in stored:
        if name not in recorded and final_name_of(name.rpartition("/")[2]) is None:
            report.problems.append(StoredFileProblem("orphan", name))
    return report
