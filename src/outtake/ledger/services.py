"""The double-entry ledger: every money event is one balanced entry in integer minor units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from outtake.audit.services import record
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Account, Invoice, JournalEntry, Payment, Posting


class LedgerError(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    account: Account
    amount: Money  # debit positive, credit negative


@transaction.atomic
def post(
    kind: str, memo: str, lines: Iterable[Line], *, license=None, idempotency_key: str | None = None
) -> JournalEntry:
    """Post one balanced entry; with an idempotency key, a repeat returns the first entry."""
    lines = [ln for ln in lines if ln.amount.minor != 0]
    if not lines:
        raise LedgerError("an entry needs at least one non-zero line")
    totals: dict[str, int] = defaultdict(int)
    for ln in lines:
        if ln.account.currency != ln.amount.currency:
            raise LedgerError(f"{ln.account.code} is in {ln.account.currency}")
        totals[ln.amount.currency] += ln.amount.minor
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise LedgerError(f"entry does not balance: {unbalanced}")
    if idempotency_key:
        existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                kind=kind, memo=memo[:300], license=license, idempotency_key=idempotency_key
            )
    except IntegrityError:
        if idempotency_key:
            return JournalEntry.objects.get(idempotency_key=idempotency_key)
        raise
    Posting.objects.bulk_create(
        Posting(
            entry=entry,
            account=ln.account,
            amount_minor=ln.amount.minor,
            currency=ln.amount.currency,
        )
        for ln in lines
    )
    return entry


def balance(account: Account) -> Money:
    total = account.postings.aggregate(s=models.Sum("amount_minor"))["s"] or 0
    return Money(int(total), account.currency)


def split_sale(gross_by_creator: dict, currency: str) -> tuple[dict, Money]:
    """Each creator's share of their own clips' price, and the fee that remains.

    Shares are rounded half-even per creator; the fee takes the remainder, so the parts add up
    to the gross exactly.
    """
    share_rate = Decimal(settings.RATE_CARD.creator_share)
    shares = {
        org: Money(gross, currency).times(share_rate) for org, gross in gross_by_creator.items()
    }
    gross = sum(gross_by_creator.values())
    fee = Money(gross - sum(m.minor for m in shares.values()), currency)
    return shares, fee


def gross_by_creator(license) -> dict:
    """Each creator organization's part of a license's price, in minor units."""
    gross: dict = defaultdict(int)
    for item in license.items.select_related("creator"):
        gross[item.creator] += item.price_minor
    return gross


@transaction.atomic
def issue_invoice(license) -> Invoice:
    """Invoice a license and post the sale: the buyer owes the total; each creator's share is
    held pending until the buyer pays; the fee is Outtake's."""
    currency = license.currency
    shares, fee = split_sale(gross_by_creator(license), currency)
    total = Money(license.total_minor, currency)
    lines = [Line(chart.buyer_receivable(license.buyer, currency), total)]
    lines += [Line(chart.creator_pending(org, currency), -share) for org, share in shares.items()]
    lines.append(Line(chart.fee_revenue(currency), -fee))
    post(
        "sale",
        f"License {license.id}: sale on behalf of {len(shares)} creator(s)",
        lines,
        license=license,
        idempotency_key=f"sale:{license.id}",
    )
    last = Invoice.objects.select_for_update().order_by("-number").first()
    invoice = Invoice.objects.create(
        number=(last.number + 1) if last else 1,
        license=license,
        buyer=license.buyer,
        amount_minor=total.minor,
        fee_minor=fee.minor,
        currency=currency,
    )
    record(
        "invoice.issued",
        org=license.buyer,
        subject=invoice,
        data={
            "number": invoice.label,
            "amount_minor": total.minor,
            "fee_minor": fee.minor,
            "currency": currency,
            "license": str(license.id),
        },
    )
    return invoice


@transaction.atomic
def record_payment(invoice: Invoice, *, amount_minor: int, reference: str, by) -> Payment:
    """A reviewer marks a bank transfer received: cash in, receivable settled, and every
    creator's pending share becomes payable."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.PAID:
        raise LedgerError(f"{invoice.label} is already paid")
    if amount_minor != invoice.amount_minor:
        raise LedgerError(
            f"{invoice.label} is for {Money(invoice.amount_minor, invoice.currency)}; "
            f"received {Money(amount_minor, invoice.currency)} (partial payments are not "
            "accepted yet)"
        )
    currency = invoice.currency
    license = invoice.license
    total = Money(invoice.amount_minor, currency)
    lines = [
        Line(chart.cash(currency), total),
        Line(chart.buyer_receivable(invoice.buyer, currency), -total),
    ]
    sale = license.entries.get(kind="sale")
    for posting in sale.postings.select_related("account"):
        if posting.account.code.startswith("creator:pending:"):
            share = Money(-posting.amount_minor, currency)
            lines.append(Line(posting.account, share))
            lines.append(
                Line(chart.creator_payable(posting.account.organization, currency), -share)
            )
    entry = post(
        "payment",
        f"{invoice.label} paid by bank transfer {reference}".strip(),
        lines,
        license=license,
        idempotency_key=f"payment:{invoice.pk}",
    )
    payment = Payment.objects.create(
        invoice=invoice,
        amount_minor=amount_minor,
        currency=currency,
        reference=reference,
        recorded_by=by,
        entry=entry,
    )
    invoice.status, invoice.paid_at = Invoice.Status.PAID, timezone.now()
    invoice.save(update_fields=["status", "paid_at"])
    record(
        "payment.received",
        actor=by,
        org=invoice.buyer,
        subject=payment,
        data={
            "invoice": invoice.label,
            "amount_minor": amount_minor,
            "currency": currency,
            "reference": reference,
        },
    )
    return payment


def trial_balance() -> dict[str, int]:
    """Sum of all postings per currency: always zero."""
    rows = Posting.objects.values("currency").annotate(total=models.Sum("amount_minor"))
    return {r["currency"]: int(r["total"]) for r in rows}


@dataclass
class Earnings:
    pending: Money
    payable: Money
    sales: list[dict]


def creator_earnings(org, currency: str = "USD") -> Earnings:
    pending = -balance(chart.creator_pending(org, currency))
    payable = -balance(chart.creator_payable(org, currency))
    sales = []
    postings = (
        Posting.objects.filter(
            account__code=chart.creator_pending(org, currency).code, entry__kind="sale"
        )
        .select_related("entry__license__buyer")
        .order_by("-entry__at")
    )
    for p in postings:
        lic = p.entry.license
        sales.append(
            {
                "at": p.entry.at,
                "license_id": str(lic.id) if lic else None,
                "buyer": lic.buyer.name_for_creators if lic else "",
                "share": Money(-p.amount_minor, currency),
                "status": "payable" if lic and lic.paid_at else "pending",
            }
        )
    return Earnings(pending=pending, payable=payable, sales=sales)
