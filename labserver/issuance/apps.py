from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "labserver.issuance"
    label = "issuance"
    verbose_name = "Certificates"
