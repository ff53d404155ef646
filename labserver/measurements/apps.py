from django.apps import AppConfig


class MeasurementsConfig(AppConfig):
    name = "labserver.measurements"
    label = "measurements"

    def ready(self) -> None:
        from labserver.core.partitions import register
        from labserver.measurements.partitions import READINGS

        register(READINGS)
