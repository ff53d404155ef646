from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "labserver.registry"
    label = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        from labserver.core.partitions import register
        from labserver.registry.partitions import CERTIFICATE_FACTS

        register(CERTIFICATE_FACTS)
