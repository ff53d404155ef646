"""What anyone may learn about a certificate from its number: the public lookup.

The same public data as the verification page (``/verify/<number>``): what the
certificate itself prints publicly (number, kind, issuer and its accreditation, the
instrument's type, maker, model and serial, the dates, the verification mark) and its
status (valid; superseded, by which certificate and when; revoked, when and why), with the
SHA-256 of the PDF issued. Nothing private: no customer, no person, no run, no results,
no database ids.

:func:`public_certificate` answers in one indexed query (the unique index on ``number``;
the issuer and the instrument joined; the status's events as correlated subqueries on
the unique index of ``(certificate, kind)``). Its SQL is compiled by the ORM once per
process and then only executed: compiling the joins and subqueries costs more than the
query itself.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .models import Certificate, CertificateEvent, CertificateStatus

_PLACEHOLDER = "\x00number\x00"
_COLUMNS = (
    "number",
    "kind",
    "issued_at",
    "pdf_sha256",
    "mark_number",
    "valid_until",
    "supersedes__number",
    "organization__name",
    "organization__accreditation",
    "run__finished_at",
    "run__job__instrument__instrument_type__name",
    "run__job__instrument__instrument_type__name_vi",
    "run__job__instrument__manufacturer",
    "run__job__instrument__model",
    "run__job__instrument__serial",
    "replacement_number",
    "superseded_at",
    "revoked_at",
    "revoked_reason",
)


def _query() -> Any:
    events = CertificateEvent.objects.filter(certificate=OuterRef("pk")).order_by()
    superseded = events.filter(kind=CertificateEvent.Kind.SUPERSEDED)
    revoked = events.filter(kind=CertificateEvent.Kind.REVOKED)
    return (
        Certificate.objects.filter(number=_PLACEHOLDER)
        .order_by()
        .annotate(
            replacement_number=Subquery(superseded.values("replacement__number")[:1]),
            superseded_at=Subquery(superseded.values("at")[:1]),
            revoked_at=Subquery(revoked.values("at")[:1]),
            revoked_reason=Subquery(revoked.values("reason")[:1]),
        )
        .values_list(*_COLUMNS)
    )


@cache
def _compiled(alias: str, vendor: str) -> tuple[str, tuple[Any, ...], int, dict[int, Any]]:
    """The SQL of the lookup, its parameters, where the number goes, and the converters
    the ORM applies to the columns (time zones and dates on SQLite), by position."""
    compiler = _query().query.get_compiler(alias)
    sql, params = compiler.as_sql()
    columns = [expression for expression, _, _ in compiler.select]
    if len(columns) != len(_COLUMNS):
        raise AssertionError(f"the public lookup selects {len(columns)} columns")
    return sql, tuple(params), list(params).index(_PLACEHOLDER), compiler.get_converters(columns)


def public_certificate(number: str) -> dict[str, Any] | None:
    """The public facts of certificate ``number``, or None when there is no such number."""
    sql, params, slot, converters = _compiled(connection.alias, connection.vendor)
    bound = list(params)
    bound[slot] = number
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, (functions, expression) in converters.items():
        for convert in functions:
            values[i] = convert(values[i], expression, connection)
    (
        number,
        kind,
        issued_at,
        pdf_sha256,
        mark_number,
        valid_until,
        supersedes,
        issuer,
        accreditation,
        performed_at,
        type_name,
        type_name_vi,
        manufacturer,
        model,
        serial,
        superseded_by,
        superseded_at,
        revoked_at,
        revoked_reason,
    ) = values
    if revoked_at is not None:
        status = CertificateStatus.REVOKED
    elif superseded_at is not None:
        status = CertificateStatus.SUPERSEDED
    else:
        status = CertificateStatus.VALID
    return {
        "number": number,
        "kind": kind,
        "status": status.value,
        "issuer": {"name": issuer, "accreditation": accreditation or None},
        "instrument": {
            "type": type_name,
            "type_vi": type_name_vi or None,
            "manufacturer": manufacturer,
            "model": model,
            "serial": serial,
        },
        "performed_on": _day(performed_at),
        "issued_on": _day(issued_at),
        "mark_number": mark_number or None,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "supersedes": supersedes,
        "superseded_by": superseded_by,
        "superseded_on": _day(superseded_at),
        "revoked_on": _day(revoked_at),
        "revoked_reason": revoked_reason if revoked_at is not None else None,
        "pdf_sha256": pdf_sha256,
    }


def _day(moment: datetime | None) -> str | None:
    """The calendar day in the lab's time zone, as the verification page prints it."""
    return timezone.localdate(moment).isoformat() if moment is not None else None
