from django.apps import AppConfig


class MeasurementsConfig(AppConfig):
    name = "labserver.measurements"
    label = "measurements"
