from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Instrument, InstrumentType, PatternApproval


@admin.register(InstrumentType)
class InstrumentTypeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "name_vi", "field", "legal_category"]
    list_filter = ["field", "legal_category"]


@admin.register(PatternApproval)
class PatternApprovalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["number", "instrument_type", "manufacturer", "model", "approved_on"]
    search_fields = ["number", "manufacturer", "model"]


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = ["serial", "manufacturer", "model", "instrument_type", "owner", "organization"]
    search_fields = ["serial"]
