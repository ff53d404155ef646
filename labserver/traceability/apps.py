from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "labserver.traceability"
    label = "traceability"
    verbose_name = "Traceability"
