"""``check --deploy``: the application must not connect as a role that can get past the
append-only triggers (:mod:`labserver.core.roles`)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .roles import runtime_role_problems


@register(Tags.security, deploy=True)
def check_runtime_role(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """caltrace.W001 for each way the application's connection (``DATABASE_URL``) could
    change an append-only table: owner, superuser, trigger switch, grants too wide.
    Nothing to say on SQLite (no roles), nor when the database cannot be reached (this is
    not a connectivity check: ``migrate`` and the application say that)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    try:
        problems = runtime_role_problems(connection)
    except DatabaseError:
        return []
    return [
        Warning(
            f"append-only tables unprotected: {problem.what}.",
            hint=f"{problem.fix}; see docs/centers/lims.md, 'Two database roles'.",
            id="caltrace.W001",
        )
        for problem in problems
    ]
