"""A payout run that stops half-way loses nothing: every payout marked sent has its line in a
bank file that exists, and the next run sends the rest once. A payout whose outcome is unknown
is paid, if at all, to where it was reserved for, and never twice."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import override_settings
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.ledger import chart, payouts
from outtake.ledger.models import Payout, PayoutDestination
from outtake.ledger.payouts import StripeConnect, run_payouts
from outtake.ledger.services import balance, trial_balance
from outtake.ledger.tax import save_payout_destination
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


def after_the_crashed_runs_mark(payout: Payout, run: str) -> None:
    """A run right after a crash leaves the payout alone: it cannot tell a dead run from one
    still waiting for its provider. Once the mark is older than a send can take, it is sent."""
    assert [p.pk for p in run_payouts(run=run).pending] == [payout.pk]
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PENDING
    aged = timezone.now() - payouts.SENDING_FOR - timedelta(seconds=1)
    Payout.objects.filter(pk=payout.pk).update(sending_since=aged)


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
    after_the_crashed_runs_mark(payout, f"{runs[1]}-early")
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
    after_the_crashed_runs_mark(payout, f"{runs[1]}-early")
    report = run_payouts(run=runs[1])
    assert [p.pk for p in report.sent] == [payout.pk]
    assert report.bank_file == f"payouts/{runs[1]}.csv"
    assert lines(f"payouts/{runs[1]}.csv") == [str(payout.pk)]
    assert payable(creator) == 0 and trial_balance() == {"USD": 0}


def stripe_payout_pending(creator, buyer, reviewer, run: str, stripe: FakeStripe) -> Payout:
    """A Stripe payout whose first attempt ended without an answer."""
    pay(sell(buyer, [(creator, 2000)]), reviewer)
    [pending] = run_payouts(provider=StripeConnect(http=stripe), run=run).pending
    assert pending.status == Payout.Status.PENDING and payable(creator) == 0
    return pending


def age(payout: Payout, hours: int) -> None:
    Payout.objects.filter(pk=payout.pk).update(created_at=timezone.now() - timedelta(hours=hours))


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_pending_stripe_payout_is_paid_to_the_account_it_was_reserved_for(
    make_user, people, runs
):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_old")
    stripe = FakeStripe(answers=[FakeStripe.LOST])
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, runs[0], stripe)
    save_payout_destination(creator, {"holder_name": "C", "stripe_account": "acct_new"})
    report = run_payouts(provider=StripeConnect(http=stripe), run=runs[1])
    [sent] = report.sent
    assert sent.pk == pending.pk and sent.provider_reference == "tr_1"  # the first transfer
    assert [r["destination"] for r in stripe.requests] == ["acct_old", "acct_old"]
    assert [t["destination"] for t in stripe.transfers] == ["acct_old"]
    pay(sell(people.buyer, [(creator, 3000)]), people.reviewer)
    [later] = run_payouts(provider=StripeConnect(http=stripe), run="later").sent
    assert later.stripe_account == "acct_new"  # new money goes where the creator says now
    assert [t["destination"] for t in stripe.transfers] == ["acct_old", "acct_new"]
    assert payable(creator) == 0 and trial_balance() == {"USD": 0}


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
@pytest.mark.parametrize("missing", ["the Stripe key", "the connected account"])
def test_a_pending_stripe_payout_stays_pending_when_its_key_or_account_is_missing(
    make_user, people, runs, missing
):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    stripe = FakeStripe(answers=[FakeStripe.LOST])  # Stripe made it; the reply was lost
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, runs[0], stripe)
    PayoutDestination.objects.filter(organization=creator.organization).delete()
    key = "" if missing == "the Stripe key" else "sk_test_123"
    if missing == "the connected account":  # a payout kept without one
        Payout.objects.filter(pk=pending.pk).update(stripe_account="")
    for run in runs[1], "again":
        with override_settings(OUTTAKE_STRIPE_SECRET_KEY=key):
            report = run_payouts(provider=StripeConnect(http=stripe), run=run)
        assert [p.pk for p in report.pending] == [pending.pk] and not report.failed
    pending.refresh_from_db()
    assert pending.status == Payout.Status.PENDING and pending.reversal is None
    assert payable(creator) == 0 and len(stripe.requests) == 1
    [note] = Notification.objects.filter(user=people.reviewer, kind="payout.held")  # told once
    assert pending.error in note.subject and f"payout/{pending.pk}/" in note.url
    assert AuditEvent.objects.filter(kind="payout.held", subject_id=str(pending.pk)).count() == 1
    assert not Notification.objects.filter(user=creator, kind="payout.failed").exists()
    Payout.objects.filter(pk=pending.pk).update(stripe_account="acct_x")
    [sent] = run_payouts(provider=StripeConnect(http=stripe), run="fixed").sent
    assert sent.pk == pending.pk and sent.provider_reference == "tr_1"
    assert len(stripe.transfers) == 1 and payable(creator) == 0
    assert trial_balance() == {"USD": 0}


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_an_idempotency_error_keeps_a_stripe_payout_pending(make_user, people, runs):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    mismatch = {
        "type": "idempotency_error",
        "message": "Keys for idempotent requests can only be used with the same parameters",
    }
    stripe = FakeStripe(answers=[(400, {"error": mismatch})])
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, runs[0], stripe)
    assert "same parameters" in pending.error and payable(creator) == 0
    assert Notification.objects.filter(user=people.reviewer, kind="payout.held").count() == 1
    assert not Notification.objects.filter(user=creator, kind="payout.failed").exists()


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_stripe_payout_pending_over_a_day_is_looked_up_before_it_is_sent_again(
    make_user, people, runs
):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    stripe = FakeStripe(answers=[FakeStripe.LOST])
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, runs[0], stripe)
    age(pending, hours=25)
    stripe.forget_keys()  # the same key would now make a second transfer
    [sent] = run_payouts(provider=StripeConnect(http=stripe), run=runs[1]).sent
    assert sent.pk == pending.pk and sent.provider_reference == "tr_1"
    assert len(stripe.requests) == 1 and len(stripe.transfers) == 1
    assert stripe.listed == [{"transfer_group": f"outtake-run-{runs[0]}", "limit": "100"}]
    assert payable(creator) == 0 and trial_balance() == {"USD": 0}


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_the_lookup_pages_through_the_runs_transfers(make_user, people, runs, monkeypatch):
    creators = [make_user("creator") for _ in range(3)]
    for i, c in enumerate(creators):
        give_destination(c.organization, stripe_account=f"acct_{i}")
    pay(sell(people.buyer, [(c, 2000) for c in creators]), people.reviewer)
    stripe = FakeStripe(answers=[FakeStripe.LOST] * 3)
    pending = run_payouts(provider=StripeConnect(http=stripe), run=runs[0]).pending
    for p in pending:
        age(p, hours=25)
    stripe.forget_keys()
    monkeypatch.setattr(StripeConnect, "PAGE", 1)
    report = run_payouts(provider=StripeConnect(http=stripe), run=runs[1])
    made = {t["metadata"]["payout_id"]: t["id"] for t in stripe.transfers}
    assert {p.provider_reference for p in report.sent} == set(made.values())
    assert {str(p.pk): p.provider_reference for p in report.sent} == made
    assert len(stripe.requests) == 3 and len(stripe.transfers) == 3
    assert any("starting_after" in q for q in stripe.listed)


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_failed_lookup_keeps_it_pending_and_a_transfer_not_found_is_sent(make_user, people, runs):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    stripe = FakeStripe(answers=[TimeoutError("connect timed out")], lookups=[OSError("reset")])
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, runs[0], stripe)
    age(pending, hours=25)
    stripe.forget_keys()
    report = run_payouts(provider=StripeConnect(http=stripe), run=runs[1])
    assert [p.pk for p in report.pending] == [pending.pk] and not report.failed
    assert len(stripe.requests) == 1 and not stripe.transfers  # not sent while Stripe is unsure
    [sent] = run_payouts(provider=StripeConnect(http=stripe), run="later").sent
    assert sent.pk == pending.pk and len(stripe.listed) == 2
    assert len(stripe.transfers) == 1 and payable(creator) == 0
    assert trial_balance() == {"USD": 0}


def migrated_with_another_account(creator, people, run: str) -> tuple[Payout, FakeStripe]:
    """A Stripe payout whose lost first attempt went to acct_old, kept (as migration 0014
    did, from the creator's destination at the time) with acct_new, which replaced it."""
    give_destination(creator.organization, stripe_account="acct_old")
    stripe = FakeStripe(answers=[FakeStripe.LOST])
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, run, stripe)
    Payout.objects.filter(pk=pending.pk).update(stripe_account="acct_new")
    return pending, stripe


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
@pytest.mark.parametrize("when", ["within the day", "after Stripe forgot the key"])
def test_a_transfer_made_to_another_account_is_found_not_paid_again(make_user, people, runs, when):
    creator = make_user("creator")
    pending, stripe = migrated_with_another_account(creator, people, runs[0])
    if when == "after Stripe forgot the key":
        age(pending, hours=25)
        stripe.forget_keys()
    [sent] = run_payouts(provider=StripeConnect(http=stripe), run=runs[1]).sent
    assert sent.pk == pending.pk and sent.provider_reference == "tr_1"
    assert [t["destination"] for t in stripe.transfers] == ["acct_old"]  # paid once
    [note] = Notification.objects.filter(user=people.reviewer, kind="payout.elsewhere")
    assert "acct_old" in note.subject and "acct_new" in note.body
    assert not Notification.objects.filter(kind="payout.held").exists()
    assert payable(creator) == 0 and trial_balance() == {"USD": 0}


