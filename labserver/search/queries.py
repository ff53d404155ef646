"""What the staff's search finds, and how.

Four kinds of record are searched, each in the person's own organizations only
(:func:`staff_organization_ids`): certificates (by number or verification mark, by their
instrument, by their customer; narrowed by status), instruments (serial, manufacturer,
model, or their owner), customers (code, name) and jobs (number, instrument, customer).
A query is cut into words (letters and digits of any script; every other character only
separates words), and a record is found when every word is found in one of its sources:
its own fields, its instrument's, or its customer's.

How a source is matched depends on the database (the connection's vendor):

* PostgreSQL: full-text search with the ``'simple'`` configuration (no stemming, no stop
  words: names are Vietnamese and English, numbers and serials are not words of either),
  each word a *prefix* (``word:*``), so ``J-2026`` finds ``J-2026-00017``. Each source is a
  ``to_tsvector`` expression (of the fields with ``-/._:`` made spaces, :class:`Separated`)
  that a GIN index of this app's migration
  (:mod:`labserver.search.migrations`) covers, so a match is an index scan, not a scan of
  the table. Ranked: the record whose number (serial, code) is exactly the query first, then
  those it begins, then by ``ts_rank``.
* SQLite (the embedded default): ``icontains`` over the same fields, every word somewhere.

Both compare each word in three spellings (as typed lower-case, upper-case, capitalised):
SQLite's ``LIKE`` folds the case of ASCII letters only, and a PostgreSQL database created
with the ``C`` character type lower-cases only ASCII in ``to_tsvector``, so *Đồng* typed
as *đồng* would otherwise be missed by either.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connections
from django.db.models import (
    Case,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)

from labserver.accounts.access import granted_organization_ids, organization_ids_with_role
from labserver.accounts.models import Organization, Role
from labserver.instruments.customers import customers_of
from labserver.instruments.models import Instrument
from labserver.issuance.models import Certificate, CertificateEvent, CertificateStatus
from labserver.jobs.models import Job

# Every role of a center's staff may search; a customer may not (it has the portal).
STAFF_ROLES: tuple[str, ...] = tuple(role for role in Role.values if role != Role.CUSTOMER)

CONFIG = "simple"
MIN_CHARACTERS = 2  # letters and digits in the whole query
MAX_CHARACTERS = 100
MAX_WORDS = 8

# The fields of each source. The GIN indexes of the migration are built on these very
# expressions (vector(*fields)); change one, change the other (a test checks the plans).
CERTIFICATE_FIELDS = ("number", "mark_number")
INSTRUMENT_FIELDS = ("serial", "manufacturer", "model")
CUSTOMER_FIELDS = ("code", "name")
JOB_FIELDS = ("number",)

_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> tuple[str, ...]:
    """The words of ``text`` (letters and digits, any script), lower-case, at most
    :data:`MAX_WORDS`. Everything else (quotes, ``&``, ``|``, ``:*``, ``%``, ``_``) only
    separates words, so nothing typed reaches a query's syntax. Composed first (NFC): a
    keyboard that types *ồ* as *o* and two combining marks would otherwise cut the word
    at the marks, which are not letters."""
    composed = unicodedata.normalize("NFC", text)
    return tuple(_WORD.findall(composed.casefold()))[:MAX_WORDS]


def spellings(word: str) -> tuple[str, ...]:
    """``word`` as typed lower-case, upper-case and capitalised (no duplicates)."""
    return tuple(dict.fromkeys((word, word.upper(), word.capitalize())))


@dataclass(frozen=True)
class Scope:
    """Whose records are searched (organization ids) and in which database (alias)."""

    organizations: frozenset[int]
    using: str = "default"

    @property
    def postgres(self) -> bool:
        return connections[self.using].vendor == "postgresql"


def staff_organization_ids(user: Any) -> frozenset[int]:
    """The organizations where ``user`` holds a staff role, or was granted as an auditor
    (a customer's own organization is not among them)."""
    return frozenset(
        organization_ids_with_role(user, *STAFF_ROLES) | granted_organization_ids(user)
    )


def tsquery(words: tuple[str, ...]) -> SearchQuery:
    """Every word, in any of its spellings, as a prefix: ``('a':* | 'A':*) & (...)``.
    The words hold letters and digits only (:func:`words_of`), so quoting them is safe."""
    terms = (" | ".join(f"'{s}':*" for s in spellings(word)) for word in words)
    raw = " & ".join(f"({term})" for term in terms)
    return SearchQuery(raw, search_type="raw", config=CONFIG)


class Separated(Func):
    """A field with the separators of numbers and serials made spaces: PostgreSQL's parser
    reads ``J-2026-00017`` as the word ``j`` and the signed integers ``-2026`` and
    ``-00017`` (and ``a/b``, ``a.b`` as paths and hosts), which the prefix ``2026:*``
    would never find. Constants in the template, not parameters, so that the query's
    expression is the index's, character for character."""

    function = "translate"
    template = "%(function)s(%(expressions)s, '-/._:', '     ')"
    output_field = TextField()


def vector(*fields: str) -> SearchVector:
    """The document of a source, as its GIN index has it."""
    return SearchVector(*(Separated(F(field)) for field in fields), config=CONFIG)


def matching(
    queryset: QuerySet[Any], fields: tuple[str, ...], scope: Scope, words: tuple[str, ...]
) -> QuerySet[Any]:
    """The rows of ``queryset`` whose ``fields`` hold every word (full-text on PostgreSQL,
    ``icontains`` elsewhere)."""
    if scope.postgres:
        found: QuerySet[Any] = queryset.alias(_document=vector(*fields))
        return found.filter(_document=tsquery(words))
    every = (
        reduce(or_, (Q(**{f"{field}__icontains": s}) for field in fields for s in spellings(w)))
        for w in words
    )
    return queryset.filter(reduce(and_, every))


def _pks(
    queryset: QuerySet[Any], fields: tuple[str, ...], scope: Scope, words: tuple[str, ...]
) -> QuerySet[Any]:
    return matching(queryset, fields, scope, words).values("pk")


def _instruments(scope: Scope, words: tuple[str, ...]) -> QuerySet[Any]:
    mine = Instrument.objects.using(scope.using).filter(organization__in=scope.organizations)
    return _pks(mine, INSTRUMENT_FIELDS, scope, words)


def _customers(scope: Scope, words: tuple[str, ...]) -> QuerySet[Any]:
    customers = Organization.objects.using(scope.using).filter(kind=Organization.Kind.CUSTOMER)
    return _pks(customers, CUSTOMER_FIELDS, scope, words)


def ranked(
    queryset: QuerySet[Any], key: str, fields: tuple[str, ...], scope: Scope, text: str
) -> QuerySet[Any]:
    """Exactly ``text`` first, then beginning with it, then (PostgreSQL) by rank, then by
    ``key``: a number typed in full comes first whatever else matched."""
    words = words_of(text)
    closeness = Case(
        When(**{f"{key}__iexact": text}, then=Value(0)),
        When(**{f"{key}__istartswith": text}, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    queryset = queryset.annotate(closeness=closeness)
    if scope.postgres:
        ranks: QuerySet[Any] = queryset.annotate(rank=SearchRank(vector(*fields), tsquery(words)))
        return ranks.order_by("closeness", F("rank").desc(), key, "pk")
    return queryset.order_by("closeness", key, "pk")


def _found(
    own: QuerySet[Any],
    fields: tuple[str, ...],
    scope: Scope,
    text: str,
    *,
    instrument: str = "",
    owner: str = "",
) -> QuerySet[Any]:
    """The records of ``own`` in the scope's organizations whose ``fields`` hold every
    word, or whose instrument (reached by the path ``instrument``) or customer (``owner``)
    does. Each source is its own subquery: each is matched through its own index."""
    words = words_of(text)
    found = Q(pk__in=_pks(own, fields, scope, words))
    if instrument:
        found |= Q(**{f"{instrument}__in": _instruments(scope, words)})
    if owner:
        found |= Q(**{f"{owner}__in": _customers(scope, words)})
    return own.filter(organization__in=scope.organizations).filter(found)


def certificates(scope: Scope, text: str, status: str = "") -> QuerySet[Certificate]:
    """Certificates by number or mark, by their instrument, by their customer; ``status``
    (valid, superseded, revoked) narrows them."""
    queryset = _found(
        Certificate.objects.using(scope.using),
        CERTIFICATE_FIELDS,
        scope,
        text,
        instrument="run__job__instrument",
        owner="run__job__instrument__owner",
    )
    queryset = _with_status(queryset, status)
    queryset = queryset.select_related("run__job__instrument__owner").prefetch_related("events")
    return ranked(queryset, "number", CERTIFICATE_FIELDS, scope, text)


def _with_status(queryset: QuerySet[Certificate], status: str) -> QuerySet[Certificate]:
    """Revoked counts first, as :func:`labserver.issuance.services.certificate_state` says."""
    if not status:
        return queryset

    def event(kind: str) -> Exists:
        return Exists(CertificateEvent.objects.filter(certificate=OuterRef("pk"), kind=kind))

    revoked = event(CertificateEvent.Kind.REVOKED)
    superseded = event(CertificateEvent.Kind.SUPERSEDED)
    if status == CertificateStatus.REVOKED:
        return queryset.filter(revoked)
    if status == CertificateStatus.SUPERSEDED:
        return queryset.filter(superseded).exclude(revoked)
    return queryset.exclude(revoked).exclude(superseded)


def instruments(scope: Scope, text: str) -> QuerySet[Instrument]:
    """Instruments by serial, manufacturer or model, or by their owner."""
    own = Instrument.objects.using(scope.using)
    queryset = _found(own, INSTRUMENT_FIELDS, scope, text, owner="owner")
    queryset = queryset.select_related("owner__customer_account", "instrument_type")
    return ranked(queryset, "serial", INSTRUMENT_FIELDS, scope, text)


def customers(scope: Scope, text: str) -> QuerySet[Organization]:
    """The customers the person's centers serve, by code or name."""
    words = words_of(text)
    served = customers_of(set(scope.organizations)).using(scope.using)
    queryset = matching(served, CUSTOMER_FIELDS, scope, words).select_related("customer_account")
    return ranked(queryset, "code", CUSTOMER_FIELDS, scope, text)


def jobs(scope: Scope, text: str) -> QuerySet[Job]:
    """Jobs by number, by their instrument, by their customer."""
    own = Job.objects.using(scope.using)
    queryset = _found(
        own, JOB_FIELDS, scope, text, instrument="instrument", owner="instrument__owner"
    )
    queryset = queryset.select_related("instrument__owner", "instrument__instrument_type")
    return ranked(queryset, "number", JOB_FIELDS, scope, text)
