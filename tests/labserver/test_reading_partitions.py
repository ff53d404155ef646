"""The readings' table partitioned by year (issue 21, point 6), on PostgreSQL: a run keeps the
window of its readings, the look-ups of a run's readings visit the partitions of its years
only (EXPLAIN), the migration of a populated table keeps every reading, the sequence, the
append-only triggers and the grants, every partition and the parent refuse UPDATE, DELETE
and TRUNCATE, an id cannot be chosen by an INSERT, and ``manage.py partitions`` makes a year
and moves the readings waiting in the default partition. SQLite keeps the plain table.
"""

from __future__ import annotations

import importlib
import io
import json
import re
from datetime import UTC
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labserver.core.partitions import ensure_years, is_partitioned, registered, years
from labserver.measurements.models import Reading, Run
from labserver.measurements.partitions import READINGS, rebuild, within_runs
from tests.support import pgcatalog
from tests.support.dbroles import as_owner, runtime_role
from tests.support.lims import Center, post_run, run_payload

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's"
)
THIS_YEAR = timezone.localdate().year
EARLY = 2019  # a year the migration made no partition for: its readings wait in the default
COLUMNS = "index, quantity, value, unit, timestamp, stable, raw, point_id"
ROWS = "id, point_id, index, quantity, value, unit, timestamp, stable, raw"


def posted(center: Center) -> Run:
    payload = run_payload(center, points=2, readings=3)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see copy_back
    return Run.objects.get(pk=payload["run_id"])


def copy_back(run: Run, year: int) -> None:
    """The run's readings written again, as the owner, with the same instants in ``year``
    (the readings a node kept from another year). Their foreign keys are checked at once:
    a table with checks pending to the end of the test's transaction cannot be altered,
    truncated or dropped in it, as the partitioning's own transaction never has."""
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"INSERT INTO measurements_reading ({COLUMNS}) "
            f"SELECT {COLUMNS.replace('timestamp', 'timestamp - make_interval(years => %s)')} "
            "FROM measurements_reading r WHERE timestamp BETWEEN %s AND %s AND point_id IN "
            "(SELECT id FROM measurements_point WHERE run_id = %s)",
            [
                run.readings_from.year - year if run.readings_from else 0,
                run.readings_from,
                run.readings_until,
                run.pk,
            ],
        )


def where(reading_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM measurements_reading WHERE id = %s", [reading_id]
        )
        (table,) = cursor.fetchone()
    return str(table)


def everything() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ROWS} FROM measurements_reading ORDER BY id")
        return list(cursor.fetchall())


