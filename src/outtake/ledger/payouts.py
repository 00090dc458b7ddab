"""Paying creators: every payable balance at or above the minimum goes out through a
PayoutProvider (a CSV bank file by default, or Stripe Connect transfers).

A payout is posted before the provider is called, so a crash never loses track of money in
flight, and marked sent only once the provider has it (a transfer made, or its line in a bank
file that exists): a run that stops half-way leaves the rest pending for the next run. A
payout keeps the destination it was reserved for, and every attempt pays that one. A
provider's definite refusal is reversed (the balance returns, the creator is told why, the
next run retries); an ambiguous failure (timeout, 5xx) stays pending and is retried with the
same idempotency key, so the provider never pays it twice. Runs may overlap: each claims a
pending payout (locked, re-read) before sending it, and only one marks it sent.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
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
from outtake.ledger.services import (
    LedgerError,
    Line,
    balance,
    lock,
    post,
    recover_clawback,
    reverse,
    reviewer_only,
)
from outtake.notices.services import notify_org, notify_reviewers
from outtake.storage import get_store

log = logging.getLogger("outtake.ledger.payouts")


class PayoutFailed(Exception):
    """The provider did not pay. definite=False means it may have: retry with the same key.
    needs_review: a retry cannot succeed until a reviewer acts (reviewers are told)."""

    def __init__(self, reason: str, *, definite: bool = True, needs_review: bool = False) -> None:
        super().__init__(reason)
        self.definite = definite
        self.needs_review = needs_review


@dataclass(frozen=True)
class PayoutResult:
    reference: str
    fee_minor: int = 0  # what the provider charges Outtake for this payout


class PayoutProvider(Protocol):
    name: str

    def cannot_pay(self, destination: PayoutDestination | None) -> str:
        """Why this creator cannot be paid this way ("" when they can)."""
        ...

    def snapshot(self, destination: PayoutDestination) -> dict[str, str]:
        """The Payout fields this provider pays to, copied from the destination when the
        payout is reserved."""
        ...

    def begin(self, run: str) -> None:
        """Called once before a run sends anything."""
        ...

    def send(self, payout: Payout) -> PayoutResult:
        """Pay it to the destination kept on it, or raise PayoutFailed."""
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
    written to the next run's file. Both steps lock the payout, and a run writes the row
    only while the payout still records its file: of two overlapping runs, one writes it.
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

    def snapshot(self, destination: PayoutDestination) -> dict[str, str]:
        return {
            "payee": destination.holder_name or destination.organization.name,
            "bank_account": destination.bank_account,
            "bank_code": destination.bank_code,
        }

    def begin(self, run: str) -> None:
        self.key = f"payouts/{run}.csv"

    def send(self, payout: Payout) -> PayoutResult:
        with transaction.atomic():
            payout = Payout.objects.select_for_update().get(pk=payout.pk)
            written = self._written(payout)
            if written:
                return written
            if payout.status != Payout.Status.PENDING:  # an overlapping run reversed it
                raise PayoutFailed(f"payout {payout.pk} is {payout.status}")
            if not payout.bank_account:
                raise PayoutFailed("no bank account was recorded for this payout")
            bank_file, _ = BankFile.objects.get_or_create(
                key=self.key, defaults={"run": payout.run}
            )
            payout.bank_file = bank_file
            payout.save(update_fields=["bank_file"])
        # A failed write raises and stops the run: the payout stays pending, and the next run
        # writes its row again, since the file does not hold it.
        with transaction.atomic():
            BankFile.objects.select_for_update().get(pk=bank_file.pk)  # one writer at a time
            payout = Payout.objects.select_for_update().get(pk=payout.pk)
            if payout.bank_file_id != bank_file.pk:  # an overlapping run took it over since
                written = self._written(payout)
                if written:
                    return written
                raise PayoutFailed("another payout run is writing it", definite=False)
            net = Money(payout.net_minor, payout.currency)
            row = [
                str(payout.pk),
                payout.payee,
                payout.bank_account,
                payout.bank_code,
                f"{net.to_decimal()}",
                payout.currency,
                self._reference(payout),
            ]
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(self.COLUMNS)
            writer.writerows([*_rows(self.key), row])
            get_store().put_bytes(self.key, out.getvalue().encode())
        self.written = True
        return PayoutResult(reference=f"{self.key}: {self._reference(payout)}")

    @staticmethod
    def _reference(payout: Payout) -> str:
        return f"Outtake payout {payout.pk}"

    def _written(self, payout: Payout) -> PayoutResult | None:
        """The result of an earlier write of its row, when the file it records holds it."""
        earlier = payout.bank_file
        if earlier is not None and str(payout.pk) in (r[0] for r in _rows(earlier.key)):
            return PayoutResult(reference=f"{earlier.key}: {self._reference(payout)}")
        return None

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

    def get(self, url: str, *, headers: dict[str, str]) -> HttpResponse: ...


class RequestsClient:
    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> HttpResponse:
        import requests

        r = requests.post(url, data=body, headers=headers, timeout=30)
        return HttpResponse(r.status_code, r.content)

    def get(self, url: str, *, headers: dict[str, str]) -> HttpResponse:
        import requests

        r = requests.get(url, headers=headers, timeout=30)
        return HttpResponse(r.status_code, r.content)


class StripeConnect:
    """Stripe Connect transfers to each creator's connected account (POST /v1/transfers).

    Stripe keeps an idempotency key's answer for at least 24 hours, then may forget it: a
    payout pending for longer, or one whose key Stripe holds for another request (an
    idempotency_error), is first looked for among its run's transfers, and marked sent if an
    earlier attempt made it, so the same key never makes a second transfer.
    """

    name = "stripe"
    TRANSFERS = "https://api.stripe.com/v1/transfers"
    KEYS_KEPT = timedelta(hours=24)
    PAGE = 100  # transfers per list request, Stripe's most

    def __init__(self, http: HttpClient | None = None, api_key: str | None = None) -> None:
        self.http = http or RequestsClient()
        self.api_key = api_key or settings.OUTTAKE_STRIPE_SECRET_KEY

    def cannot_pay(self, destination: PayoutDestination | None) -> str:
        if not self.api_key:
            return "Stripe is not configured (OUTTAKE_STRIPE_SECRET_KEY)"
        if destination is None or not destination.stripe_account.startswith("acct_"):
            return "no Stripe connected account on file"
        return ""

    def snapshot(self, destination: PayoutDestination) -> dict[str, str]:
        return {"stripe_account": destination.stripe_account}

    def begin(self, run: str) -> None:
        pass

    def send(self, payout: Payout) -> PayoutResult:
        # An earlier attempt may have paid it: a missing key or account keeps it pending.
        if not self.api_key:
            raise PayoutFailed(
                "Stripe is not configured (OUTTAKE_STRIPE_SECRET_KEY)",
                definite=False,
                needs_review=True,
            )
        if not payout.stripe_account.startswith("acct_"):
            raise PayoutFailed(
                "no Stripe connected account was recorded for this payout",
                definite=False,
                needs_review=True,
            )
        # created_at is no later than the first attempt: aged by it, no forgotten key is missed.
        if timezone.now() - payout.created_at > self.KEYS_KEPT:
            made = self._made_earlier(payout)
            if made:
                return made
        body = urlencode(
            {
                "amount": str(payout.net_minor),
                "currency": payout.currency.lower(),
                "destination": payout.stripe_account,
                "transfer_group": self._group(payout),
                "description": f"Outtake payout {payout.pk}",
                "metadata[payout_id]": str(payout.pk),
                "metadata[creator]": payout.creator.pseudonym,
            }
        ).encode()
        headers = {
            **self._auth(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": payout.idempotency_key,
        }
        try:
            response = self.http.post(self.TRANSFERS, body=body, headers=headers)
        except OSError as exc:  # the request may have reached Stripe: retry with the same key
            raise PayoutFailed(f"Stripe unreachable: {exc}", definite=False) from exc
        data = _json(response)
        if 200 <= response.status < 300 and data.get("id"):
            return PayoutResult(reference=data["id"])
        error = data.get("error") or {}
        message = error.get("message") or f"HTTP {response.status}"
        # An idempotency_error means Stripe holds another request under this key, which may
        # have made the transfer; 409 (a request with this key in flight), 429 and 5xx may be
        # retried with the same key. Other 4xx are refusals a retry will not change.
        unsure = error.get("type") == "idempotency_error"
        if unsure:  # the request first sent under this key may have made the transfer
            try:
                made = self._made_earlier(payout)
            except PayoutFailed:
                made = None
            if made:
                return made
        definite = 400 <= response.status < 500 and response.status not in (409, 429)
        raise PayoutFailed(
            f"Stripe: {message}", definite=definite and not unsure, needs_review=unsure
        )

    def _made_earlier(self, payout: Payout) -> PayoutResult | None:
        """The transfer an earlier attempt made for this payout, known by its payout id alone:
        a payout kept before destinations were (migration 0014) may have gone to an account
        the creator has replaced since. It is paid all the same; reviewers are told where."""
        transfer = self._transfer_made(payout)
        if transfer is None:
            return None
        sent_to = str(transfer.get("destination") or "")
        if sent_to != payout.stripe_account:
            notify_reviewers(
                "payout.elsewhere",
                f"Payout {payout.pk} to {payout.creator.pseudonym} was paid to {sent_to}",
                f"Stripe transfer {transfer['id']} paid it to {sent_to}, not to "
                f"{payout.stripe_account or 'the account kept on it'}: it is recorded as sent "
                "and not paid again. Check with the creator that the account is theirs.",
                f"/admin/ledger/payout/{payout.pk}/change/",
            )
        return PayoutResult(reference=transfer["id"])

    def _transfer_made(self, payout: Payout) -> dict | None:
        """The transfer an earlier attempt made for this payout (None if none), from its
        run's transfer group; PayoutFailed (not definite) when Stripe cannot say."""
        query = {"transfer_group": self._group(payout), "limit": str(self.PAGE)}
        while True:
            try:
                response = self.http.get(
                    f"{self.TRANSFERS}?{urlencode(query)}", headers=self._auth()
                )
            except OSError as exc:
                raise PayoutFailed(
                    f"Stripe unreachable looking for an earlier transfer: {exc}", definite=False
                ) from exc
            data = _json(response)
            if not 200 <= response.status < 300:
                message = (data.get("error") or {}).get("message") or f"HTTP {response.status}"
                raise PayoutFailed(
                    f"Stripe: looking for an earlier transfer: {message}",
                    definite=False,
                    needs_review=response.status < 500 and response.status != 429,
                )
            transfers = data.get("data") or []
            for transfer in transfers:
                if (transfer.get("metadata") or {}).get("payout_id") == str(payout.pk):
                    return transfer
            if not (data.get("has_more") and transfers):
                return None
            query["starting_after"] = transfers[-1]["id"]

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @staticmethod
    def _group(payout: Payout) -> str:
        return f"outtake-run-{payout.run}"

    def finish(self, run: str) -> str:
        return ""


