from django.contrib import admin

from outtake.delivery.models import Delivery, Push


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "license", "version", "status", "size_bytes", "created_at", "ready_at")
    list_filter = ("status",)
    readonly_fields = (
        "license",
        "version",
        "status",
        "blob_key",
        "size_bytes",
        "sha256",
        "manifest",
        "error",
        "ready_at",
    )


@admin.register(Push)
class PushAdmin(admin.ModelAdmin):
    """Read-only: the record of a push. The lab's encrypted keys are never shown."""

    list_display = ("id", "delivery", "bucket", "prefix", "status", "bytes_sent", "created_at")
    list_filter = ("status",)
    exclude = ("credentials",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
