"""The test database as the two roles of production (docs/developers/tests.md, "Two roles").

The test connection logs in as the owner (``DATABASE_OWNER_URL``), which creates and
migrates each worker's database and applies the grants; then :func:`act_as_runtime` makes
every new connection ``SET ROLE`` to the runtime role (Django's ``assume_role`` option), so
the application's statements run with ``current_user`` = the runtime role, inside the same
connection and transaction as the test (``TestCase`` rolls back as before). Two things the
runtime role may not do are done as the owner, in test-only code, the way an attacker with
the owner's password would: the flush of a transactional test (:mod:`tests.support.dbroles.base`)
and the tampering of the audit tests (:func:`as_owner`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def runtime_role() -> str:
    """The role the tests' application code runs as, or ``""`` (SQLite, a single role)."""
    return str(getattr(settings, "CALTRACE_TEST_RUNTIME_ROLE", "") or "")


def act_as_runtime(on: bool) -> None:
    """From now on, new connections run as the runtime role (``on``) or as the owner they log
    in as. Open connections are closed so that none keeps the other identity."""
    role = runtime_role()
    if not role:
        return
    options = connections[DEFAULT_DB_ALIAS].settings_dict["OPTIONS"]
    if on:
        options["assume_role"] = role
    else:
        options.pop("assume_role", None)
    connections.close_all()


@contextmanager
def as_owner(*, triggers: bool = True) -> Iterator[None]:
    """Act, inside a savepoint, as the owner of the tables (the role the test connection logs
    in as) and, with ``triggers=False``, with the triggers off too (``session_replication_role
    = replica``, which only a superuser may set): the attacker of the tamper tests.

    When the block ends the runtime role and the triggers are back: restored on the way out,
    or rolled back with the savepoint when an error leaves the block (so wrap an expected
    error around the block, ``with pytest.raises(...), as_owner():``, not inside it).
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        yield  # no roles, no triggers: the application alone guards SQLite
        return
    role = runtime_role()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if role:
                cursor.execute("SET LOCAL ROLE NONE")  # the session's login: the owner
            if not triggers:
                cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        with connection.cursor() as cursor:
            if not triggers:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            if role:
                cursor.execute("SET LOCAL ROLE %s", [role])


def table_columns(table: str) -> set[str]:
    """The names of ``table``'s columns, as the default database describes them."""
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(cursor, table)
    return {column.name for column in described}
