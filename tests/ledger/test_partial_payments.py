from datetime import timedelta

import pytest
from django.utils import timezone

from outtake.ledger import chart
from outtake.ledger.invoices import invoice_document
from outtake.ledger.models import BankLine, Invoice, Payment
from outtake.ledger.payouts import run_payouts
from outtake.ledger.reconcile import import_statement, parse_csv
from outtake.ledger.services import (
    LedgerError,
    apply_credit,
    balance,
    buyer_credit,
    refund,
    refund_credit,
    trial_balance,
)
from outtake.ledger.statements import statement
from outtake.market.models import License
from outtake.notices.models import Notification
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db
HEADER = "date,amount,currency,reference,counterparty,bank_transaction_id\n"


def transfer(invoice: Invoice, amount: str, tx: str) -> str:
    return HEADER + f"2026-11-10,{amount},USD,{invoice.label},Lab,{tx}\n"


def owed(user) -> tuple[int, int]:
    org = user.organization
    return (
        -balance(chart.creator_pending(org, "USD")).minor,
        -balance(chart.creator_payable(org, "USD")).minor,
    )


def test_an_invoice_paid_in_two_transfers_is_paid_when_they_reach_the_total(people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    import_statement(parse_csv(transfer(invoice, "12.00", "TX-A")), by=people.reviewer)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.received_minor, invoice.due_minor) == ("open", 1200, 800)
    assert License.objects.get(pk=invoice.license_id).status != License.Status.PAID
    assert owed(creator) == (1700, 0)  # nothing payable before the buyer has paid it all
    now = timezone.now()
    day = timedelta(days=1)
    [sale] = statement(creator.organization, now - day, now + day).lines
    assert (sale.kind, sale.status) == ("sale", "pending")
    note = Notification.objects.get(user=people.buyer, kind="payment.partial")
    assert "8.00 USD still due" in note.subject
    doc = invoice_document(invoice)
    assert (doc["received"]["minor"], doc["due"]["minor"]) == (1200, 800)
    assert doc["payment_instructions"].startswith("Pay 8.00 USD by bank transfer")

    import_statement(parse_csv(transfer(invoice, "8.00", "TX-B")), by=people.reviewer)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.due_minor) == (Invoice.Status.PAID, 0)
    assert License.objects.get(pk=invoice.license_id).status == License.Status.PAID
    assert owed(creator) == (0, 1700)
    assert [b.payment.amount_minor for b in BankLine.objects.order_by("id")] == [1200, 800]
    assert balance(chart.buyer_receivable(people.buyer.organization, "USD")).minor == 0
    assert trial_balance() == {"USD": 0}


def test_an_over_payment_becomes_credit_to_apply_or_refund(people):
    org = people.buyer.organization
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    import_statement(parse_csv(transfer(invoice, "25.00", "TX-OVER")), by=people.reviewer)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.received_minor == 2500
    assert buyer_credit(org, "USD").minor == 500 and balance(chart.cash("USD")).minor == 2500
    assert Notification.objects.filter(user=people.buyer, kind="payment.credit").exists()
    assert Notification.objects.filter(user=people.reviewer, kind="payment.credit").exists()

    # Applied to the next invoice: 3.00 of the credit pays it in full, without new cash.
    small = sell(people.buyer, [(creator, 300)])
    payment = apply_credit(small, by=people.reviewer)
    assert (payment.method, payment.amount_minor) == (Payment.Method.CREDIT, 300)
    small.refresh_from_db()
    assert small.status == Invoice.Status.PAID
    assert License.objects.get(pk=small.license_id).status == License.Status.PAID
    assert buyer_credit(org, "USD").minor == 200 and balance(chart.cash("USD")).minor == 2500
    assert owed(creator) == (0, 1700 + 255)

    # What is left part-pays a larger invoice, then goes no further.
    big = sell(people.buyer, [(creator, 1000)])
    apply_credit(big, by=people.reviewer)
    big.refresh_from_db()
    assert (big.status, big.due_minor) == (Invoice.Status.OPEN, 800)
    with pytest.raises(LedgerError, match="no credit"):
        apply_credit(big, by=people.reviewer)
    with pytest.raises(PermissionError):
        apply_credit(big, by=people.buyer)
    assert trial_balance() == {"USD": 0}


