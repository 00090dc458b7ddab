"""The double-entry ledger: every money event is one balanced entry in integer minor units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import uuid4

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from outtake.audit.services import record
from outtake.core.money import Money, allocate, split_shares
from outtake.ledger import chart
from outtake.ledger.models import (
    Account,
    Invoice,
    InvoiceCounter,
    JournalEntry,
    Payment,
    Posting,
    Refund,
)
from outtake.ledger.sale_status import sale_statuses
from outtake.notices.services import notify_org, notify_reviewers


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


def reverse(entry: JournalEntry, memo: str) -> JournalEntry:
    """Correct an entry the only way the ledger allows: post its exact opposite."""
    lines = [
        Line(p.account, Money(-p.amount_minor, p.currency))
        for p in entry.postings.select_related("account")
    ]
    return post(
        f"{entry.kind}.reversal",
        memo,
        lines,
        license=entry.license,
        idempotency_key=f"reversal:{entry.pk}",
    )


def balance(account: Account) -> Money:
    total = account.postings.aggregate(s=models.Sum("amount_minor"))["s"] or 0
    return Money(int(total), account.currency)


def lock(*accounts: Account) -> None:
    """Lock account rows (in id order, so two callers never deadlock) before reading a balance
    that decides what to post: a payout and a refund must not both spend the same payable."""
    ids = sorted({a.pk for a in accounts})
    list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def split_sale(gross_by_creator: dict, currency: str) -> tuple[dict, Money]:
    """Each creator's share of their own clips' price at the published rate, and the fee."""
    return split_shares(gross_by_creator, Decimal(settings.RATE_CARD.creator_share), currency)


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
    invoice = Invoice.objects.create(
        number=_next_invoice_number(),
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


def _next_invoice_number() -> int:
    """Take the next number from the locked counter row (call inside the issuing transaction)."""
    InvoiceCounter.objects.get_or_create(
        name="invoice",
        defaults={"next_number": (Invoice.objects.aggregate(m=models.Max("number"))["m"] or 0) + 1},
    )
    counter = InvoiceCounter.objects.select_for_update().get(name="invoice")
    number = counter.next_number
    counter.next_number = number + 1
    counter.save(update_fields=["next_number"])
    return number


def sale_shares(license) -> tuple[dict, Money]:
    """Each creator's share and Outtake's fee as posted by the license's sale entry."""
    currency = license.currency
    shares: dict = {}
    fee = Money.zero(currency)
    sale = license.entries.get(kind="sale")
    for posting in sale.postings.select_related("account__organization"):
        code = posting.account.code
        if code.startswith(chart.PENDING):
            shares[posting.account.organization] = Money(-posting.amount_minor, currency)
        elif code.startswith(chart.FEE_REVENUE):
            fee = Money(-posting.amount_minor, currency)
    return shares, fee


