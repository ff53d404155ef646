from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Run, RunSignature


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "job", "agent", "operator", "state", "disagreements"]
    list_filter = ["state"]


@admin.register(RunSignature)
class RunSignatureAdmin(ReadOnlyAdmin):
    list_display = ["run", "name", "meaning", "signed_at"]
