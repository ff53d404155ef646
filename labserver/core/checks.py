"""``check --deploy``: the application must not connect as a role that can get past the
append-only triggers (:mod:`labserver.core.roles`), and the anchors of the audit trail
must be written where the application's own data does not live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
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


@register(Tags.security, deploy=True)
def check_anchor_dir(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """caltrace.W002 when the anchor files are written under the application's own data
    (``CALTRACE_VAR_DIR``, the default ``var/anchors``, or ``MEDIA_ROOT``): whoever can
    rewrite or restore that data could then rewrite or lose the anchors with it, and the
    anchors exist to be checked against it (docs/auditors/anchors.md)."""
    anchors = Path(settings.CALTRACE_ANCHOR_DIR).resolve()
    inside = [
        name
        for name, root in (
            ("CALTRACE_VAR_DIR", settings.VAR_DIR),
            ("MEDIA_ROOT", settings.MEDIA_ROOT),
        )
        if anchors == Path(root).resolve() or Path(root).resolve() in anchors.parents
    ]
    if not inside:
        return []
    return [
        Warning(
            f"the audit anchors are written inside {' and '.join(inside)} ({anchors}), beside "
            "the data they are meant to be checked against.",
            hint="Set CALTRACE_ANCHOR_DIR to storage that neither the application's data nor "
            "the database's backups share (another disk or host, a mounted write-once share); "
            "see docs/auditors/anchors.md.",
            id="caltrace.W002",
        )
    ]
