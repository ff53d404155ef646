from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "labserver.reports"
    label = "reports"
    verbose_name = "Quality managers' reports (throughput, turnaround, pass rate, workload)"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from labserver.web.navigation import NavEntry, register

        from .access import READERS

        register(NavEntry("reports:index", _("Reports"), roles=READERS))
