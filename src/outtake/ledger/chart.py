"""The chart of accounts, by code. One function per account so codes are never typed twice.

Outtake is the creators' agent: a buyer's payment is client money held for the creators
(cash against creator liabilities); only the fee is Outtake's revenue.

  asset      receivable:{buyer}          what a buyer owes on an open invoice
  asset      cash:bank                   the bank account holding client money
  asset      creator:clawback:{creator}  shares already paid out of a sale later refunded,
                                         recovered from the creator's future earnings
  liability  credit:{buyer}              a buyer's over-payments, to refund or apply later
  liability  creator:pending:{creator}   creators' shares of invoices not yet paid
  liability  creator:payable:{creator}   creators' shares of paid invoices, not yet paid out
  liability  tax:withheld                withheld from payouts, owed to the tax authority
  revenue    revenue:fees                Outtake's fee on each sale
  revenue    revenue:fee-refunds         fees given back on refunds (a contra account)
  expense    expense:payout-fees         what the bank or Stripe charges Outtake per payout
"""

from __future__ import annotations

from outtake.ledger.models import Account

CASH = "cash:bank"
FEE_REVENUE = "revenue:fees"
FEE_REFUNDS = "revenue:fee-refunds"
PENDING = "creator:pending:"
PAYABLE = "creator:payable:"
CLAWBACK = "creator:clawback:"


def _get(code: str, name: str, type_: str, org=None, currency: str = "USD") -> Account:
    account, _ = Account.objects.get_or_create(
        code=code,
        defaults={"name": name, "type": type_, "organization": org, "currency": currency},
    )
    return account


def cash(currency: str) -> Account:
    return _get(
        f"{CASH}:{currency}", "Bank account (client money)", Account.Type.ASSET, currency=currency
    )


def fee_revenue(currency: str) -> Account:
    return _get(
        f"{FEE_REVENUE}:{currency}", "Outtake fee revenue", Account.Type.REVENUE, currency=currency
    )


def buyer_receivable(org, currency: str) -> Account:
    return _get(
        f"receivable:{org.id}:{currency}",
        f"Receivable from {org.name}",
        Account.Type.ASSET,
        org,
        currency,
    )


def buyer_credit(org, currency: str) -> Account:
    return _get(
        f"credit:{org.id}:{currency}",
        f"Over-paid by {org.name}, to refund or apply",
        Account.Type.LIABILITY,
        org,
        currency,
    )


def fee_refunds(currency: str) -> Account:
    return _get(
        f"{FEE_REFUNDS}:{currency}",
        "Outtake fees refunded",
        Account.Type.REVENUE,
        currency=currency,
    )


def payout_fees(currency: str) -> Account:
    return _get(
        f"expense:payout-fees:{currency}",
        "Payout fees (bank, Stripe)",
        Account.Type.EXPENSE,
        currency=currency,
    )


def tax_withheld(currency: str) -> Account:
    return _get(
        f"tax:withheld:{currency}",
        "Tax withheld from creators' payouts, due to the tax authority",
        Account.Type.LIABILITY,
        currency=currency,
    )


def creator_pending(org, currency: str) -> Account:
    return _get(
        f"{PENDING}{org.id}:{currency}",
        f"Due to {org.pseudonym}, awaiting the buyer's payment",
        Account.Type.LIABILITY,
        org,
        currency,
    )


def creator_payable(org, currency: str) -> Account:
    return _get(
        f"{PAYABLE}{org.id}:{currency}",
        f"Payable to {org.pseudonym}",
        Account.Type.LIABILITY,
        org,
        currency,
    )


def creator_clawback(org, currency: str) -> Account:
    return _get(
        f"{CLAWBACK}{org.id}:{currency}",
        f"Clawback receivable from {org.pseudonym} (refunds after payout)",
        Account.Type.ASSET,
        org,
        currency,
    )
