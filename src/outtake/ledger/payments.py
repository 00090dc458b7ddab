"""How buyers pay an invoice: a PaymentProvider chosen by settings (bank transfer by default),
and Stripe card payments for small orders (Checkout Sessions, confirmed by a signed webhook).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from outtake.core.money import Money
from outtake.ledger.models import CardCheckout, Invoice, Payment, ProviderEvent, Refund
from outtake.ledger.payouts import HttpClient, RequestsClient
from outtake.ledger.services import LedgerError
from outtake.notices.services import notify_reviewers


@dataclass(frozen=True)
class CardRefund:
    """A card provider's answer to a refund request."""

    reference: str  # its refund id (Stripe: re_…)
    status: str  # Stripe's: pending, requires_action, succeeded, failed or canceled
    failure_reason: str = ""


class NoAnswer(LedgerError):
    """The provider did not answer (network error, timeout, 5xx, rate limit): what it did is
    unknown, so the request is sent again under the same idempotency key."""


class RefundRefused(LedgerError):
    """The provider refused the refund: no money went back. Stripe replays a refusal for a
    day under the same key, so any later attempt needs a new key."""


class PaymentProvider(Protocol):
    name: str

    def instructions(self, invoice: Invoice) -> str:
        """What the buyer must do to pay, shown on the invoice ("" when this way is closed)."""
        ...

    def cannot_pay(self, invoice: Invoice) -> str:
        """Why the buyer cannot pay this invoice online this way ("" when they can)."""
        ...

    def checkout(self, invoice: Invoice) -> CardCheckout:
        """The provider's page where the buyer pays; LedgerError when they cannot."""
        ...

    def expire_checkouts(self, invoice: Invoice) -> None:
        """Close the invoice's open payment pages that ask for another amount than is now due
        (all of them once it is no longer open), so nobody pays an old amount."""
        ...

    def can_refund(self, payment: Payment) -> bool:
        """Whether this provider gives the payment back itself (else a reviewer transfers it)."""
        ...

    def refund(self, payment: Payment, refund: Refund) -> CardRefund:
        """Give refund.card_minor of the payment back under refund.card_key (the same key
        never refunds twice); RefundRefused or NoAnswer when it does not."""
        ...


class BankTransfer:
    """The buyer wires the amount quoting the invoice label; statement import matches it."""

    name = "bank_transfer"

    def instructions(self, invoice: Invoice) -> str:
        bank = settings.OUTTAKE_BANK_ACCOUNT or "Outtake's client-money account"
        amount = Money(invoice.due_minor, invoice.currency)
        return f"Pay {amount} by bank transfer to {bank}, quoting {invoice.label} as reference."

    def cannot_pay(self, invoice: Invoice) -> str:
        return "a bank transfer is paid from the buyer's bank, not online"

    def checkout(self, invoice: Invoice) -> CardCheckout:
        raise LedgerError(self.cannot_pay(invoice))

    def expire_checkouts(self, invoice: Invoice) -> None:
        """A bank transfer opens no payment page."""

    def can_refund(self, payment: Payment) -> bool:
        return False

    def refund(self, payment: Payment, refund: Refund) -> CardRefund:
        raise RefundRefused("a bank transfer is refunded by transfer")


class SignatureError(LedgerError):
    pass


