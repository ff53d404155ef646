from django.apps import AppConfig


class OfficeConfig(AppConfig):
    name = "labserver.office"
    label = "office"
    verbose_name = "Front office (customers, instruments, jobs, standards, certificates, people)"
