"""How buyers pay an invoice: a PaymentProvider chosen by settings (bank transfer by default)."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings

from outtake.core.money import Money
from outtake.ledger.models import Invoice


class PaymentProvider(Protocol):
    name: str

    def instructions(self, invoice: Invoice) -> str:
        """What the buyer must do to pay, shown on the invoice."""
        ...


class BankTransfer:
    """The buyer wires the amount quoting the invoice label; statement import matches it."""

    name = "bank_transfer"

    def instructions(self, invoice: Invoice) -> str:
        bank = settings.OUTTAKE_BANK_ACCOUNT or "Outtake's client-money account"
        amount = Money(invoice.amount_minor, invoice.currency)
        return f"Pay {amount} by bank transfer to {bank}, quoting {invoice.label} as reference."


PROVIDERS: dict[str, type] = {BankTransfer.name: BankTransfer}


def payment_provider(name: str | None = None) -> PaymentProvider:
    name = name or settings.OUTTAKE_PAYMENT_PROVIDER
    if name not in PROVIDERS:
        raise ValueError(f"unknown payment provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name]()
