"""The national node checks each center's signed PDFs (issue 21, point 2).

Replication brings a center's certificate facts, each with the SHA-256 of the signed PDF and
the fingerprint of the key that signed it, but not the PDF: it names a customer, so it stays
at the center. The national node accepts a center's record only once it has seen that PDF
signed with the center's registered key, so it fetches it, from the center that issued it
(:func:`fetch`, ``manage.py federation fetch``, a scheduled task):

* where from: each issuer's **source**, the base URL of its center's LIMS
  (:func:`add_source`, ``manage.py federation source add``), kept in a table of the national
  node; the secret that proves the national node to the center is read from the environment
  (:func:`secret_variable`, one variable per issuer), never stored, never printed;
* what it checks, by the check the issuance app registers when it is ready
  (:func:`register_document_check`: the public check of an uploaded PDF against the
  issuer's registered keys, :mod:`labserver.issuance.national`): the bytes' SHA-256 is the
  fact's, the PAdES signature validates, its signer is the fact's key, a key the issuer
  registered, chaining to the roots it registered;
* what it keeps: one :class:`~labserver.federation.models.DocumentCheck` row per check
  (append-only), never the PDF. A center that cannot be reached, or that does not find the
  number, is tried again by a later fetch (a later row); any other outcome is final: a
  record the national node could not verify is **flagged**, and stays flagged
  (:func:`document_status`, ``manage.py federation status``; the public check says so).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from labserver.core import audit
from labserver.registry.models import CertificateFact

from .models import DocumentCheck, DocumentSource
from .replication import FederationError

__all__ = [
    "AUTHORIZATION",
    "DOCUMENT_PATH",
    "SECRET_PREFIX",
    "CenterDocuments",
    "Checked",
    "FetchReport",
    "Flagged",
    "add_source",
    "document_state",
    "document_status",
    "document_url",
    "fetch",
    "register_document_check",
    "secret_variable",
]

Outcome = DocumentCheck.Outcome

#: The center's endpoint of a signed PDF, under its base URL (``labserver/urls.py``).
DOCUMENT_PATH = "/api/v1/registry/documents/{number}.pdf"
#: The scheme of the ``Authorization`` header the national node sends: ``National <secret>``.
AUTHORIZATION = "National"
#: The environment variable of an issuer's secret is this prefix and its code.
SECRET_PREFIX = "CALTRACE_FETCH_SECRET_"
#: No signed certificate comes near this; a center sending more is cut off and flagged.
MAX_PDF_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 30.0

FINAL = (
    Outcome.VERIFIED,
    Outcome.HASH_MISMATCH,
    Outcome.BAD_SIGNATURE,
    Outcome.UNREGISTERED_KEY,
)
FLAGS = (Outcome.HASH_MISMATCH, Outcome.BAD_SIGNATURE, Outcome.UNREGISTERED_KEY)
RETRIED = (Outcome.UNREACHABLE, Outcome.NOT_FOUND)


@dataclass(frozen=True)
class Checked:
    """What a fetched PDF proved: an outcome of :class:`DocumentCheck.Outcome`, and what
    failed, named."""

    outcome: str
    detail: str = ""
    center_down: bool = False
    """No answer from the center at all: the rest of its certificates wait for the next
    fetch (a run is not spent waiting out a timeout per certificate)."""


DocumentCheckFn = Callable[[CertificateFact, bytes], Checked]
_document_checks: list[DocumentCheckFn] = []


def register_document_check(check: DocumentCheckFn) -> None:
    """Set ``check(issued_fact, pdf_bytes) -> Checked``: the issuance app's check of a PDF
    against the issuer's registered keys (it owns the signature's validation)."""
    if check not in _document_checks:
        _document_checks.clear()
        _document_checks.append(check)


def _checked(fact: CertificateFact, data: bytes) -> Checked:
    if not _document_checks:
        raise RuntimeError("no app checks a fetched PDF (the issuance app is not installed)")
    return _document_checks[0](fact, data)


def secret_variable(issuer: str) -> str:
    """The environment variable holding the secret the national node sends to ``issuer``'s
    center: ``CALTRACE_FETCH_SECRET_`` and the code in capitals, ``-`` as ``_``."""
    return SECRET_PREFIX + re.sub(r"[^A-Z0-9_]", "_", issuer.upper())


def _code(issuer: str) -> str:
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,32}", issuer):
        raise FederationError(
            f"issuer {issuer!r}: not an organization code (letters, digits, -, _)"
        )
    return issuer


def _base_url(issuer: str, url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FederationError(
            f"source {issuer}: --url {url!r}: expected the center's LIMS as "
            "https://host[:port][/path] (http only on a private network)"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise FederationError(
            f"source {issuer}: --url: no user, password, query or fragment (the secret comes "
            f"from {secret_variable(issuer)})"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def add_source(issuer: str, url: str) -> tuple[DocumentSource, str]:
    """Record (or change) where ``issuer``'s signed PDFs are fetched: the source and
    ``created``, ``updated`` or ``unchanged``. Audited on the national node's system chain."""
    code = _code(issuer)
    base = _base_url(code, url)
    with transaction.atomic():
        source = DocumentSource.objects.select_for_update().filter(issuer=code).first()
        if source is not None and source.url == base:
            return source, "unchanged"
        before = {"url": source.url} if source is not None else None
        if source is None:
            source = DocumentSource.objects.create(issuer=code, url=base, added_at=timezone.now())
            action = "created"
        else:
            source.url = base
            source.save(update_fields=["url"])
            action = "updated"
        audit.record(
            actor=None,
            action=f"federation.source_{action}",
            object_type="document_source",
            object_id=code,
            organization_id=None,
            before=before,
            after={"url": base, "secret_from": secret_variable(code)},
        )
    return source, action


