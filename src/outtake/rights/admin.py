from django.contrib import admin, messages

from outtake.rights import claims
from outtake.rights.models import LicenseContract, RemovalRequest, RightsClaim, TermsVersion


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
    list_display = ("organization", "asset", "version", "created_by", "created_at")
    readonly_fields = ("organization", "asset", "version", "terms", "created_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RightsClaim)
class RightsClaimAdmin(admin.ModelAdmin):
    list_display = ("asset", "claimant_email", "status", "created_at", "resolved_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in RightsClaim._meta.fields]
    actions = ["uphold", "dismiss"]

    def _resolve(self, request, queryset, upheld: bool) -> None:
        done = 0
        for claim in queryset.filter(status=RightsClaim.Status.OPEN):
            claims.resolve_claim(request.user, claim, upheld=upheld, note="Decided in review.")
            done += 1
        self.message_user(request, f"{done} claim(s) {'upheld' if upheld else 'dismissed'}.")

    @admin.action(description="Uphold: keep the asset out of sales and tell licensees")
    def uphold(self, request, queryset):
        self._resolve(request, queryset, True)

    @admin.action(description="Dismiss: sales resume")
    def dismiss(self, request, queryset):
        self._resolve(request, queryset, False)

    def has_add_permission(self, request):
        return False

    # A claim is decided by resolve_claim, which leaves an audit event; deleting one would
    # undo a hold with no record.
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RemovalRequest)
class RemovalRequestAdmin(admin.ModelAdmin):
    """Write the resolution (the requester and the creator read it; a rejection needs one),
    save, then uphold or reject from the list."""

    list_display = ("asset", "clip", "email", "status", "created_at", "resolved_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in RemovalRequest._meta.fields if f.name != "resolution"]
    actions = ["uphold", "reject"]

    def get_readonly_fields(self, request, obj=None):
        # Once decided, the resolution is what the requester and the creator were told and
        # what removal.resolved records: it no longer changes.
        if obj is not None and obj.status != RemovalRequest.Status.OPEN:
            return [*self.readonly_fields, "resolution"]
        return self.readonly_fields

    def _resolve(self, request, queryset, upheld: bool) -> None:
        done = 0
        for removal in queryset.filter(status=RemovalRequest.Status.OPEN):
            try:
                claims.resolve_removal(
                    request.user, removal, upheld=upheld, note=removal.resolution
                )
            except claims.ClaimError as exc:
                self.message_user(request, f"{removal}: {exc}", level=messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} request(s) {'upheld' if upheld else 'rejected'}.")

    @admin.action(description="Uphold: keep the footage out of sales and tell licensees")
    def uphold(self, request, queryset):
        self._resolve(request, queryset, True)

    @admin.action(description="Reject: sales resume; the requester is told the resolution")
    def reject(self, request, queryset):
        self._resolve(request, queryset, False)

    def has_add_permission(self, request):
        return False

    # As for claims: deleting a request would put its clips back on sale with no record.
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LicenseContract)
class LicenseContractAdmin(admin.ModelAdmin):
    list_display = ("license", "accepted_by", "accepted_at", "data_sha256", "sealed_at")
    readonly_fields = [f.name for f in LicenseContract._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
