"""Stripe card payments for small orders: the Checkout Session request Stripe documents, the
signed webhook, and one posting per event id, also when Stripe delivers it twice at once."""

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from outtake.ledger import chart
from outtake.ledger.invoices import invoice_document
from outtake.ledger.models import CardCheckout, Invoice, Payment, ProviderEvent
from outtake.ledger.payments import PROVIDERS, SignatureError, StripeCard, stripe_webhook
from outtake.ledger.payouts import HttpResponse
from outtake.ledger.services import (
    LedgerError,
    balance,
    record_payment,
    trial_balance,
    void,
)
from outtake.notices.models import Notification
from tests.ledger.conftest import require_postgres, run_together, sell

SECRET = "whsec_test_secret"
STRIPE = override_settings(
    OUTTAKE_STRIPE_SECRET_KEY="sk_test_123",
    OUTTAKE_STRIPE_WEBHOOK_SECRET=SECRET,
    OUTTAKE_CARD_MAX="100",
)


class FakeStripeCheckout:
    """Checks each request is Stripe's documented "create a Checkout Session": a form-encoded
    POST to /v1/checkout/sessions, bearer key, Idempotency-Key, mode=payment and one
    line item with inline price_data; answers like Stripe."""

    def __init__(self, status: int = 200, expire_answers=()):
        self.status = status
        self.expire_answers = list(expire_answers)  # (status, body) for the first expires
        self.saved: dict[str, HttpResponse] = {}  # the answer under each Idempotency-Key
        self.requests: list[dict] = []
        self.expired: list[str] = []

    def post(self, url, *, body, headers):
        key = headers.get("Idempotency-Key")
        if key in self.saved:  # Stripe replays a key's first answer, errors included
            return self.saved[key]
        answer = self._answer(url, body, headers)
        if key:
            self.saved[key] = answer
        return answer

    def _answer(self, url, body, headers):
        if url.endswith("/expire"):  # "expire a Checkout Session": an empty form POST
            assert url.startswith("https://api.stripe.com/v1/checkout/sessions/cs_test_")
            assert body == b""
            if self.expire_answers:
                status, answer = self.expire_answers.pop(0)
                return HttpResponse(status, json.dumps(answer).encode())
            self.expired.append(url.split("/")[-2])
            return HttpResponse(200, json.dumps({"status": "expired"}).encode())
        assert url == "https://api.stripe.com/v1/checkout/sessions"
        assert headers["Authorization"] == "Bearer sk_test_123"
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert headers["Idempotency-Key"]
        form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
        assert form["mode"] == "payment" and form["line_items[0][quantity]"] == "1"
        assert form["line_items[0][price_data][currency]"] in ("usd", "eur")
        assert form["line_items[0][price_data][unit_amount]"].isdigit()
        assert form["line_items[0][price_data][product_data][name]"]
        assert form["success_url"].startswith("http") and form["cancel_url"].startswith("http")
        self.requests.append(form)
        if self.status != 200:
            error = {"error": {"type": "invalid_request_error", "message": "No such thing"}}
            return HttpResponse(self.status, json.dumps(error).encode())
        n = len(self.requests)
        answer = {
            "id": f"cs_test_{n}",
            "object": "checkout.session",
            "url": f"https://checkout.stripe.com/c/pay/cs_test_{n}",
        }
        return HttpResponse(200, json.dumps(answer).encode())


def signed(event: dict, secret: str = SECRET, t: int | None = None) -> tuple[bytes, str]:
    """An event body and the Stripe-Signature header Stripe would send with it."""
    payload = json.dumps(event).encode()
    t = int(time.time()) if t is None else t
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={t},v1={v1},v0=ignored"


def completed(invoice: Invoice, event_id: str = "evt_1", amount: int | None = None) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "payment_status": "paid",
                "amount_total": invoice.amount_minor if amount is None else amount,
                "currency": invoice.currency.lower(),
                "client_reference_id": invoice.label,
                "metadata": {"invoice": invoice.label},
                "payment_intent": "pi_123",
            }
        },
    }


@pytest.fixture
def no_delivery(monkeypatch):
    monkeypatch.setattr("outtake.delivery.services.start_delivery", lambda lic: None)


