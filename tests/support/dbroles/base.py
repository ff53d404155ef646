"""The PostgreSQL backend of the test settings: Django's, with the flush done as the owner
(by DELETE rather than TRUNCATE) and each pytest-xdist worker's database cloned from one
migrated once for the run.

A transactional test (``transactional_db``, ``live_server``) ends with Django's ``flush``:
one TRUNCATE of every table. The runtime role may not TRUNCATE, and the append-only tables'
triggers refuse it from anyone; so the flush, and only it, runs as the role the connection
logs in as, with the triggers off for its transaction. Test-only: nothing in the application
can do this (docs/developers/tests.md, "Two roles").

Migrating an empty database takes half a minute of the suite's two cores, and pytest-xdist's
workers each made their own: under xdist, the first worker to get there migrates a template
database (the worker's database name without its ``_gwN``, ending ``_template``) and each
worker's database is ``CREATE DATABASE … TEMPLATE`` of it, a second's copy of the same
tables, triggers, grants and rows (docs/developers/tests.md, "Workers and databases").
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.backends.postgresql import base, creation, operations

# Set by pytest-xdist in its workers: the run's id, the same in every worker of one run.
RUN_ID_VARIABLE = "PYTEST_XDIST_TESTRUNUID"


def template_name(test_database_name: str) -> str:
    """The template of a run's worker databases: ``test_x_gw1`` → ``test_x_template``."""
    return re.sub(r"_gw\d+$", "", test_database_name) + "_template"


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self,
        style: Any,
        tables: Sequence[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        """A DELETE of each table instead of Django's one TRUNCATE of them all: the same
        empty tables, in milliseconds where the TRUNCATE of every table (a new file for each
        table and index) took two seconds on the suite's machine, after every transactional
        test. The triggers are off while it runs (:meth:`execute_sql_flush`), the foreign keys'
        with them, so the order does not matter. Sequences to reset or a cascade to other
        tables: Django's TRUNCATE."""
        if reset_sequences or allow_cascade:
            return list(
                super().sql_flush(
                    style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
                )
            )
        return [f"DELETE FROM {self.quote_name(table)}" for table in tables]

    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            # SET LOCAL: both end with this transaction, whatever happens in it.
            cursor.execute("SET LOCAL ROLE NONE")
            cursor.execute("SET LOCAL session_replication_role = replica")
            for sql in sql_list:
                cursor.execute(sql)


class DatabaseCreation(creation.DatabaseCreation):
    def create_test_db(
        self,
        verbosity: int = 1,
        autoclobber: bool = False,
        serialize: bool = True,
        keepdb: bool = False,
    ) -> str:
        run_id = os.environ.get(RUN_ID_VARIABLE)
        if keepdb or not run_id:  # one process, or --reuse-db: Django's own way
            return str(super().create_test_db(verbosity, autoclobber, serialize, keepdb))
        name = str(self._get_test_db_name())  # type: ignore[attr-defined]
        template = template_name(name)
        quote = self.connection.ops.quote_name
        with self._template_of_run(run_id, template, verbosity) as cursor:
            if verbosity >= 1:
                self.log(f"Cloning test database {template} for alias {self.connection.alias}")
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
            cursor.execute(f"CREATE DATABASE {quote(name)} WITH TEMPLATE {quote(template)}")
        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        if serialize:  # what Django keeps for serialized_rollback, read from the copy
            contents = self.serialize_db_to_string()
            self.connection._test_serialized_contents = contents  # type: ignore[attr-defined]
        self.connection.ensure_connection()
        return name

    @contextmanager
    def _template_of_run(self, run_id: str, template: str, verbosity: int) -> Iterator[Any]:
        """A cursor on the server, holding the template's lock, once ``template`` is the
        run's: migrated by whoever got the lock first (pytest's controlling process, through
        :func:`build_template`, or a worker). One at a time: a template is copied only
        without other sessions, which a second migrate would be."""
        with self._nodb_cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT pg_advisory_lock(%s)", [zlib.crc32(template.encode())])
            try:
                cursor.execute(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = %s",
                    [template],
                )
                found = cursor.fetchone()
                if found is None or found[0] != run_id:  # none, or an interrupted run's
                    self._migrate_template(template, verbosity)
                    quoted = self.connection.ops.quote_name(template)
                    cursor.execute(f"COMMENT ON DATABASE {quoted} IS %s", [run_id])
                yield cursor
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [zlib.crc32(template.encode())])

    def _migrate_template(self, template: str, verbosity: int) -> None:
        """Create and migrate ``template`` as Django creates a test database, then leave the
        connection's settings as they were."""
        test: dict[str, Any] = self.connection.settings_dict["TEST"]
        kept = test.get("NAME"), self.connection.settings_dict["NAME"]
        test["NAME"] = template
        try:
            super().create_test_db(verbosity, autoclobber=True, serialize=False, keepdb=False)
        finally:
            self.connection.close()  # a template is copied only without other sessions
            test["NAME"], self.connection.settings_dict["NAME"] = kept
            settings.DATABASES[self.connection.alias]["NAME"] = kept[1]


def build_template(run_id: str) -> None:
    """Migrate the template of run ``run_id`` (a child of pytest's controlling process runs
    this while the workers collect the tests, so that they find it made, or wait less)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    creation = connections[DEFAULT_DB_ALIAS].creation
    assert isinstance(creation, DatabaseCreation), creation
    name = str(creation._get_test_db_name())  # type: ignore[attr-defined]
    with creation._template_of_run(run_id, template_name(name), verbosity=0):
        pass


def drop_template(settings_dict: dict[str, Any]) -> None:
    """Drop the run's template (pytest's controlling process, once its workers are done)."""
    import psycopg

    name = settings_dict["TEST"].get("NAME") or f"test_{settings_dict['NAME']}"
    with psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        autocommit=True,
    ) as connection:
        quoted = psycopg.sql.Identifier(template_name(name))
        connection.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(quoted))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    creation_class = DatabaseCreation
