from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "labserver.jobs"
    label = "jobs"
