from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "labserver.registry"
    label = "registry"
    verbose_name = "Registry"
