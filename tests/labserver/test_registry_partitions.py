"""The certificate facts' table partitioned by year of issue (issue 21, point 6), on
PostgreSQL: a fact goes to the partition of its certificate's year of issue (a revocation
years later too), the lookup answers across partitions, a key stays unique across them,
the yearly command makes a year's partition and moves the facts waiting in the default
one, every partition refuses UPDATE, DELETE and TRUNCATE, the arrival trigger fires on a
partition, and the migration keeps rows, triggers and publication. SQLite keeps the plain
table.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from labserver.registry.lookup import registered_certificate
from labserver.registry.models import CertificateFact
from labserver.registry.partitions import (
    DEFAULT,
    PARENT,
    is_partitioned,
    partition_name,
    rebuild,
    years,
)
from labserver.registry.records import (
    IssuedCertificate,
    RegistryConflict,
    record_issued,
    record_revoked,
)
from tests.support import pgcatalog
from tests.support.dbroles import as_owner

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's"
)
THIS_YEAR = timezone.localdate().year
EARLY = 2019  # a year the migration made no partition for: its facts wait in the default


def issued(number: str, on: date, issuer: str = "PT1") -> IssuedCertificate:
    return IssuedCertificate(
        issuer=issuer,
        region="Hà Nội",
        number=number,
        at=datetime(on.year, on.month, on.day, 3, tzinfo=UTC),
        kind="verification",
        verdict="pass",
        instrument_type="water_meter",
        pattern="PAT-1",
        manufacturer="Maker",
        model="M1",
        serial=f"SN-{number}",
        issued_on=on,
        valid_until=None,
        mark="",
        supersedes="",
        pdf_sha256="a" * 64,
        signer_fingerprint="b" * 64,
    )


def where(key: str) -> str:
    """The partition holding the fact ``key``."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {PARENT} WHERE key = %s", [key])
        (table,) = cursor.fetchone()
    return str(table)


def test_the_table_is_partitioned_on_postgresql_only() -> None:
    assert is_partitioned(connection) is (connection.vendor == "postgresql")


@on_postgresql
def test_a_fact_goes_to_the_partition_of_its_year_of_issue() -> None:
    record_issued(issued(f"PT1-VC-{THIS_YEAR}-1", date(THIS_YEAR, 12, 31)))
    record_issued(issued(f"PT1-VC-{THIS_YEAR + 1}-1", date(THIS_YEAR + 1, 1, 1)))
    record_issued(issued(f"PT1-VC-{EARLY}-1", date(EARLY, 6, 1)))
    # revoked years after its issue: the revocation stays beside its certificate
    record_revoked("PT1", f"PT1-VC-{EARLY}-1", datetime(THIS_YEAR, 2, 1, tzinfo=UTC))
    assert where(f"PT1/PT1-VC-{THIS_YEAR}-1/issued") == partition_name(THIS_YEAR)
    assert where(f"PT1/PT1-VC-{THIS_YEAR + 1}-1/issued") == partition_name(THIS_YEAR + 1)
    assert where(f"PT1/PT1-VC-{EARLY}-1/issued") == DEFAULT
    assert where(f"PT1/PT1-VC-{EARLY}-1/revoked") == DEFAULT


def test_the_lookup_answers_across_partitions() -> None:
    record_issued(issued(f"PT1-VC-{EARLY}-2", date(EARLY, 3, 1)))
    record_issued(issued(f"PT1-VC-{THIS_YEAR}-2", date(THIS_YEAR, 3, 1)))
    record_revoked("PT1", f"PT1-VC-{EARLY}-2", datetime(THIS_YEAR, 3, 2, tzinfo=UTC))
    early = registered_certificate(f"PT1-VC-{EARLY}-2")
    assert early is not None
    assert early.status == "revoked"
    assert early.revoked_at == datetime(THIS_YEAR, 3, 2, tzinfo=UTC)
    assert early.issued_on == date(EARLY, 3, 1)
    recent = registered_certificate(f"PT1-VC-{THIS_YEAR}-2")
    assert recent is not None
    assert recent.status == "valid"
    assert registered_certificate(f"PT1-VC-{THIS_YEAR}-999") is None