@transaction.atomic
def record_payment(
    invoice: Invoice,
    *,
    amount_minor: int,
    reference: str,
    by,
    method: str = Payment.Method.BANK_TRANSFER,
    provider_reference: str = "",
) -> Payment:
    """A reviewer marks a bank transfer received, or a provider confirms a card payment
    (by=None): cash in, receivable settled.

    An invoice may be paid in several transfers: only when they reach its total is it paid
    and does every creator's pending share become payable (first paying back any clawback
    they owe). What is paid beyond the total is held as the buyer's credit, to refund or
    apply to a later invoice: never lost."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise LedgerError(f"{invoice.label} is already {invoice.status}")
    if amount_minor <= 0:
        raise LedgerError("a payment is a positive amount")
    currency = invoice.currency
    license = invoice.license
    due = Money(invoice.due_minor, currency)
    received = Money(amount_minor, currency)
    settled = min(received, due)
    credit = chart.buyer_credit(invoice.buyer, currency)
    source = credit if method == Payment.Method.CREDIT else chart.cash(currency)
    lines = [
        Line(source, received),
        Line(chart.buyer_receivable(invoice.buyer, currency), -settled),
        Line(credit, settled - received),
    ]
    in_full = received >= due
    shares = sale_shares(license)[0] if in_full else {}
    for org, share in shares.items():
        lines.append(Line(chart.creator_pending(org, currency), share))
        lines.append(Line(chart.creator_payable(org, currency), -share))
    how = Payment.Method(method).label.lower()
    entry = post(
        # Only the payment that completes the invoice is a "payment": statements read it as
        # the moment the creators' shares became payable.
        "payment" if in_full else "payment.part",
        f"{invoice.label} {'paid' if in_full else 'part-paid'} by {how} {reference}".strip(),
        lines,
        license=license,
        # The invoice row is locked, so the count is this payment's number.
        idempotency_key=f"payment:{invoice.pk}:{invoice.payments.count() + 1}",
    )
    payment = Payment.objects.create(
        invoice=invoice,
        amount_minor=amount_minor,
        currency=currency,
        method=method,
        reference=reference[:200],
        provider_reference=provider_reference[:200],
        recorded_by=by,
        entry=entry,
    )
    if in_full:
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
            "method": method,
            "still_due_minor": (due - settled).minor,
            "credited_minor": (received - settled).minor,
        },
    )
    _tell_buyer(invoice, received, due - settled, received - settled)
    for org in shares:
        recover_clawback(org, currency)
    if method != Payment.Method.CARD:  # a card payment completes its own page
        _close_card_pages(invoice)
    return payment


def _close_card_pages(invoice: Invoice) -> None:
    """Once this commits, close the invoice's open card pages: they ask what was due before."""
    from outtake.ledger.tasks import expire_card_checkouts

    if invoice.card_checkouts.exists():
        transaction.on_commit(lambda: expire_card_checkouts(invoice.pk))


def _tell_buyer(invoice: Invoice, received: Money, still_due: Money, credited: Money) -> None:
    if still_due.minor:
        notify_org(
            invoice.buyer,
            "payment.partial",
            f"{received} received for {invoice.label}; {still_due} still due",
            "Your package is built once the whole invoice is paid.",
            f"/licenses/{invoice.license_id}/",
        )
    if credited.minor:
        body = (
            f"You paid {credited} more than {invoice.label}. It is held as your credit: "
            "ask us to refund it or to apply it to your next invoice."
        )
        notify_org(invoice.buyer, "payment.credit", f"Over-payment of {credited}", body, "")
        notify_reviewers(
            "payment.credit",
            f"{invoice.buyer.name} over-paid {invoice.label} by {credited}",
            "Refund the credit or apply it to an open invoice.",
            f"/admin/ledger/invoice/{invoice.pk}/change/",
        )


def receive_credit(
    invoice: Invoice, amount: Money, *, reference: str, by, idempotency_key: str
) -> JournalEntry:
    """Money received for an invoice that is no longer open (paid twice, by card as well):
    held as the buyer's credit, to refund or apply, never lost."""
    reviewer_only(by)
    if amount.minor <= 0 or amount.currency != invoice.currency:
        raise LedgerError(f"cannot credit {amount} for {invoice.label}")
    entry = post(
        "credit.received",
        f"{reference}: {invoice.label} is already {invoice.status}; held as credit",
        [
            Line(chart.cash(amount.currency), amount),
            Line(chart.buyer_credit(invoice.buyer, amount.currency), -amount),
        ],
        idempotency_key=idempotency_key,
    )
    record(
        "credit.received",
        actor=by,
        org=invoice.buyer,
        subject=entry,
        data={"invoice": invoice.label, "amount_minor": amount.minor, "currency": amount.currency},
    )
    _tell_buyer(invoice, amount, Money.zero(amount.currency), amount)
    return entry


