import sys
from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from .roles import grant_runtime_role, runtime_role


class CoreConfig(AppConfig):
    name = "labserver.core"
    label = "core"
    verbose_name = "Core and audit trail"

    def ready(self) -> None:
        from django.core import checks

        from . import checks as _deploy_checks  # noqa: F401  (importing it registers them)

        # Imported here: the module reads settings and DRF, not ready at import of apps.
        from .throttles import check_proxy_configuration

        checks.register(check_proxy_configuration, checks.Tags.security, deploy=True)
        post_migrate.connect(_grant_after_migrate, sender=self, dispatch_uid="caltrace-grants")


def _grant_after_migrate(sender: AppConfig, using: str, verbosity: int = 1, **kwargs: Any) -> None:
    """Re-apply the runtime role's grants once every app has migrated (``post_migrate`` is
    sent after all the migrations), so that a table a migration added or made append-only is
    granted as it should be. Only when an owner/runtime split is configured, on PostgreSQL."""
    connection = connections[using]
    role = runtime_role()
    if connection.vendor != "postgresql" or not role:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (me,) = cursor.fetchone()
    if me == role:
        return  # the runtime role itself migrating: the grants are the owner's to give
    grants = grant_runtime_role(connection, role)
    if verbosity >= 1:
        (kwargs.get("stdout") or sys.stdout).write(f"  {grants}\n")
