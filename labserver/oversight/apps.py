from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "labserver.oversight"
    label = "oversight"
    verbose_name = "Pages of auditors and quality managers"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from labserver.accounts.models import Role
        from labserver.web.navigation import NavEntry, register

        from .worklist import register_counters

        readers = (Role.AUDITOR, Role.QUALITY_MANAGER)
        register(NavEntry("oversight:search", _("Audit search"), roles=readers))
        register(NavEntry("oversight:quality", _("Quality"), roles=(Role.QUALITY_MANAGER,)))
        register(NavEntry("oversight:audit-log", _("Audit log"), roles=readers))
        register(NavEntry("oversight:nonconformities", _("Out of tolerance"), roles=readers))
        register(NavEntry("oversight:locks", _("Locked accounts"), roles=(Role.QUALITY_MANAGER,)))
        register_counters()
