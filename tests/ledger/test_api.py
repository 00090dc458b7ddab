import pytest
from django.test import Client

from outtake.accounts.services import create_token
from outtake.ledger.models import Invoice, Payment, Payout
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {user.raw_token}"})


def test_invoice_statement_and_payout_endpoints(people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    doc = api(people.buyer).get(f"/api/invoices/{invoice.pk}").json()
    assert doc["number"] == invoice.label and doc["outtake_fee"]["minor"] == 300
    assert api(people.buyer).get(f"/api/invoices/{invoice.pk}/pdf")["Content-Type"] == (
        "application/pdf"
    )
    assert api(creator).get(f"/api/invoices/{invoice.pk}").status_code == 404

    csv = (
        "date,amount,currency,reference,counterparty,bank_transaction_id\n"
        f"2026-11-02,20.00,USD,{invoice.label},Lab,TX-9\n"
    )
    assert (
        api(people.buyer)
        .post("/api/bank-statements", {"csv": csv}, content_type="application/json")
        .status_code
        == 403  # a buyer's token holds no finance scope
    )
    report = (
        api(people.reviewer)
        .post("/api/bank-statements", {"csv": csv}, content_type="application/json")
        .json()
    )
    assert report["matched"] == [{"bank_transaction_id": "TX-9", "invoice": invoice.label}]

    run = api(people.reviewer).post("/api/payouts/run").json()
    assert [p["gross_minor"] for p in run["sent"]] == [1700]
    assert [p["creator"] for p in api(creator).get("/api/payouts").json()] == [
        creator.organization.pseudonym
    ]
    st = (
        api(creator)
        .get("/api/statement", {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"})
        .json()
    )
    assert [ln["kind"] for ln in st["lines"]] == ["sale", "payout"]
    assert st["closing"]["minor"] == 0

    refunded = api(people.reviewer).post(
        f"/api/invoices/{invoice.pk}/refund", {"reason": "breach"}, content_type="application/json"
    )
    assert refunded.status_code == 201 and refunded.json()["status"] == Invoice.Status.REFUNDED


def test_paid_invoice_cannot_be_refunded_twice_via_api(people):
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    pay(invoice, people.reviewer)
    url = f"/api/invoices/{invoice.pk}/refund"
    client = api(people.reviewer)
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 201
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 400


def test_a_read_only_reviewer_token_cannot_move_money(people):
    """Refunds, payments, payout runs and statement imports need the finance scope."""
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    read_only = Client(
        headers={"Authorization": f"Bearer {create_token(people.reviewer, 'ro', ['read']).raw}"}
    )
    csv = (
        "date,amount,currency,reference,counterparty,bank_transaction_id\n"
        f"2026-11-02,20.00,USD,{invoice.label},Lab,TX-1\n"
    )
    calls = [
        (f"/api/invoices/{invoice.pk}/payments", {"amount_minor": 2000}),
        ("/api/bank-statements", {"csv": csv}),
        ("/api/payouts/run", {}),
        (f"/api/invoices/{invoice.pk}/refund", {"reason": "x"}),
    ]
    for url, body in calls:
        assert read_only.post(url, body, content_type="application/json").status_code == 403
    assert not Payment.objects.exists() and not Payout.objects.exists()
    assert read_only.get(f"/api/invoices/{invoice.pk}").status_code == 200
    paid = api(people.reviewer).post(
        f"/api/invoices/{invoice.pk}/payments",
        {"amount_minor": 2000},
        content_type="application/json",
    )
    assert paid.status_code == 201  # the reviewer's default token holds finance
