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
import binascii
import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction

from labserver.accounts.models import Organization
from labserver.core.errors import DomainError

from .audit import AuditProblem, chain_key
from .models import AuditAnchor, AuditChain, AuditEntry

__all__ = [
    "AnchorReport",
    "AnchorSourceError",
    "PublishedAnchor",
    "anchor_after_commit",
    "anchor_chain",
    "anchor_moved_chains",
    "check_anchors",
    "load_anchors",
    "published",
    "statement_bytes",
]

logger = logging.getLogger("caltrace.audit.anchors")

#: The largest response read from an anchors URL, in bytes (a page of 500 anchors is
#: ~2 MB); larger answers are refused rather than read into memory.
_MAX_PAGE_BYTES = 16 * 1024 * 1024


class AnchorSourceError(DomainError, ValueError):
    """An anchors file, directory or URL that cannot be read (names it)."""

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
    # Imported here: issuance depends on core (audit.record), not the other way round.
    from labserver.issuance.keys import signer_for

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


# ------------------------------------------------------------------------ reading anchors


@dataclass(frozen=True)
class PublishedAnchor:
    """An anchor as read back from a file or URL, before its signature is checked."""

    source: str
    statement: dict[str, Any]
    signature: bytes

    @property
    def chain(self) -> str:
        return str(self.statement["chain"])

    @property
    def organization(self) -> str:
        return str(self.statement["organization"])

    @property
    def length(self) -> int:
        return int(self.statement["length"])

    @property
    def head(self) -> str:
        return str(self.statement["head"])

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(str(self.statement["at"]))

    def describe(self) -> str:
        return (
            f"anchor of {self.organization} (length {self.length}, {self.at:%Y-%m-%d %H:%M:%S} UTC)"
        )


