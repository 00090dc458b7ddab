from django.contrib import admin

from outtake.delivery.models import Delivery


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
