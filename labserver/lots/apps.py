from django.apps import AppConfig


class LotsConfig(AppConfig):
    name = "labserver.lots"
    label = "lots"
    verbose_name = "In-service lots"