def reviewer_only(by, what: str = "move a buyer's credit") -> None:
    if by is None or not by.is_reviewer:
        raise PermissionError(f"only reviewers {what}")


def buyer_credit(org, currency: str) -> Money:
    """What Outtake holds for a buyer from over-payments."""
    return -balance(chart.buyer_credit(org, currency))


def apply_credit(invoice: Invoice, *, by) -> Payment:
    """Pay what is still due on an open invoice (or part of it) from the buyer's credit."""
    from outtake.market.services import mark_paid

    reviewer_only(by)
    with transaction.atomic():
        lock(chart.buyer_credit(invoice.buyer, invoice.currency))
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        amount = min(buyer_credit(invoice.buyer, invoice.currency).minor, invoice.due_minor)
        if amount <= 0:
            raise LedgerError(f"{invoice.buyer.name} has no credit to apply")
        mark_paid(
            invoice,
            amount_minor=amount,
            reference="from credit",
            by=by,
            method=Payment.Method.CREDIT,
        )
        return invoice.payments.latest("id")


@transaction.atomic
def refund_credit(org, currency: str, *, reason: str, by) -> Money:
    """Send a buyer's whole credit back to them (the reviewer then makes the transfer)."""
    reviewer_only(by)
    if not reason.strip():
        raise LedgerError("a refund needs a reason")
    account = chart.buyer_credit(org, currency)
    lock(account)
    amount = buyer_credit(org, currency)
    if amount.minor <= 0:
        raise LedgerError(f"{org.name} has no credit in {currency}")
    entry = post(
        "credit.refund",
        f"Credit refunded to {org.name}: {reason}",
        [Line(account, amount), Line(chart.cash(currency), -amount)],
    )
    record(
        "credit.refunded",
        actor=by,
        org=org,
        subject=entry,
        data={"amount_minor": amount.minor, "currency": currency, "reason": reason[:300]},
    )
    notify_org(org, "credit.refunded", f"{amount} of credit refunded to you", reason[:300], "")
    return amount


def _refunded_so_far(license) -> tuple[dict, Money]:
    """What earlier refunds of a license took from each creator's share and from the fee."""
    currency = license.currency
    taken: dict = defaultdict(lambda: Money.zero(currency))
    fee = Money.zero(currency)
    for p in Posting.objects.filter(entry__license=license, entry__kind="refund").select_related(
        "account__organization"
    ):
        code = p.account.code
        if code.startswith((chart.PAYABLE, chart.CLAWBACK)):
            taken[p.account.organization] += Money(p.amount_minor, currency)
        elif code.startswith(chart.FEE_REFUNDS):
            fee += Money(p.amount_minor, currency)
    return taken, fee


def refund_parts(invoice: Invoice, amount: Money) -> tuple[dict, Money]:
    """How a refund of amount is shared among the creators and Outtake's fee: in proportion
    to what is left of each after earlier refunds, by largest remainder, so the cents add up
    and nobody gives back more than they got; refunding all that is left takes exactly what
    is left of each."""
    shares, fee = sale_shares(invoice.license)
    taken, fee_taken = _refunded_so_far(invoice.license)
    orgs = sorted(shares, key=lambda org: org.pk)
    left = [(shares[org] - taken[org]).minor for org in orgs] + [(fee - fee_taken).minor]
    *parts, fee_part = allocate(amount, left)
    return dict(zip(orgs, parts, strict=True)), fee_part


def _end_license(invoice: Invoice, status: str, reason: str, by) -> None:
    from outtake.market.services import end_license

    end_license(invoice.license, status=status, reason=reason, by=by)


