"""Writing and verifying the hash-chained audit trail.

Every service that changes a regulated record calls :func:`record` inside its
transaction; the entry and the record commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from .models import GENESIS, AuditChain, AuditEntry


def to_json(value: Any) -> Any:
    """Normalise a value to what a JSON column returns (dates, decimals and UUIDs as text)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def entry_hash(
    *,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    actor_user_id: int | None,
    organization_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
    reason: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of an entry's content and the previous hash."""
    content = {
        "chain": chain,
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_user": actor_user_id,
        "organization": organization_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "reason": reason,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_key(organization_id: int | None) -> str:
    return "system" if organization_id is None else f"org:{organization_id}"


def _locked_chain(key: str) -> AuditChain:
    try:
        return AuditChain.objects.select_for_update().get(key=key)
    except AuditChain.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            AuditChain.objects.create(key=key)
    except IntegrityError:
        pass  # created by a concurrent transaction: lock it below
    return AuditChain.objects.select_for_update().get(key=key)


def record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: object,
    organization_id: int | None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the organization's chain; call inside the service's transaction.

    ``actor`` is a user, an agent principal, :data:`ANONYMOUS` for someone not signed in,
    or ``None`` for the system itself.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    label, user_id = describe_actor(actor)
    key = chain_key(organization_id)
    head = _locked_chain(key)
    when = (at or datetime.now(UTC)).astimezone(UTC)
    content: dict[str, Any] = {
        "chain": key,
        "seq": head.length + 1,
        "at": when,
        "actor": label,
        "actor_user_id": user_id,
        "organization_id": organization_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "before": to_json(before),
        "after": to_json(after),
        "reason": reason,
        "prev_hash": head.head,
    }
    digest = entry_hash(**content)
    entry = AuditEntry.objects.create(**content, hash=digest)
    seq = content["seq"]
    AuditChain.objects.filter(key=key).update(length=seq, head=digest)
    return entry


class AnonymousClient:
    """The actor of an attempt by someone who proved no identity (a failed login): the
    entry names the user name tried in ``after``, never as its actor."""

    def __repr__(self) -> str:
        return "ANONYMOUS"


ANONYMOUS = AnonymousClient()


@dataclass(frozen=True)
class RemoteNode:
    """The actor of a request by another node of the federation that proved itself with the
    secret this node shares with it (the national node fetching a signed PDF): no person, no
    account of this node."""

    name: str
    is_authenticated = True
    is_anonymous = False


def describe_actor(actor: Any) -> tuple[str, int | None]:
    """``("user:alice", 7)``, ``("agent:bench-3", None)``, ``("node:national", None)``,
    ``("anonymous", None)`` or ``("system", None)``."""
    if actor is None:
        return "system", None
    if isinstance(actor, AnonymousClient):
        return "anonymous", None
    if isinstance(actor, RemoteNode):
        return f"node:{actor.name}", None
    agent = getattr(actor, "agent", None)
    if agent is not None:
        return f"agent:{agent.name}", None
    return f"user:{actor.get_username()}", actor.pk


@dataclass(frozen=True)
class AuditProblem:
    """One break in a chain: where, and what is wrong."""

    chain: str
    seq: int | None
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = (
            self.chain
            if self.seq is None
            else f"{self.chain} entry {self.seq} (id {self.entry_id})"
        )
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class AuditReport:
    chains: int
    entries: int
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def hash_of(entry: AuditEntry, prev_hash: str | None = None) -> str:
    """The hash a stored entry should have: its content as read back, chained to
    ``prev_hash`` (default: the previous hash it records)."""
    return entry_hash(
        chain=entry.chain,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        actor_user_id=entry.actor_user_id,
        organization_id=entry.organization_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        before=entry.before,
        after=entry.after,
        reason=entry.reason,
        prev_hash=entry.prev_hash if prev_hash is None else prev_hash,
    )


def _verify_chain(chain: AuditChain) -> Iterator[AuditProblem | int]:
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    entries = AuditEntry.objects.filter(chain=chain.key).order_by("seq")
    for entry in entries.iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq:
            yield AuditProblem(
                chain.key,
                entry.seq,
                entry.pk,
                f"sequence jumps from {expected_seq - 1} to {entry.seq}: "
                f"{entry.seq - expected_seq} entr{'y' if entry.seq - expected_seq == 1 else 'ies'} "
                "deleted",
            )
        if entry.prev_hash != expected_prev:
            yield AuditProblem(
                chain.key,
                entry.seq,
                entry.pk,
                "previous-hash link broken (entry inserted or removed)",
            )
        if hash_of(entry) != entry.hash:
            yield AuditProblem(
                chain.key, entry.seq, entry.pk, "content does not match its hash (entry altered)"
            )
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
    if count != chain.length or expected_prev != chain.head:
        yield AuditProblem(
            chain.key,
            None,
            None,
            f"head records {chain.length} entries ending in {chain.head[:12]}…, "
            f"found {count} ending in {expected_prev[:12]}… "
            "(latest entries deleted or chain reset)",
        )
    yield count


#: The audited records whose organization must have a chain: every one of them was
#: created by a service that wrote an audit entry in that organization's chain.
AUDITED_RECORDS = (
    ("issuance", "Certificate", "certificates"),
    ("jobs", "Job", "jobs"),
    ("measurements", "Run", "runs"),
    ("standards", "ReferenceStandard", "reference standards"),
    ("instruments", "Instrument", "instruments"),
)


def _records_without_chain(lengths: dict[str, int]) -> Iterator[AuditProblem]:
    """A problem for each organization that holds audited records but whose chain is
    missing or empty: the trail was wiped (``TRUNCATE``, or a chain head reset)."""
    holders: dict[int, list[str]] = {}
    for app, model, label in AUDITED_RECORDS:
        records = apps.get_model(app, model).objects
        ids = records.values_list("organization_id", flat=True).distinct().order_by()
        for organization_id in ids:
            holders.setdefault(organization_id, []).append(label)
    codes = dict(
        apps.get_model("accounts", "Organization")
        .objects.filter(pk__in=holders)
        .values_list("pk", "code")
    )
    for organization_id, labels in sorted(holders.items()):
        key = chain_key(organization_id)
        length = lengths.get(key)
        if length:
            continue
        state = "no audit chain" if length is None else "an empty audit chain"
        yield AuditProblem(
            key,
            None,
            None,
            f"organization {codes.get(organization_id, organization_id)} has "
            f"{', '.join(labels)} but {state}: the trail was removed",
        )


def verify_audit(keys: Collection[str] | None = None) -> AuditReport:
    """Recompute every chain (or only the chains ``keys``, e.g. ``chain_key(org.pk)``);
    report each altered, inserted or deleted entry, and (checking every chain) each
    organization with audited records but no chain."""
    problems: list[AuditProblem] = []
    entries = 0
    heads = AuditChain.objects.order_by("key")
    if keys is not None:
        heads = heads.filter(key__in=keys)
    chains = list(heads)
    known = {chain.key for chain in chains}
    for chain in chains:
        for item in _verify_chain(chain):
            if isinstance(item, int):
                entries += item
            else:
                problems.append(item)
    found = AuditEntry.objects.all() if keys is None else AuditEntry.objects.filter(chain__in=keys)
    orphans = found.exclude(chain__in=known).values_list("chain", flat=True).distinct()
    for key in orphans:
        problems.append(AuditProblem(key, None, None, "entries without a chain head"))
    if keys is None:
        problems.extend(_records_without_chain({c.key: c.length for c in chains}))
    return AuditReport(chains=len(chains), entries=entries, problems=tuple(problems))
