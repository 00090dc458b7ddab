from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path

from outtake.core.money import Money
from outtake.ledger.camt import parse_camt053
from outtake.ledger.card_refunds import card_refund_not_made
from outtake.ledger.models import (
    Account,
    BankFile,
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
from outtake.ledger.payouts import not_paid, paid_at_provider, payout_minimums, run_payouts
from outtake.ledger.reconcile import import_statement, money_from_text, parse_csv
from outtake.ledger.services import LedgerError, apply_credit, refund, refund_credit, void
from outtake.ledger.tax import mask, set_withholding_rate
from outtake.market.services import MarketError, mark_paid


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


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Sent to the buyer and to the creators, and written in the journal.",
    )


class RefundForm(ReasonForm):
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="In the invoice's currency; empty refunds all that is left (and ends the "
        "license).",
    )
    end_license = forms.BooleanField(
        required=False,
        label="End the license too",
        help_text="A partial refund keeps the license in force unless this is ticked.",
    )


def _exact_minor(amount: Decimal, currency: str) -> int:
    """The amount in the currency's minor units; one finer than that (¥1.50) is refused, never
    rounded to an amount the reviewer did not type."""
    try:
        return money_from_text(str(amount), currency).minor
    except ValueError as exc:
        raise LedgerError(str(exc)) from exc


class AskingAdmin(ReadOnlyAdmin):
    """Actions that ask the reviewer for a form (a reference, a reason) before they apply."""

    def describe(self, obj) -> str:
        """How a chosen row is listed above the form."""
        return str(obj)

    def name(self, obj) -> str:
        """How a row is named in the messages."""
        return str(obj)

    def _ask(self, request, queryset, form_class, action: str, intro: str, apply):
        """Show the action's form for the chosen rows, then apply it to each."""
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                for obj in queryset:
                    try:
                        done = apply(obj, form.cleaned_data)
                    except (LedgerError, MarketError, PermissionError) as exc:
                        self.message_user(request, f"{self.name(obj)}: {exc}", messages.ERROR)
                    else:
                        self.message_user(request, f"{self.name(obj)}: {done}", messages.SUCCESS)
                return redirect(request.get_full_path())
        else:
            form = form_class()
        return render(
            request,
            "ledger/admin_action.html",
            {
                "items": [(obj.pk, self.describe(obj)) for obj in queryset],
                "form": form,
                "action": action,
                "intro": intro,
                "title": intro,
                **self.admin_site.each_context(request),
            },
        )


@admin.register(Invoice)
class InvoiceAdmin(AskingAdmin):
    list_display = (
        "label",
        "buyer",
        "amount_minor",
        "fee_minor",
        "currency",
        "status",
        "due",
        "refunded",
        "issued_at",
        "paid_at",
    )
    list_filter = ("status",)
    actions = [
        "mark_transfer_received",
        "refund_invoices",
        "void_unpaid",
        "apply_buyer_credit",
        "refund_buyer_credit",
    ]

    @admin.display(description="still due")
    def due(self, obj) -> str:
        return str(Money(obj.due_minor, obj.currency)) if obj.status == Invoice.Status.OPEN else ""

    @admin.display(description="refunded")
    def refunded(self, obj) -> str:
        amount = obj.refunded_minor
        return str(Money(amount, obj.currency)) if amount else ""

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff

    def describe(self, obj) -> str:
        return (
            f"{obj.label} ({obj.buyer.name}, {obj.get_status_display()}): "
            f"total {obj.amount_minor} {obj.currency} minor units"
        )

    def name(self, obj) -> str:
        return obj.label

    @admin.action(description="Mark bank transfer received (the amount still due)")
    def mark_transfer_received(self, request, queryset):
        def apply(invoice, data) -> str:
            mark_paid(
                invoice,
                amount_minor=invoice.due_minor,
                reference=data["reference"],
                by=request.user,
            )
            return "marked paid."

        intro = "Record the bank transfer of what is still due on these invoices"
        return self._ask(request, queryset, PaymentForm, "mark_transfer_received", intro, apply)

    @admin.action(description="Refund, all or part (buyer and creators are told the reason)")
    def refund_invoices(self, request, queryset):
        def apply(invoice, data) -> str:
            amount = data["amount"]
            row = refund(
                invoice,
                reason=data["reason"],
                by=request.user,
                amount_minor=None if amount is None else _exact_minor(amount, invoice.currency),
                end_license=data["end_license"],
            )
            done = f"{Money(row.amount_minor, row.currency)} refunded"
            if row.card_minor:
                done += f"; {Money(row.card_minor, row.currency)} goes back to the card"
            left = Money(row.amount_minor - row.card_minor, row.currency)
            if left.minor:
                done += f"; send {left} back by bank transfer"
            return done + "."

        intro = "Refund these invoices (the sale is reversed in proportion)"
        return self._ask(request, queryset, RefundForm, "refund_invoices", intro, apply)

    @admin.action(description="Cancel unpaid invoices (part payments go back; license cancelled)")
    def void_unpaid(self, request, queryset):
        def apply(invoice, data) -> str:
            row = void(invoice, reason=data["reason"], by=request.user)
            back = f"; send {Money(row.amount_minor, row.currency)} back." if row else "."
            return "cancelled" + back

        intro = "Cancel these unpaid invoices and their licenses"
        return self._ask(request, queryset, ReasonForm, "void_unpaid", intro, apply)

    @admin.action(description="Pay from the buyer's credit (over-payments)")
    def apply_buyer_credit(self, request, queryset):
        for invoice in queryset:
            try:
                payment = apply_credit(invoice, by=request.user)
            except LedgerError as exc:
                self.message_user(request, f"{invoice.label}: {exc}", messages.ERROR)
            else:
                paid = Money(payment.amount_minor, payment.currency)
                self.message_user(request, f"{invoice.label}: {paid} paid from credit.")

    @admin.action(description="Refund the buyer's credit (then send the transfer)")
    def refund_buyer_credit(self, request, queryset):
        refunded: set = set()

        def apply(invoice, data) -> str:
            if (invoice.buyer_id, invoice.currency) in refunded:
                return "this buyer's credit is refunded above."
            amount = refund_credit(
                invoice.buyer, invoice.currency, reason=data["reason"], by=request.user
            )
            refunded.add((invoice.buyer_id, invoice.currency))
            return f"send {amount} back to {invoice.buyer.name}."

        intro = "Refund the credit of these invoices' buyers"
        return self._ask(request, queryset, ReasonForm, "refund_buyer_credit", intro, apply)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "invoice",
        "amount_minor",
        "currency",
        "card_minor",
        "card_status",
        "provider_reference",
        "reason",
        "ended_license",
        "recorded_by",
        "at",
    )
    list_filter = ("card_status",)
    actions = ["card_part_not_made"]

    @admin.action(description="No refund at the card provider: send the card part by transfer")
    def card_part_not_made(self, request, queryset):
        for row in queryset:
            try:
                card_refund_not_made(row, by=request.user)
            except (LedgerError, PermissionError) as exc:
                self.message_user(request, f"{row.invoice.label}: {exc}", messages.ERROR)
            else:
                card = Money(row.card_minor, row.currency)
                done = f"{card} is held as the buyer's credit: refund it, then send the transfer."
                self.message_user(request, f"{row.invoice.label}: {done}")


