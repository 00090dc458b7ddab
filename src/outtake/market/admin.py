from django.contrib import admin

from outtake.market.models import DatasetRequest, License, LicenseItem, Quote


@admin.register(DatasetRequest)
class DatasetRequestAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "buyer",
        "media_type",
        "minutes_wanted",
        "budget_minor",
        "exclusive",
        "created_at",
    )


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ("id", "buyer", "status", "total_minor", "clip_count", "expires_at")
    list_filter = ("status",)


class LicenseItemInline(admin.TabularInline):
    model = LicenseItem
    extra = 0
    readonly_fields = ("clip", "creator", "price_minor", "price_lines", "terms_snapshot")
    can_delete = False


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "buyer",
        "status",
        "total_minor",
        "currency",
        "exclusive",
        "created_at",
        "paid_at",
    )
    list_filter = ("status", "exclusive")
    inlines = [LicenseItemInline]
    readonly_fields = (
        "quote",
        "buyer",
        "status",
        "exclusive",
        "uses",
        "accepted_constraints",
        "accepted_clauses",
        "total_minor",
        "currency",
        "paid_at",
    )
