from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from outtake.accounts.auth import scoped
from outtake.core.money import MINOR_UNITS
from outtake.ledger import services
from outtake.ledger.camt import parse_camt053
from outtake.ledger.invoices import invoice_document, invoice_pdf
from outtake.ledger.models import Collection, Invoice, Payout
from outtake.ledger.payments import card_provider, stripe_webhook
from outtake.ledger.payouts import run_payouts
from outtake.ledger.pools import FORMULA
from outtake.ledger.price_index import price_index
from outtake.ledger.reconcile import StatementError, import_statement, parse_csv
from outtake.ledger.statements import statement
from outtake.market.api import QuoteOut
from outtake.market.services import mark_paid, quote_collection

router = Router(tags=["ledger"])
# Endpoints that move money need a reviewer holding the finance scope: a read token cannot.
FINANCE = scoped("finance")


def _finance(request):
    if not request.auth.is_reviewer:
        raise PermissionError("only reviewers move money")
    return request.auth


class InvoiceOut(Schema):
    id: int
    number: str
    license_id: str
    amount_minor: int
    fee_minor: int
    currency: str
    status: str
    received_minor: int
    due_minor: int
    refunded_minor: int
    issued_at: datetime
    paid_at: datetime | None

    @staticmethod
    def from_invoice(i: Invoice) -> "InvoiceOut":
        return InvoiceOut(
            id=i.id,
            number=i.label,
            license_id=str(i.license_id),
            amount_minor=i.amount_minor,
            fee_minor=i.fee_minor,
            currency=i.currency,
            status=i.status,
            received_minor=i.received_minor,
            due_minor=i.due_minor,
            refunded_minor=i.refunded_minor,
            issued_at=i.issued_at,
            paid_at=i.paid_at,
        )


class PaymentIn(Schema):
    amount_minor: int
    reference: str = ""


class EarningsOut(Schema):
    currency: str
    pending_minor: int
    payable_minor: int
    clawback_minor: int  # owed back from refunds after payout, recovered from later sales
    balance_minor: int  # pending + payable - clawback: negative while a clawback is larger
    sales: list[dict]


def _invoices(user):
    if user.is_reviewer:
        return Invoice.objects.all()
    return Invoice.objects.filter(buyer=user.organization)


@router.get("/invoices", response=list[InvoiceOut], auth=scoped("read"))
def list_invoices(request):
    return [InvoiceOut.from_invoice(i) for i in _invoices(request.auth)]


@router.get("/invoices/{int:invoice_id}", auth=scoped("read"))
def invoice_detail(request, invoice_id: int):
    """The invoice as issued: lines per creator, Outtake's fee, payment instructions."""
    return invoice_document(get_object_or_404(_invoices(request.auth), pk=invoice_id))


@router.get("/invoices/{int:invoice_id}/pdf", auth=scoped("read"))
def invoice_as_pdf(request, invoice_id: int):
    invoice = get_object_or_404(_invoices(request.auth), pk=invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.label}.pdf"'
    return response


class RefundIn(Schema):
    reason: str
    amount_minor: int | None = None  # empty: all that is left, which ends the license
    end_license: bool = False  # a partial refund ends it only when asked


class VoidIn(Schema):
    reason: str


@router.post("/invoices/{int:invoice_id}/refund", response={201: InvoiceOut}, auth=FINANCE)
def refund_invoice(request, invoice_id: int, payload: RefundIn):
    """Refund a paid invoice, all or part; told to the buyer and the creators."""
    invoice = get_object_or_404(Invoice, pk=invoice_id)
    services.refund(
        invoice,
        reason=payload.reason,
        by=_finance(request),
        amount_minor=payload.amount_minor,
        end_license=payload.end_license,
    )
    invoice.refresh_from_db()
    return Status(201, InvoiceOut.from_invoice(invoice))


