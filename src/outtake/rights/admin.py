from django.contrib import admin

from outtake.rights.models import TermsVersion


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
    list_display = ("organization", "asset", "version", "created_by", "created_at")
    readonly_fields = ("organization", "asset", "version", "terms", "created_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return False
