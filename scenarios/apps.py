from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    """The scenarios as a Django app: it provides ``manage.py loaddemo`` and has no models."""

    name = "scenarios"
    verbose_name = "Scenarios (demo data, generated data sets)"
