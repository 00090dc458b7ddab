from django.contrib import admin

from outtake.notices.models import Notification, WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "subject", "read_at", "emailed")
    list_filter = ("kind", "emailed")
    search_fields = ("subject", "user__email")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "organization", "active", "failures_in_a_row", "created_at")
    list_filter = ("active",)
    exclude = ("secret",)  # the organisation's signing key is not for reviewers' eyes
    readonly_fields = ("organization", "url", "kinds", "created_by", "disabled_reason")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "kind", "status", "attempts", "last_status_code")
    list_filter = ("status", "kind")
    search_fields = ("message_id", "endpoint__url")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
