from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OfficeConfig(AppConfig):
    name = "labserver.office"
    label = "office"
    verbose_name = "Front office (customers, instruments, jobs, standards, certificates, people)"

    def ready(self) -> None:
        from labserver.accounts.models import Role
        from labserver.web.navigation import NavEntry, register

        # --- customers, instruments and jobs (the reception desk) ---
        desk = (Role.RECEPTION, Role.QUALITY_MANAGER)
        register(NavEntry("office:customers", _("Customers"), roles=desk))
        register(NavEntry("office:calendar", _("Job calendar"), roles=desk))
        # --- end of customers, instruments and jobs ---
        # --- standards, certificates, people (front office, part 2) ---
        register(NavEntry("office:standards", _("Standards"), roles=(Role.QUALITY_MANAGER,)))
        register(
            NavEntry(
                "office:certificates",
                _("Certificates"),
                roles=(Role.SIGNATORY, Role.QUALITY_MANAGER),
            )
        )
        register(NavEntry("office:people", _("People"), roles=(Role.ADMINISTRATOR,)))
        # --- end of standards, certificates, people ---
        # --- customers' requests (the reception desk) ---
        register(NavEntry("office:requests", _("Requests"), roles=desk))
        from .requests.counters import register_counters

        register_counters()
        # --- end of customers' requests ---
        # --- in-service lots (the quality manager) ---
        register(NavEntry("office:lots", _("Lots"), roles=(Role.QUALITY_MANAGER, Role.AUDITOR)))
        # --- end of in-service lots ---
        # --- the national registers' entry (the directorate's administrator) ---
        from labserver.accounts.registers import administered_directorate

        register(
            NavEntry(
                "office:registers",
                _("Register entry"),
                roles=(Role.ADMINISTRATOR,),
                when=lambda user: administered_directorate(user) is not None,
            )
        )
        # --- end of the national registers' entry ---