@router.post("/invoices/{int:invoice_id}/void", response={201: InvoiceOut}, auth=FINANCE)
def void_invoice(request, invoice_id: int, payload: VoidIn):
    """Cancel an invoice not paid in full: part payments go back, the license is cancelled."""
    invoice = get_object_or_404(Invoice, pk=invoice_id)
    services.void(invoice, reason=payload.reason, by=_finance(request))
    invoice.refresh_from_db()
    return Status(201, InvoiceOut.from_invoice(invoice))


class StatementIn(Schema):
    csv: str = ""
    camt053: str = ""  # ISO 20022 camt.053 XML, instead of the CSV


class ImportOut(Schema):
    matched: list[dict]
    unmatched: list[dict]
    already_imported: list[str]
    credited: list[dict]  # quoted invoices no longer open: held as the buyer's credit


@router.post("/bank-statements", response=ImportOut, auth=FINANCE)
def import_bank_statement(request, payload: StatementIn):
    """Reviewers import a bank statement (CSV or camt.053); matched transfers pay invoices."""
    by = _finance(request)
    if bool(payload.csv) == bool(payload.camt053):
        raise StatementError("send the statement as csv or as camt053, one of them")
    lines = parse_camt053(payload.camt053) if payload.camt053 else parse_csv(payload.csv)
    report = import_statement(lines, by=by)
    return ImportOut(
        matched=[
            {"bank_transaction_id": ln.bank_transaction_id, "invoice": label}
            for ln, label in report.matched
        ],
        unmatched=[
            {"bank_transaction_id": ln.bank_transaction_id, "reason": reason}
            for ln, reason in report.unmatched
        ],
        already_imported=[ln.bank_transaction_id for ln in report.already_imported],
        credited=[
            {"bank_transaction_id": ln.bank_transaction_id, "reason": reason}
            for ln, reason in report.credited
        ],
    )


class PayoutOut(Schema):
    id: int
    run: str
    creator: str
    provider: str
    status: str
    gross_minor: int
    withholding_minor: int
    net_minor: int
    currency: str
    provider_reference: str
    error: str
    created_at: datetime

    @staticmethod
    def from_payout(p: Payout) -> "PayoutOut":
        return PayoutOut(
            id=p.pk,
            run=p.run,
            creator=p.creator.pseudonym,
            provider=p.provider,
            status=p.status,
            gross_minor=p.gross_minor,
            withholding_minor=p.withholding_minor,
            net_minor=p.net_minor,
            currency=p.currency,
            provider_reference=p.provider_reference,
            error=p.error,
            created_at=p.created_at,
        )


@router.get("/payouts", response=list[PayoutOut], auth=scoped("read"))
def list_payouts(request):
    qs = Payout.objects.select_related("creator")
    if not request.auth.is_reviewer:
        qs = qs.filter(creator=request.auth.organization)
    return [PayoutOut.from_payout(p) for p in qs]


class RunOut(Schema):
    run: str
    sent: list[PayoutOut]
    failed: list[PayoutOut]
    pending: list[PayoutOut]
    skipped: list[dict]
    below_minimum: int
    bank_file: str


@router.post("/payouts/run", response=RunOut, auth=FINANCE)
def run_payouts_now(request):
    """A reviewer's button for `outtake payouts run`."""
    _finance(request)
    r = run_payouts()
    return RunOut(
        run=r.run,
        sent=[PayoutOut.from_payout(p) for p in r.sent],
        failed=[PayoutOut.from_payout(p) for p in r.failed],
        pending=[PayoutOut.from_payout(p) for p in r.pending],
        skipped=[{"creator": c, "reason": reason} for c, reason in r.skipped],
        below_minimum=r.below_minimum,
        bank_file=r.bank_file,
    )


@router.get("/statement", auth=scoped("read"))
def creator_statement(request, start: datetime, end: datetime, currency: str = "USD"):
    """The creator's statement for [start, end); amounts as {minor, currency}."""
    if not request.auth.is_creator:
        raise PermissionError("statements are for creators")
    return asdict(statement(request.auth.organization, start, end, currency))