@on_postgresql
def test_a_key_is_registered_once_across_partitions() -> None:
    record_issued(issued("PT1-VC-X-3", date(THIS_YEAR, 5, 1)))
    # the same number issued again, dated another year: another partition, the same key
    with pytest.raises(RegistryConflict, match="PT1-VC-X-3 is already registered as issued"):
        record_issued(issued("PT1-VC-X-3", date(EARLY, 5, 1)))
    fact = CertificateFact.objects.get(key="PT1/PT1-VC-X-3/issued")
    fact.issued_on = date(THIS_YEAR + 1, 5, 1)
    with (
        pytest.raises(IntegrityError, match="key PT1/PT1-VC-X-3/issued is already registered"),
        transaction.atomic(),
    ):
        fact.save(force_insert=True)
    assert CertificateFact.objects.filter(number="PT1-VC-X-3").count() == 1


@on_postgresql
def test_the_yearly_command_makes_the_partitions_and_moves_the_waiting_facts() -> None:
    record_issued(issued(f"PT1-VC-{EARLY}-4", date(EARLY, 8, 1)))
    record_revoked("PT1", f"PT1-VC-{EARLY}-4", datetime(THIS_YEAR, 1, 5, tzinfo=UTC))
    record_issued(issued(f"PT1-VC-{EARLY - 1}-4", date(EARLY - 1, 8, 1)))
    assert years(connection).waiting == {EARLY: 2, EARLY - 1: 1}
    out = io.StringIO()
    with pytest.raises(CommandError, match="partition\\(s\\) missing"), as_owner():
        call_command("registry_partitions", "--check", "--through", str(THIS_YEAR + 2), stdout=out)
    assert f"2 fact(s) of {EARLY} wait in the default partition" in out.getvalue()
    with as_owner():
        call_command(
            "registry_partitions", "--through", str(THIS_YEAR + 2), database="default", stdout=out
        )
    assert f"created: {EARLY - 1}, {EARLY}, {THIS_YEAR + 2}" in out.getvalue()
    state = years(connection)
    assert state.waiting == {}
    assert {EARLY - 1, EARLY, THIS_YEAR, THIS_YEAR + 1, THIS_YEAR + 2} <= set(state.years)
    assert where(f"PT1/PT1-VC-{EARLY}-4/issued") == partition_name(EARLY)
    assert where(f"PT1/PT1-VC-{EARLY}-4/revoked") == partition_name(EARLY)
    assert where(f"PT1/PT1-VC-{EARLY - 1}-4/issued") == partition_name(EARLY - 1)
    early = registered_certificate(f"PT1-VC-{EARLY}-4")
    assert early is not None
    assert early.status == "revoked"
    # a new partition is protected as the others: its own TRUNCATE trigger, the cloned
    # row triggers, the arrival trigger still firing only in replica mode
    assert pgcatalog.triggers(partition_name(EARLY)) == (
        pgcatalog.triggers(partition_name(THIS_YEAR))
        - {(f"{partition_name(THIS_YEAR)}_append_only_truncate", "O")}
        | {(f"{partition_name(EARLY)}_append_only_truncate", "O")}
    )
    with as_owner():
        call_command("registry_partitions", "--check", "--through", str(THIS_YEAR + 2), stdout=out)
    assert f"every year through {THIS_YEAR + 2} has its partition" in out.getvalue()


@on_postgresql
def test_the_command_refuses_a_year_before_this_one() -> None:
    with pytest.raises(CommandError, match=f"--through {EARLY} is before this year"):
        call_command("registry_partitions", "--through", str(EARLY))


