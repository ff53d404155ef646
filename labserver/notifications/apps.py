from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "labserver.notifications"
    label = "notifications"
    verbose_name = "E-mail notifications"

    def ready(self) -> None:
        from labserver.accounts.models import Role
        from labserver.web.navigation import NavEntry, register

        # Only a customer's people receive notifications; the page opens for anyone signed in.
        register(
            NavEntry("notifications:preferences", _("E-mail notifications"), roles=(Role.CUSTOMER,))
        )