class StatementForm(forms.Form):
    statement = forms.FileField(help_text="The bank's CSV export or ISO 20022 camt.053 XML.")


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
    change_list_template = "ledger/admin_bankline_changelist.html"

    def get_urls(self):
        upload = self.admin_site.admin_view(self.import_view)
        return [path("import/", upload, name="ledger_bankline_import"), *super().get_urls()]

    def import_view(self, request):
        """Upload the bank's statement (CSV or camt.053 XML); show what matched and what not."""
        report, error = None, ""
        form = StatementForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["statement"].read()
            try:
                text = data.decode("utf-8-sig")
                is_xml = text.lstrip().startswith("<")
                lines = parse_camt053(data) if is_xml else parse_csv(text)
                report = import_statement(lines, by=request.user)
            except UnicodeDecodeError:
                error = "the statement is not UTF-8 text"
            except (LedgerError, PermissionError) as exc:  # StatementError included
                error = str(exc)
        return render(
            request,
            "ledger/admin_statement_import.html",
            {
                "form": form,
                "report": report,
                "error": error,
                "title": "Import a bank statement",
                **self.admin_site.each_context(request),
            },
        )


class ProviderReferenceForm(forms.Form):
    reference = forms.CharField(
        max_length=200,
        help_text="The provider's id of the payment (Stripe: tr_…) or the bank's reference.",
    )


class NotPaidForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the provider says; sent to the creator and written in the journal.",
    )


@admin.register(Payout)
class PayoutAdmin(AskingAdmin):
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
    exclude = ("bank_account",)  # the number it is paid to, as on the destination: never shown
    change_list_template = "ledger/admin_payout_changelist.html"
    actions = ["paid_at_the_provider", "not_paid_at_the_provider"]

    def describe(self, obj) -> str:
        return (
            f"payout {obj.pk} to {obj.creator.pseudonym} ({obj.provider}, {obj.status}): "
            f"{Money(obj.net_minor, obj.currency)}" + (f"; {obj.error}" if obj.error else "")
        )

    def name(self, obj) -> str:
        return f"payout {obj.pk}"

    @admin.action(description="Paid at the provider (give its reference): record it sent")
    def paid_at_the_provider(self, request, queryset):
        def apply(payout, data) -> str:
            paid_at_provider(payout, reference=data["reference"], by=request.user)
            return "recorded sent."

        intro = "Record these pending payouts as paid, as found at the provider"
        return self._ask(
            request, queryset, ProviderReferenceForm, "paid_at_the_provider", intro, apply
        )

    @admin.action(description="Not paid at the provider: return it to the creator's balance")
    def not_paid_at_the_provider(self, request, queryset):
        def apply(payout, data) -> str:
            not_paid(payout, reason=data["reason"], by=request.user)
            return "reversed; the next run pays it again."

        intro = "Reverse these pending payouts, found not paid at the provider"
        return self._ask(request, queryset, NotPaidForm, "not_paid_at_the_provider", intro, apply)

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
                "minimums": payout_minimums(),
                "title": "Run payouts",
                **self.admin_site.each_context(request),
            },
        )


@admin.register(BankFile)
class BankFileAdmin(ReadOnlyAdmin):
    """Every bank file payout runs wrote (in the blob store), for finance to upload."""

    list_display = ("key", "run", "created_at")


@admin.register(PayoutDestination)
class PayoutDestinationAdmin(admin.ModelAdmin):
    list_display = ("organization", "holder_name", "masked_bank_account", "stripe_account")
    exclude = ("bank_account",)  # a reviewer sees the last four characters, never the number

    @admin.display(description="bank account")
    def masked_bank_account(self, obj: PayoutDestination) -> str:
        return mask(obj.bank_account)


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

    def save_model(self, request, obj, form, change):
        # The only field a reviewer edits here; the service validates and audits it.
        set_withholding_rate(obj, form.cleaned_data["withholding_rate"], by=request.user)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    """Reviewers put pooled collections on offer; licensed ones keep their pinned split."""

    list_display = ("title", "price_minor", "currency", "min_tier", "tags_required", "active")
    list_filter = ("active",)