def _parse(item: Any, where: str) -> PublishedAnchor:
    if not isinstance(item, dict):
        raise AnchorSourceError("is not a JSON object", field=where)
    statement = item.get("statement")
    if not isinstance(statement, dict):
        raise AnchorSourceError("statement: missing or not an object", field=where)
    for name, kind in (("chain", str), ("organization", str), ("length", int), ("head", str)):
        if not isinstance(statement.get(name), kind) or isinstance(statement.get(name), bool):
            raise AnchorSourceError(
                f"statement.{name}: missing or not a {kind.__name__}", field=where
            )
    try:
        at = datetime.fromisoformat(str(statement.get("at")))
    except ValueError:
        raise AnchorSourceError("statement.at: not an ISO 8601 time", field=where) from None
    if at.tzinfo is None:
        raise AnchorSourceError("statement.at: has no time zone", field=where)
    try:
        signature = base64.b64decode(str(item.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise AnchorSourceError("signature: not base64", field=where) from None
    if not signature:
        raise AnchorSourceError("signature: missing", field=where)
    return PublishedAnchor(source=where, statement=dict(statement), signature=signature)


def _read_file(path: Path) -> Iterator[PublishedAnchor]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorSourceError(f"cannot be read: {exc}", field=str(path)) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnchorSourceError(f"not JSON ({exc.msg})", field=where) from None
        yield _parse(item, where)


def _read_url(url: str) -> Iterator[PublishedAnchor]:
    # Imported here: only a check against a URL needs an HTTP client.
    import urllib.error
    import urllib.request

    page: str | None = url
    seen: set[str] = set()
    while page:
        if page in seen:
            raise AnchorSourceError("the pages link back to themselves", field=page)
        seen.add(page)
        request = urllib.request.Request(page, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read(_MAX_PAGE_BYTES + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise AnchorSourceError(f"cannot be fetched: {exc}", field=page) from None
        if len(body) > _MAX_PAGE_BYTES:
            raise AnchorSourceError(f"answer larger than {_MAX_PAGE_BYTES} bytes", field=page)
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AnchorSourceError("the answer is not JSON", field=page) from None
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise AnchorSourceError("not a page of anchors (no results list)", field=page)
        for index, item in enumerate(data["results"]):
            yield _parse(item, f"{page} results[{index}]")
        following = data.get("next")
        page = following if isinstance(following, str) and following else None


def load_anchors(source: str) -> list[PublishedAnchor]:
    """The anchors of ``source``: an anchor file (JSON lines), a directory of them
    (``*.jsonl``), or an http(s) URL of ``/api/v1/audit/anchors/`` (every page).

    Raises :class:`AnchorSourceError` naming the file, line or page at fault; a source
    holding no anchor at all is refused too (a check of nothing proves nothing).
    """
    if urlsplit(source).scheme in ("http", "https"):
        if "page_size=" not in source:
            source += ("&" if "?" in source else "?") + urlencode({"page_size": 500})
        anchors = list(_read_url(source))
    else:
        path = Path(source)
        if path.is_dir():
            anchors = [a for file in sorted(path.glob("*.jsonl")) for a in _read_file(file)]
        elif path.is_file():
            anchors = list(_read_file(path))
        else:
            raise AnchorSourceError("no such file or directory", field=source)
    if not anchors:
        raise AnchorSourceError("holds no anchor", field=source)
    return anchors


# ------------------------------------------------------------------------ checking anchors


def trust_roots_for(code: str) -> list[bytes]:
    """The CA certificates an anchor signed by organization ``code`` is validated against:
    ``CALTRACE_SIGNING_TRUST_ROOTS``, and, where the DEMO PKI is allowed (the demo and
    the tests), that organization's demo CA. Never what the database says: whoever
    rewrote the database could have added a root of their own there."""
    roots: list[bytes] = []
    for name in getattr(settings, "CALTRACE_SIGNING_TRUST_ROOTS", ()) or ():
        try:
            roots.append(Path(name).read_bytes())
        except OSError as exc:
            raise AnchorSourceError(
                f"cannot read {name}: {exc}", field="CALTRACE_SIGNING_TRUST_ROOTS"
            ) from None
    if getattr(settings, "CALTRACE_ALLOW_DEMO_PKI", False) and "/" not in code and code:
        demo = Path(settings.CALTRACE_DEMO_PKI_DIR) / code / "ca.pem"
        if demo.is_file():
            roots.append(demo.read_bytes())
    return roots


@dataclass(frozen=True)
class AnchorReport:
    """What :func:`check_anchors` found."""

    anchors: int
    chains: int
    problems: tuple[AuditProblem, ...]


def _when(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _genuine(
    anchors: Iterable[PublishedAnchor],
) -> tuple[dict[str, list[PublishedAnchor]], list[AuditProblem]]:
    """The anchors whose signature verifies, by chain; a problem for each other one."""
    # Imported here: pyHanko is heavy and only this check needs it.
    from certificates.detached import verify_detached
    from certificates.errors import VerificationError

    by_chain: dict[str, list[PublishedAnchor]] = defaultdict(list)
    problems: list[AuditProblem] = []
    roots: dict[str, list[bytes]] = {}
    now = datetime.now(UTC)
    for anchor in anchors:
        code = anchor.organization
        if code not in roots:
            roots[code] = trust_roots_for(code)
        if not roots[code]:
            problems.append(
                AuditProblem(
                    anchor.chain,
                    None,
                    None,
                    f"{anchor.describe()} ({anchor.source}): no trust root to check it against "
                    "(set CALTRACE_SIGNING_TRUST_ROOTS)",
                )
            )
            continue
        if anchor.at > now:
            faults = [f"It is dated in the future ({_when(anchor.at)})."]
        else:
            try:
                found = verify_detached(
                    statement_bytes(anchor.statement),
                    anchor.signature,
                    trust_roots=roots[code],
                    # Without a time-stamp, at the time the statement states: a key that
                    # expired since does not void the anchors it made while valid.
                    moment=anchor.at,
                )
                faults = list(found.problems)
            except VerificationError as exc:
                faults = [exc.message]
        if faults:
            problems.append(
                AuditProblem(
                    anchor.chain,
                    None,
                    None,
                    f"{anchor.describe()} ({anchor.source}) is not genuine: {' '.join(faults)}",
                )
            )
            continue
        refusal = _may_not_sign(anchor)
        if refusal:
            problems.append(
                AuditProblem(
                    anchor.chain, None, None, f"{anchor.describe()} ({anchor.source}): {refusal}"
                )
            )
            continue
        by_chain[anchor.chain].append(anchor)
    return by_chain, problems


def _may_not_sign(anchor: PublishedAnchor) -> str:
    """Why the signer of ``anchor`` may not anchor its chain ("" when it may).

    A trusted key is not enough when one trust list serves every organization: a
    center's chain is anchored by that center's key only, so that one center cannot
    publish anchors (true or false) about another's trail. Chains with no key of their
    own (``system``, customers') may be anchored by the system anchor organization.
    """
    if not anchor.chain.startswith("org:") or not anchor.chain[4:].isdigit():
        return ""
    owner = Organization.objects.filter(pk=int(anchor.chain[4:])).first()
    if owner is None or owner.kind == Organization.Kind.CUSTOMER:
        return ""
    if owner.code == anchor.organization:
        return ""
    return (
        f"signed by {anchor.organization}, but {anchor.chain} is the chain of {owner.code}: "
        "only its own key anchors it"
    )


def _check_chain(key: str, anchors: list[PublishedAnchor]) -> list[AuditProblem]:
    anchors = sorted(anchors, key=lambda a: (a.length, a.at))
    code = anchors[-1].organization
    head = AuditChain.objects.filter(key=key).first()
    length = head.length if head is not None else 0
    hashes = dict(
        AuditEntry.objects.filter(chain=key, seq__in={a.length for a in anchors}).values_list(
            "seq", "hash"
        )
    )
    problems: list[AuditProblem] = []
    last_good: PublishedAnchor | None = None
    for anchor in anchors:
        if anchor.length > length:
            break
        found = hashes.get(anchor.length)
        if found == anchor.head:
            last_good = anchor
            continue
        first_seq = last_good.length + 1 if last_good else 1
        first = AuditEntry.objects.filter(chain=key, seq=first_seq).first()
        since = (
            f"the last anchor that still matches is length {last_good.length} "
            f"({_when(last_good.at)})"
            if last_good
            else "no earlier anchor matches"
        )
        problems.append(
            AuditProblem(
                key,
                first_seq,
                first.pk if first else None,
                f"{code}: history rewritten: entry {anchor.length} has hash "
                f"{(found or 'none')[:12]}…, the {anchor.describe()} signed {anchor.head[:12]}…; "
                f"{since}: first entry at fault: entry {first_seq}",
            )
        )
        break
    missing = [a for a in anchors if a.length > length]
    if missing:
        latest = missing[-1]
        problems.append(
            AuditProblem(
                key,
                None,
                None,
                f"{code}: the chain has {length} entries but the {latest.describe()} proves "
                f"{latest.length}: entries {length + 1}..{latest.length} missing, restored to "
                f"before {_when(missing[0].at)}",
            )
        )
    return problems


def check_anchors(anchors: Iterable[PublishedAnchor]) -> AnchorReport:
    """Check each anchor's signature, then that the database's chain still holds, at
    ``seq = length``, exactly the anchored hash; name the organization, the anchor and
    the first entry at fault of every rewritten or rolled-back chain."""
    anchors = list(anchors)
    by_chain, problems = _genuine(anchors)
    codes = {a.organization for group in by_chain.values() for a in group}
    ids = dict(Organization.objects.filter(code__in=codes).values_list("code", "pk"))
    for key, group in sorted(by_chain.items()):
        for code in {a.organization for a in group}:
            if code not in ids:
                problems.append(
                    AuditProblem(
                        key,
                        None,
                        None,
                        f"{code}: anchored, but no such organization in the database",
                    )
                )
        problems.extend(_check_chain(key, group))
    return AnchorReport(anchors=len(anchors), chains=len(by_chain), problems=tuple(problems))
