"""The two PostgreSQL roles: the owner that migrates, the runtime role the application is.

The triggers of :mod:`labserver.core.db` stop every role short of the tables' owner and a
superuser: the owner can drop them, a superuser can switch them off. So the application
does not connect as either. It connects as a runtime role that owns nothing and holds only
what it needs: ``SELECT, INSERT`` on the append-only tables, ``SELECT, INSERT, UPDATE`` on
the audit chain heads (whose trigger allows a head to move only by appending), ``SELECT,
INSERT, UPDATE, DELETE`` on the other tables, ``USAGE, SELECT`` on the sequences.
:func:`grant_runtime_role` sets exactly that, run by the owner (the command of the same name,
and ``migrate`` at its end); :func:`runtime_role_problems` is what ``check --deploy`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from .db import APPEND_ONLY_FUNCTION

OWNER_ALIAS = "owner"
CHAIN_HEADS = "core_auditchain"


class RoleError(Exception):
    """The grants cannot be applied as asked (no such role, or granting to oneself)."""


def owner_alias() -> str:
    """The connection that owns the schema: ``owner`` when ``DATABASE_OWNER_URL`` is set."""
    return OWNER_ALIAS if OWNER_ALIAS in settings.DATABASES else DEFAULT_DB_ALIAS


def runtime_role() -> str:
    """The role the grants are for (``CALTRACE_RUNTIME_ROLE``; by default the user of
    ``DATABASE_URL`` when an owner is configured), or ``""`` in a single-role set-up."""
    return str(getattr(settings, "CALTRACE_RUNTIME_ROLE", "") or "")


_APPEND_ONLY_TABLES = f"""
SELECT DISTINCT c.relname
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE p.proname = '{APPEND_ONLY_FUNCTION}' AND n.nspname = current_schema()
   AND NOT t.tgisinternal
 ORDER BY c.relname
"""


def append_only_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """The tables of the current schema that the append-only trigger protects: the database
    says which, so a table made append-only by a later migration is covered by its grants."""
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_ONLY_TABLES)
        return [name for (name,) in cursor.fetchall()]


@dataclass(frozen=True)
class Grants:
    """What :func:`grant_runtime_role` applied."""

    role: str
    append_only: tuple[str, ...]
    other_tables: int

    def __str__(self) -> str:
        return (
            f"granted to {self.role}: SELECT, INSERT on {len(self.append_only)} append-only "
            f"table(s) ({', '.join(self.append_only)}); SELECT, INSERT, UPDATE on "
            f"{CHAIN_HEADS}; SELECT, INSERT, UPDATE, DELETE on {self.other_tables} other "
            "table(s); USAGE, SELECT on the sequences; the same by default on what the owner "
            "creates next"
        )


def grant_runtime_role(connection: BaseDatabaseWrapper, role: str) -> Grants:
    """Give ``role`` exactly the runtime privileges on the current schema, as the owner
    ``connection`` (idempotent: everything is revoked, then granted, in one transaction, so
    a privilege given by hand or by an older version does not survive it)."""
    if connection.vendor != "postgresql":
        raise RoleError(f"{connection.vendor} has no roles: nothing to grant")
    if not role:
        raise RoleError(
            "no runtime role: set DATABASE_OWNER_URL (the runtime role is then the user of "
            "DATABASE_URL) or CALTRACE_RUNTIME_ROLE"
        )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), "
            "       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
            [role],
        )
        me, schema, exists = cursor.fetchone()
        if not exists:
            raise RoleError(
                f"runtime role {role!r} does not exist: create it first "
                f"(CREATE ROLE {role} LOGIN PASSWORD '…')"
            )
        if me == role:
            raise RoleError(
                f"runtime role {role!r} is the role this connection logs in as: grant as the "
                "owner (DATABASE_OWNER_URL, manage.py grant_runtime_role --database owner)"
            )
        protected = append_only_tables(connection)
        who, where = sql.Identifier(role), sql.Identifier(schema)
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, who),
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(where, who),
            sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(where, who),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
                where, who
            ),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(where, who),
            # Tables created later by this owner (a new app, the cache table) are usable
            # without a new grant; `migrate` runs the grants again, so a new append-only
            # table loses its UPDATE and DELETE at the end of the migration that makes it.
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {} "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(where, who),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(where, who),
        ]
        statements += [
            sql.SQL("REVOKE UPDATE, DELETE ON {}.{} FROM {}").format(
                where, sql.Identifier(table), who
            )
            for table in protected
        ]
        statements.append(
            sql.SQL("REVOKE DELETE ON {}.{} FROM {}").format(
                where, sql.Identifier(CHAIN_HEADS), who
            )
        )
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT (c.relname = ANY(%s))",
            [schema, [*protected, CHAIN_HEADS]],
        )
        (others,) = cursor.fetchone()
    return Grants(role=role, append_only=tuple(protected), other_tables=int(others))


@dataclass(frozen=True)
class RoleProblem:
    """One reason the application's connection could get past the database's guarantees."""

    what: str
    fix: str


def runtime_role_problems(connection: BaseDatabaseWrapper) -> list[RoleProblem]:
    """What the application's own connection could do that the runtime role must not: own a
    table (then drop or disable its triggers), be a superuser or log in as one (then switch
    the triggers off), set ``session_replication_role``, or change an append-only table."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT current_user, session_user,
                   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                   (SELECT rolsuper FROM pg_roles WHERE rolname = session_user),
                   has_parameter_privilege('session_replication_role', 'SET'),
                   (SELECT array_agg(c.relname ORDER BY c.relname)
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                       AND pg_has_role(current_user, c.relowner, 'MEMBER'))
            """
        )
        me, login, superuser, login_superuser, can_replicate, owned = cursor.fetchone()
        problems: list[RoleProblem] = []
        if owned:
            problems.append(
                RoleProblem(
                    f"the application's database role {me} owns {len(owned)} table(s) "
                    f"(e.g. {', '.join(owned[:3])}), so it can drop or disable their triggers",
                    "connect as a runtime role (DATABASE_URL) that owns nothing, migrate as the "
                    "owner (DATABASE_OWNER_URL) and run manage.py grant_runtime_role",
                )
            )
        if superuser or login_superuser:
            problems.append(
                RoleProblem(
                    f"the application's database role {login if login_superuser else me} is "
                    "a superuser, which can switch the append-only triggers off",
                    "connect as a runtime role (DATABASE_URL) that is not a superuser",
                )
            )
        elif can_replicate:
            problems.append(
                RoleProblem(
                    f"the application's database role {me} may set session_replication_role, "
                    "which switches the append-only triggers off",
                    f"REVOKE SET ON PARAMETER session_replication_role FROM {me}",
                )
            )
        # An owner or a superuser holds every privilege anyway: said above already.
        tables = [] if problems else append_only_tables(connection)
        if tables:
            cursor.execute(
                "SELECT array_agg(t ORDER BY t) FROM unnest(%s::text[]) AS t "
                "WHERE has_table_privilege(quote_ident(t), 'UPDATE') "
                "   OR has_table_privilege(quote_ident(t), 'DELETE') "
                "   OR has_table_privilege(quote_ident(t), 'TRUNCATE')",
                [tables],
            )
            (writable,) = cursor.fetchone()
            if writable:
                problems.append(
                    RoleProblem(
                        f"the application's database role {me} may UPDATE, DELETE or TRUNCATE "
                        f"{len(writable)} append-only table(s) (e.g. {', '.join(writable[:3])})",
                        "run manage.py grant_runtime_role as the owner",
                    )
                )
    return problems
