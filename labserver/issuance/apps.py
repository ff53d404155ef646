from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "labserver.issuance"
    label = "issuance"
    verbose_name = "Certificates"

    def ready(self) -> None:
        from labserver.federation.documents import register_document_check
        from labserver.standards.services import register_issued_number_check

        from .national import check_fetched_pdf

        register_issued_number_check(_issued_here)
        # the national node's check of a center's signed PDF validates it as an upload is
        register_document_check(check_fetched_pdf)


def _issued_here(number: str) -> bool:
    from .models import Certificate

    return Certificate.objects.filter(number__iexact=number).exists()
