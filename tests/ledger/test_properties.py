"""Random sequences of sales (pooled ones too), payments (whole, part and over), buyer credit
applied and refunded, refunds in part and in full, voided invoices and payout runs in which
transfers fail, are refused or stay pending, at a random withholding rate, keep the books
exact."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from outtake.audit.models import AuditEvent
from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import Invoice, Payout, Refund
from outtake.ledger.payouts import PayoutFailed, PayoutResult, run_payouts
from outtake.ledger.pools import split_pool
from outtake.ledger.services import (
    apply_credit,
    balance,
    buyer_credit,
    creator_earnings,
    issue_invoice,
    refund,
    refund_credit,
    sale_shares,
    void,
)
from outtake.ledger.services import trial_balance as trial
from outtake.ledger.statements import statement
from outtake.market.models import License
from outtake.market.services import mark_paid
from tests.factories import license_for, ready_clip
from tests.ledger.conftest import give_destination

pytestmark = pytest.mark.django_db

invoice_pick = st.integers(0, 10)
sell = st.tuples(
    st.just("sell"),
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 300_000)), min_size=1, max_size=3),
)
# A pooled collection: one price split by value; a small part can round to 0.
pool = st.tuples(
    st.just("pool"),
    st.tuples(st.integers(1, 500), st.lists(st.integers(1, 10_000), min_size=3, max_size=3)),
)
# What is due, and maybe more: the rest becomes the buyer's credit.
pay = st.tuples(st.just("pay"), st.tuples(invoice_pick, st.sampled_from([0, 0, 250])))
# Each transfer of the run is sent, refused (reversed) or gets no answer (pending).
payout = st.tuples(
    st.just("payout"), st.lists(st.sampled_from(["sent", "refused", "lost"]), max_size=4)
)
ops = st.lists(
    st.one_of(
        sell,
        sell,
        sell,
        pool,
        pay,
        pay,
        pay,
        payout,
        payout,
        st.tuples(st.just("part"), invoice_pick),
        st.tuples(st.just("credit"), invoice_pick),  # pay what is due from the buyer's credit
        st.just(("refund credit", None)),
        st.tuples(st.just("refund"), st.tuples(invoice_pick, st.integers(0, 100))),
        st.tuples(st.just("void"), invoice_pick),
        payout,
        payout,
    ),
    min_size=4,
    max_size=14,
)


class Flaky:
    """A payout provider whose transfers go as the test says, in turn."""

    name = "flaky"

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = list(outcomes)

    def cannot_pay(self, destination) -> str:
        return ""

    def snapshot(self, destination) -> dict[str, str]:
        return {}

    def begin(self, run: str) -> None:
        pass

    def send(self, payout) -> PayoutResult:
        outcome = self.outcomes.pop(0) if self.outcomes else "sent"
        if outcome == "refused":
            raise PayoutFailed("account closed")
        if outcome == "lost":
            raise PayoutFailed("timed out", definite=False)
        return PayoutResult(reference=f"tr-{payout.pk}", fee_minor=payout.pk % 3)

    def finish(self, run: str) -> str:
        return ""


@pytest.fixture
def cast(make_user, monkeypatch):
    """Three creators with a clip each, a buyer and a reviewer, made once for all examples;
    delivery is not what is tested here."""
    monkeypatch.setattr("outtake.delivery.services.start_delivery", lambda lic: None)
    creators = [make_user("creator") for _ in range(3)]
    for c in creators:
        give_destination(c.organization)
    clips = [ready_clip(c) for c in creators]
    return creators, clips, make_user("buyer"), make_user("reviewer")


class Books:
    """What the buyer and the bank have done, counted outside the ledger."""

    def __init__(self) -> None:
        self.invoiced = self.cash_in = self.cash_out = self.credit = self.cancelled = 0


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops, st.sampled_from(["0", "0.24", "0.3333"]))
# Every path at least once in every run, whatever the random draw: part and over-payment,
# credit applied, a pooled share rounding to 0, a refused and a lost transfer retried, a
# refund in part after payout (clawback), a void after a part payment, credit refunded.
@example(
    [
        ("sell", [(0, 5000), (1, 3000)]),
        ("pool", (3, [9000, 500, 500])),
        ("sell", [(2, 4000)]),
        ("part", 0),
        ("pay", (0, 250)),
        ("payout", ["refused", "lost"]),
        ("credit", 0),
        ("payout", ["sent", "sent"]),
        ("refund", (0, 33)),
        ("sell", [(1, 2000)]),
        ("part", 1),
        ("void", 1),
        ("refund credit", None),
        ("refund", (0, 100)),
        ("pay", (0, 0)),
        ("payout", []),
    ],
    "0.24",
)
def test_books_stay_exact(cast, ops, rate):
    creators, clips, buyer, reviewer = cast
    start = timezone.now() - timedelta(seconds=1)
    with (
        transaction.atomic(),
        # Any payable balance is paid out, so payouts happen in short sequences too.
        override_settings(OUTTAKE_WITHHOLDING_RATE=rate, OUTTAKE_PAYOUT_MINIMUMS={"USD": 1}),
    ):
        books = Books()
        for op, arg in ops:
            play(op, arg, books, clips, buyer, reviewer)
            check(creators, books, buyer)
        end = timezone.now() + timedelta(seconds=1)
        for c in creators:
            st_ = statement(c.organization, start, end)
            assert st_.opening.minor == 0
            assert sum(ln.amount.minor for ln in st_.lines) == st_.closing.minor
            assert st_.closing == creator_earnings(c.organization).balance
        transaction.set_rollback(True)


def pick(buyer, status, i: int) -> Invoice | None:
    invoices = list(Invoice.objects.filter(buyer=buyer.organization, status=status).order_by("id"))
    return invoices[i % len(invoices)] if invoices else None


def play(op, arg, books: Books, clips, buyer, reviewer) -> None:
    if op == "sell":
        books.invoiced += issue_invoice(
            license_for(buyer, [(clips[i], p) for i, p in arg])
        ).amount_minor
    elif op == "pool":
        price, values = arg
        parts = split_pool(Money(price), dict(enumerate(values)))
        lic = license_for(buyer, [(clips[p.creator], p.part.minor) for p in parts])
        books.invoiced += issue_invoice(lic).amount_minor
        if len(sale_shares(lic)[0]) < len(parts):
            event("a pooled share rounds to 0")
    elif op == "payout":
        report = run_payouts(provider=Flaky(arg))
        for kind in ("sent", "failed", "pending"):
            if getattr(report, kind):
                event(f"payout {kind}")
    elif op == "refund credit":
        if books.credit:
            books.cash_out += refund_credit(
                buyer.organization, "USD", reason="asked for", by=reviewer
            ).minor
            books.credit = 0
            event("buyer credit refunded")
    elif op == "refund":
        (i, percent) = arg
        invoice = pick(buyer, Invoice.Status.PAID, i)
        if invoice is None:
            return
        left = invoice.amount_minor - invoice.refunded_minor
        amount = None if percent == 100 else max(1, left * percent // 100)
        row = refund(invoice, reason="test", by=reviewer, amount_minor=amount)
        books.cash_out += row.amount_minor
        event("refund in full" if amount is None or amount == left else "refund in part")
    else:
        invoice = pick(buyer, Invoice.Status.OPEN, arg[0] if op == "pay" else arg)
        if invoice is None:
            return
        due = invoice.due_minor
        if op == "pay":
            amount = due + arg[1]
            mark_paid(invoice, amount_minor=amount, reference="x", by=reviewer)
            books.cash_in += amount
            books.credit += arg[1]
        elif op == "part":
            part = max(1, due // 2)
            mark_paid(invoice, amount_minor=part, reference="part", by=reviewer)
            books.cash_in += part
        elif op == "credit" and books.credit:
            books.credit -= apply_credit(invoice, by=reviewer).amount_minor
            event("buyer credit applied")
        elif op == "void":
            payments = list(invoice.payments.all())
            event("void after a part payment" if payments else "void unpaid")
            void(invoice, reason="withdrawn", by=reviewer)
            books.cancelled += invoice.amount_minor
            for p in payments:
                if p.method == "credit":
                    books.credit += p.amount_minor
                else:
                    books.cash_out += p.amount_minor


def check(creators, books: Books, buyer) -> None:
    assert trial() in ({}, {"USD": 0})
    live = Payout.objects.exclude(status=Payout.Status.REVERSED)
    totals = live.aggregate(gross=Sum("gross_minor"), tax=Sum("withholding_minor"))
    paid_out, withheld = totals["gross"] or 0, totals["tax"] or 0
    assert -balance(chart.tax_withheld("USD")).minor == withheld
    held = 0
    for c in creators:
        org = c.organization
        payable = -balance(chart.creator_payable(org, "USD")).minor
        clawback = balance(chart.creator_clawback(org, "USD")).minor
        assert payable >= 0 and clawback >= 0
        assert not (payable and clawback), "a clawback is recovered before anything is payable"
        if clawback:
            assert AuditEvent.objects.filter(kind="clawback.opened", organization=org).exists()
        held += -balance(chart.creator_pending(org, "USD")).minor + payable - clawback
    fees = -balance(chart.fee_revenue("USD")).minor - balance(chart.fee_refunds("USD")).minor
    refunded = (
        Refund.objects.filter(entry__kind="refund").aggregate(s=Sum("amount_minor"))["s"] or 0
    )
    # Creators' shares (held or paid out) plus Outtake's fees are what buyers owe net of
    # refunds and cancelled invoices.
    assert held + paid_out + fees == books.invoiced - refunded - books.cancelled
    cash = balance(chart.cash("USD")).minor
    payout_fees = balance(chart.payout_fees("USD")).minor
    assert cash == books.cash_in - books.cash_out - (paid_out - withheld) - payout_fees
    assert buyer_credit(buyer.organization, "USD").minor == books.credit
    for invoice in Invoice.objects.exclude(status=Invoice.Status.OPEN):
        refunds = invoice.refunds.filter(entry__kind="refund")
        assert (refunds.aggregate(s=Sum("amount_minor"))["s"] or 0) <= invoice.amount_minor
        shares, _ = sale_shares(invoice.license)
        for org, share in shares.items():  # nobody gives back more than their share
            taken = sum(
                p.amount_minor
                for r in refunds
                for p in r.entry.postings.select_related("account")
                if p.account.organization_id == org.pk
            )
            assert 0 <= taken <= share.minor
            if invoice.status == Invoice.Status.REFUNDED:  # in full: every share, to the cent
                assert taken == share.minor
        ended = License.objects.get(pk=invoice.license_id).status in License.ENDED
        if invoice.status in (Invoice.Status.REFUNDED, Invoice.Status.VOID):
            assert ended
        elif ended:
            assert refunds.filter(ended_license=True).exists()
