"""Sending completed runs to the LIMS, and the few GETs the agent needs from it.

:func:`sync` posts each due run of the outbox to ``POST /api/v1/runs/`` with the bytes
kept at completion, signed by the agent's key; the run id inside the body is the
idempotency key (the LIMS answers 201 the first time, 200 for the same body again, 409
for another body under the same id), so a response lost on the way only costs a replay.

What an answer does to a run:

* 201, 200: ``sent`` (the LIMS's response kept);
* another 4xx about the run (invalid evidence, a job that does not accept runs...):
  ``rejected``, with the server's ``code``, ``detail`` and ``field``; never deleted;
* 5xx, 408, 429, a refused or timed-out connection: stays ``queued``; the next attempt is
  due after an exponential delay with full jitter (``uniform(0, min(cap, base·2^n))``),
  or after the server's ``Retry-After`` when it says more;
* 401 and a refused signature are about the agent (its token, its key), not the run:
  the run stays queued and the pass stops, since every other run would fail alike.

Only the standard library speaks HTTP here, with explicit timeouts.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from procedures.bench import StandardRecord

from .keys import AgentKey
from .outbox import Outbox, Outcome

__all__ = [
    "RUNS_PATH",
    "LimsClient",
    "LimsRefused",
    "LimsResponse",
    "LimsUnavailable",
    "SyncError",
    "SyncReport",
    "SyncResult",
    "backoff_delay",
    "sync",
]

RUNS_PATH = "/api/v1/runs/"
SIGNATURE_HEADER = "X-Caltrace-Signature"
RETRYABLE_4XX = {408, 429}
# Refusals of the agent itself (its token or its key), not of the run it sent.
AGENT_REFUSALS = {"not_authenticated", "authentication_failed", "bad_signature"}
MAX_PAGES = 100


class SyncError(Exception):
    """Base of the sync client's errors."""


class LimsUnavailable(SyncError, ConnectionError):
    """No usable answer: connection refused or reset, timeout, or a 5xx/408/429 status.

    ``address`` is the LIMS's address the client was given and ``reason`` why it gave no
    answer, in words an operator can act on (connection refused, the name not found in
    DNS, a TLS failure, no answer in time, an HTTP status)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        address: str = "",
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        self.address = address
        self.reason = reason or message


class LimsRefused(SyncError):
    """The LIMS refused the request (4xx) and said why: ``code``, ``detail``, ``field``."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status = status
        self.body = dict(body)
        self.code = str(body.get("code") or f"http_{status}")
        self.detail = str(body.get("detail") or "")
        field = body.get("field")
        self.field = None if field is None else str(field)
        where = f" [{self.field}]" if self.field else ""
        super().__init__(f"HTTP {status} {self.code}{where}: {self.detail}")

    @property
    def about_the_agent(self) -> bool:
        """A refusal of the agent's credentials, not of the request's content."""
        return self.status == 401 or self.code in AGENT_REFUSALS


@dataclass(frozen=True, slots=True)
class LimsResponse:
    status: int
    body: Any


