from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "labserver.search"
    label = "search"
    verbose_name = "Search for staff (certificates, instruments, customers, jobs)"
