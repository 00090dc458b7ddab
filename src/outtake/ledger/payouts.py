"""Paying creators: every payable balance at or above the minimum goes out through a
PayoutProvider (a CSV bank file by default, or Stripe Connect transfers).

A payout is posted before the provider is called, so a crash never loses track of money in
flight, and marked sent only once the provider has it (a transfer made, or its line in a bank
file that exists): a run that stops half-way leaves the rest pending for the next run. A
provider's definite refusal is reversed (the balance returns, the creator is told why, the
next run retries); an ambiguous failure (timeout, 5xx) stays pending and is retried with the
same idempotency key, so the provider never pays it twice.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from outtake.audit.services import record
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Account, BankFile, Payout, PayoutDestination, TaxProfile
from outtake.ledger.services import Line, balance, lock, post, recover_clawback, reverse
from outtake.notices.services import notify_org
from outtake.storage import get_store

log = logging.getLogger("outtake.ledger.payouts")


class PayoutFailed(Exception):
    """The provider did not pay. definite=False means it may have: retry with the same key."""

    def __init__(self, reason: str, *, definite: bool = True) -> None:
        super().__init__(reason)
        self.definite = definite


@dataclass(frozen=True)
class PayoutResult:
    reference: str
    fee_minor: int = 0  # what the provider charges Outtake for this payout


class PayoutProvider(Protocol):
    name: str

    def cannot_pay(self, destination: PayoutDestination | None) -> str:
        """Why this creator cannot be paid this way ("" when they can)."""
        ...

    def begin(self, run: str) -> None:
        """Called once before a run sends anything."""
        ...

    def send(self, payout: Payout, destination: PayoutDestination | None) -> PayoutResult:
        """Pay it, or raise PayoutFailed (a destination that cannot be paid is a definite
        failure: a pending payout's creator may have removed theirs since)."""
        ...

    def finish(self, run: str) -> str:
        """Called once at the end of a run; returns the bank file's blob key, if any."""
        ...


class CsvBankFile:
    """A bank file of credit transfers, one row per payout, for finance to upload to the bank.

    A payout counts as sent only once its row is in a file that exists: the payout records
    the file, then its row is added (the whole file replaced in one put) before it is marked
    sent. A run that crashes in between leaves a pending payout whose row the next run finds
    in that file, so it is marked sent, never written twice; one whose row is missing is
    written to the next run's file.
    """

    name = "csv"
    COLUMNS = ("payout_id", "payee", "bank_account", "bank_code", "amount", "currency", "reference")

    def __init__(self) -> None:
        self.key = ""
        self.written = False

    def cannot_pay(self, destination: PayoutDestination | None) -> str:
        if destination is None or not destination.bank_account:
            return "no bank account on file"
        return ""

    def begin(self, run: str) -> None:
        self.key = f"payouts/{run}.csv"

    def send(self, payout: Payout, destination: PayoutDestination | None) -> PayoutResult:
        reference = f"Outtake payout {payout.pk}"
        earlier = payout.bank_file
        if earlier is not None and str(payout.pk) in (r[0] for r in _rows(earlier.key)):
            return PayoutResult(reference=f"{earlier.key}: {reference}")
        reason = self.cannot_pay(destination)
        if reason:
            raise PayoutFailed(reason)
        net = Money(payout.net_minor, payout.currency)
        row = [
            str(payout.pk),
            destination.holder_name or payout.creator.name,
            destination.bank_account,
            destination.bank_code,
            f"{net.to_decimal()}",
            payout.currency,
            reference,
        ]
        bank_file, _ = BankFile.objects.get_or_create(key=self.key, defaults={"run": payout.run})
        Payout.objects.filter(pk=payout.pk).update(bank_file=bank_file)
        # A failed write raises and stops the run: the payout stays pending, and the next run
        # writes its row again, since the file does not hold it.
        with transaction.atomic():
            BankFile.objects.select_for_update().get(pk=bank_file.pk)  # one writer at a time
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(self.COLUMNS)
            writer.writerows([*_rows(self.key), row])
            get_store().put_bytes(self.key, out.getvalue().encode())
        self.written = True
        return PayoutResult(reference=f"{self.key}: {reference}")

    def finish(self, run: str) -> str:
        return self.key if self.written else ""


def _rows(key: str) -> list[list[str]]:
    """The payout rows of a bank file (without the header); none when it does not exist."""
    try:
        text = get_store().get_bytes(key).decode()
    except FileNotFoundError:
        return []
    return list(csv.reader(io.StringIO(text)))[1:]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes


class HttpClient(Protocol):
    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> HttpResponse: ...


class RequestsClient:
    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> HttpResponse:
        import requests

        r = requests.post(url, data=body, headers=headers, timeout=30)
        return HttpResponse(r.status_code, r.content)


class StripeConnect:
    """Stripe Connect transfers to each creator's connected account (POST /v1/transfers)."""

    name = "stripe"
    TRANSFERS = "https://api.stripe.com/v1/transfers"

    def __init__(self, http: HttpClient | None = None, api_key: str | None = None) -> None:
        self.http = http or RequestsClient()
        self.api_key = api_key or settings.OUTTAKE_STRIPE_SECRET_KEY

    def cannot_pay(self, destination: PayoutDestination | None) -> str:
        if not self.api_key:
            return "Stripe is not configured (OUTTAKE_STRIPE_SECRET_KEY)"
        if destination is None or not destination.stripe_account.startswith("acct_"):
            return "no Stripe connected account on file"
        return ""

    def begin(self, run: str) -> None:
        pass

    def send(self, payout: Payout, destination: PayoutDestination | None) -> PayoutResult:
        reason = self.cannot_pay(destination)
        if reason:
            raise PayoutFailed(reason)
        body = urlencode(
            {
                "amount": str(payout.net_minor),
                "currency": payout.currency.lower(),
                "destination": destination.stripe_account,
                "transfer_group": f"outtake-run-{payout.run}",
                "description": f"Outtake payout {payout.pk}",
                "metadata[payout_id]": str(payout.pk),
                "metadata[creator]": payout.creator.pseudonym,
            }
        ).encode()
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": payout.idempotency_key,
        }
        try:
            response = self.http.post(self.TRANSFERS, body=body, headers=headers)
        except OSError as exc:  # the request may have reached Stripe: retry with the same key
            raise PayoutFailed(f"Stripe unreachable: {exc}", definite=False) from exc
        try:
            data = json.loads(response.body or b"{}")
        except ValueError:
            data = {}
        if 200 <= response.status < 300 and data.get("id"):
            return PayoutResult(reference=data["id"])
        message = (data.get("error") or {}).get("message") or f"HTTP {response.status}"
        # 409 (idempotency conflict), 429 and 5xx may be retried with the same key;
        # other 4xx are refusals that a retry with the same request will not change.
        definite = 400 <= response.status < 500 and response.status not in (409, 429)
        raise PayoutFailed(f"Stripe: {message}", definite=definite)

    def finish(self, run: str) -> str:
        return ""


