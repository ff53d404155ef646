"""The PostgreSQL backend of the test settings: Django's, with the flush done as the owner.

A transactional test (``transactional_db``, ``live_server``) ends with Django's ``flush``:
one TRUNCATE of every table. The runtime role may not TRUNCATE, and the append-only tables'
triggers refuse it from anyone; so the flush, and only it, runs as the role the connection
logs in as, with the triggers off for its transaction. Test-only: nothing in the application
can do this (docs/developers/tests.md, "Two roles").
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            # SET LOCAL: both end with this transaction, whatever happens in it.
            cursor.execute("SET LOCAL ROLE NONE")
            cursor.execute("SET LOCAL session_replication_role = replica")
            for sql in sql_list:
                cursor.execute(sql)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
