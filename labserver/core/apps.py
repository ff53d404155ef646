from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "labserver.core"
    label = "core"
    verbose_name = "Core and audit trail"

    def ready(self) -> None:
        from django.core import checks

        # Imported here: the module reads settings and DRF, not ready at import of apps.
        from .throttles import check_proxy_configuration

        checks.register(check_proxy_configuration, checks.Tags.security, deploy=True)
