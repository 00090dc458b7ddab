"""Payout runs may overlap (the admin button, the API and the CLI can each start one): a
pending payout is paid once, written into one bank file, and its creator told once."""

import uuid

import pytest
from django.test import override_settings

from outtake.audit.models import AuditEvent
from outtake.ledger import chart
from outtake.ledger.models import Payout
from outtake.ledger.payouts import CsvBankFile, PayoutFailed, StripeConnect, _rows, run_payouts
from outtake.ledger.services import balance, trial_balance
from outtake.notices.models import Notification
from tests.ledger.conftest import give_destination, pay, require_postgres, run_together, sell
from tests.ledger.test_payouts import FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs():
    """Run ids of their own: bank files outlive a test's database."""
    tag = uuid.uuid4().hex[:8]
    return [f"{tag}-r0", f"{tag}-a", f"{tag}-b"]


class Unanswered(CsvBankFile):
    """A bank file store that did not answer: the payout stays pending."""

    def send(self, payout):
        raise PayoutFailed("the store did not answer", definite=False)


class Overlapped:
    """Runs another payout run, whole, at a chosen moment of this run's send."""

    def __init__(self, provider, other, when: str) -> None:
        self.provider, self.other, self.when = provider, other, when
        self.name = provider.name
        self.other_report = None

    def _other(self) -> None:
        if self.other_report is None:
            self.other_report = self.other()

    def send(self, payout):
        if self.when == "before it sends":
            self._other()
        result = self.provider.send(payout)
        if self.when == "after it sends":
            self._other()
        return result

    def __getattr__(self, name):
        return getattr(self.provider, name)


def pending_csv_payout(people, run: str) -> Payout:
    pay(sell(people.buyer, [(people.creators[0], 2000)]), people.reviewer)
    [pending] = run_payouts(provider=Unanswered(), run=run).pending
    return pending


def files_holding(payout: Payout, runs: list[str]) -> list[str]:
    keys = [f"payouts/{run}.csv" for run in runs]
    return [k for k in keys if str(payout.pk) in (row[0] for row in _rows(k))]


def told_once(payout: Payout, creator) -> None:
    assert AuditEvent.objects.filter(kind="payout.sent", subject_id=str(payout.pk)).count() == 1
    assert Notification.objects.filter(user=creator, kind="payout.sent").count() == 1


@pytest.mark.parametrize("when", ["before it sends", "after it sends"])
def test_two_runs_over_one_pending_csv_payout_write_it_into_one_bank_file(people, runs, when):
    pending = pending_csv_payout(people, runs[0])
    provider = Overlapped(CsvBankFile(), lambda: run_payouts(run=runs[2]), when)
    first = run_payouts(provider=provider, run=runs[1])
    second = provider.other_report
    assert [p.pk for p in first.sent + second.sent] == [pending.pk]
    pending.refresh_from_db()
    assert pending.status == Payout.Status.SENT
    [key] = files_holding(pending, runs)
    assert pending.provider_reference == f"{key}: Outtake payout {pending.pk}"
    told_once(pending, people.creators[0])
    assert balance(chart.cash("USD")).minor == 2000 - 1700
    assert trial_balance() == {"USD": 0}


class Recorded(CsvBankFile):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list = []

    def send(self, payout):
        self.asked.append(payout.pk)
        return super().send(payout)


def test_a_run_leaves_a_payout_another_run_is_sending_to_that_run(people, runs):
    pending = pending_csv_payout(people, runs[0])
    other = Recorded()
    provider = Overlapped(
        CsvBankFile(), lambda: run_payouts(provider=other, run=runs[2]), "before it sends"
    )
    first = run_payouts(provider=provider, run=runs[1])
    # The other run never asked its provider while the first run's send was open.
    assert other.asked == []
    assert [p.pk for p in provider.other_report.pending] == [pending.pk]
    assert [p.pk for p in first.sent] == [pending.pk]
    told_once(pending, people.creators[0])


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_two_runs_over_one_pending_stripe_payout_record_it_once(make_user, people, runs):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    stripe = FakeStripe(answers=[TimeoutError("read timed out")])
    [pending] = run_payouts(provider=StripeConnect(http=stripe), run=runs[0]).pending

    def other():
        return run_payouts(provider=StripeConnect(http=stripe), run=runs[2])

    provider = Overlapped(StripeConnect(http=stripe), other, "before it sends")
    first = run_payouts(provider=provider, run=runs[1])
    assert [p.pk for p in first.sent + provider.other_report.sent] == [pending.pk]
    assert len(stripe.transfers) == 1
    told_once(pending, creator)


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_over_one_pending_csv_payout_write_it_into_one_bank_file(people, runs):
    require_postgres()
    pending = pending_csv_payout(people, runs[0])
    reports = run_together(*(lambda r=r: run_payouts(run=r) for r in runs[1:]))
    assert [p.pk for r in reports for p in r.sent] == [pending.pk]
    assert len(files_holding(pending, runs)) == 1
    told_once(pending, people.creators[0])