def _json(response: HttpResponse) -> dict:
    try:
        data = json.loads(response.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


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
    for payout in Payout.objects.filter(status=Payout.Status.PENDING, provider=provider.name):
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
                **provider.snapshot(destination),
            )
    except IntegrityError:  # this run already paid this creator (a concurrent or repeated run)
        return None
    return payout


def _claim(payout: Payout) -> Payout | None:
    """The payout locked and read afresh while it is still pending (inside the caller's
    transaction); None once a run that overlaps this one has sent or reversed it."""
    return (
        Payout.objects.select_for_update()
        .filter(pk=payout.pk, status=Payout.Status.PENDING)
        .first()
    )


# A send is a few provider calls of at most 30 seconds each: a payout claimed longer ago than
# this was left by a run that crashed, and reviewers may settle it.
SENDING_FOR = timedelta(minutes=10)


def _in_flight(payout: Payout) -> bool:
    """Whether a run is sending this payout now (its provider may yet pay it)."""
    since = payout.sending_since
    return since is not None and timezone.now() - since < SENDING_FOR


def _send(provider: PayoutProvider, payout: Payout, report: PayoutRunReport) -> None:
    with transaction.atomic():
        claimed = _claim(payout)
        if claimed is None:
            return
        if _in_flight(claimed):
            # An overlapping run is sending it: that run's answer settles it. Asking too would
            # get an unknown outcome (Stripe's 409) that would clear the run's mark early.
            report.pending.append(claimed)
            return
        payout = claimed
        payout.sending_since = timezone.now()
        payout.save(update_fields=["sending_since"])
    try:
        result = provider.send(payout)
    except PayoutFailed as exc:
        outcome = _reverse(payout, str(exc)) if exc.definite else _keep_pending(payout, exc)
        if outcome is not None:
            (report.failed if exc.definite else report.pending).append(outcome)
        return
    sent = _mark_sent(provider, payout, result)
    if sent is not None:
        report.sent.append(sent)


