from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import ReferenceStandard, StandardCertificate, StandardLink


@admin.register(ReferenceStandard)
class ReferenceStandardAdmin(ReadOnlyAdmin):
    list_display = ["asset_id", "name", "organization", "field", "level", "out_of_tolerance_since"]
    list_filter = ["field", "level"]
    search_fields = ["asset_id", "name", "serial"]


@admin.register(StandardCertificate)
class StandardCertificateAdmin(ReadOnlyAdmin):
    list_display = ["number", "standard", "issuing_lab", "calibrated_on", "due_on"]
    search_fields = ["number"]


@admin.register(StandardLink)
class StandardLinkAdmin(ReadOnlyAdmin):
    list_display = ["certificate", "standard", "upstream_certificate", "used_on", "function"]
    search_fields = ["certificate__number", "standard__asset_id"]