@router.post("/invoices/{int:invoice_id}/payments", response={201: InvoiceOut}, auth=FINANCE)
def record_payment(request, invoice_id: int, payload: PaymentIn):
    """Reviewers mark a bank transfer received."""
    by = _finance(request)
    invoice = get_object_or_404(Invoice, pk=invoice_id)
    mark_paid(invoice, amount_minor=payload.amount_minor, reference=payload.reference, by=by)
    invoice.refresh_from_db()
    return Status(201, InvoiceOut.from_invoice(invoice))


@router.get("/earnings", response=EarningsOut, auth=scoped("read"))
def earnings(request, currency: str = ""):
    """The creator's balance (it goes negative while a refund after payout is recovered)."""
    if not request.auth.is_creator:
        raise PermissionError("earnings are for creators")
    currency = (currency or settings.RATE_CARD.currency).upper()
    if currency not in MINOR_UNITS:
        raise services.LedgerError(f"unknown currency {currency}")
    e = services.creator_earnings(request.auth.organization, currency)
    return EarningsOut(
        currency=e.pending.currency,
        pending_minor=e.pending.minor,
        payable_minor=e.payable.minor,
        clawback_minor=e.clawback.minor,
        balance_minor=e.balance.minor,
        sales=[
            {
                **s,
                "at": s["at"].isoformat(),
                "share_minor": s["share"].minor,
                "share": str(s["share"]),
            }
            for s in e.sales
        ],
    )


class CheckoutOut(Schema):
    session_id: str
    url: str


@router.post("/invoices/{int:invoice_id}/card-checkout", response=CheckoutOut, auth=scoped("buy"))
def card_checkout(request, invoice_id: int):
    """Pay a small invoice by card: returns Stripe Checkout's page to send the buyer to."""
    invoice = get_object_or_404(_invoices(request.auth), pk=invoice_id)
    checkout = card_provider().checkout(invoice)
    return CheckoutOut(session_id=checkout.session_id, url=checkout.url)


@router.post("/payments/stripe/webhook", auth=None, include_in_schema=False)
def stripe_events(request):
    """Stripe's webhook: signed events; each posts once however often it is delivered."""
    event = stripe_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    return {"received": True, "outcome": event.outcome}


class CollectionOut(Schema):
    id: int
    title: str
    description: str
    price_minor: int
    currency: str
    min_tier: str
    tags_required: list[str]
    split: str


@router.get("/collections", response=list[CollectionOut], auth=scoped("read"))
def list_collections(request):
    """Pooled collections on offer, each at one price split among its creators."""
    return [
        CollectionOut(
            id=c.pk,
            title=c.title,
            description=c.description,
            price_minor=c.price_minor,
            currency=c.currency,
            min_tier=c.min_tier,
            tags_required=c.tags_required,
            split=FORMULA,
        )
        for c in Collection.objects.filter(active=True)
    ]


@router.post("/collections/{int:collection_id}/quote", response={201: QuoteOut}, auth=scoped("buy"))
def quote_a_collection(request, collection_id: int):
    """Quote a collection; accept it like any quote (POST /quotes/{id}/accept)."""
    collection = get_object_or_404(Collection, pk=collection_id, active=True)
    return Status(201, QuoteOut.from_quote(quote_collection(request.auth, collection)))


class PriceCellOut(Schema):
    dimension: str
    key: str
    sales: int
    creators: int
    minutes: Decimal
    median_per_minute: Decimal
    low_per_minute: Decimal
    high_per_minute: Decimal
    rate_card_per_minute: Decimal | None


@router.get("/price-index", response=list[PriceCellOut], auth=None)
def open_price_index(request):
    """Median and range of $/minute paid per tier and tag over the last 90 days; a cell
    appears only with at least 5 sales from at least 3 creators."""
    return [
        PriceCellOut(
            dimension=c.dimension,
            key=c.key,
            sales=c.sales,
            creators=c.creators,
            minutes=c.minutes,
            median_per_minute=c.median,
            low_per_minute=c.low,
            high_per_minute=c.high,
            rate_card_per_minute=c.rate_card,
        )
        for c in price_index()
    ]