@pytest.mark.django_db
@STRIPE
def test_checkout_session_request_and_reuse(people):
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    fake = FakeStripeCheckout()
    first = StripeCard(http=fake).checkout(invoice)
    assert first.url == "https://checkout.stripe.com/c/pay/cs_test_1"
    [form] = fake.requests
    assert form["line_items[0][price_data][unit_amount]"] == "5000"
    assert form["metadata[invoice]"] == invoice.label == form["client_reference_id"]
    assert StripeCard(http=fake).checkout(invoice) == first and len(fake.requests) == 1
    assert "pay-by-card" in invoice_document(invoice)["payment_instructions"]


@pytest.mark.django_db
@STRIPE
def test_a_part_payment_closes_the_open_checkout_and_the_next_asks_what_is_due(people):
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    fake = FakeStripeCheckout()
    first = StripeCard(http=fake).checkout(invoice)
    record_payment(invoice, amount_minor=2000, reference="BANK-1", by=people.reviewer)
    invoice.refresh_from_db()
    second = StripeCard(http=fake).checkout(invoice)
    assert second != first and fake.expired == [first.session_id]
    assert [f["line_items[0][price_data][unit_amount]"] for f in fake.requests] == ["5000", "3000"]
    assert StripeCard(http=fake).checkout(invoice) == second and len(fake.requests) == 2


@pytest.mark.django_db
@STRIPE
def test_closing_a_checkout_after_a_stripe_500_is_asked_afresh_not_replayed(people):
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    down = (500, {"error": {"type": "api_error", "message": "Something went wrong"}})
    fake = FakeStripeCheckout(expire_answers=[down])
    first = StripeCard(http=fake).checkout(invoice)
    record_payment(invoice, amount_minor=2000, reference="BANK-1", by=people.reviewer)
    invoice.refresh_from_db()
    with pytest.raises(LedgerError, match="Something went wrong"):
        StripeCard(http=fake).checkout(invoice)  # the old page is not closed: no new one
    assert fake.expired == [] and len(fake.requests) == 1
    second = StripeCard(http=fake).checkout(invoice)  # the buyer tries again
    assert fake.expired == [first.session_id] and second.amount_minor == 3000


@pytest.mark.django_db
@STRIPE
def test_a_part_payment_or_a_void_closes_the_open_card_page_once_it_commits(
    people, monkeypatch, django_capture_on_commit_callbacks
):
    fake = FakeStripeCheckout()
    monkeypatch.setattr("outtake.ledger.payments.RequestsClient", lambda: fake)
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    first = StripeCard().checkout(invoice)
    with django_capture_on_commit_callbacks(execute=True):
        record_payment(invoice, amount_minor=2000, reference="BANK-1", by=people.reviewer)
        assert fake.expired == []  # no HTTP call inside the payment's transaction
    assert fake.expired == [first.session_id]  # the buyer cannot pay 50.00 on it any more
    invoice.refresh_from_db()
    second = StripeCard().checkout(invoice)
    assert second.amount_minor == 3000
    with django_capture_on_commit_callbacks(execute=True):
        void(invoice, reason="the lab withdrew", by=people.reviewer)
    assert fake.expired[-1] == second.session_id  # nor pay a cancelled invoice
    assert set(fake.expired) == {first.session_id, second.session_id}


@pytest.mark.django_db
@STRIPE
def test_cards_are_for_small_orders_only(people):
    big = sell(people.buyer, [(people.creators[0], 10001)])
    with pytest.raises(LedgerError, match="bank transfer"):
        StripeCard(http=FakeStripeCheckout()).checkout(big)
    assert "pay-by-card" not in invoice_document(big)["payment_instructions"]
    small = sell(people.buyer, [(people.creators[0], 100)])
    with pytest.raises(LedgerError, match="No such thing"):
        StripeCard(http=FakeStripeCheckout(status=400)).checkout(small)


@pytest.mark.django_db
def test_signature_scheme():
    payload, header = signed({"id": "evt_x"})
    now = int(header.split(",")[0][2:])
    assert StripeCard.verify(payload, header, SECRET, now)["id"] == "evt_x"
    with pytest.raises(SignatureError, match="does not match"):
        StripeCard.verify(payload + b" ", header, SECRET, now)
    with pytest.raises(SignatureError, match="does not match"):
        StripeCard.verify(payload, header, "whsec_other", now)
    with pytest.raises(SignatureError, match="too old"):
        StripeCard.verify(payload, header, SECRET, now + 301)
    with pytest.raises(SignatureError, match="malformed"):
        StripeCard.verify(payload, "v1=abc", SECRET, now)


