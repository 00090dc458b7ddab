from django.contrib import admin

from outtake.notices.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "subject", "read_at", "emailed")
    list_filter = ("kind", "emailed")
    search_fields = ("subject", "user__email")