@transaction.atomic
def refund(
    invoice: Invoice,
    *,
    reason: str,
    by,
    amount_minor: int | None = None,
    end_license: bool = False,
) -> Refund:
    """Give a buyer back all that is left of a paid invoice (the default) or part of it.

    The sale is reversed in proportion (refund_parts). Each creator's part comes out of
    their payable balance; what was already paid out becomes a clawback receivable,
    recovered from their future earnings. A full refund ends the license; a partial one
    only when the reviewer says so. What was paid by card goes back through the card
    provider, asked by a job once this commits (card_refunds); the rest the reviewer
    transfers, and is told so. Buyer and creators are told.
    """
    from outtake.ledger.payments import card_provider
    from outtake.ledger.tasks import send_card_refund

    reviewer_only(by, "refunds")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.PAID:
        raise LedgerError(f"{invoice.label} is {invoice.status}; only paid invoices are refunded")
    if not reason.strip():
        raise LedgerError("a refund needs a reason")
    currency = invoice.currency
    left = Money(invoice.amount_minor - invoice.refunded_minor, currency)
    amount = left if amount_minor is None else Money(amount_minor, currency)
    if amount.minor <= 0:
        raise LedgerError("a refund is a positive amount")
    if amount > left:
        raise LedgerError(f"only {left} of {invoice.label} is left to refund")
    parts, fee_part = refund_parts(invoice, amount)
    lines = [Line(chart.cash(currency), -amount), Line(chart.fee_refunds(currency), fee_part)]
    lock(*(chart.creator_payable(org, currency) for org in parts))
    clawbacks: dict = {}
    for org, part in parts.items():
        payable = -balance(chart.creator_payable(org, currency))
        taken = min(part, payable) if payable.minor > 0 else Money.zero(currency)
        lines.append(Line(chart.creator_payable(org, currency), taken))
        if part != taken:
            clawbacks[org] = part - taken
            lines.append(Line(chart.creator_clawback(org, currency), part - taken))
    number = invoice.refunds.count() + 1  # the invoice row is locked
    full = amount == left
    to_card = _card_part(invoice, amount, card_provider())
    entry = post(
        "refund",
        f"{invoice.label} {'refunded' if full else f'refunded {amount}'}: {reason}",
        lines,
        license=invoice.license,
        idempotency_key=f"refund:{invoice.pk}:{number}",
    )
    ends = full or end_license
    row = Refund.objects.create(
        invoice=invoice,
        amount_minor=amount.minor,
        currency=currency,
        reason=reason[:300],
        recorded_by=by,
        entry=entry,
        card_minor=to_card.minor,
        card_status=Refund.CardStatus.SENDING if to_card.minor else Refund.CardStatus.NONE,
        # A fresh key per card part: Stripe replays a refusal under its key for a day.
        card_key=f"outtake-refund-{uuid4().hex}" if to_card.minor else "",
        ended_license=ends,
    )
    if full:
        invoice.status, invoice.refunded_at = Invoice.Status.REFUNDED, timezone.now()
        invoice.save(update_fields=["status", "refunded_at"])
    record(
        "refund.issued",
        actor=by,
        org=invoice.buyer,
        subject=row,
        data={
            "invoice": invoice.label,
            "amount_minor": amount.minor,
            "currency": currency,
            "reason": reason[:300],
            "in_full": full,
            "card_minor": to_card.minor,
            "fee_minor": fee_part.minor,
            "parts": {org.pseudonym: part.minor for org, part in parts.items()},
            "license_ended": ends,
        },
    )
    _tell_of_refund(invoice, row, parts, clawbacks, by)
    if ends:
        _end_license(invoice, "refunded", reason, by)
    if to_card.minor:
        transaction.on_commit(lambda: send_card_refund(row.pk))
    return row


def card_payment(invoice: Invoice) -> Payment | None:
    """The invoice's card payment: a card pays all that is due in one go, so at most one."""
    return invoice.payments.filter(method=Payment.Method.CARD).first()


