from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "labserver.instruments"
    label = "instruments"
