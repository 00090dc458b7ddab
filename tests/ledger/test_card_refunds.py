"""A refund's card part goes to Stripe after the refund's ledger entry commits, under a key
kept on the refund: a lost answer is asked again under that key and refunds once; a refusal,
or a refund that fails later (webhook), moves the card part to the buyer's credit to send by
transfer, and the next refund gets a new key; Stripe's "pending" is not done."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.ledger import chart
from outtake.ledger.card_refunds import send_card_refund
from outtake.ledger.models import JournalEntry, ProviderEvent, Refund
from outtake.ledger.payments import NoAnswer, StripeCard, stripe_webhook
from outtake.ledger.payouts import HttpResponse
from outtake.ledger.services import (
    apply_credit,
    balance,
    buyer_credit,
    card_payment,
    refund,
    refund_credit,
    trial_balance,
)
from outtake.ledger.tasks import ask_again_for_waiting_card_refunds
from outtake.notices.models import Notification
from tests.ledger.conftest import require_postgres, run_together, sell
from tests.ledger.test_card_payments import SECRET, completed, signed

pytestmark = pytest.mark.django_db


class FakeStripeRefunds:
    """Stripe's "create a refund" (a form-encoded POST to /v1/refunds with a payment_intent,
    an amount and an Idempotency-Key), answered as Stripe does: the first answer under a key
    is saved and replayed to every retry with that key, refusals and 500s included, and the
    same key with other parameters is an idempotency_error. New keys get `answers` in turn:
    a refund status ("succeeded", "pending" …) makes a refund, a (status, body) pair is an
    error. The first `lose` refunds made are answered with a timeout instead."""

    def __init__(self, *answers, lose: int = 0):
        self.answers = list(answers)
        self.lose = lose
        self.saved: dict[str, tuple[dict, int, dict]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.refunds: list[dict] = []  # the refunds Stripe made

    def post(self, url, *, body, headers):
        assert url == "https://api.stripe.com/v1/refunds"
        assert headers["Authorization"] == "Bearer sk_test_123"
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
        assert form["payment_intent"].startswith("pi_") and form["amount"].isdigit()
        assert form["reason"] in ("duplicate", "fraudulent", "requested_by_customer")
        key = headers["Idempotency-Key"]
        self.requests.append((key, form))
        if key in self.saved:
            first, status, answer = self.saved[key]
            if form != first:
                message = (
                    "Keys can only be used with the same parameters they were first used with."
                )
                error = {"type": "idempotency_error", "message": message}
                return HttpResponse(400, json.dumps({"error": error}).encode())
            return HttpResponse(status, json.dumps(answer).encode())
        answer = self.answers.pop(0) if self.answers else "succeeded"
        if isinstance(answer, str):
            status, answer = 200, self._make(form, answer)
        else:
            status, answer = answer
        self.saved[key] = (form, status, answer)
        if status == 200 and self.lose:
            self.lose -= 1
            raise TimeoutError("The read operation timed out")
        return HttpResponse(status, json.dumps(answer).encode())

    def _make(self, form: dict, status: str) -> dict:
        made = {
            "id": f"re_{len(self.refunds) + 1}",
            "object": "refund",
            "amount": int(form["amount"]),
            "payment_intent": form["payment_intent"],
            "status": status,
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
        }
        self.refunds.append(made)
        return made


def refund_event(event_id: str, kind: str, row: Refund, status: str, reason=None) -> dict:
    """Stripe's event for a refund's new status: the refund object, our metadata in it."""
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {
            "object": {
                "id": row.provider_reference or "re_1",
                "object": "refund",
                "amount": row.card_minor,
                "currency": "usd",
                "payment_intent": "pi_123",
                "status": status,
                "failure_reason": reason,
                "metadata": {"invoice": row.invoice.label, "refund": str(row.pk)},
            }
        },
    }


@pytest.fixture
def paid_by_card(people, settings):
    """A 50.00 invoice the buyer paid by card (PaymentIntent pi_123)."""
    settings.OUTTAKE_STRIPE_SECRET_KEY = "sk_test_123"
    settings.OUTTAKE_STRIPE_WEBHOOK_SECRET = SECRET
    settings.OUTTAKE_CARD_MAX = "100"
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    assert stripe_webhook(*signed(completed(invoice))).outcome == "paid"
    return invoice


def stripe_answers(monkeypatch, fake: FakeStripeRefunds) -> FakeStripeRefunds:
    monkeypatch.setattr("outtake.ledger.payments.RequestsClient", lambda: fake)
    return fake


def test_stripe_is_asked_once_the_refund_commits_and_pending_is_not_done(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    fake = stripe_answers(monkeypatch, FakeStripeRefunds("pending"))
    with django_capture_on_commit_callbacks(execute=True):
        row = refund(paid_by_card, reason="duplicate order", by=people.reviewer, amount_minor=2000)
        assert fake.requests == []  # nothing is asked while the ledger rows are locked
        assert (row.card_minor, row.card_status) == (2000, "sending")
    row.refresh_from_db()
    [(key, form)] = fake.requests
    assert key == row.card_key and form["metadata[refund]"] == str(row.pk)
    assert (form["payment_intent"], form["amount"]) == ("pi_123", "2000")
    assert (row.card_status, row.provider_reference) == ("pending", "re_1")
    note = Notification.objects.get(user=people.buyer, kind="refund")
    assert "20.00 USD goes back to your card" in note.body
    assert not Notification.objects.filter(kind="refund.transfer").exists()  # nothing by hand
    # Stripe tells the webhook when it is done; a late "pending" does not undo it.
    for n, status in enumerate(("succeeded", "pending")):
        event = refund_event(f"evt_r{n}", "refund.updated", row, status)
        assert stripe_webhook(*signed(event)).outcome == "refund succeeded"
    row.refresh_from_db()
    assert row.card_status == "succeeded"
    assert AuditEvent.objects.filter(kind="refund.card_status", subject_id=str(row.pk)).count() == 2
    assert balance(chart.cash("USD")).minor == 3000 and trial_balance() == {"USD": 0}


def test_a_refused_card_part_is_sent_by_transfer_and_the_next_refund_has_a_new_key(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    invoice, buyer = paid_by_card, people.buyer.organization
    disputed = (400, {"error": {"type": "invalid_request_error", "message": "Charge disputed"}})
    fake = stripe_answers(monkeypatch, FakeStripeRefunds(disputed))
    with django_capture_on_commit_callbacks(execute=True):
        row = refund(invoice, reason="duplicate order", by=people.reviewer, amount_minor=2000)
    row.refresh_from_db()
    assert row.card_status == "refused" and fake.refunds == []
    assert invoice.refunded_minor == 2000  # the refund stands; only its way back changed
    assert buyer_credit(buyer, "USD").minor == 2000  # held for the buyer, to transfer
    assert balance(chart.cash("USD")).minor == 5000  # nothing has left yet
    note = Notification.objects.get(user=people.reviewer, kind="refund.transfer")
    assert "Send 20.00 USD back" in note.subject and "Charge disputed" in note.body
    told = Notification.objects.filter(user=people.buyer, kind="refund").order_by("id").last()
    assert told.subject == "20.00 USD could not go back to your card"
    send_card_refund(row.pk, last_try=True)  # a retry of the job asks nothing more
    assert len(fake.requests) == 1
    with django_capture_on_commit_callbacks(execute=True):
        rest = refund(invoice, reason="the rest", by=people.reviewer)
    rest.refresh_from_db()
    assert rest.card_key != row.card_key  # Stripe would replay the refusal under the old one
    assert (rest.card_minor, rest.card_status) == (3000, "succeeded")
    assert [f["amount"] for _, f in fake.requests] == ["2000", "3000"]
    assert trial_balance() == {"USD": 0}


def test_a_lost_answer_is_asked_again_under_the_same_key_and_refunds_once(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    fake = stripe_answers(monkeypatch, FakeStripeRefunds("succeeded", lose=1))
    with django_capture_on_commit_callbacks(execute=True):  # the job times out: retried later
        row = refund(paid_by_card, reason="duplicate order", by=people.reviewer, amount_minor=2000)
    row.refresh_from_db()
    assert row.card_status == "sending" and len(fake.refunds) == 1
    send_card_refund(row.pk, last_try=False)  # the job's retry
    row.refresh_from_db()
    assert (row.card_status, row.provider_reference) == ("succeeded", "re_1")
    assert len(fake.refunds) == 1 and {key for key, _ in fake.requests} == {row.card_key}
    assert not Notification.objects.filter(user=people.reviewer).exists()
    row.card_minor = 2500  # the key with another amount: Stripe's idempotency_error, no answer
    with pytest.raises(NoAnswer, match="same parameters"):
        StripeCard().refund(card_payment(paid_by_card), row)


def test_a_webhook_settles_a_refund_whose_answer_was_lost(people, paid_by_card, monkeypatch):
    fake = stripe_answers(monkeypatch, FakeStripeRefunds("succeeded", lose=1))
    row = refund(paid_by_card, reason="duplicate order", by=people.reviewer, amount_minor=2000)
    with pytest.raises(NoAnswer):
        send_card_refund(row.pk, last_try=False)
    created = refund_event("evt_c", "refund.created", row, "succeeded")  # found by metadata
    assert stripe_webhook(*signed(created)).outcome == "refund succeeded"
    row.refresh_from_db()
    assert (row.card_status, row.provider_reference) == ("succeeded", "re_1")
    send_card_refund(row.pk, last_try=False)
    assert len(fake.requests) == 1


def test_without_an_answer_reviewers_look_and_may_send_it_by_transfer(
    client, people, paid_by_card, monkeypatch
):
    down = (500, {"error": {"type": "api_error", "message": "Something went wrong"}})
    fake = stripe_answers(monkeypatch, FakeStripeRefunds(down))
    row = refund(paid_by_card, reason="duplicate order", by=people.reviewer, amount_minor=2000)
    with pytest.raises(NoAnswer):
        send_card_refund(row.pk, last_try=False)
    send_card_refund(row.pk, last_try=True)  # Stripe replays its 500 under the key
    assert [key for key, _ in fake.requests] == [row.card_key] * 2 and fake.refunds == []
    note = Notification.objects.get(user=people.reviewer, kind="refund.card_unanswered")
    assert f"refund={row.pk}" in note.body and "Something went wrong" in note.body
    row.refresh_from_db()
    assert row.card_status == "sending"
    client.force_login(people.reviewer)
    client.post(
        "/admin/ledger/refund/", {"action": "card_part_not_made", "_selected_action": [row.pk]}
    )
    row.refresh_from_db()
    assert row.card_status == "refused"
    assert buyer_credit(people.buyer.organization, "USD").minor == 2000
    assert Notification.objects.filter(user=people.reviewer, kind="refund.transfer").exists()
    assert AuditEvent.objects.get(kind="refund.card_status").actor == people.reviewer
    send_card_refund(row.pk, last_try=True)
    assert len(fake.requests) == 2  # never asked again
    assert trial_balance() == {"USD": 0}


def test_a_card_refund_that_fails_later_is_sent_by_transfer_once(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = paid_by_card
    stripe_answers(monkeypatch, FakeStripeRefunds("pending"))
    with django_capture_on_commit_callbacks(execute=True):
        row = refund(invoice, reason="duplicate order", by=people.reviewer)
    row.refresh_from_db()
    failed = refund_event("evt_f", "refund.failed", row, "failed", "expired_or_canceled_card")
    for _ in range(2):  # Stripe delivers it again
        assert stripe_webhook(*signed(failed)).outcome == "refund failed"
    older_name = {**failed, "id": "evt_g", "type": "charge.refund.updated"}
    assert stripe_webhook(*signed(older_name)).outcome == "refund failed"
    row.refresh_from_db()
    assert row.card_status == "failed"
    assert JournalEntry.objects.filter(kind="refund.card_failed").count() == 1
    assert buyer_credit(people.buyer.organization, "USD").minor == 5000
    [note] = Notification.objects.filter(user=people.reviewer, kind="refund.transfer")
    assert "Send 50.00 USD back" in note.subject and "expired_or_canceled_card" in note.body
    assert not Notification.objects.filter(kind="payment.card_problem").exists()
    assert ProviderEvent.objects.get(event_id="evt_f").invoice == invoice
    assert trial_balance() == {"USD": 0}


def test_a_refund_made_in_stripe_itself_is_ignored(people, paid_by_card):
    row = Refund(invoice=paid_by_card, card_minor=100, provider_reference="re_elsewhere")
    event = refund_event("evt_x", "refund.updated", row, "succeeded")
    event["data"]["object"]["metadata"] = {}
    assert stripe_webhook(*signed(event)).outcome == "ignored"
    assert not Notification.objects.filter(user=people.reviewer).exists()


@pytest.mark.django_db(transaction=True)
def test_two_failure_events_at_once_move_the_card_part_once(people, paid_by_card, monkeypatch):
    require_postgres()
    stripe_answers(monkeypatch, FakeStripeRefunds("pending"))
    row = refund(paid_by_card, reason="duplicate order", by=people.reviewer)  # sent on commit
    row.refresh_from_db()
    assert row.card_status == "pending"
    failed = refund_event("evt_f", "refund.failed", row, "failed", "declined")
    older_name = {**failed, "id": "evt_g", "type": "charge.refund.updated"}
    run_together(
        lambda: stripe_webhook(*signed(failed)), lambda: stripe_webhook(*signed(older_name))
    )
    assert JournalEntry.objects.filter(kind="refund.card_failed").count() == 1
    assert buyer_credit(people.buyer.organization, "USD").minor == 5000
    assert Notification.objects.filter(user=people.reviewer, kind="refund.transfer").count() == 1
    assert trial_balance() == {"USD": 0}


def refused_then_made(people, invoice, monkeypatch, capture) -> Refund:
    """A 20.00 card part Stripe refused (moved to the buyer's credit)."""
    disputed = (400, {"error": {"type": "invalid_request_error", "message": "Charge disputed"}})
    stripe_answers(monkeypatch, FakeStripeRefunds(disputed))
    with capture(execute=True):
        row = refund(invoice, reason="duplicate order", by=people.reviewer, amount_minor=2000)
    row.refresh_from_db()
    assert row.card_status == "refused"
    assert buyer_credit(people.buyer.organization, "USD").minor == 2000
    return row


def test_a_card_refund_made_after_all_takes_the_credit_back_once(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    row = refused_then_made(people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks)
    row.provider_reference = "re_late"
    for n, status in enumerate(("pending", "requires_action")):  # not made yet: nothing changes
        stripe_webhook(*signed(refund_event(f"evt_p{n}", "refund.updated", row, status)))
    assert buyer_credit(people.buyer.organization, "USD").minor == 2000
    assert not Notification.objects.filter(kind="refund.card_late").exists()
    for n, kind in enumerate(("refund.created", "refund.updated", "charge.refund.updated")):
        event = refund_event(f"evt_s{n}", kind, row, "succeeded")
        assert stripe_webhook(*signed(event)).outcome == "refund succeeded"
    row.refresh_from_db()
    assert (row.card_status, row.provider_reference) == ("succeeded", "re_late")
    assert buyer_credit(people.buyer.organization, "USD").minor == 0  # nothing to transfer
    assert balance(chart.cash("USD")).minor == 3000  # the 20.00 left by card
    assert JournalEntry.objects.filter(kind="refund.card_failed.reversal").count() == 1
    [note] = Notification.objects.filter(user=people.reviewer, kind="refund.card_late")
    assert "do not send it" in note.body
    told = Notification.objects.filter(user=people.buyer, subject__contains="after all")
    assert told.count() == 1 and "not sent to you by bank transfer" in told.get().body
    late = AuditEvent.objects.get(kind="refund.card_late").data
    assert (late["credit_taken_back_minor"], late["to_recover_minor"]) == (2000, 0)
    assert trial_balance() == {"USD": 0}


def test_a_card_refund_made_after_its_credit_was_sent_tells_reviewers_to_recover_it(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    row = refused_then_made(people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks)
    refund_credit(people.buyer.organization, "USD", reason="card refused", by=people.reviewer)
    for n in range(2):
        stripe_webhook(*signed(refund_event(f"evt_s{n}", "refund.updated", row, "succeeded")))
    row.refresh_from_db()
    assert row.card_status == "succeeded"
    assert not JournalEntry.objects.filter(kind="refund.card_failed.reversal").exists()
    [note] = Notification.objects.filter(user=people.reviewer, kind="refund.card_late")
    assert note.subject.startswith("Recover 20.00 USD from") and "return 20.00 USD" in note.body
    told = Notification.objects.filter(user=people.buyer, subject__contains="after all")
    assert told.count() == 1 and "sent to you another way" in told.get().body
    late = AuditEvent.objects.get(kind="refund.card_late").data
    assert (late["credit_taken_back_minor"], late["to_recover_minor"]) == (0, 2000)
    assert trial_balance() == {"USD": 0}


def test_a_card_refund_made_after_part_of_its_credit_was_used_takes_back_the_rest(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    row = refused_then_made(people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks)
    apply_credit(sell(people.buyer, [(people.creators[0], 800)]), by=people.reviewer)
    assert buyer_credit(people.buyer.organization, "USD").minor == 1200
    stripe_webhook(*signed(refund_event("evt_s", "refund.updated", row, "succeeded")))
    assert buyer_credit(people.buyer.organization, "USD").minor == 0  # none left to send twice
    [note] = Notification.objects.filter(user=people.reviewer, kind="refund.card_late")
    assert note.subject.startswith("Recover 8.00 USD from") and "return 8.00 USD" in note.body
    assert "12.00 USD still held" in note.body
    told = Notification.objects.get(user=people.buyer, subject__contains="after all")
    assert "8.00 USD of it had also been sent to you another way" in told.body
    late = AuditEvent.objects.get(kind="refund.card_late").data
    assert (late["credit_taken_back_minor"], late["to_recover_minor"]) == (1200, 800)
    assert trial_balance() == {"USD": 0}


def test_a_card_refund_failing_again_after_its_late_success_is_owed_by_transfer_again(
    people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks
):
    row = refused_then_made(people, paid_by_card, monkeypatch, django_capture_on_commit_callbacks)
    row.provider_reference = "re_late"
    stripe_webhook(*signed(refund_event("evt_s1", "refund.updated", row, "succeeded")))
    assert buyer_credit(people.buyer.organization, "USD").minor == 0
    failed = refund_event("evt_f1", "refund.failed", row, "failed", reason="lost_or_stolen_card")
    stripe_webhook(*signed(failed))
    row.refresh_from_db()
    assert row.card_status == "failed"
    assert buyer_credit(people.buyer.organization, "USD").minor == 2000  # owed by transfer again
    stripe_webhook(*signed(refund_event("evt_s2", "refund.updated", row, "succeeded")))
    assert buyer_credit(people.buyer.organization, "USD").minor == 0  # the latest move taken back
    assert JournalEntry.objects.filter(kind="refund.card_failed").count() == 2
    assert JournalEntry.objects.filter(kind="refund.card_failed.reversal").count() == 2
    assert trial_balance() == {"USD": 0}


def refunded_hours_ago(people, invoice, hours: float, amount: int) -> Refund:
    """A refund whose card job was lost: it was never asked for."""
    row = refund(invoice, reason="duplicate order", by=people.reviewer, amount_minor=amount)
    Refund.objects.filter(pk=row.pk).update(at=timezone.now() - timedelta(hours=hours))
    return row


def test_card_refunds_whose_job_was_lost_are_asked_for_again_then_told_to_reviewers(
    people, paid_by_card, monkeypatch
):
    fake = stripe_answers(monkeypatch, FakeStripeRefunds())
    lost = refunded_hours_ago(people, paid_by_card, 7, 1000)
    too_old = refunded_hours_ago(people, paid_by_card, 21, 1500)
    just_made = refunded_hours_ago(people, paid_by_card, 0, 500)  # its job is still on it
    retrying = refunded_hours_ago(people, paid_by_card, 5, 700)  # its job's last tries are later
    for _ in range(2):  # two hourly sweeps
        ask_again_for_waiting_card_refunds.call_local()
    for row in (lost, too_old, just_made, retrying):
        row.refresh_from_db()
    assert (lost.card_status, lost.provider_reference) == ("succeeded", "re_1")
    assert [key for key, _ in fake.requests] == [lost.card_key]  # asked under its own key
    assert too_old.card_status == just_made.card_status == retrying.card_status == "sending"
    [note] = Notification.objects.filter(user=people.reviewer, kind="refund.card_unanswered")
    assert f"refund={too_old.pk}" in note.body and "not asked again" in note.body
    send_card_refund(too_old.pk, last_try=False)  # a job still retrying it past the hour
    assert len(fake.requests) == 1
    assert Notification.objects.filter(kind="refund.card_unanswered").count() == 1


def test_a_sweep_asks_once_and_leaves_no_chain_of_retries_behind(people, paid_by_card, monkeypatch):
    from huey.contrib.djhuey import HUEY

    # Stripe makes the refund but its answer is lost: the next sweep's ask gets it replayed.
    fake = stripe_answers(monkeypatch, FakeStripeRefunds("succeeded", lose=1))
    lost = refunded_hours_ago(people, paid_by_card, 7, 1000)
    queued = len(HUEY.scheduled())  # other tests' retries stay in the in-memory queue
    for sweep in range(2):
        ask_again_for_waiting_card_refunds.call_local()
        assert len(fake.requests) == sweep + 1  # one ask a sweep
        assert len(HUEY.scheduled()) == queued  # no retries to pile onto the next sweep's
    lost.refresh_from_db()
    assert {key for key, _ in fake.requests} == {lost.card_key}
    assert (lost.card_status, lost.provider_reference) == ("succeeded", "re_1")
    assert len(fake.refunds) == 1


def test_one_refund_failing_in_the_sweep_does_not_keep_the_others_from_being_asked(
    people, paid_by_card, monkeypatch
):
    from outtake.ledger import card_refunds

    fake = stripe_answers(monkeypatch, FakeStripeRefunds())
    broken = refunded_hours_ago(people, paid_by_card, 8, 500)
    lost = refunded_hours_ago(people, paid_by_card, 7, 1000)
    real = card_refunds.send_card_refund

    def send(refund_id, *, last_try):
        if refund_id == broken.pk:
            raise RuntimeError("a bug in one refund's data")
        return real(refund_id, last_try=last_try)

    monkeypatch.setattr(card_refunds, "send_card_refund", send)
    ask_again_for_waiting_card_refunds.call_local()
    lost.refresh_from_db()
    assert lost.card_status == "succeeded"
    assert [key for key, _ in fake.requests] == [lost.card_key]