class StripeCard:
    """Card payments through Stripe Checkout (POST /v1/checkout/sessions); Stripe confirms
    them to our webhook with a checkout.session.completed event."""

    name = "stripe_card"
    SESSIONS = "https://api.stripe.com/v1/checkout/sessions"
    REFUNDS = "https://api.stripe.com/v1/refunds"
    TOLERANCE_S = 300  # Stripe's default: older signed events are replays

    def __init__(self, http: HttpClient | None = None, api_key: str | None = None) -> None:
        self.http = http or RequestsClient()
        self.api_key = api_key or settings.OUTTAKE_STRIPE_SECRET_KEY

    def cannot_pay(self, invoice: Invoice) -> str:
        if not self.api_key:
            return "card payments are not configured"
        if invoice.status != Invoice.Status.OPEN:
            return f"{invoice.label} is {invoice.status}"
        limit = Money.from_decimal(settings.OUTTAKE_CARD_MAX, invoice.currency)
        if invoice.amount_minor > limit.minor:
            return f"cards are for orders up to {limit}; please pay by bank transfer"
        return ""

    def instructions(self, invoice: Invoice) -> str:
        if self.cannot_pay(invoice):
            return ""
        return f"Or pay by card: {settings.OUTTAKE_PUBLIC_URL}/invoices/{invoice.pk}/pay-by-card/"

    def _post(self, url: str, form: dict[str, str], key: str | None) -> tuple[int, dict]:
        """POST a form; under an Idempotency-Key when sending it twice could do it twice."""
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/x-www-form-urlencoded",
            **({"Idempotency-Key": key} if key else {}),
        }
        try:
            response = self.http.post(url, body=urlencode(form).encode(), headers=headers)
            return response.status, json.loads(response.body or b"{}")
        except (OSError, ValueError) as exc:  # requests' timeouts are OSErrors
            raise NoAnswer(f"Stripe is not reachable, try again: {exc}") from exc

    def can_refund(self, payment: Payment) -> bool:
        return bool(self.api_key) and payment.provider_reference.startswith("pi_")

    def refund(self, payment: Payment, refund: Refund) -> CardRefund:
        """POST /v1/refunds against the card payment's PaymentIntent. The refund's id goes
        in the metadata, so its webhook events find it even when this answer is lost."""
        status, data = self._post(
            self.REFUNDS,
            {
                "payment_intent": payment.provider_reference,
                "amount": str(refund.card_minor),
                "reason": "requested_by_customer",
                "metadata[invoice]": payment.invoice.label,
                "metadata[refund]": str(refund.pk),
            },
            refund.card_key,
        )
        if 200 <= status < 300:
            if not data.get("id"):
                raise NoAnswer("Stripe's answer names no refund")
            return CardRefund(
                data["id"], str(data.get("status") or ""), str(data.get("failure_reason") or "")
            )
        error = data.get("error") or {}
        message = error.get("message") or f"HTTP {status}"
        # Stripe made nothing on a 4xx, but these may be answered otherwise later: a key in
        # use by a concurrent request (409), a rate limit (429), a key reused.
        if status >= 500 or status in (409, 429) or error.get("type") == "idempotency_error":
            raise NoAnswer(f"Stripe did not answer the refund: {message}")
        raise RefundRefused(f"Stripe refused the refund: {message}")

    def checkout(self, invoice: Invoice) -> CardCheckout:
        """A Checkout Session for the invoice; one still open is reused, not duplicated."""
        reason = self.cannot_pay(invoice)
        if reason:
            raise LedgerError(reason)
        fresh = timezone.now() - timedelta(hours=23)  # sessions expire after 24 hours
        existing = invoice.card_checkouts.filter(
            created_at__gte=fresh, amount_minor=invoice.due_minor
        ).last()
        if existing:
            return existing
        # A job closes stale pages after each payment; it may not have run yet.
        self.expire_checkouts(invoice)
        attempt = invoice.card_checkouts.count() + 1
        base = f"{settings.OUTTAKE_PUBLIC_URL}/licenses/{invoice.license_id}/"
        status, data = self._post(
            self.SESSIONS,
            {
                "mode": "payment",
                "line_items[0][price_data][currency]": invoice.currency.lower(),
                "line_items[0][price_data][unit_amount]": str(invoice.due_minor),
                "line_items[0][price_data][product_data][name]": f"Outtake invoice {invoice.label}",
                "line_items[0][quantity]": "1",
                "client_reference_id": invoice.label,
                "metadata[invoice]": invoice.label,
                "payment_intent_data[metadata][invoice]": invoice.label,
                "success_url": f"{base}?paid=card",
                "cancel_url": base,
            },
            f"outtake-checkout-{invoice.pk}-{attempt}",
        )
        if not (200 <= status < 300 and data.get("id") and data.get("url")):
            message = (data.get("error") or {}).get("message") or f"HTTP {status}"
            raise LedgerError(f"Stripe refused the checkout: {message}")
        return CardCheckout.objects.create(
            invoice=invoice, session_id=data["id"], url=data["url"], amount_minor=invoice.due_minor
        )

    def expire_checkouts(self, invoice: Invoice) -> None:
        due = invoice.due_minor  # 0 once the invoice is paid or void
        open_for = timezone.now() - timedelta(hours=24)  # Stripe's default session lifetime
        for checkout in invoice.card_checkouts.filter(created_at__gte=open_for):
            if checkout.amount_minor != due:
                self._expire(checkout)

    def _expire(self, checkout: CardCheckout) -> None:
        """Stripe's "expire a Checkout Session"; one already completed or expired cannot be,
        and needs nothing (a completed one's payment reaches the webhook as usual). Expiring
        twice does no harm, so no Idempotency-Key: Stripe would replay a 500 under one for a
        day, and every retry, and every checkout of the invoice, would fail with it."""
        status, data = self._post(f"{self.SESSIONS}/{checkout.session_id}/expire", {}, None)
        if not 200 <= status < 300 and status != 400:
            message = (data.get("error") or {}).get("message") or f"HTTP {status}"
            raise LedgerError(f"Stripe could not close the earlier checkout: {message}")

    @classmethod
    def verify(cls, payload: bytes, header: str, secret: str, now: float | None = None) -> dict:
        """Check the Stripe-Signature header (t=…,v1=HMAC-SHA256 of "t.payload") and return
        the event; raise SignatureError when it is not Stripe's or too old."""
        if not secret:
            raise SignatureError("the Stripe webhook secret is not configured")
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        stamps = [v for k, v in parts if k.strip() == "t"]
        signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
        if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
            raise SignatureError("malformed Stripe-Signature header")
        t = int(stamps[0])
        expected = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise SignatureError("signature does not match")
        if abs((now if now is not None else time.time()) - t) > cls.TOLERANCE_S:
            raise SignatureError("event too old (replayed?)")
        try:
            return json.loads(payload)
        except ValueError as exc:
            raise SignatureError("payload is not JSON") from exc


PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
# A refund's status changes: refund.* for every refund since Stripe's API version 2024-10-28,
# charge.refund.updated before it. Each carries the refund object.
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


def stripe_webhook(payload: bytes, signature: str, now: float | None = None) -> ProviderEvent:
    """Post a card payment, or a card refund's new status, once per Stripe event id, however
    often (or concurrently) it is delivered. Anything that needs a human is stored with its
    reason and told to reviewers."""
    from outtake.ledger.card_refunds import refund_updated
    from outtake.market.services import mark_paid

    event = StripeCard.verify(payload, signature, settings.OUTTAKE_STRIPE_WEBHOOK_SECRET, now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = ProviderEvent.objects.create(
                    provider=StripeCard.name, event_id=event["id"], type=event.get("type", "")
                )
        except IntegrityError:
            # On PostgreSQL a concurrent delivery waits on the unique index, then lands here.
            return ProviderEvent.objects.get(event_id=event["id"])
        obj = (event.get("data") or {}).get("object") or {}
        if row.type in REFUND_EVENTS:
            row.invoice, row.outcome = refund_updated(obj)
        elif row.type not in PAID_EVENTS or obj.get("payment_status") != "paid":
            row.outcome = "ignored"
        else:
            row.invoice, row.outcome = _pay(obj, event["id"], mark_paid)
        row.save(update_fields=["invoice", "outcome"])
    # A refund that failed tells reviewers itself, with what to do.
    if row.type not in REFUND_EVENTS and row.outcome not in ("ignored", "paid"):
        notify_reviewers(
            "payment.card_problem",
            f"A card payment needs a look: {row.outcome}",
            f"Stripe event {row.event_id}; refund it in Stripe if it is not owed.",
            "/admin/ledger/providerevent/",
        )
    return row


def _pay(session: dict, event_id: str, mark_paid) -> tuple[Invoice | None, str]:
    label = (session.get("metadata") or {}).get("invoice") or session.get("client_reference_id")
    number = (label or "").removeprefix("OUT-")
    invoice = Invoice.objects.filter(number=int(number)).first() if number.isdigit() else None
    if invoice is None:
        return None, f"no invoice {label!r}"
    paid = Money(int(session.get("amount_total") or 0), str(session.get("currency", "")).upper())
    if invoice.status != Invoice.Status.OPEN:  # e.g. paid by bank transfer as well
        return invoice, f"{invoice.label} is already {invoice.status}"
    # A card pays what is due in one go; any other amount is for a human to sort out.
    if (paid.minor, paid.currency) != (invoice.due_minor, invoice.currency):
        return invoice, f"{invoice.label} is for {Money(invoice.due_minor, invoice.currency)}"
    intent = str(session.get("payment_intent") or "")
    try:
        with transaction.atomic():
            mark_paid(
                invoice,
                amount_minor=paid.minor,
                reference=f"card {intent or session.get('id')} [{event_id}]",
                by=None,
                method=Payment.Method.CARD,
                provider_reference=intent,
            )
    except LedgerError as exc:  # already paid, e.g. by bank transfer as well
        return invoice, str(exc)
    return invoice, "paid"


PROVIDERS: dict[str, type] = {BankTransfer.name: BankTransfer, StripeCard.name: StripeCard}


def payment_provider(name: str | None = None) -> PaymentProvider:
    """The way invoices are paid by default (OUTTAKE_PAYMENT_PROVIDER: bank transfer)."""
    name = name or settings.OUTTAKE_PAYMENT_PROVIDER
    if name not in PROVIDERS:
        raise ValueError(f"unknown payment provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name]()


def card_provider() -> PaymentProvider:
    """The provider taking card payments online (OUTTAKE_CARD_PROVIDER), for small orders;
    it also gives card payments back on a refund."""
    return payment_provider(settings.OUTTAKE_CARD_PROVIDER)


def payment_instructions(invoice: Invoice) -> str:
    """The default provider's instructions, plus the card option where it applies."""
    default, card = payment_provider(), card_provider()
    texts = [default.instructions(invoice)]
    if card.name != default.name:
        texts.append(card.instructions(invoice))
    return " ".join(filter(None, texts)) or BankTransfer().instructions(invoice)
