"""What PostgreSQL's catalog says of a table, for the tests that rebuild one (the tables
partitioned by year): its own triggers and who holds what on it."""

from __future__ import annotations

from django.db import connection


def triggers(table: str) -> set[tuple[str, str]]:
    """The triggers on ``table`` (cloned from a parent too): name and enabled state."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass "
            "AND NOT tgisinternal",
            [table],
        )
        return {(name, str(enabled)) for name, enabled in cursor.fetchall()}


def granted(table: str) -> set[tuple[str, str]]:
    """Who, besides the owner, holds what on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.privilege_type, coalesce(r.rolname, 'PUBLIC') "
            "  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "  LEFT JOIN pg_roles r ON r.oid = a.grantee "
            " WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
            [table],
        )
        return {(privilege, grantee) for privilege, grantee in cursor.fetchall()}
