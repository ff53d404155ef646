"""The staff's search (``/search/``): what it finds and in which order, whose records
(another center's never), who may search (every staff role; not a customer), the queries
it refuses, special characters, paging, both languages; on PostgreSQL (the suite's
database, with its GIN indexes used) and on SQLite (the fallback).

SQLite: the fallback runs on a real SQLite database, the test settings' ``sqlite`` alias
(in memory, tables made from the models), holding a copy of the test database's rows: the
same records, searched by the same functions with ``using="sqlite"``, must give the same
answers. A second database in the same process, rather than a whole second run of the suite
on SQLite, proves the fallback on every run of the suite, in well under a second.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext

from labserver.accounts.models import AuditGrant, Organization
from labserver.instruments import services as instruments
from labserver.instruments.models import Instrument
from labserver.issuance.models import Certificate
from labserver.jobs.models import Job
from labserver.search import queries
from tests.support.frontoffice import admin_of
from tests.support.issuing import issued
from tests.support.lims import Center, customer_of
from tests.support.pages import signed_in
from tests.support.search import VIETNAMESE_NAME, Searched, copy_rows, searched_center

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(center: Center) -> Searched:
    return searched_center(center)


def scope_of(user: Any, using: str = "default") -> queries.Scope:
    return queries.Scope(queries.staff_organization_ids(user), using=using)


def found(queryset: Any, key: str) -> list[str]:
    return [getattr(record, key) for record in queryset]


def test_it_finds_instruments_customers_and_jobs_by_serial_name_and_number(
    world: Searched, center: Center
) -> None:
    scope = scope_of(center.metrologist)
    assert set(found(queries.instruments(scope, "w-100"), "serial")) == {
        "W-100",
        "W-1000",
        "W-100A",
    }
    assert found(queries.customers(scope, "đồng nai"), "name") == [VIETNAMESE_NAME]
    assert found(queries.customers(scope, "ĐỒNG"), "name") == [VIETNAMESE_NAME]
    decomposed = unicodedata.normalize("NFD", "đồng nai")  # as some keyboards type it
    assert found(queries.customers(scope, decomposed), "name") == [VIETNAMESE_NAME]
    assert found(queries.instruments(scope, "Đồng Nai"), "serial") == ["DN-7"]
    assert found(queries.jobs(scope, world.job.number), "number")[0] == world.job.number
    # A job is found by its instrument and its customer too; a number by its beginning.
    assert world.job.number in found(queries.jobs(scope, "W-100"), "number")
    assert world.job.number in found(queries.jobs(scope, "water company"), "number")
    assert world.job.number in found(queries.jobs(scope, world.job.number[:6]), "number")
    assert not queries.instruments(scope, "nowhere").exists()


def test_the_exact_number_comes_first(world: Searched, center: Center) -> None:
    scope = scope_of(center.quality_manager)
    assert found(queries.instruments(scope, "W-100"), "serial") == ["W-100", "W-1000", "W-100A"]
    assert found(queries.instruments(scope, "w-100a"), "serial") == ["W-100A"]
    answer = signed_in(center.quality_manager).get("/search/", {"q": "W-100"})
    html = answer.content.decode()
    assert answer.status_code == 200
    assert html.index(">W-100<") < html.index(">W-1000<") < html.index(">W-100A<")


@pytest.mark.django_db(databases=["default", "sqlite"])
@pytest.mark.usefixtures("demo_pki")
def test_it_finds_a_certificate_by_number_customer_serial_and_status(center: Center) -> None:
    """On PostgreSQL and on SQLite (one certificate issued for both: issuing takes seconds)."""
    certificate = issued(center)
    copy_rows("sqlite")
    serial, customer = center.instrument.serial, center.instrument.owner.name
    for using in ("default", "sqlite"):
        scope = scope_of(center.signatory, using)
        for text in (certificate.number, certificate.number[:7], serial, customer.upper()):
            assert found(queries.certificates(scope, text), "number") == [certificate.number]
        assert queries.certificates(scope, serial, status="valid").count() == 1
        assert queries.certificates(scope, serial, status="revoked").count() == 0
        assert queries.certificates(scope, serial, status="superseded").count() == 0
    page = signed_in(center.signatory).get("/search/", {"q": certificate.number}).content.decode()
    assert f'href="/office/certificates/{certificate.pk}/"' in page  # the signatory's page
    page = signed_in(center.metrologist).get("/search/", {"q": serial}).content.decode()
    assert f'href="/work/certificates/{certificate.pk}/"' in page
    page = signed_in(admin_of(center)).get("/search/", {"q": serial}).content.decode()
    assert f'href="/verify/{certificate.number}"' in page  # no staff page: the public one


def test_another_centers_records_are_never_found(
    world: Searched, center: Center, other_center: Center
) -> None:
    theirs = searched_center(other_center)
    assert theirs.job.number == world.job.number  # each center numbers its own jobs
    scope = scope_of(center.quality_manager)
    assert [j.organization_id for j in queries.jobs(scope, world.job.number)] == [center.org.pk]
    for text in ("QT2", other_center.instrument.serial, "Customer of QT2"):
        for search in (queries.instruments, queries.customers, queries.jobs):
            assert not search(scope, text).exists(), (search.__name__, text)
        assert not queries.certificates(scope, text).exists()
    page = signed_in(center.quality_manager).get("/search/", {"q": "W-100"}).content.decode()
    assert f"/office/jobs/{world.job.pk}/plan/" in page
    assert f"/office/jobs/{theirs.job.pk}/plan/" not in page
    assert "QT2" not in page


def test_an_auditor_finds_what_was_granted_only(
    world: Searched, center: Center, other_center: Center
) -> None:
    searched_center(other_center)
    auditor = other_center.auditor  # QT2's auditor, granted QT1 for an audit
    AuditGrant.objects.create(
        user=auditor, organization=center.org, granted_by=center.quality_manager
    )
    serials = found(queries.instruments(scope_of(auditor), "W-100"), "serial")
    assert len(serials) == 6  # both centers' W-100, W-1000, W-100A


def test_every_staff_role_may_search_a_customer_may_not(world: Searched, center: Center) -> None:
    staff = [
        center.metrologist,
        center.reviewer,
        center.signatory,
        center.quality_manager,
        center.auditor,
        world.desk.reception,
        admin_of(center),
    ]
    for person in staff:
        answer = signed_in(person).get("/search/", {"q": "W-100"})
        assert answer.status_code == 200, person.username
        assert 'id="site-search"' in signed_in(person).get("/").content.decode()
    customer = customer_of(center)
    assert signed_in(customer).get("/search/", {"q": "W-100"}).status_code == 403
    assert 'id="site-search"' not in signed_in(customer).get("/").content.decode()
    assert Client().get("/search/", {"q": "W-100"}).status_code == 302


def test_an_empty_or_too_short_query_says_so(center: Center) -> None:
    client = signed_in(center.metrologist)
    first = client.get("/search/")
    assert first.status_code == 200
    assert 'id="search-hint"' in first.content.decode()
    for text, words in (("", "Type what to look for"), ("a", "Too short"), ("%_*", "Too short")):
        answer = client.get("/search/", {"q": text})
        assert answer.status_code == 400, text
        assert words in answer.content.decode(), text
    assert client.get("/search/", {"q": "x" * 101}).status_code == 400
    answer = client.get("/search/", {"q": "a"}, HTTP_ACCEPT_LANGUAGE="vi")
    assert "Quá ngắn" in answer.content.decode()


def test_special_characters_are_safe(world: Searched, center: Center) -> None:
    client = signed_in(center.metrologist)
    for text in ("W-100'", "W-100 & | ! :*", "<script>W-100", "'; DROP TABLE x; --", "\\%_"):
        answer = client.get("/search/", {"q": text})
        assert answer.status_code in (200, 400), text
        assert "<script>W-100" not in answer.content.decode()
    html = client.get("/search/", {"q": '"W-100" & <'}).content.decode()
    assert "&quot;W-100&quot; &amp; &lt;" in html
    assert ">W-100<" in html


def test_each_kind_is_paged_on_its_own(world: Searched, center: Center) -> None:
    for n in range(12):
        instruments.register_instrument(
            actor=world.desk.reception,
            organization=center.org,
            owner=world.desk.customer,
            instrument_type=center.instrument.instrument_type,
            manufacturer="Sartorius",
            model="Entris",
            serial=f"PG-{n:03d}",
        )
    client = signed_in(world.desk.reception)
    html = client.get("/search/", {"q": "PG"}).content.decode()
    assert html.count(">PG-0") == 10
    assert "instruments_page=2" in html
    second = client.get("/search/", {"q": "PG", "instruments_page": "2"}).content.decode()
    assert second.count(">PG-0") == 2
    assert ">PG-011<" in second


def test_the_page_speaks_vietnamese(world: Searched, center: Center) -> None:
    answer = signed_in(world.desk.reception).get(
        "/search/", {"q": "W-100"}, HTTP_ACCEPT_LANGUAGE="vi"
    )
    html = answer.content.decode()
    assert "Phương tiện đo" in html
    assert "Khách hàng" in html
    assert f'href="/office/customers/{world.desk.customer.pk}/"' in html


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GIN indexes: PostgreSQL only")
def test_each_source_is_matched_through_its_index(world: Searched, center: Center) -> None:
    """With sequential scans priced out (a handful of rows would rather be scanned), the
    plan of every kind's query reads each source through its GIN index: the query's
    expression is the index's."""
    scope = scope_of(center.quality_manager)
    words = queries.words_of("W-100")
    sources: dict[str, tuple[type[Model], tuple[str, ...]]] = {
        "search_cert_fts": (Certificate, queries.CERTIFICATE_FIELDS),
        "search_instrument_fts": (Instrument, queries.INSTRUMENT_FIELDS),
        "search_organization_fts": (Organization, queries.CUSTOMER_FIELDS),
        "search_job_fts": (Job, queries.JOB_FIELDS),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Plain index scans priced out too: a tiny table may otherwise be read whole through
        # another index (its primary or unique key) with the match as a filter. A bitmap scan
        # needs an index whose expression is the query's: the GIN index, or none.
        cursor.execute("SET LOCAL enable_indexscan = off")
        for index, (model, fields) in sources.items():
            plan = queries.matching(model._default_manager.all(), fields, scope, words).explain()
            assert index in plan, plan
        cursor.execute("SET LOCAL enable_indexscan = on")
        for search in (queries.certificates, queries.instruments, queries.customers, queries.jobs):
            plan = search(scope, "W-100").explain()
            assert "Seq Scan" not in plan, plan


@pytest.mark.django_db(databases=["default", "sqlite"])
def test_the_sqlite_fallback_finds_what_postgresql_finds(
    world: Searched, center: Center, other_center: Center
) -> None:
    searched_center(other_center)
    inside = instruments.register_instrument(
        actor=world.desk.reception,
        organization=center.org,
        owner=world.vietnamese,
        instrument_type=center.instrument.instrument_type,
        manufacturer="Keysight",
        model="34461A",
        serial="XW-100",  # W-100 inside another word
    )
    copy_rows("sqlite")
    person = center.quality_manager
    sqlite = scope_of(person, "sqlite")
    assert sqlite.postgres is False
    checks = [
        (queries.instruments, "Đồng Nai", "serial"),
        (queries.instruments, "đồng nai", "serial"),
        (queries.customers, "công ty", "code"),
        (queries.customers, "QT2", "code"),
        (queries.jobs, world.job.number, "number"),
        (queries.jobs, "water company", "number"),
        (queries.jobs, world.job.number[:6], "number"),
    ]
    for search, text, key in checks:
        on_sqlite = found(search(sqlite, text), key)
        assert on_sqlite == found(search(scope_of(person), text), key), (search.__name__, text)
    assert found(queries.customers(sqlite, "đồng"), "name") == [VIETNAMESE_NAME]
    assert not queries.customers(sqlite, "QT2").exists()
    # icontains also finds a word inside another; the prefix query only a word's beginning.
    serials = ["W-100", "W-1000", "W-100A"]
    assert found(queries.instruments(sqlite, "W-100"), "serial") == [*serials, inside.serial]
    if connection.vendor == "postgresql":
        assert found(queries.instruments(scope_of(person), "W-100"), "serial") == serials


def test_the_page_reads_as_many_queries_for_ten_records_as_for_one(
    world: Searched, center: Center
) -> None:
    """No query per record shown: the rows' instruments, owners, accounts and certificate
    events come with the records."""
    client = signed_in(world.desk.reception)
    client.get("/search/", {"q": "W-1000"})  # the session and the caches, once

    def queries_for(text: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/search/", {"q": text}).status_code == 200
        return len(captured.captured_queries)

    one = queries_for("W-1000")
    for n in range(9):
        instruments.register_instrument(
            actor=world.desk.reception,
            organization=center.org,
            owner=world.desk.customer,
            instrument_type=center.instrument.instrument_type,
            manufacturer="Keysight",
            model="34461A",
            serial=f"W-1000-{n}",
        )
    assert queries_for("W-1000") == one
