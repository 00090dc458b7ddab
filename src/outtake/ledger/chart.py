"""The chart of accounts, by code. One function per account so codes are never typed twice."""

from __future__ import annotations

from outtake.ledger.models import Account

CASH = "cash:bank"
FEE_REVENUE = "revenue:fees"


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


def creator_pending(org, currency: str) -> Account:
    return _get(
        f"creator:pending:{org.id}:{currency}",
        f"Due to {org.pseudonym}, awaiting the buyer's payment",
        Account.Type.LIABILITY,
        org,
        currency,
    )


def creator_payable(org, currency: str) -> Account:
    return _get(
        f"creator:payable:{org.id}:{currency}",
        f"Payable to {org.pseudonym}",
        Account.Type.LIABILITY,
        org,
        currency,
    )
