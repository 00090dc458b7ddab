"""A payout run that stops half-way loses nothing: every payout marked sent has its line in a
bank file that exists, and the next run sends the rest once."""

import uuid

import pytest
from django.test import override_settings

from outtake.ledger import chart, payouts
from outtake.ledger.models import Payout, PayoutDestination
from outtake.ledger.payouts import StripeConnect, run_payouts
from outtake.ledger.services import balance, trial_balance
from outtake.notices.models import Notification
from outtake.storage import get_store
from tests.ledger.conftest import give_destination, pay, sell
from tests.ledger.test_payouts import FakeStripe

pytestmark = pytest.mark.django_db


class Crash(Exception):
    pass


@pytest.fixture
def runs():
    """Run ids of their own: bank files outlive a test's database."""
    tag = uuid.uuid4().hex[:8]
    return [f"{tag}-r1", f"{tag}-r2"]


def payable(user) -> int:
    return -balance(chart.creator_payable(user.organization, "USD")).minor


def lines(key: str) -> list[str]:
    return [row.split(",")[0] for row in get_store().get_bytes(key).decode().splitlines()[1:]]


def test_a_crash_mid_run_leaves_every_sent_payout_in_a_bank_file(people, monkeypatch, runs):
    first, second = people.creators
    pay(sell(people.buyer, [(first, 2000), (second, 3000)]), people.reviewer)
    real_rate = payouts.withholding_rate

    def crash_on_second(org=None):
        if org == second.organization:
            raise Crash("the process died here")
        return real_rate(org)

    monkeypatch.setattr(payouts, "withholding_rate", crash_on_second)
    with pytest.raises(Crash):
        run_payouts(run=runs[0])
    [sent] = Payout.objects.filter(status=Payout.Status.SENT)
    assert sent.creator == first.organization
    assert lines(f"payouts/{runs[0]}.csv") == [str(sent.pk)]  # the file exists and holds its line
    assert payable(second) == 2550
    monkeypatch.setattr(payouts, "withholding_rate", real_rate)
    report = run_payouts(run=runs[1])
    assert [p.creator for p in report.sent] == [second.organization]
    assert lines(report.bank_file) == [str(report.sent[0].pk)]
    assert payable(first) == payable(second) == 0
    assert trial_balance() == {"USD": 0}


def test_a_line_written_before_the_crash_is_not_written_again(people, monkeypatch, runs):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    real_notify = payouts.notify_org

    def crash_when_told(org, kind, *args, **kwargs):
        if kind == "payout.sent":
            raise Crash("the process died after writing the file")
        return real_notify(org, kind, *args, **kwargs)

    monkeypatch.setattr(payouts, "notify_org", crash_when_told)
    with pytest.raises(Crash):
        run_payouts(run=runs[0])
    [payout] = Payout.objects.all()
    assert payout.status == Payout.Status.PENDING
    assert lines(f"payouts/{runs[0]}.csv") == [str(payout.pk)]
    monkeypatch.setattr(payouts, "notify_org", real_notify)
    report = run_payouts(run=runs[1])
    assert [p.pk for p in report.sent] == [payout.pk]
    assert report.sent[0].provider_reference == f"payouts/{runs[0]}.csv: Outtake payout {payout.pk}"
    assert report.bank_file == ""  # nothing new to send: it is in r1's file, once
    assert lines(f"payouts/{runs[0]}.csv") == [str(payout.pk)]
    assert Notification.objects.filter(user=creator, kind="payout.sent").count() == 1
    assert balance(chart.cash("USD")).minor == 2000 - 1700


def test_a_crash_before_the_line_is_written_sends_it_in_the_next_file(people, monkeypatch, runs):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    store = get_store()

    class BrokenStore:
        def get_bytes(self, key):
            return store.get_bytes(key)

        def put_bytes(self, key, data):
            raise Crash("disk gone")

    monkeypatch.setattr(payouts, "get_store", lambda: BrokenStore())
    with pytest.raises(Crash):
        run_payouts(run=runs[0])
    [payout] = Payout.objects.all()
    assert payout.status == Payout.Status.PENDING
    monkeypatch.setattr(payouts, "get_store", lambda: store)
    report = run_payouts(run=runs[1])
    assert [p.pk for p in report.sent] == [payout.pk]
    assert report.bank_file == f"payouts/{runs[1]}.csv"
    assert lines(f"payouts/{runs[1]}.csv") == [str(payout.pk)]
    assert payable(creator) == 0 and trial_balance() == {"USD": 0}


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_pending_stripe_payout_whose_destination_is_gone_is_reversed(make_user, people, runs):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    stripe = FakeStripe(answers=[TimeoutError("read timed out")])
    [pending] = run_payouts(provider=StripeConnect(http=stripe), run=runs[0]).pending
    PayoutDestination.objects.filter(organization=creator.organization).delete()
    report = run_payouts(provider=StripeConnect(http=stripe), run=runs[1])
    assert [p.pk for p in report.failed] == [pending.pk]
    assert report.failed[0].status == Payout.Status.REVERSED
    note = Notification.objects.get(user=creator, kind="payout.failed")
    assert "no Stripe connected account on file" in note.body
    assert payable(creator) == 1700 and len(stripe.requests) == 1
    assert trial_balance() == {"USD": 0}
