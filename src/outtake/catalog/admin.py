from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render

from outtake.catalog import services
from outtake.catalog.models import Asset, Clip


class ClipInline(admin.TabularInline):
    model = Clip
    extra = 0
    fields = (
        "index",
        "kind",
        "start_s",
        "end_s",
        "tier",
        "price_minor",
        "sellable",
        "unsellable_reason",
    )
    readonly_fields = fields
    can_delete = False


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, help_text="Shown to the creator.")


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "original_filename",
        "owner",
        "kind",
        "status",
        "size_bytes",
        "created_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("id", "original_filename", "sha256", "owner__name")
    readonly_fields = (
        "owner",
        "uploaded_by",
        "original_filename",
        "declared_sha256",
        "sha256",
        "size_bytes",
        "blob_key",
        "kind",
        "status",
        "status_reason",
        "probe",
        "thumbnail_key",
        "created_at",
        "processed_at",
    )
    inlines = [ClipInline]
    actions = ["reject_assets"]

    @admin.action(description="Reject selected assets with a reason")
    def reject_assets(self, request, queryset):
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                for asset in queryset:
                    services.reject_by_reviewer(asset, request.user, form.cleaned_data["reason"])
                self.message_user(
                    request, f"Rejected {queryset.count()} asset(s).", messages.SUCCESS
                )
                return redirect(request.get_full_path())
        else:
            form = RejectForm()
        return render(
            request,
            "catalog/admin_reject.html",
            {
                "assets": queryset,
                "form": form,
                "title": "Reject assets",
                "action": "reject_assets",
                **self.admin_site.each_context(request),
            },
        )
