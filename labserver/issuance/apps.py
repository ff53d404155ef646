from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "labserver.issuance"
    label = "issuance"
    verbose_name = "Certificates"

    def ready(self) -> None:
        from labserver.standards.services import register_issued_number_check

        register_issued_number_check(_issued_here)


def _issued_here(number: str) -> bool:
    from .models import Certificate

    return Certificate.objects.filter(number__iexact=number).exists()
