from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Certificate, CertificateEvent, SigningKeyRecord


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["number", "organization", "kind", "issued_at", "mark_number", "valid_until"]
    list_filter = ["kind"]
    search_fields = ["number", "mark_number", "pdf_sha256"]


@admin.register(CertificateEvent)
class CertificateEventAdmin(ReadOnlyAdmin):
    list_display = ["certificate", "kind", "at", "actor", "replacement"]
    list_filter = ["kind"]


@admin.register(SigningKeyRecord)
class SigningKeyRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "subject",
        "fingerprint",
        "source",
        "first_used_at",
        "revoked_at",
    ]
