from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path

from outtake.ledger.models import (
    Account,
    BankLine,
    CardCheckout,
    Collection,
    Invoice,
    JournalEntry,
    Payment,
    Payout,
    PayoutDestination,
    Posting,
    ProviderEvent,
    Refund,
    StoredStatement,
    TaxProfile,
)
from outtake.ledger.payouts import run_payouts
from outtake.ledger.services import LedgerError
from outtake.ledger.tax import mask
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
    actions = ["mark_transfer_received", "refund_in_full"]

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

    @admin.action(description="Refund in full (reverses the sale; creators are told)")
    def refund_in_full(self, request, queryset):
        from outtake.ledger.services import refund

        for invoice in queryset:
            try:
                refund(invoice, reason=f"refunded by {request.user.email}", by=request.user)
            except LedgerError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{invoice.label} refunded.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "amount_minor", "currency", "reason", "recorded_by", "at")


@admin.register(BankLine)
class BankLineAdmin(ReadOnlyAdmin):
    """Imported statement lines; filter on unmatched to see what needs a human."""

    list_display = (
        "booked_on",
        "amount_minor",
        "currency",
        "reference",
        "counterparty",
        "status",
        "reason",
        "invoice",
    )
    list_filter = ("status",)
    search_fields = ("reference", "counterparty", "bank_transaction_id")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "run",
        "creator",
        "provider",
        "status",
        "gross_minor",
        "withholding_minor",
        "currency",
        "provider_reference",
        "error",
    )
    list_filter = ("status", "provider")
    change_list_template = "ledger/admin_payout_changelist.html"

    def get_urls(self):
        run = self.admin_site.admin_view(self.run_view)
        return [path("run/", run, name="ledger_payout_run"), *super().get_urls()]

    def run_view(self, request):
        """The reviewer's button for `outtake payouts run`: confirm, run, show the report."""
        if not request.user.is_staff:
            raise PermissionError("only reviewers run payouts")
        report = run_payouts() if request.method == "POST" else None
        return render(
            request,
            "ledger/admin_payout_run.html",
            {
                "report": report,
                "provider": settings.OUTTAKE_PAYOUT_PROVIDER,
                "minimum": settings.RATE_CARD.payout_minimum,
                "title": "Run payouts",
                **self.admin_site.each_context(request),
            },
        )


@admin.register(PayoutDestination)
class PayoutDestinationAdmin(admin.ModelAdmin):
    list_display = ("organization", "holder_name", "bank_account", "stripe_account")


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


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    """Webhook events; filter on outcome to find card payments that need a human."""

    list_display = ("received_at", "provider", "event_id", "type", "invoice", "outcome")
    list_filter = ("provider", "type")
    search_fields = ("event_id",)


@admin.register(CardCheckout)
class CardCheckoutAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "invoice", "session_id")


@admin.register(StoredStatement)
class StoredStatementAdmin(ReadOnlyAdmin):
    list_display = ("organization", "start", "currency", "closing_minor", "audit_head")


@admin.register(TaxProfile)
class TaxProfileAdmin(admin.ModelAdmin):
    """Reviewers set the withholding rate from the creator's form; ids stay masked here too."""

    list_display = ("organization", "country", "form", "masked_tax_id", "withholding_rate")
    list_filter = ("form", "country")
    fields = ("organization", "country", "form", "legal_name", "masked_tax_id", "withholding_rate")
    readonly_fields = ("organization", "country", "form", "legal_name", "masked_tax_id")

    @admin.display(description="tax id")
    def masked_tax_id(self, obj) -> str:
        return mask(obj.tax_id or obj.foreign_tax_id)

    def has_add_permission(self, request):
        return False


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    """Reviewers put pooled collections on offer; licensed ones keep their pinned split."""

    list_display = ("title", "price_minor", "currency", "min_tier", "tags_required", "active")
    list_filter = ("active",)
