from django.contrib import admin

from outtake.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "actor", "organization", "subject_type", "subject_id")
    list_filter = ("kind",)
    search_fields = ("subject_id", "kind")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
