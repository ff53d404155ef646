from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "labserver.accounts"
    label = "accounts"
    verbose_name = "Organizations, people and agents"

    def ready(self) -> None:
        from . import auth  # noqa: F401  (registers the OpenAPI description of token auth)
