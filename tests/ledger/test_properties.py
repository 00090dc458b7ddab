"""Random sequences of sales, payments (whole, part and over), refunds and payout runs keep
the books exact."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outtake.audit.models import AuditEvent
from outtake.ledger import chart
from outtake.ledger.models import Invoice, Payout
from outtake.ledger.payouts import run_payouts
from outtake.ledger.services import (
    balance,
    buyer_credit,
    creator_earnings,
    refund,
    trial_balance,
)
from outtake.ledger.statements import statement
from outtake.market.services import mark_paid
from tests.ledger.conftest import give_destination, pay, sell

pytestmark = pytest.mark.django_db

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("sell"),
            st.lists(st.tuples(st.integers(0, 2), st.integers(1, 300_000)), min_size=1, max_size=3),
        ),
        st.tuples(st.just("pay"), st.integers(0, 10)),
        st.tuples(st.just("part"), st.integers(0, 10)),
        st.tuples(st.just("refund"), st.integers(0, 10)),
        st.tuples(st.just("payout"), st.none()),
    ),
    min_size=1,
    max_size=10,
)


def owed(org, kind) -> int:
    return abs(balance(getattr(chart, kind)(org, "USD")).minor)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops)
def test_books_stay_exact(make_user, ops):
    start = timezone.now() - timedelta(seconds=1)
    with transaction.atomic():
        creators = [make_user("creator") for _ in range(3)]
        for c in creators:
            give_destination(c.organization)
        buyer, reviewer = make_user("buyer"), make_user("reviewer")
        invoiced = paid_in = refunded = credited = 0
        for op, arg in ops:
            if op == "sell":
                invoiced += sell(buyer, [(creators[i], p) for i, p in arg]).amount_minor
            elif op in ("pay", "part", "refund"):
                status = Invoice.Status.PAID if op == "refund" else Invoice.Status.OPEN
                candidates = list(Invoice.objects.filter(buyer=buyer.organization, status=status))
                if not candidates:
                    continue
                invoice = candidates[arg % len(candidates)]
                if op == "pay":  # the full amount, even after a part payment: a credit
                    credited += invoice.amount_minor - invoice.due_minor
                    pay(invoice, reviewer)
                    paid_in += invoice.amount_minor
                elif op == "part":
                    part = max(1, invoice.due_minor // 2)
                    mark_paid(invoice, amount_minor=part, reference="part", by=reviewer)
                    paid_in += part
                else:
                    refund(invoice, reason="test", by=reviewer)
                    refunded += invoice.amount_minor
            else:
                run_payouts()
            check(creators, invoiced, paid_in, refunded)
            assert buyer_credit(buyer.organization, "USD").minor == credited
        end = timezone.now() + timedelta(seconds=1)
        for c in creators:
            st_ = statement(c.organization, start, end)
            assert st_.opening.minor == 0
            assert sum(ln.amount.minor for ln in st_.lines) == st_.closing.minor
            assert st_.closing == creator_earnings(c.organization).balance
        transaction.set_rollback(True)


def check(creators, invoiced, paid_in, refunded):
    assert trial_balance() in ({}, {"USD": 0})
    live = Payout.objects.exclude(status=Payout.Status.REVERSED)
    totals = live.aggregate(gross=Sum("gross_minor"), tax=Sum("withholding_minor"))
    paid_out = totals["gross"] or 0
    held = 0
    for c in creators:
        org = c.organization
        payable = -balance(chart.creator_payable(org, "USD")).minor
        clawback = balance(chart.creator_clawback(org, "USD")).minor
        assert payable >= 0 and clawback >= 0
        assert not (payable and clawback), "a clawback is recovered before anything is payable"
        if clawback:
            assert AuditEvent.objects.filter(kind="clawback.opened", organization=org).exists()
        held += owed(org, "creator_pending") + payable - clawback
    fees = -balance(chart.fee_revenue("USD")).minor - balance(chart.fee_refunds("USD")).minor
    # Creators' shares (held or paid out) plus Outtake's fees are what buyers owe net of refunds.
    assert held + paid_out + fees == invoiced - refunded
    cash = balance(chart.cash("USD")).minor
    payout_fees = balance(chart.payout_fees("USD")).minor
    assert cash == paid_in - refunded - (paid_out - (totals["tax"] or 0)) - payout_fees
