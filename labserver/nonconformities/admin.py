from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Decision, Nonconformity


@admin.register(Nonconformity)
class NonconformityAdmin(ReadOnlyAdmin):
    list_display = ["number", "standard", "out_of_tolerance_since", "found_on", "status"]
    search_fields = ["number", "standard__asset_id"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["nonconformity", "certificate", "action", "recall", "decided_by", "decided_at"]