def document_url(source: DocumentSource, number: str) -> str:
    """The URL of certificate ``number``'s signed PDF at ``source``'s center."""
    return source.url + DOCUMENT_PATH.format(number=urllib.parse.quote(number, safe=""))


# ------------------------------------------------------------------ fetch


@dataclass
class FetchReport:
    """What :func:`fetch` did: the outcomes per issuer, and what it could not try."""

    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    postponed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        said = []
        for issuer, counts in sorted(self.outcomes.items()):
            shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            said.append(f"{issuer}: {sum(counts.values())} checked: {shown or 'nothing to do'}")
        return [*said, *self.flagged, *self.postponed, *self.problems]


def _unchecked(issuer: str) -> Any:
    """The issued facts of ``issuer`` without a final check, oldest first."""
    final = DocumentCheck.objects.filter(issuer=issuer, outcome__in=FINAL).values("fact_key")
    return (
        CertificateFact.objects.filter(issuer=issuer, event=CertificateFact.Event.ISSUED)
        .exclude(key__in=final)
        .order_by("at", "key")
    )


def fetch(
    *, issuer: str | None = None, limit: int | None = None, timeout_s: float = TIMEOUT_S
) -> FetchReport:
    """Fetch and check the signed PDF of every issued fact not yet checked (at most
    ``limit``), of ``issuer`` or of every issuer with a source."""
    sources = DocumentSource.objects.order_by("issuer")
    if issuer is not None:
        sources = sources.filter(issuer=_code(issuer))
        if not sources.exists():
            raise FederationError(
                f"issuer {issuer}: no source: add it with manage.py federation source add "
                f"{issuer} --url https://…"
            )
    if limit is not None and limit < 1:
        raise FederationError(f"--limit {limit}: expected at least 1")
    report = FetchReport()
    remaining = limit
    for source in sources:
        variable = secret_variable(source.issuer)
        secret = os.environ.get(variable, "")
        if not secret:
            report.problems.append(
                f"{source.issuer}: not fetched: {variable} is not set (the secret its center "
                "expects from the national node)"
            )
            continue
        counts = report.outcomes.setdefault(source.issuer, Counter())
        facts = _unchecked(source.issuer)
        for fact in facts if remaining is None else facts[:remaining]:
            checked, digest = _fetch_one(source, fact, secret, timeout_s)
            if _record(fact, checked, digest):
                counts[checked.outcome] += 1
                if checked.outcome in FLAGS:
                    report.flagged.append(
                        f"flagged: {fact.issuer} {fact.number}: {checked.outcome}: {checked.detail}"
                    )
            if remaining is not None:
                remaining -= 1
            if checked.center_down:
                report.postponed.append(
                    f"{source.issuer}: the center does not answer ({checked.detail}): the rest "
                    "of its certificates wait for the next fetch"
                )
                break
        if remaining is not None and remaining <= 0:
            break
    if report.outcomes:
        with transaction.atomic():
            audit.record(
                actor=None,
                action="federation.documents_fetched",
                object_type="document_source",
                object_id=issuer or "*",
                organization_id=None,
                after={code: dict(counts) for code, counts in report.outcomes.items()},
            )
    return report


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed: urllib would send the secret on to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _fetch_one(
    source: DocumentSource, fact: CertificateFact, secret: str, timeout_s: float
) -> tuple[Checked, str]:
    """The fetched PDF's check and its SHA-256, or why there is none."""
    url = document_url(source, fact.number)
    request = urllib.request.Request(
        url, headers={"Authorization": f"{AUTHORIZATION} {secret}", "Accept": "application/pdf"}
    )
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            data = response.read(MAX_PDF_BYTES + 1)
    except urllib.error.HTTPError as error:
        said = _said(error)
        if error.code == 404:
            return Checked(Outcome.NOT_FOUND, f"{url}: 404: {said}"), ""
        return Checked(Outcome.UNREACHABLE, f"{url}: {error.code}: {said}"), ""
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        return Checked(Outcome.UNREACHABLE, f"{url}: {reason}", center_down=True), ""
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_PDF_BYTES:
        return Checked(
            Outcome.HASH_MISMATCH,
            f"{url}: more than {MAX_PDF_BYTES} bytes, not the PDF registered "
            f"(SHA-256 {fact.pdf_sha256})",
        ), ""
    return _checked(fact, data), digest


