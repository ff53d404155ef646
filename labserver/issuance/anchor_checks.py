"""Checking an audit trail against its published anchors (``verify_audit --anchors``).

The anchors are read back from where :mod:`labserver.issuance.anchors` published them (an
anchor file, a directory of them, or the public endpoint's URL), each signature is
checked against the configured trust roots (never the database's), and each chain of
the database must still hold, at ``seq = length``, exactly the anchored hash. A
rewritten history (hashes recomputed after an edit) and a restore to before an anchor
are named with the organization, the anchor and the first entry at fault.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from labserver.accounts.models import Organization
from labserver.core.audit import AuditProblem
from labserver.core.models import AuditChain, AuditEntry

from .anchors import AnchorSourceError, statement_bytes

__all__ = [
    "AnchorReport",
    "PublishedAnchor",
    "check_anchors",
    "load_anchors",
    "trust_roots_for",
]

#: The largest response read from an anchors URL, in bytes (a page of 500 anchors is
#: ~2 MB); larger answers are refused rather than read into memory.
_MAX_PAGE_BYTES = 16 * 1024 * 1024


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


def revocation_lists() -> list[bytes]:
    """The CRLs an anchor's signer is checked against (``CALTRACE_SIGNING_CRLS``): a key
    revoked before an anchor's time, or at any time when no time-stamp proves that time,
    makes the anchor not genuine."""
    crls: list[bytes] = []
    for name in getattr(settings, "CALTRACE_SIGNING_CRLS", ()) or ():
        try:
            crls.append(Path(name).read_bytes())
        except OSError as exc:
            raise AnchorSourceError(
                f"cannot read {name}: {exc}", field="CALTRACE_SIGNING_CRLS"
            ) from None
    return crls


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
    crls = revocation_lists()
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
                    crls=crls,
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
