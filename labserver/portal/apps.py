from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "labserver.portal"
    label = "portal"
    verbose_name = "Customer and public pages"

    def ready(self) -> None:
        from labserver.accounts.models import Role
        from labserver.web.navigation import NavEntry, register

        register(NavEntry("portal:instruments", _("My instruments"), roles=(Role.CUSTOMER,)))
        register(NavEntry("portal:requests", _("My requests"), roles=(Role.CUSTOMER,)))
        register(NavEntry("portal:open-data", _("Open data"), public=True))
        register(NavEntry("portal:standards-register", _("Standards register"), public=True))