def _a_fact_in_every_partition() -> list[str]:
    record_issued(issued(f"PT1-VC-{THIS_YEAR}-5", date(THIS_YEAR, 5, 1)))
    record_issued(issued(f"PT1-VC-{THIS_YEAR + 1}-5", date(THIS_YEAR + 1, 5, 1)))
    record_issued(issued(f"PT1-VC-{EARLY}-5", date(EARLY, 5, 1)))
    return [partition_name(THIS_YEAR), partition_name(THIS_YEAR + 1), DEFAULT]


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {t} SET serial = 'X'", "DELETE FROM {t}", "TRUNCATE {t}"],
)
def test_every_partition_refuses_a_change_even_to_the_owner(statement: str) -> None:
    for table in _a_fact_in_every_partition():
        with (
            pytest.raises(DatabaseError, match=f"on public.{table} refused: the table is append"),
            as_owner(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(t=table))


@on_postgresql
def test_the_arrival_trigger_fires_on_a_partition() -> None:
    record_issued(issued(f"PT1-VC-{THIS_YEAR}-6", date(THIS_YEAR, 6, 1)))
    key = f"PT1/PT1-VC-{THIS_YEAR}-6/issued"
    copy = f"INSERT INTO {PARENT} SELECT * FROM {PARENT} WHERE key = %s"
    other = (
        f"INSERT INTO {PARENT} SELECT key, issuer, region, number, event, at, kind, verdict, "
        "instrument_type, pattern, manufacturer, model, 'SN-OTHER', issued_on, valid_until, "
        f"mark, supersedes, superseded_by, pdf_sha256, signer_fingerprint FROM {PARENT} "
        "WHERE key = %s"
    )
    with as_owner(triggers=False), connection.cursor() as cursor:  # as the apply worker
        cursor.execute(copy, [key])
        cursor.execute(other, [key])
        cursor.execute(
            "SELECT kind, table_name, key FROM federation_arrival WHERE key = %s ORDER BY id",
            [key],
        )
        arrivals = cursor.fetchall()
    assert arrivals == [
        ("duplicate", PARENT, key),
        ("contradiction", PARENT, key),
    ]
    assert CertificateFact.objects.filter(key=key).count() == 1


@on_postgresql
def test_the_migration_keeps_rows_triggers_and_publication() -> None:
    record_issued(issued(f"PT1-VC-{EARLY}-7", date(EARLY, 7, 1)))
    record_revoked("PT1", f"PT1-VC-{EARLY}-7", datetime(THIS_YEAR, 7, 2, tzinfo=UTC))
    record_issued(issued(f"PT1-VC-{THIS_YEAR}-7", date(THIS_YEAR, 7, 1)))
    before = sorted(CertificateFact.objects.values_list("key", "issued_on", "at", "serial"))
    triggers = pgcatalog.triggers(PARENT)
    grants = pgcatalog.granted(PARENT)
    with as_owner(), connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT ON {PARENT} TO PUBLIC")  # as the replication role's
        cursor.execute(
            f"CREATE PUBLICATION probe_registry FOR TABLE {PARENT} (key, issuer, number, "
            "event, issued_on) WHERE (issuer = 'PT1') "
            "WITH (publish = 'insert', publish_via_partition_root = true)"
        )
        with connection.schema_editor() as editor:
            rebuild(editor, partitioned=False)  # the migration backwards: a plain table
        assert not is_partitioned(connection)
        assert pgcatalog.triggers(PARENT) == triggers - {(f"{PARENT}_key_once", "O")}
        with connection.schema_editor() as editor:
            rebuild(editor, partitioned=True)  # and forwards again, rows and all
        cursor.execute(
            "SELECT p.pubviaroot, pg_get_expr(r.prqual, r.prrelid), "
            "       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a "
            "         WHERE a.attrelid = r.prrelid AND a.attnum = ANY(r.prattrs)) "
            "  FROM pg_publication p JOIN pg_publication_rel r ON r.prpubid = p.oid "
            " WHERE p.pubname = 'probe_registry' AND r.prrelid = %s::regclass",
            [PARENT],
        )
        published = cursor.fetchone()
    assert is_partitioned(connection)
    assert sorted(CertificateFact.objects.values_list("key", "issued_on", "at", "serial")) == (
        before
    )
    assert pgcatalog.triggers(PARENT) == triggers
    assert pgcatalog.granted(PARENT) == grants | {("SELECT", "PUBLIC")}
    assert ("registry_certificatefact_federation_arrival", "R") in triggers
    assert published == (
        True,
        "((issuer)::text = 'PT1'::text)",
        ["key", "issuer", "number", "event", "issued_on"],
    )
    assert where(f"PT1/PT1-VC-{EARLY}-7/revoked") == partition_name(EARLY)
    assert where(f"PT1/PT1-VC-{THIS_YEAR}-7/issued") == partition_name(THIS_YEAR)
