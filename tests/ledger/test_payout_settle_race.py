"""A reviewer settling a held payout while a payout run is sending it (review 3, finding 1)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.ledger import chart
from outtake.ledger.models import Payout
from outtake.ledger.payouts import StripeConnect, not_paid, paid_at_provider, run_payouts
from outtake.ledger.services import LedgerError, balance
from outtake.notices.models import Notification
from tests.ledger.conftest import give_destination
from tests.ledger.test_payout_crashes import runs as runs  # a fixture
from tests.ledger.test_payout_crashes import stripe_payout_pending
from tests.ledger.test_payouts import FakeStripe

pytestmark = pytest.mark.django_db


def racing(stripe: FakeStripe, pending: Payout, reviewer_acts):
    """Stripe Connect whose send of `pending` lets a reviewer act first; what they are told
    is kept in `refusals`."""

    class Racing(StripeConnect):
        refusals: list[str] = []

        def send(self, payout):
            if payout.pk == pending.pk:
                try:
                    reviewer_acts(payout)
                except LedgerError as exc:
                    self.refusals.append(str(exc))
            return super().send(payout)

    return Racing(http=stripe)


def held(make_user, people, run: str) -> tuple[FakeStripe, Payout]:
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    stripe = FakeStripe(answers=[TimeoutError("connect timed out")])
    return stripe, stripe_payout_pending(creator, people.buyer, people.reviewer, run, stripe)


@pytest.mark.parametrize(
    "settle",
    [
        lambda p, by: not_paid(p, reason="none at Stripe", by=by),
        lambda p, by: paid_at_provider(p, reference="tr_reviewer", by=by),
    ],
    ids=["not_paid", "paid_at_provider"],
)
@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_payout_being_sent_cannot_be_settled_by_a_reviewer(make_user, people, runs, settle):
    stripe, pending = held(make_user, people, runs[0])
    provider = racing(stripe, pending, lambda p: settle(p, people.reviewer))
    run_payouts(provider=provider, run=runs[1])
    assert len(provider.refusals) == 1 and "being sent by a payout run" in provider.refusals[0]
    pending.refresh_from_db()
    assert (pending.status, pending.sending_since) == (Payout.Status.SENT, None)
    assert pending.provider_reference != "tr_reviewer"
    run_payouts(provider=StripeConnect(http=stripe), run=runs[1] + "x")
    assert [t["amount"] for t in stripe.transfers] == [1700]  # paid once
    assert balance(chart.creator_payable(pending.creator, "USD")).minor == 0


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_reviewer_may_settle_a_payout_left_in_flight_by_a_crashed_run(make_user, people, runs):
    _, pending = held(make_user, people, runs[0])
    long_ago = timezone.now() - timedelta(minutes=11)
    Payout.objects.filter(pk=pending.pk).update(sending_since=long_ago)
    not_paid(pending, reason="none at Stripe", by=people.reviewer)
    pending.refresh_from_db()
    assert (pending.status, pending.sending_since) == (Payout.Status.REVERSED, None)


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_reviewers_are_told_when_a_reversed_payout_was_paid_after_all(make_user, people, runs):
    stripe, pending = held(make_user, people, runs[0])

    def reversed_by_a_reviewer(payout):  # the run looks crashed, then Stripe answers after all
        long_ago = timezone.now() - timedelta(minutes=11)
        Payout.objects.filter(pk=payout.pk).update(sending_since=long_ago)
        not_paid(payout, reason="none at Stripe", by=people.reviewer)

    run_payouts(provider=racing(stripe, pending, reversed_by_a_reviewer), run=runs[1])
    pending.refresh_from_db()
    assert pending.status == Payout.Status.REVERSED
    [note] = Notification.objects.filter(user=people.reviewer, kind="payout.paid_after_reversal")
    assert f"Payout {pending.pk}" in note.subject and "17.00 USD" in note.body
    event = AuditEvent.objects.get(kind="payout.paid_after_reversal")
    assert event.data["reference"] == stripe.transfers[0]["id"] and event.data["net_minor"] == 1700