def visited(sql: str, params: Any) -> set[str]:
    """The tables the plan of ``sql`` reads."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    text = plan if isinstance(plan, str) else json.dumps(plan)
    return set(re.findall(r'"Relation Name": "(measurements_reading[a-z0-9_]*)"', text))


def utc_years(run: Run) -> set[str]:
    assert run.readings_from is not None
    assert run.readings_until is not None
    first, last = (t.astimezone(UTC).year for t in (run.readings_from, run.readings_until))
    return {READINGS.partition(year) for year in range(first, last + 1)}


def test_the_table_is_partitioned_on_postgresql_only() -> None:
    assert is_partitioned(connection, READINGS) is (connection.vendor == "postgresql")
    assert READINGS in registered()


def test_a_run_keeps_the_window_of_its_readings(center: Center) -> None:
    run = posted(center)
    stamps = list(Reading.objects.filter(point__run=run).values_list("timestamp", flat=True))
    assert (run.readings_from, run.readings_until) == (min(stamps), max(stamps))
    # bounded by the window, every reading of the run is still found
    found = within_runs(Reading.objects.filter(point__run=run), [run])
    assert found.count() == len(stamps) == 6


def test_the_windows_of_the_runs_received_before_are_filled_by_the_migration(
    center: Center,
) -> None:
    run = posted(center)
    window = (run.readings_from, run.readings_until)
    Run.objects.filter(pk=run.pk).update(readings_from=None, readings_until=None)
    run.refresh_from_db()
    # without its window a run's readings are looked up unbounded: none is left out
    unbounded = within_runs(Reading.objects.filter(point__run=run), [run])
    assert 'timestamp" >=' not in str(unbounded.query)
    assert unbounded.count() == 6
    fill = importlib.import_module("labserver.measurements.migrations.0011_run_readings_window")
    fill.fill(apps, SimpleNamespace(connection=connection))  # it needs the connection only
    run.refresh_from_db()
    assert (run.readings_from, run.readings_until) == window


@on_postgresql
def test_a_runs_readings_are_read_from_the_partitions_of_its_years_only(center: Center) -> None:
    run = posted(center)
    with as_owner():
        ensure_years(connection, READINGS, [EARLY, EARLY + 1])
    copy_back(run, EARLY)  # another year's readings in the table, not in the run's window
    with CaptureQueriesContext(connection) as queries:
        detail = center.client("reviewer").get(f"/api/v1/runs/{run.pk}/").json()
    assert [len(p["readings"]) for p in detail["points"]] == [3, 3]
    reads = [q["sql"] for q in queries if 'FROM "measurements_reading"' in q["sql"]]
    assert reads, "the run's readings were not read"
    for sql in reads:
        assert visited(sql, None) == utc_years(run), sql
    # the same look-up without the window visits every partition
    unbounded = Reading.objects.filter(point__run=run)
    every = {READINGS.default, *(READINGS.partition(y) for y in years(connection, READINGS).years)}
    assert visited(*unbounded.query.sql_with_params()) == every
    assert len(every) >= 5


@on_postgresql
def test_the_migration_keeps_readings_sequence_triggers_and_grants(center: Center) -> None:
    run = posted(center)
    copy_back(run, EARLY)
    copy_back(run, THIS_YEAR + 1)
    before = everything()
    assert len(before) == 18
    triggers, grants = (
        pgcatalog.triggers("measurements_reading"),
        pgcatalog.granted("measurements_reading"),
    )
    with as_owner():
        with connection.schema_editor() as editor:
            rebuild(editor, partitioned=False)  # the migration backwards: a plain table
        assert not is_partitioned(connection, READINGS)
        assert everything() == before
        assert pgcatalog.triggers("measurements_reading") == triggers
        with connection.schema_editor() as editor:
            rebuild(editor, partitioned=True)  # forwards, as on a node upgraded with its data
    assert is_partitioned(connection, READINGS)
    assert everything() == before
    assert pgcatalog.triggers("measurements_reading") == triggers
    assert pgcatalog.granted("measurements_reading") == grants
    for reading_id, *_, stamp, _stable, _raw in before:
        assert where(reading_id) == READINGS.partition(stamp.astimezone(UTC).year)
    # the sequence goes on where it stopped, under its own name
    point = run.points.get(index=0)
    new = Reading.objects.create(
        point=point, index=9, quantity="x", value=1.0, unit="V", timestamp=timezone.now()
    )
    assert new.pk > max(row[0] for row in before)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('measurements_reading', 'id')")
        assert cursor.fetchone() == ("public.measurements_reading_id_seq",)


@on_postgresql
def test_an_insert_cannot_choose_an_id(center: Center) -> None:
    run = posted(center)
    taken = Reading.objects.filter(point__run=run).first()
    assert taken is not None
    with (
        pytest.raises(DatabaseError, match='cannot insert a non-DEFAULT value into column "id"'),
        as_owner(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"INSERT INTO measurements_reading (id, {COLUMNS}) SELECT id, "
            f"{COLUMNS.replace('timestamp', 'timestamp + interval %s')} "
            "FROM measurements_reading WHERE id = %s",
            ["1 year", taken.pk],
        )


def _partitions_with_a_reading(center: Center) -> list[str]:
    run = posted(center)
    copy_back(run, THIS_YEAR + 1)
    copy_back(run, EARLY)
    return [READINGS.partition(THIS_YEAR + 1), READINGS.default, *sorted(utc_years(run))]


@on_postgresql
@pytest.mark.parametrize(
    "statement", ["UPDATE {t} SET value = 0", "DELETE FROM {t}", "TRUNCATE {t}"]
)
def test_every_partition_and_the_parent_refuse_a_change_even_to_the_owner(
    center: Center, statement: str
) -> None:
    for table in ["measurements_reading", *_partitions_with_a_reading(center)]:
        with (
            # a row trigger names the partition the row is in
            pytest.raises(DatabaseError, match=rf"on public\.{table}\w* refused: the table is"),
            as_owner(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(t=table))


@on_postgresql
@pytest.mark.skipif(not runtime_role(), reason="needs the runtime role of DATABASE_URL")
def test_the_runtime_role_inserts_and_reads_but_changes_nothing(center: Center) -> None:
    posted(center)  # as the runtime role: the test connection's SET ROLE
    role = runtime_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (role,)
        cursor.execute("SELECT count(*) FROM measurements_reading")
        assert cursor.fetchone() == (6,)
        allowed = {}
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"):
            cursor.execute(
                "SELECT has_table_privilege(%s, 'measurements_reading', %s)", [role, privilege]
            )
            (allowed[privilege],) = cursor.fetchone()
    assert allowed == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
    }


@on_postgresql
def test_the_yearly_command_makes_the_years_and_moves_the_waiting_readings(
    center: Center,
) -> None:
    run = posted(center)
    copy_back(run, EARLY)
    copy_back(run, EARLY - 1)
    assert years(connection, READINGS).waiting == {EARLY: 6, EARLY - 1: 6}
    out = io.StringIO()
    with pytest.raises(CommandError, match="partition\\(s\\) missing"), as_owner():
        call_command("partitions", "--check", "--through", str(THIS_YEAR + 2), stdout=out)
    assert f"6 reading(s) of {EARLY} wait in the default partition" in out.getvalue()
    with as_owner():
        call_command(
            "partitions",
            "--table",
            READINGS.parent,
            "--through",
            str(THIS_YEAR + 2),
            database="default",
            stdout=out,
        )
    assert f"created: {EARLY - 1}, {EARLY}, {THIS_YEAR + 2}" in out.getvalue()
    state = years(connection, READINGS)
    assert state.waiting == {}
    assert {EARLY - 1, EARLY, THIS_YEAR, THIS_YEAR + 1, THIS_YEAR + 2} <= set(state.years)
    early = Reading.objects.filter(timestamp__year=EARLY).values_list("pk", flat=True)
    assert len(early) == 6
    assert {where(pk) for pk in early} == {READINGS.partition(EARLY)}
    assert Reading.objects.count() == 18
    # the new partition is protected as the others
    assert {name for name, _ in pgcatalog.triggers(READINGS.partition(EARLY))} == {
        "measurements_reading_append_only",
        f"{READINGS.partition(EARLY)}_append_only_truncate",
    }
    with pytest.raises(CommandError, match="--table nowhere: not partitioned by year"):
        call_command("partitions", "--table", "nowhere")
    with pytest.raises(CommandError, match="registry_partitions: only registry_certificatefact"):
        call_command("registry_partitions", "--table", READINGS.parent)