def _card_part(invoice: Invoice, amount: Money, provider) -> Money:
    """What of a refund goes back through the card provider: what was paid by card and not
    yet given back to it (card parts that gave nothing back were moved to the buyer's
    credit). Nothing when the provider cannot: the reviewer transfers it."""
    card = card_payment(invoice)
    if card is None or not provider.can_refund(card):
        return Money.zero(amount.currency)
    back = (
        invoice.refunds.exclude(card_status__in=Refund.GAVE_NOTHING).aggregate(
            s=models.Sum("card_minor")
        )["s"]
        or 0
    )
    return Money(max(0, min(amount.minor, card.amount_minor - back)), amount.currency)


def _tell_of_refund(invoice: Invoice, row: Refund, parts: dict, clawbacks: dict, by) -> None:
    currency = invoice.currency
    amount, card = Money(row.amount_minor, currency), Money(row.card_minor, currency)
    by_transfer = amount - card
    ways = [f"{card} goes back to your card"] if card.minor else []
    if by_transfer.minor:
        ways.append(f"{by_transfer} is sent back to you by bank transfer")
    ended = " This license has ended: delete the data you received under it."
    notify_org(
        invoice.buyer,
        "refund",
        f"{amount} refunded on {invoice.label}",
        f"{row.reason.rstrip('.')}. {' and '.join(ways)}." + (ended if row.ended_license else ""),
        f"/licenses/{invoice.license_id}/",
    )
    if by_transfer.minor:
        card_note = (
            " It was paid by card: refund it in the card provider's dashboard."
            if card_payment(invoice)
            else ""
        )
        notify_reviewers(
            "refund.transfer",
            f"Send {by_transfer} back to {invoice.buyer.name} ({invoice.label})",
            f"The ledger has posted the refund; make the transfer from the client-money "
            f"account.{card_note}",
            f"/admin/ledger/refund/{row.pk}/change/",
        )
    for org, part in parts.items():
        owed = clawbacks.get(org)
        if owed:
            record(
                "clawback.opened",
                actor=by,
                org=org,
                subject=row,
                data={"invoice": invoice.label, "amount_minor": owed.minor, "currency": currency},
            )
        if not part.minor:
            continue
        notify_org(
            org,
            "refund",
            f"A sale of your footage was refunded: -{part}",
            f"{invoice.license.buyer.name_for_creators} was refunded "
            f"{'in full' if row.amount_minor == invoice.amount_minor else amount} ({row.reason}). "
            + (
                f"{owed} of your share had already been paid out; it will be deducted from "
                "your next earnings."
                if owed
                else "Your share was taken from your unpaid balance."
            ),
            "/earnings/",
        )


