from django.apps import AppConfig


class StandardsConfig(AppConfig):
    name = "labserver.standards"
    label = "standards"
    verbose_name = "Reference standards"