def paid_at_provider(payout: Payout, *, reference: str, by) -> Payout:
    """A reviewer found a pending (held) payout paid at its provider: it is recorded sent
    under the provider's reference, and the creator is told."""
    reviewer_only(by, "settle payouts")
    if not reference.strip():
        raise LedgerError("give the provider's reference of the payment")
    result = PayoutResult(reference=reference.strip())
    with transaction.atomic():
        _claim_for_reviewer(payout)
        return _mark_sent(payout_provider(payout.provider), payout, result, by=by)


def not_paid(payout: Payout, *, reason: str, by) -> Payout:
    """A reviewer found a pending (held) payout not paid at its provider: it is reversed, so
    the gross returns to the creator's payable balance for a later run, and they are told."""
    reviewer_only(by, "settle payouts")
    if not reason.strip():
        raise LedgerError("give the reason it was not paid")
    with transaction.atomic():
        _claim_for_reviewer(payout)
        return _reverse(payout, reason.strip(), by=by)


def _claim_for_reviewer(payout: Payout) -> Payout:
    """The payout locked for a reviewer to settle (inside the caller's transaction): refused
    once it is no longer pending, or while a run is sending it (the provider may yet pay it)."""
    claimed = _claim(payout)
    if claimed is None:
        raise LedgerError(f"payout {payout.pk} is no longer pending")
    if _in_flight(claimed):
        since = timezone.localtime(claimed.sending_since)
        raise LedgerError(
            f"payout {payout.pk} is being sent by a payout run right now (since "
            f"{since:%H:%M:%S}); wait for the run to finish and look again"
        )
    return claimed


