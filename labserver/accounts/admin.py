from django.contrib import admin

from labserver.core.admin import ReadOnlyAdmin

from .models import Agent, AuditGrant, Membership, Organization, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "kind", "parent", "accreditation", "region", "time_zone"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["username", "full_name", "is_active", "last_login"]
    search_fields = ["username", "full_name"]
    exclude = ["password"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "role", "fields", "valid_until", "active"]
    list_filter = ["role"]


@admin.register(AuditGrant)
class AuditGrantAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "granted_at", "valid_until"]


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "registered_at", "revoked_at"]
    exclude = ["token_hash"]