def test_credit_is_refunded_to_the_buyer(people):
    org = people.buyer.organization
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    pay_more = transfer(invoice, "20.75", "TX-1")
    import_statement(parse_csv(pay_more), by=people.reviewer)
    with pytest.raises(LedgerError, match="reason"):
        refund_credit(org, "USD", reason=" ", by=people.reviewer)
    with pytest.raises(PermissionError):
        refund_credit(org, "USD", reason="mine", by=people.buyer)
    assert refund_credit(org, "USD", reason="paid twice", by=people.reviewer).minor == 75
    assert buyer_credit(org, "USD").minor == 0 and balance(chart.cash("USD")).minor == 2000
    with pytest.raises(LedgerError, match="no credit"):
        refund_credit(org, "USD", reason="again", by=people.reviewer)
    assert trial_balance() == {"USD": 0}


def test_a_refund_after_payout_shows_a_negative_balance_until_recovered(people):
    creator = people.creators[0]
    org = creator.organization
    start = timezone.now() - timedelta(seconds=1)
    first = sell(people.buyer, [(creator, 2000)])
    pay(first, people.reviewer)
    run_payouts()
    refund(first, reason="licence breach", by=people.reviewer)
    st = statement(org, start, timezone.now() + timedelta(seconds=1))
    assert st.closing.minor == -1700 and st.clawback.minor == 1700
    assert [ln.kind for ln in st.lines] == ["sale", "payout", "refund"]
    pay(sell(people.buyer, [(creator, 3000)]), people.reviewer)  # 25.50 earned
    st = statement(org, start, timezone.now() + timedelta(seconds=1))
    assert st.closing.minor == 2550 - 1700 and st.clawback.minor == 0
    assert st.of_kind("clawback recovered")


def test_reviewers_settle_the_rest_and_move_credit_in_the_admin(client, people):
    org = people.buyer.organization
    part_paid = sell(people.buyer, [(people.creators[0], 2000)])
    import_statement(parse_csv(transfer(part_paid, "12.00", "TX-A")), by=people.reviewer)
    client.force_login(people.reviewer)
    listing = client.get("/admin/ledger/invoice/").content.decode()
    assert "8.00 USD" in listing  # still due
    url = "/admin/ledger/invoice/"
    client.post(
        url,
        {
            "action": "mark_transfer_received",
            "_selected_action": [part_paid.pk],
            "apply": "1",
            "reference": "wire 2",
        },
    )
    part_paid.refresh_from_db()
    assert part_paid.status == Invoice.Status.PAID and part_paid.received_minor == 2000
    assert buyer_credit(org, "USD").minor == 0  # the rest, not the whole amount again

    over = sell(people.buyer, [(people.creators[1], 1000)])
    import_statement(parse_csv(transfer(over, "15.00", "TX-B")), by=people.reviewer)
    later = sell(people.buyer, [(people.creators[1], 300)])
    client.post(url, {"action": "apply_buyer_credit", "_selected_action": [later.pk]})
    later.refresh_from_db()
    assert later.status == Invoice.Status.PAID and buyer_credit(org, "USD").minor == 200
    asked = client.post(url, {"action": "refund_buyer_credit", "_selected_action": [later.pk]})
    assert "reason" in asked.content.decode() and buyer_credit(org, "USD").minor == 200
    client.post(
        url,
        {
            "action": "refund_buyer_credit",
            "_selected_action": [later.pk],
            "apply": "1",
            "reason": "over-paid TX-B",
        },
    )
    assert buyer_credit(org, "USD").minor == 0
    told = Notification.objects.get(user=people.buyer, kind="credit.refunded")
    assert told.body == "over-paid TX-B" and people.reviewer.email not in told.body
    assert trial_balance() == {"USD": 0}