def _said(error: urllib.error.HTTPError) -> str:
    """The center's own words of a refusal: the API's error body's detail, else its reason."""
    try:
        body = json.loads(error.read(4096) or b"{}")
    except (ValueError, OSError):
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail or error.reason)


def _record(fact: CertificateFact, checked: Checked, digest: str) -> bool:
    """Write the check (audited when it flags); False when a concurrent fetch wrote this
    fact's final check first."""
    try:
        with transaction.atomic():
            DocumentCheck.objects.create(
                issuer=fact.issuer,
                number=fact.number,
                fact_key=fact.key,
                checked_at=timezone.now(),
                outcome=checked.outcome,
                detail=checked.detail,
                sha256=digest,
            )
            if checked.outcome in FLAGS:
                audit.record(
                    actor=None,
                    action="federation.document_flagged",
                    object_type="certificate_fact",
                    object_id=fact.key,
                    organization_id=None,
                    after={"outcome": checked.outcome, "detail": checked.detail, "sha256": digest},
                )
    except IntegrityError:
        return False
    return True


# ------------------------------------------------------------------ status


@dataclass(frozen=True)
class CenterDocuments:
    """One issuer's signed PDFs as the national node checked them."""

    issuer: str
    source: str
    registered: int
    checked: int
    verified: int
    flagged: int
    unchecked: int
    retrying: int
    """Of the unchecked: tried, the center unreachable or the number not found there."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Flagged:
    """A record the national node could not verify."""

    issuer: str
    number: str
    fact_key: str
    outcome: str
    detail: str
    checked_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "checked_at": self.checked_at.isoformat()}


def document_status() -> tuple[list[CenterDocuments], list[Flagged]]:
    """Per issuer with a source or a check: its issued facts checked, verified, flagged,
    unchecked; and every flagged record."""
    sources = dict(DocumentSource.objects.values_list("issuer", "url"))
    issuers = sorted(set(sources) | set(DocumentCheck.objects.values_list("issuer", flat=True)))
    centers = []
    for code in issuers:
        registered = CertificateFact.objects.filter(
            issuer=code, event=CertificateFact.Event.ISSUED
        ).count()
        finals = Counter(
            dict(
                DocumentCheck.objects.filter(issuer=code, outcome__in=FINAL)
                .values_list("outcome")
                .annotate(n=Count("id"))
                .values_list("outcome", "n")
            )
        )
        final_keys = DocumentCheck.objects.filter(issuer=code, outcome__in=FINAL).values("fact_key")
        retrying = (
            DocumentCheck.objects.filter(issuer=code, outcome__in=RETRIED)
            .exclude(fact_key__in=final_keys)
            .values("fact_key")
            .distinct()
            .count()
        )
        verified = finals[Outcome.VERIFIED]
        flagged = sum(finals[o] for o in FLAGS)
        centers.append(
            CenterDocuments(
                issuer=code,
                source=sources.get(code, ""),
                registered=registered,
                checked=verified + flagged,
                verified=verified,
                flagged=flagged,
                unchecked=max(registered - verified - flagged, 0),
                retrying=retrying,
            )
        )
    flags = [
        Flagged(c.issuer, c.number, c.fact_key, c.outcome, c.detail, c.checked_at)
        for c in DocumentCheck.objects.filter(outcome__in=FLAGS).order_by("issuer", "number")
    ]
    return centers, flags


def document_state(fact_key: str) -> tuple[str, datetime | None]:
    """Whether the national node verified the signed PDF of the issued fact ``fact_key``:
    ``verified`` or ``flagged`` (with when), or ``unchecked``."""
    final = (
        DocumentCheck.objects.filter(fact_key=fact_key, outcome__in=FINAL)
        .values_list("outcome", "checked_at")
        .first()
    )
    if final is None:
        return "unchecked", None
    outcome, at = final
    return ("verified" if outcome == Outcome.VERIFIED else "flagged"), at
