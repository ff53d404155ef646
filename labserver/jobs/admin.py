from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Job, Procedure


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyAdmin):
    list_display = ["procedure_id", "version", "kind", "field", "content_hash"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["number", "organization", "instrument", "procedure", "state", "due_on"]
    list_filter = ["state"]
    search_fields = ["number"]
