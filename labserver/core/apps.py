from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "labserver.core"
    label = "core"
    verbose_name = "Core and audit trail"