@transaction.atomic
def _mark_sent(
    provider: PayoutProvider, payout: Payout, result: PayoutResult, *, by=None
) -> Payout | None:
    """Record that the provider has it (by a run, or by the reviewer who found it paid);
    None when an overlapping run recorded it first, or when it was reversed meanwhile (then
    reviewers are told it was paid after all)."""
    claimed = _claim(payout)
    if claimed is None:
        if Payout.objects.filter(pk=payout.pk, status=Payout.Status.REVERSED).exists():
            _tell_paid_after_reversal(provider, payout, result)
        return None
    payout, currency = claimed, claimed.currency
    payout.status, payout.sent_at = Payout.Status.SENT, timezone.now()
    payout.sending_since = None
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
        actor=by,
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
    return payout


@transaction.atomic
def _keep_pending(payout: Payout, exc: PayoutFailed) -> Payout | None:
    """The outcome is unknown: it stays pending for the next run. Reviewers are told once
    per reason when it needs them; None when an overlapping run has finished it."""
    payout = _claim(payout)
    if payout is None:
        return None
    reason = str(exc)[:300]
    log.warning("payout %s pending: %s", payout.pk, reason)
    tell = exc.needs_review and payout.error != reason
    payout.error, payout.sending_since = reason, None
    payout.save(update_fields=["error", "sending_since"])
    if tell:
        record(
            "payout.held",
            org=payout.creator,
            subject=payout,
            data={"run": payout.run, "gross_minor": payout.gross_minor, "reason": reason},
        )
        notify_reviewers(
            "payout.held",
            f"Payout {payout.pk} to {payout.creator.pseudonym} is held: {reason}",
            f"An earlier attempt may have paid {payout.net}, so it is neither reversed nor "
            "sent again to another destination. It stays pending and is retried each run; "
            "fix the cause, or check with the provider whether it was paid and record what "
            'you find (Payouts, "Paid at the provider" or "Not paid").',
            f"/admin/ledger/payout/{payout.pk}/change/",
        )
    return payout


@transaction.atomic
def _reverse(payout: Payout, reason: str, *, by=None) -> Payout | None:
    """The provider refused it (or a reviewer found it not paid): the balance returns and the
    creator is told; None when an overlapping run has finished it."""
    payout = _claim(payout)
    if payout is None:
        return None
    payout.reversal = reverse(payout.entry, f"Payout {payout.pk} failed: {reason}"[:300])
    payout.status, payout.error = Payout.Status.REVERSED, reason[:300]
    payout.sending_since = None
    payout.save(update_fields=["reversal", "status", "error", "sending_since"])
    record(
        "payout.reversed",
        actor=by,
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


def _tell_paid_after_reversal(
    provider: PayoutProvider, payout: Payout, result: PayoutResult
) -> None:
    """The provider paid a payout that was reversed meanwhile (its gross back in the creator's
    balance, maybe paid again since): the books do not show this payment, so reviewers must
    recover it or post it."""
    payout.refresh_from_db()
    net = Money(payout.net_minor, payout.currency)
    reference = result.reference[:200]
    log.error(
        "payout %s paid by %s (%s) after it was reversed", payout.pk, provider.name, reference
    )
    record(
        "payout.paid_after_reversal",
        org=payout.creator,
        subject=payout,
        data={
            "run": payout.run,
            "net_minor": payout.net_minor,
            "currency": payout.currency,
            "provider": provider.name,
            "reference": reference,
        },
    )
    notify_reviewers(
        "payout.paid_after_reversal",
        f"Payout {payout.pk} to {payout.creator.pseudonym} was paid after it was reversed",
        f"{provider.name} paid {net} (reference {reference}) after the payout was recorded not "
        "paid, and its gross went back to the creator's balance, which a later run may pay "
        "again. The ledger does not show this payment: recover it from the creator, or post it.",
        f"/admin/ledger/payout/{payout.pk}/change/",
    )
