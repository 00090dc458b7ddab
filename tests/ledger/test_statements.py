import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from outtake.ledger.payouts import StripeConnect, run_payouts
from outtake.ledger.services import creator_earnings, refund
from outtake.ledger.statements import month, statement, statement_csv
from tests.ledger.conftest import give_destination, pay, sell
from tests.ledger.test_payouts import FakeStripe

pytestmark = pytest.mark.django_db


def test_month_bounds():
    assert month(2026, 12) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_statement_lines_explain_the_balance(people):
    creator, other = people.creators
    org = creator.organization
    before = timezone.now() - timedelta(seconds=1)
    first = sell(people.buyer, [(creator, 2000), (other, 500)])
    pay(first, people.reviewer)
    run_payouts()
    middle = timezone.now()
    pending = sell(people.buyer, [(creator, 999)])
    refund(first, reason="licence breach", by=people.reviewer)
    paid = sell(people.buyer, [(creator, 4000)])
    pay(paid, people.reviewer)
    after = timezone.now() + timedelta(seconds=1)

    whole = statement(org, before, after)
    early, late = statement(org, before, middle), statement(org, middle, after)
    for st in (whole, early, late):
        assert st.opening.minor + sum(ln.amount.minor for ln in st.lines) == st.closing.minor
    assert early.opening.minor == 0 and early.closing == late.opening
    assert whole.closing == creator_earnings(org).balance
    assert (whole.pending.minor, whole.payable.minor, whole.clawback.minor) == (849, 3400 - 1700, 0)

    sales = {ln.invoice: ln for ln in whole.of_kind("sale")}
    assert {k: v.status for k, v in sales.items()} == {
        first.label: "refunded",
        pending.label: "pending",
        paid.label: "payable",
    }
    s = sales[paid.label]
    assert (s.gross.minor, s.fee.minor, s.amount.minor) == (4000, 600, 3400)
    assert (s.clips, s.minutes, s.buyer) == (1, 1, people.buyer.organization.name)
    assert early.of_kind("sale")[0].status == "paid"  # as it stood at the end of that period
    [payout] = whole.of_kind("payout")
    assert payout.amount.minor == -1700 and payout.withholding.minor == 0
    [ref] = whole.of_kind("refund")
    assert ref.amount.minor == -1700 and "owed back" in ref.description
    [recovered] = whole.of_kind("clawback recovered")
    assert recovered.amount.minor == 0 and recovered.gross.minor == 1700

    rows = list(csv.reader(io.StringIO(statement_csv(whole))))
    assert rows[1][1] == "opening balance" and rows[-2][1] == "closing balance"
    assert rows[-2][10] == str(whole.closing.to_decimal())
    assert rows[-1][:3] == ["# audit chain", whole.audit_head, str(whole.audit_events)]
    assert len(rows) == len(whole.lines) + 4


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_paid_or_payable_comes_from_the_payouts_actually_made(people, make_user):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    org = creator.organization
    start = timezone.now() - timedelta(seconds=1)
    first = sell(people.buyer, [(creator, 2000)])
    pay(first, people.reviewer)
    closed = (400, {"error": {"message": "account closed"}})
    stripe = FakeStripe(answers=[TimeoutError("read timed out"), None, closed])

    def status(invoice) -> str:
        st = statement(org, start, timezone.now() + timedelta(seconds=1))
        return next(ln.status for ln in st.of_kind("sale") if ln.invoice == invoice.label)

    assert status(first) == "payable"
    run_payouts(provider=StripeConnect(http=stripe), run="r1")  # no answer: pending
    assert status(first) == "payout pending"  # the balance is 0, but nothing was sent yet
    run_payouts(provider=StripeConnect(http=stripe), run="r2")  # sent now
    assert status(first) == "paid"
    second = sell(people.buyer, [(creator, 3000)])
    pay(second, people.reviewer)
    run_payouts(provider=StripeConnect(http=stripe), run="r3")  # refused and reversed
    assert (status(first), status(second)) == ("paid", "payable")
    assert {s["status"] for s in creator_earnings(org).sales} == {"paid", "payable"}


def test_buyers_shown_as_an_ai_lab(people):
    people.buyer.organization.show_as_ai_lab = True
    people.buyer.organization.save()
    sell(people.buyer, [(people.creators[0], 100)])
    st = statement(people.creators[0].organization, *month(2000, 1))
    assert not st.lines
    now = timezone.now()
    st = statement(people.creators[0].organization, now - timedelta(hours=1), now)
    assert st.lines[0].buyer == "an AI lab"
