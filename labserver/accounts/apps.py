from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "labserver.accounts"
    label = "accounts"
    verbose_name = "Organizations, people and agents"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from . import auth  # noqa: F401  (registers the OpenAPI description of token auth)
        from .lockout import audit_failed_login

        user_login_failed.connect(audit_failed_login, dispatch_uid="caltrace-audit-failed-login")