@pytest.mark.django_db
@STRIPE
def test_webhook_pays_once_and_delivery_starts(client, people, no_delivery):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 5000)])
    payload, header = signed(completed(invoice))
    for _ in range(2):  # Stripe retries deliveries
        r = client.post(
            "/api/payments/stripe/webhook",
            payload,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )
        assert r.status_code == 200 and r.json()["outcome"] == "paid"
    invoice.refresh_from_db()
    payment = invoice.payments.get()
    assert invoice.status == "paid" and payment.method == "card" and payment.recorded_by is None
    assert payment.provider_reference == "pi_123"  # to refund it through Stripe
    assert -balance(chart.creator_payable(creator.organization, "USD")).minor == 4250
    assert ProviderEvent.objects.count() == 1 and trial_balance() == {"USD": 0}
    forged = client.post(
        "/api/payments/stripe/webhook",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": header.replace("v1=", "v1=0")},
    )
    assert forged.status_code == 400


@pytest.mark.django_db
@STRIPE
def test_wrong_amount_and_double_payment_go_to_a_human(people, no_delivery):
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    wrong = stripe_webhook(*signed(completed(invoice, "evt_a", amount=4999)))
    assert "is for" in wrong.outcome and Payment.objects.count() == 0
    assert stripe_webhook(*signed(completed(invoice, "evt_b"))).outcome == "paid"
    twice = stripe_webhook(*signed(completed(invoice, "evt_c")))
    assert "already paid" in twice.outcome and Payment.objects.count() == 1
    assert Notification.objects.filter(kind="payment.card_problem").count() == 2
    other = {**completed(invoice, "evt_d"), "type": "payment_intent.created"}
    assert stripe_webhook(*signed(other)).outcome == "ignored"


@pytest.mark.django_db
@STRIPE
def test_buyer_page_redirects_to_checkout(client, people, monkeypatch):
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    fake = FakeStripeCheckout()
    monkeypatch.setattr("outtake.ledger.payments.RequestsClient", lambda: fake)
    client.force_login(people.buyer)
    r = client.get(f"/invoices/{invoice.pk}/pay-by-card/")
    assert r.status_code == 302 and r["Location"].startswith("https://checkout.stripe.com/")
    client.force_login(people.creators[0])
    assert client.get(f"/invoices/{invoice.pk}/pay-by-card/").status_code == 403


@pytest.mark.django_db(transaction=True)
@STRIPE
def test_same_event_delivered_twice_at_once_posts_once(people, no_delivery):
    require_postgres()
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    payload, header = signed(completed(invoice, "evt_race"))
    rows = run_together(
        lambda: stripe_webhook(payload, header), lambda: stripe_webhook(payload, header)
    )
    assert {r.pk for r in rows} == {ProviderEvent.objects.get().pk}
    assert Payment.objects.count() == 1
    assert balance(chart.cash("USD")).minor == 5000
    assert trial_balance() == {"USD": 0}


class OtherCards:
    """A card provider other than Stripe, configured by settings."""

    name = "other_cards"

    def instructions(self, invoice):
        return "Or pay with Other Cards."

    def cannot_pay(self, invoice):
        return ""

    def checkout(self, invoice):
        return CardCheckout.objects.get_or_create(
            invoice=invoice, session_id=f"oc_{invoice.pk}", url="https://pay.example/oc"
        )[0]

    def expire_checkouts(self, invoice):
        pass


@pytest.mark.django_db
def test_card_checkout_goes_through_the_configured_provider(client, people, monkeypatch):
    monkeypatch.setitem(PROVIDERS, OtherCards.name, OtherCards)
    invoice = sell(people.buyer, [(people.creators[0], 5000)])
    with override_settings(OUTTAKE_CARD_PROVIDER=OtherCards.name):
        client.force_login(people.buyer)
        r = client.get(f"/invoices/{invoice.pk}/pay-by-card/")
        assert r.status_code == 302 and r["Location"] == "https://pay.example/oc"
        api = client.post(f"/api/invoices/{invoice.pk}/card-checkout")
        assert api.json() == {"session_id": f"oc_{invoice.pk}", "url": "https://pay.example/oc"}
        assert invoice_document(invoice)["payment_instructions"].endswith("Other Cards.")
    # Stripe without a key: the buyer is told, not shown an error page.
    r = client.get(f"/invoices/{invoice.pk}/pay-by-card/")
    assert r.status_code == 302 and r["Location"] == f"/licenses/{invoice.license_id}/"
    [told] = get_messages(r.wsgi_request)
    assert "card payments are not configured" in str(told)
