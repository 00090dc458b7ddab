from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render

from outtake.ledger.models import Account, Invoice, JournalEntry, Payment, Posting
from outtake.ledger.services import LedgerError
from outtake.market.services import mark_paid


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    readonly_fields = ("account", "amount_minor", "currency")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "type", "currency")
    search_fields = ("code", "name")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "at", "kind", "memo", "license")
    list_filter = ("kind",)
    inlines = [PostingInline]


class PaymentForm(forms.Form):
    reference = forms.CharField(max_length=200, help_text="The bank statement's reference.")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "label",
        "buyer",
        "amount_minor",
        "fee_minor",
        "currency",
        "status",
        "issued_at",
        "paid_at",
    )
    list_filter = ("status",)
    actions = ["mark_transfer_received"]

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff

    @admin.action(description="Mark bank transfer received (full amount)")
    def mark_transfer_received(self, request, queryset):
        if "apply" in request.POST:
            form = PaymentForm(request.POST)
            if form.is_valid():
                for invoice in queryset:
                    try:
                        mark_paid(
                            invoice,
                            amount_minor=invoice.amount_minor,
                            reference=form.cleaned_data["reference"],
                            by=request.user,
                        )
                    except LedgerError as exc:
                        self.message_user(request, str(exc), messages.ERROR)
                    else:
                        self.message_user(
                            request, f"{invoice.label} marked paid.", messages.SUCCESS
                        )
                return redirect(request.get_full_path())
        else:
            form = PaymentForm()
        return render(
            request,
            "ledger/admin_payment.html",
            {
                "invoices": queryset,
                "form": form,
                "title": "Record bank transfers",
                **self.admin_site.each_context(request),
            },
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "invoice",
        "amount_minor",
        "currency",
        "method",
        "reference",
        "recorded_by",
        "received_at",
    )
