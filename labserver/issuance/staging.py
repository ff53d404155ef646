"""Certificate files that become visible only together with their committed record.

A signed PDF on disk is a certificate to whoever finds it, so it must never exist under
its final name without the row that records it. Issuing therefore writes each file under
a hidden temporary name in the directory it will live in (``.<name>.<random>.tmp``,
fsynced, so the same filesystem and an atomic rename), and moves it to its final name
with :func:`os.replace` only once the issuing transaction has committed
(``services._in_transaction``). A rollback removes the temporaries.

The states a file can be in, and who resolves each:

* **temporary, transaction open or rolled back** — no record names it: the issuing
  process removes it; if that process was killed, ``verify_storage --repair`` deletes it
  once it is older than ``CALTRACE_STALE_TEMPORARY_MINUTES`` (an issue may still be running
  before that).
* **temporary, record committed** (the process died between the commit and the move):
  the record names the final path and its SHA-256; ``verify_storage --repair`` moves the
  temporary whose bytes hash to the recorded value to the final name.
* **final** — published after the commit: served, after its hash is checked
  (``stored_files.open_as_issued``).

Only the plain filesystem storage is supported here (the rename is what makes the
publication atomic); the settings use it for every deployment.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.core.files.storage import default_storage

log = logging.getLogger(__name__)

TEMPORARY_SUFFIX = ".tmp"
_DISPLACED = "displaced"


def temporary_path(final: Path) -> Path:
    """A new hidden temporary name beside ``final`` (same directory, hence same filesystem)."""
    return final.with_name(f".{final.name}.{secrets.token_hex(8)}{TEMPORARY_SUFFIX}")


def final_name_of(temporary_name: str) -> str | None:
    """The final file name a temporary stands for (``.X.pdf.<hex>.tmp`` → ``X.pdf``), or
    ``None`` when ``temporary_name`` (a base name) is not one of our temporaries."""
    if not (temporary_name.startswith(".") and temporary_name.endswith(TEMPORARY_SUFFIX)):
        return None
    stem = temporary_name[1 : -len(TEMPORARY_SUFFIX)]
    final, dot, token = stem.rpartition(".")
    if not dot or not final or len(token) != 16:
        return None
    try:
        int(token, 16)
    except ValueError:
        return None
    return final


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries (a new or renamed file) durable, not only the bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StagedFile:
    """A file written under its temporary name, to be published as ``name``."""

    name: str  # the storage name recorded on the certificate
    temporary: Path
    final: Path


def stage(name: str, data: bytes) -> StagedFile:
    """Write ``data`` under a temporary name beside the storage path ``name``, durably.

    A file already at the final name names no record (numbers are allocated under lock,
    so the number being issued has none yet): it is left over from an earlier failure or
    from a database restored to before it was issued. It is kept, renamed aside
    (``<name>.<UTC time>.displaced``), as evidence, and ``verify_storage`` lists it as an
    orphan; it is never overwritten.
    """
    final = Path(default_storage.path(name))
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(final)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    if final.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = final.with_name(f"{final.name}.{stamp}.{_DISPLACED}")
        os.replace(final, aside)
        log.warning("%s named no certificate: kept as %s before issuing it anew", name, aside)
    fsync_directory(final.parent)
    return StagedFile(name=name, temporary=temporary, final=final)


def publish(files: Iterable[StagedFile]) -> None:
    """Move each staged file to its final name (atomic), then make the renames durable.

    Call only once the record that names the files is committed.
    """
    directories: set[Path] = set()
    for staged in files:
        os.replace(staged.temporary, staged.final)
        directories.add(staged.final.parent)
    for directory in directories:
        fsync_directory(directory)


def discard(files: Iterable[StagedFile]) -> None:
    """Remove staged files whose transaction rolled back (those already gone are fine)."""
    for staged in files:
        staged.temporary.unlink(missing_ok=True)