def held_without_account(creator, people, run: str) -> tuple[Payout, FakeStripe]:
    """A Stripe payout whose lost first attempt made a transfer, kept without an account
    (migrated from a creator who had none on file): every run holds it."""
    give_destination(creator.organization, stripe_account="acct_x")
    stripe = FakeStripe(answers=[FakeStripe.LOST])
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, run, stripe)
    Payout.objects.filter(pk=pending.pk).update(stripe_account="")
    [held] = run_payouts(provider=StripeConnect(http=stripe), run="held").pending
    assert held.pk == pending.pk and "no Stripe connected account" in held.error
    return held, stripe


def act(client, action: str, payout: Payout, **form):
    return client.post(
        "/admin/ledger/payout/",
        {"action": action, "_selected_action": [payout.pk], "apply": "Apply", **form},
    )


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_reviewer_records_a_held_payout_found_paid_at_the_provider(
    client, make_user, people, runs
):
    creator = make_user("creator")
    held, stripe = held_without_account(creator, people, runs[0])
    client.force_login(people.reviewer)
    asked = client.post(
        "/admin/ledger/payout/", {"action": "paid_at_the_provider", "_selected_action": [held.pk]}
    )
    assert asked.status_code == 200 and f"payout {held.pk} to" in asked.content.decode()
    act(client, "paid_at_the_provider", held, reference="  ")  # a reference is needed
    held.refresh_from_db()
    assert held.status == Payout.Status.PENDING
    act(client, "paid_at_the_provider", held, reference="tr_1")
    held.refresh_from_db()
    assert (held.status, held.provider_reference) == (Payout.Status.SENT, "tr_1")
    event = AuditEvent.objects.get(kind="payout.sent", subject_id=str(held.pk))
    assert event.actor == people.reviewer and event.data["reference"] == "tr_1"
    assert Notification.objects.filter(user=creator, kind="payout.sent").count() == 1
    report = run_payouts(provider=StripeConnect(http=stripe), run=runs[1])
    assert not (report.sent or report.pending) and len(stripe.transfers) == 1
    late = act(client, "not_paid_at_the_provider", held, reason="changed my mind")
    assert "no longer pending" in str(list(get_messages(late.wsgi_request)))
    held.refresh_from_db()
    assert held.status == Payout.Status.SENT and held.reversal is None
    assert payable(creator) == 0 and trial_balance() == {"USD": 0}