@transaction.atomic
def void(invoice: Invoice, *, reason: str, by) -> Refund | None:
    """Cancel an invoice that is not paid in full: the sale is reversed, part payments go
    back to the buyer (to their credit when paid from it, else by the reviewer's transfer)
    and the license is cancelled. Buyer and creators are told."""
    reviewer_only(by, "void invoices")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise LedgerError(f"{invoice.label} is {invoice.status}; only open invoices are voided")
    if not reason.strip():
        raise LedgerError("cancelling an invoice needs a reason")
    currency = invoice.currency
    sale = invoice.license.entries.get(kind="sale")
    postings = list(sale.postings.select_related("account__organization"))
    lines = [Line(p.account, Money(-p.amount_minor, currency)) for p in postings]
    returned = Money(invoice.received_minor, currency)
    lines.append(Line(chart.buyer_receivable(invoice.buyer, currency), returned))
    for payment in invoice.payments.all():
        paid = Money(payment.amount_minor, currency)
        from_credit = payment.method == Payment.Method.CREDIT
        source = (
            chart.buyer_credit(invoice.buyer, currency) if from_credit else chart.cash(currency)
        )
        lines.append(Line(source, -paid))
    entry = post(
        "void",
        f"{invoice.label} cancelled before payment: {reason}",
        lines,
        license=invoice.license,
        idempotency_key=f"void:{invoice.pk}",
    )
    invoice.status, invoice.voided_at = Invoice.Status.VOID, timezone.now()
    invoice.save(update_fields=["status", "voided_at"])
    row = None
    if returned.minor:
        row = Refund.objects.create(
            invoice=invoice,
            amount_minor=returned.minor,
            currency=currency,
            reason=reason[:300],
            recorded_by=by,
            entry=entry,
            ended_license=True,
        )
    record(
        "invoice.voided",
        actor=by,
        org=invoice.buyer,
        subject=invoice,
        data={"invoice": invoice.label, "returned_minor": returned.minor, "reason": reason[:300]},
    )
    by_transfer = Money(
        sum(p.amount_minor for p in invoice.payments.all() if p.method != Payment.Method.CREDIT),
        currency,
    )
    notify_org(
        invoice.buyer,
        "invoice.voided",
        f"{invoice.label} is cancelled",
        f"{reason}. "
        + (f"The {returned} you paid towards it is given back. " if returned.minor else "")
        + "Its license is cancelled.",
        f"/licenses/{invoice.license_id}/",
    )
    if by_transfer.minor:
        notify_reviewers(
            "refund.transfer",
            f"Send {by_transfer} back to {invoice.buyer.name} ({invoice.label}, voided)",
            "The ledger has posted it; make the transfer from the client-money account.",
            f"/admin/ledger/invoice/{invoice.pk}/change/",
        )
    for p in postings:
        if p.account.code.startswith(chart.PENDING):
            notify_org(
                p.account.organization,
                "sale.cancelled",
                f"A sale of your footage was cancelled: -{Money(-p.amount_minor, currency)}",
                f"{invoice.license.buyer.name_for_creators} did not pay and the license was "
                f"cancelled ({reason}). The pending share is removed from your balance.",
                "/earnings/",
            )
    _end_license(invoice, "cancelled", reason, by)
    _close_card_pages(invoice)
    return row


def recover_clawback(org, currency: str) -> Money:
    """Pay back what a creator owes from refunds out of their payable balance."""
    payable_acc, clawback_acc = (
        chart.creator_payable(org, currency),
        chart.creator_clawback(org, currency),
    )
    with transaction.atomic():
        lock(payable_acc, clawback_acc)
        amount = min(-balance(payable_acc), balance(clawback_acc))
        if amount.minor <= 0:
            return Money.zero(currency)
        entry = post(
            "clawback.recovered",
            f"Refunded share recovered from {org.pseudonym}'s earnings",
            [Line(payable_acc, amount), Line(clawback_acc, -amount)],
        )
        record(
            "clawback.recovered",
            org=org,
            subject=entry,
            data={"amount_minor": amount.minor, "currency": currency},
        )
    return amount


def trial_balance() -> dict[str, int]:
    """Sum of all postings per currency: always zero."""
    rows = Posting.objects.values("currency").annotate(total=models.Sum("amount_minor"))
    return {r["currency"]: int(r["total"]) for r in rows}


@dataclass
class Earnings:
    pending: Money
    payable: Money
    sales: list[dict]
    clawback: Money  # owed back from refunds after payout

    @property
    def balance(self) -> Money:
        """What Outtake owes the creator; negative while a clawback exceeds their earnings."""
        return self.pending + self.payable - self.clawback


def creator_earnings(org, currency: str = "USD") -> Earnings:
    pending = -balance(chart.creator_pending(org, currency))
    payable = -balance(chart.creator_payable(org, currency))
    clawback = balance(chart.creator_clawback(org, currency))
    sales = []
    statuses = sale_statuses(org, currency)
    postings = (
        Posting.objects.filter(
            account__code=chart.creator_pending(org, currency).code, entry__kind="sale"
        )
        .select_related("entry__license__buyer", "entry__license__invoice")
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
                "status": statuses.get(lic.id, "pending") if lic else "pending",
            }
        )
    return Earnings(pending=pending, payable=payable, sales=sales, clawback=clawback)
