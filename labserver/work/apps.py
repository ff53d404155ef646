from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkConfig(AppConfig):
    name = "labserver.work"
    label = "work"
    verbose_name = "Work pages (metrologists, reviewers, signatories)"

    def ready(self) -> None:
        from labserver.accounts.models import Role
        from labserver.web.navigation import NavEntry, register

        register(
            NavEntry(
                "work:jobs",
                _("My jobs"),
                roles=(Role.METROLOGIST, Role.REVIEWER, Role.SIGNATORY),
            )
        )
        register(NavEntry("work:batch-start", _("Batches"), roles=(Role.REVIEWER, Role.SIGNATORY)))