@override_settings(OUTTAKE_STRIPE_SECRET_KEY="sk_test_123")
def test_a_reviewer_returns_a_held_payout_found_not_paid_to_the_balance(
    client, make_user, people, runs
):
    creator = make_user("creator")
    give_destination(creator.organization, stripe_account="acct_x")
    stripe = FakeStripe(answers=[TimeoutError("connect timed out")])  # nothing was made
    pending = stripe_payout_pending(creator, people.buyer, people.reviewer, runs[0], stripe)
    Payout.objects.filter(pk=pending.pk).update(stripe_account="")
    act(client, "not_paid_at_the_provider", pending, reason="not paid")  # not logged in
    clerk = make_user("buyer")  # staff who may see payouts, but no reviewer
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.set([Permission.objects.get(codename="view_payout")])
    client.force_login(clerk)
    refused = act(client, "not_paid_at_the_provider", pending, reason="not paid")
    assert "only reviewers settle payouts" in str(list(get_messages(refused.wsgi_request)))
    pending.refresh_from_db()
    assert pending.status == Payout.Status.PENDING and payable(creator) == 0
    client.force_login(people.reviewer)
    act(client, "not_paid_at_the_provider", pending, reason="No transfer at Stripe")
    pending.refresh_from_db()
    assert pending.status == Payout.Status.REVERSED and pending.reversal is not None
    assert payable(creator) == 1700  # the gross is back in the creator's payable
    event = AuditEvent.objects.get(kind="payout.reversed", subject_id=str(pending.pk))
    assert event.actor == people.reviewer and event.data["reason"] == "No transfer at Stripe"
    told = Notification.objects.get(user=creator, kind="payout.failed")
    assert "No transfer at Stripe" in told.body
    [again] = run_payouts(provider=StripeConnect(http=stripe), run=runs[1]).sent
    assert again.pk != pending.pk and again.stripe_account == "acct_x"
    assert len(stripe.transfers) == 1 and payable(creator) == 0
    assert trial_balance() == {"USD": 0}