PROVIDERS: dict[str, type] = {CsvBankFile.name: CsvBankFile, StripeConnect.name: StripeConnect}


def payout_provider(name: str | None = None) -> PayoutProvider:
    name = name or settings.OUTTAKE_PAYOUT_PROVIDER
    if name not in PROVIDERS:
        raise ValueError(f"unknown payout provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name]()


def withholding_rate(org=None) -> Decimal:
    """The creator's own rate (set by a reviewer from their tax form), else the setting."""
    profile = TaxProfile.objects.filter(organization=org).first() if org is not None else None
    if profile is not None and profile.withholding_rate is not None:
        rate = Decimal(profile.withholding_rate)
    else:
        rate = Decimal(str(settings.OUTTAKE_WITHHOLDING_RATE))
    if not Decimal(0) <= rate < 1:
        raise ValueError("a withholding rate must be at least 0 and below 1")
    return rate


@dataclass
class PayoutRunReport:
    run: str
    provider: str
    sent: list[Payout] = field(default_factory=list)
    failed: list[Payout] = field(default_factory=list)  # reversed; retried next run
    pending: list[Payout] = field(default_factory=list)  # outcome unknown; retried next run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (pseudonym, reason)
    below_minimum: int = 0
    bank_file: str = ""

    @property
    def total_sent(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for p in self.sent:
            totals[p.currency] = totals.get(p.currency, 0) + p.net_minor
        return totals


def run_payouts(
    provider_name: str | None = None,
    *,
    provider: PayoutProvider | None = None,
    run: str | None = None,
) -> PayoutRunReport:
    """Pay every creator whose payable balance reaches the minimum; safe to run again.

    The same run (same run id) pays each creator at most once; a later run retries what
    failed and what is still pending.
    """
    provider = provider or payout_provider(provider_name)
    run = run or timezone.now().strftime("%Y%m%dT%H%M%S.%f")
    report = PayoutRunReport(run=run, provider=provider.name)
    provider.begin(run)
    for payout in Payout.objects.filter(
        status=Payout.Status.PENDING, provider=provider.name
    ).select_related("creator", "bank_file"):
        _send(provider, payout, report)
    for account in _candidates():
        payout = _reserve(account, run, provider, report)
        if payout is not None:
            _send(provider, payout, report)
    report.bank_file = provider.finish(run)
    record(
        "payouts.run",
        data={
            "run": run,
            "provider": provider.name,
            "sent": [p.pk for p in report.sent],
            "failed": [p.pk for p in report.failed],
            "pending": [p.pk for p in report.pending],
            "skipped": len(report.skipped),
            "bank_file": report.bank_file,
        },
    )
    return report


def payout_minimum(currency: str) -> Money | None:
    """The least balance paid out in this currency (OUTTAKE_PAYOUT_MINIMUMS), None when no
    minimum is set for it: a ¥10 or $10 000 payout by accident is worse than a wait."""
    minor = settings.OUTTAKE_PAYOUT_MINIMUMS.get(currency)
    return None if minor is None else Money(int(minor), currency)


def payout_minimums() -> list[Money]:
    """Every currency's payout minimum as set (OUTTAKE_PAYOUT_MINIMUMS), by currency: what the
    rate card and the creator agreement state."""
    return [
        Money(int(minor), code) for code, minor in sorted(settings.OUTTAKE_PAYOUT_MINIMUMS.items())
    ]


def _candidates() -> list[Account]:
    """Creators' payable accounts holding at least the minimum (re-checked under lock)."""
    accounts = (
        Account.objects.filter(code__startswith=chart.PAYABLE)
        .annotate(total=models.Sum("postings__amount_minor"))
        .filter(total__lt=0)
        .select_related("organization")
        .order_by("id")
    )
    return list(accounts)


def _reserve(account: Account, run: str, provider: PayoutProvider, report) -> Payout | None:
    org, currency = account.organization, account.currency
    recover_clawback(org, currency)
    destination = PayoutDestination.objects.filter(organization=org).first()
    try:
        with transaction.atomic():
            lock(account)
            gross = -balance(account)
            minimum = payout_minimum(currency)
            if minimum is None:
                report.skipped.append(
                    (org.pseudonym, f"no payout minimum is set for {currency} (settings)")
                )
                return None
            if gross < minimum:
                report.below_minimum += 1
                return None
            reason = provider.cannot_pay(destination)
            if reason:
                report.skipped.append((org.pseudonym, reason))
                notify_org(
                    org,
                    "payout.skipped",
                    f"We could not pay you {gross}",
                    f"{reason}. Add your payout details; the next run will pay you.",
                    "/earnings/",
                )
                return None
            rate = withholding_rate(org)
            withheld = gross.times(rate)
            entry = post(
                "payout",
                f"Payout to {org.pseudonym} ({provider.name}, run {run})",
                [
                    Line(account, gross),
                    Line(chart.cash(currency), -(gross - withheld)),
                    Line(chart.tax_withheld(currency), -withheld),
                ],
                idempotency_key=f"payout:{run}:{org.pk}:{currency}",
            )
            payout = Payout.objects.create(
                run=run,
                creator=org,
                provider=provider.name,
                gross_minor=gross.minor,
                withholding_minor=withheld.minor,
                withholding_rate=rate,
                currency=currency,
                entry=entry,
            )
    except IntegrityError:  # this run already paid this creator (a concurrent or repeated run)
        return None
    return payout


def _send(provider: PayoutProvider, payout: Payout, report: PayoutRunReport) -> None:
    destination = PayoutDestination.objects.filter(organization=payout.creator).first()
    try:
        result = provider.send(payout, destination)
    except PayoutFailed as exc:
        if exc.definite:
            report.failed.append(_reverse(payout, str(exc)))
        else:
            log.warning("payout %s pending: %s", payout.pk, exc)
            payout.error = str(exc)[:300]
            payout.save(update_fields=["error"])
            report.pending.append(payout)
        return
    currency = payout.currency
    with transaction.atomic():
        payout.status, payout.sent_at = Payout.Status.SENT, timezone.now()
        payout.provider_reference, payout.fee_minor, payout.error = (
            result.reference[:200],
            result.fee_minor,
            "",
        )
        payout.save()
        if result.fee_minor:
            fee = Money(result.fee_minor, currency)
            post(
                "payout.fee",
                f"{provider.name} fee for payout {payout.pk}",
                [Line(chart.payout_fees(currency), fee), Line(chart.cash(currency), -fee)],
                idempotency_key=f"payout-fee:{payout.pk}",
            )
        record(
            "payout.sent",
            org=payout.creator,
            subject=payout,
            data={
                "run": payout.run,
                "gross_minor": payout.gross_minor,
                "withholding_minor": payout.withholding_minor,
                "net_minor": payout.net_minor,
                "currency": currency,
                "provider": provider.name,
                "reference": payout.provider_reference,
            },
        )
        gross = Money(payout.gross_minor, currency)
        withheld = Money(payout.withholding_minor, currency)
        notify_org(
            payout.creator,
            "payout.sent",
            f"Payout sent: {gross - withheld}",
            f"Your payable balance of {gross} was paid out"
            + (
                f", less {withheld} tax withheld at {payout.withholding_rate:.2%}"
                if withheld.minor
                else ""
            )
            + f". Reference: {payout.provider_reference}.",
            "/earnings/",
        )
    report.sent.append(payout)


@transaction.atomic
def _reverse(payout: Payout, reason: str) -> Payout:
    payout = Payout.objects.select_for_update().get(pk=payout.pk)
    if payout.status != Payout.Status.PENDING:
        return payout
    payout.reversal = reverse(payout.entry, f"Payout {payout.pk} failed: {reason}"[:300])
    payout.status, payout.error = Payout.Status.REVERSED, reason[:300]
    payout.save(update_fields=["reversal", "status", "error"])
    record(
        "payout.reversed",
        org=payout.creator,
        subject=payout,
        data={"run": payout.run, "gross_minor": payout.gross_minor, "reason": reason},
    )
    notify_org(
        payout.creator,
        "payout.failed",
        f"Your payout of {Money(payout.net_minor, payout.currency)} failed",
        f"{reason}. The amount is back in your balance; the next payout run retries it.",
        "/earnings/",
    )
    return payout
