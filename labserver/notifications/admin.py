from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """What was sent to whom, and what failed and why (changed only by the command)."""

    list_display = ["kind", "subject", "occasion", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["subject", "occasion", "recipient__username", "address"]
