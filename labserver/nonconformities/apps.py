from django.apps import AppConfig


class NonconformitiesConfig(AppConfig):
    name = "labserver.nonconformities"
    label = "nonconformities"
    verbose_name = "Nonconformities"
