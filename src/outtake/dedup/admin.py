from django.contrib import admin

from outtake.dedup.models import DuplicateHold, HashList, ListMatch


@admin.register(DuplicateHold)
class DuplicateHoldAdmin(admin.ModelAdmin):
    list_display = ("clip", "matched_clip", "kind", "status", "created_at")
    list_filter = ("status", "kind")


@admin.register(HashList)
class HashListAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "purpose", "sha256_count", "pdq_count", "created_at")


@admin.register(ListMatch)
class ListMatchAdmin(admin.ModelAdmin):
    list_display = ("hash_list", "clip", "kind")
