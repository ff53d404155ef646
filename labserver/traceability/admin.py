from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import StandardLink


@admin.register(StandardLink)
class StandardLinkAdmin(ReadOnlyAdmin):
    list_display = ["certificate", "standard", "upstream_certificate", "used_on", "function"]
    search_fields = ["certificate__number", "standard__asset_id"]