class LimsClient:
    """The LIMS's API as the agent uses it, over HTTP(S) with the agent token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        key: AgentKey | None = None,
        timeout_s: float = 10.0,
        user_agent: str = "caltrace-agent",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._key = key
        self.timeout_s = timeout_s
        self.user_agent = user_agent

    def __repr__(self) -> str:
        return f"LimsClient({self.base_url!r})"

    # -- the run submission ----------------------------------------------------------------

    def submit_run(self, body: bytes) -> LimsResponse:
        """POST a run's exact bytes, signed; 200/201 return, the rest raises."""
        if self._key is None:
            raise SyncError("this client has no agent key: runs cannot be signed")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: self._key.sign(body),
        }
        return self._request("POST", RUNS_PATH, body=body, headers=headers)

    # -- what the run command reads --------------------------------------------------------

    def job(self, number: str) -> dict[str, Any]:
        """The job numbered ``number`` visible to this agent (404-like refusal otherwise)."""
        results = self._list("/api/v1/jobs/", {"number": number})
        if not results:
            raise LimsRefused(
                404,
                {
                    "code": "not_found",
                    "detail": f"no job {number!r} for this bench",
                    "field": "job",
                },
            )
        return dict(results[0])

    def jobs(self, bench: str) -> list[dict[str, Any]]:
        """The jobs given to ``bench`` that are still to be run (accepted, scheduled, or in
        progress: measured again after a rejected run)."""
        found: list[dict[str, Any]] = []
        for state in ("accepted", "scheduled", "in_progress"):
            found += [
                dict(j) for j in self._list("/api/v1/jobs/", {"bench__name": bench, "state": state})
            ]
        return found

    def jobs_of_instrument(self, serial: str) -> list[dict[str, Any]]:
        """The jobs visible to this agent whose instrument has the serial number
        ``serial`` (exactly), in any state: the caller chooses."""
        return [
            dict(j)
            for j in self._list("/api/v1/jobs/", {"search": serial})
            if j.get("instrument_serial") == serial
        ]

    def standard(self, asset_id: str) -> StandardRecord:
        """A reference standard and its calibration certificates, as the LIMS has them."""
        results = self._list("/api/v1/standards/", {"asset_id": asset_id})
        if not results:
            raise LimsRefused(
                404,
                {"code": "not_found", "detail": f"no standard {asset_id!r}", "field": "asset_id"},
            )
        standard = dict(results[0])
        certificates = self._get(f"/api/v1/standards/{standard['id']}/certificates/").body
        if isinstance(certificates, Mapping) and "results" in certificates:
            certificates = certificates["results"]
        return StandardRecord(standard, tuple(dict(c) for c in certificates))

    def procedure(self, procedure_id: str, version: str) -> dict[str, Any]:
        """A procedure of the catalog by id and version."""
        results = self._list(
            "/api/v1/procedures/", {"procedure_id": procedure_id, "version": version}
        )
        if not results:
            raise LimsRefused(
                404,
                {
                    "code": "not_found",
                    "detail": f"no procedure {procedure_id} v{version}",
                    "field": "procedure",
                },
            )
        return dict(results[0])

    # -- plumbing -------------------------------------------------------------------------------

    def _list(self, path: str, params: Mapping[str, str]) -> list[Any]:
        """Every result of a (possibly paginated) list."""
        url: str | None = f"{path}?{urllib.parse.urlencode(params)}"
        results: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return results
            body = self._get(url).body
            if isinstance(body, list):
                return results + body
            results.extend(body.get("results", []))
            url = body.get("next")
        raise SyncError(f"{path}: more than {MAX_PAGES} pages")

    def _get(self, path_or_url: str) -> LimsResponse:
        return self._request("GET", path_or_url)

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> LimsResponse:
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", f"Token {self._token}")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", self.user_agent)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = response.status
                raw = response.read()
        except urllib.error.HTTPError as err:
            with err:
                status = err.code
                raw = err.read()
                retry_after = _retry_after(err.headers.get("Retry-After"))
            parsed = _json_or_text(raw)
            if status >= 500 or status in RETRYABLE_4XX:
                raise LimsUnavailable(
                    f"{method} {url}: HTTP {status} {_short(parsed)}",
                    status=status,
                    retry_after_s=retry_after,
                    address=self.base_url,
                    reason=f"HTTP {status} {_short(parsed, 80)}",
                ) from None
            if not isinstance(parsed, Mapping):
                parsed = {"code": f"http_{status}", "detail": _short(parsed), "field": None}
            raise LimsRefused(status, parsed) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = _why_unreachable(err, self.timeout_s)
            raise LimsUnavailable(
                f"{method} {url}: {reason}", address=self.base_url, reason=reason
            ) from None
        return LimsResponse(status, _json_or_text(raw))


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one due run became in this pass."""

    run_id: str
    job: str
    outcome: Outcome
    status: int | None
    detail: str
    next_attempt_at: datetime | None = None

    def line(self) -> str:
        """One line for the operator."""
        if self.outcome == Outcome.RETRY:
            when = (
                self.next_attempt_at.isoformat(timespec="seconds") if self.next_attempt_at else "-"
            )
            return f"{self.run_id} job {self.job}: not sent ({self.detail}); retry at {when}"
        if self.outcome == Outcome.REJECTED:
            return f"{self.run_id} job {self.job}: rejected: {self.detail}"
        return f"{self.run_id} job {self.job}: {self.outcome.value} (HTTP {self.status})"


@dataclass(frozen=True, slots=True)
class SyncReport:
    results: list[SyncResult]
    stopped: str | None  # why the pass stopped before the end (LIMS down, agent refused)
    agent_refused: bool
    left: int  # due runs not tried because the pass stopped
    unavailable: LimsUnavailable | None = None  # the LIMS's failure to answer, if it stopped

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


def backoff_delay(
    attempts: int, *, base_delay_s: float, max_delay_s: float, rng: random.Random
) -> float:
    """Full-jitter exponential backoff in seconds after ``attempts`` failed attempts (≥ 1)."""
    ceiling = min(max_delay_s, base_delay_s * 2.0 ** max(0, min(attempts - 1, 62)))
    return rng.uniform(0.0, ceiling)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def sync(
    outbox: Outbox,
    client: LimsClient,
    *,
    now: Callable[[], datetime] = _utc_now,
    max_attempts_per_run: int = 3,
    base_delay_s: float = 1.0,
    max_delay_s: float = 600.0,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """One pass over the runs due at ``now()``: each is sent with up to
    ``max_attempts_per_run`` attempts (sleeping the backoff delay between them), then
    left queued with its next attempt time. The pass stops at the first run the LIMS
    could not be reached for, and at a refusal of the agent's credentials."""
    if max_attempts_per_run < 1:
        raise ValueError("max_attempts_per_run must be >= 1")
    rng = rng or random.Random()
    results: list[SyncResult] = []
    due = outbox.due(now())
    for position, run in enumerate(due):
        attempts = run.attempts
        for tried in range(1, max_attempts_per_run + 1):
            try:
                response = client.submit_run(run.body)
            except LimsRefused as err:
                if err.about_the_agent:
                    outbox.record_attempt(
                        run.run_id,
                        outcome=Outcome.RETRY,
                        status=err.status,
                        reason=str(err),
                        next_attempt_at=None,
                    )
                    return SyncReport(
                        results, f"the LIMS refused this agent: {err}", True, len(due) - position
                    )
                outbox.record_attempt(
                    run.run_id,
                    outcome=Outcome.REJECTED,
                    status=err.status,
                    reason=str(err),
                    response=err.body,
                )
                results.append(
                    SyncResult(run.run_id, run.job, Outcome.REJECTED, err.status, str(err))
                )
                break
            except LimsUnavailable as err:
                attempts += 1
                delay = backoff_delay(
                    attempts, base_delay_s=base_delay_s, max_delay_s=max_delay_s, rng=rng
                )
                if err.retry_after_s is not None:
                    delay = max(delay, min(err.retry_after_s, max_delay_s))
                if tried < max_attempts_per_run:
                    outbox.record_attempt(
                        run.run_id, outcome=Outcome.RETRY, status=err.status, reason=str(err)
                    )
                    sleep(delay)
                    continue
                at = now() + timedelta(seconds=delay)
                outbox.record_attempt(
                    run.run_id,
                    outcome=Outcome.RETRY,
                    status=err.status,
                    reason=str(err),
                    next_attempt_at=at,
                )
                results.append(
                    SyncResult(run.run_id, run.job, Outcome.RETRY, err.status, str(err), at)
                )
                return SyncReport(
                    results,
                    f"the LIMS is unavailable: {err}",
                    False,
                    len(due) - position - 1,
                    unavailable=err,
                )
            else:
                outcome = Outcome.SENT if response.status == 201 else Outcome.REPLAYED
                body = (
                    response.body if isinstance(response.body, Mapping) else {"text": response.body}
                )
                outbox.record_attempt(
                    run.run_id, outcome=outcome, status=response.status, response=body
                )
                results.append(SyncResult(run.run_id, run.job, outcome, response.status, ""))
                break
    return SyncReport(results, None, False, 0)


def _why_unreachable(err: BaseException, timeout_s: float) -> str:
    """Why no answer came, in the operator's words: the first thing to check differs
    (a refused connection: the port or the server; DNS: the name; TLS: the certificate or
    the scheme; a timeout: the network or a server too busy)."""
    reason = getattr(err, "reason", err)
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed ({getattr(reason, 'reason', None) or reason})"
    if isinstance(reason, socket.gaierror):
        return f"the host name is not found (DNS: {reason.strerror or reason})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens at that address and port)"
    if isinstance(reason, socket.timeout | TimeoutError):
        return f"no answer within {timeout_s:g} s (timeout)"
    if isinstance(reason, OSError) and reason.strerror:
        return str(reason.strerror)
    return str(reason)


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the backoff delay stands
