from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from outtake.accounts.models import ApiToken, Organization, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "pseudonym", "show_as_ai_lab", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "pseudonym")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("email", "role", "organization", "org_role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email",)
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Outtake", {"fields": ("role", "organization", "org_role")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "role", "password1", "password2")}),)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "digest", "scopes", "created_at", "last_used_at")
