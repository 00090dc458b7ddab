"""Refunds in part and in full, voided invoices, and what they do to the license: a full
refund or a cancellation ends it (no more downloads or pushes, exclusive clips back in the
catalogue), a partial refund ends it only when the reviewer says so."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.core.money import Money
from outtake.delivery.models import Delivery
from outtake.delivery.push import PushError, start_push
from outtake.delivery.services import DeliveryError, download_links
from outtake.ledger import chart
from outtake.ledger.models import Invoice, Refund
from outtake.ledger.services import (
    LedgerError,
    apply_credit,
    balance,
    buyer_credit,
    issue_invoice,
    refund,
    refund_parts,
    sale_shares,
    trial_balance,
    void,
)
from outtake.ledger.statements import statement
from outtake.market.models import License
from outtake.market.services import available_clips, mark_paid
from outtake.notices.models import Notification
from tests.factories import license_for, ready_clip
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def owed(user) -> int:
    """What Outtake owes the creator: pending + payable - clawback."""
    org = user.organization
    return (
        -balance(chart.creator_pending(org, "USD")).minor
        - balance(chart.creator_payable(org, "USD")).minor
        - balance(chart.creator_clawback(org, "USD")).minor
    )


def test_a_full_refund_ends_the_license(people, make_user):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    lic = invoice.license
    License.objects.filter(pk=lic.pk).update(exclusive=True)
    [clip_id] = lic.items.values_list("clip_id", flat=True)
    pay(invoice, people.reviewer)
    delivery = Delivery.objects.filter(license=lic).first() or Delivery.objects.create(license=lic)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.READY)
    delivery.refresh_from_db()
    assert download_links(people.buyer, delivery)[0]  # in force: links are given
    other_lab = make_user("buyer").organization
    assert not available_clips(other_lab).filter(pk=clip_id).exists()

    refund(invoice, reason="footage not as described", by=people.reviewer)
    lic.refresh_from_db()
    invoice.refresh_from_db()
    assert lic.status == License.Status.REFUNDED and not lic.in_force
    assert invoice.status == Invoice.Status.REFUNDED
    delivery.refresh_from_db()
    with pytest.raises(DeliveryError):
        download_links(people.buyer, delivery)
    with pytest.raises(PushError):
        start_push(people.buyer, delivery, bucket="lab-bucket")
    assert available_clips(other_lab).filter(pk=clip_id).exists()  # back in the catalogue
    ended = AuditEvent.objects.get(kind="license.ended")
    assert ended.data["status"] == "refunded" and ended.data["reason"] == "footage not as described"
    buyer_kinds = set(Notification.objects.filter(user=people.buyer).values_list("kind", flat=True))
    assert {"refund", "license.ended"} <= buyer_kinds
    creator_notes = Notification.objects.filter(user=creator)
    assert creator_notes.filter(kind="refund", body__contains="footage not as described").exists()
    assert creator_notes.filter(kind="license.ended", subject__contains="back in the catalogue")
    assert trial_balance() == {"USD": 0}


def test_partial_refunds_share_by_largest_remainder_and_never_exceed_what_was_paid(
    people, make_user
):
    c1, c2 = people.creators
    c3 = make_user("creator")
    invoice = sell(people.buyer, [(c1, 3333), (c2, 3333), (c3, 3334)])
    pay(invoice, people.reviewer)
    shares, fee = sale_shares(invoice.license)
    assert [shares[u.organization].minor for u in (c1, c2, c3)] + [fee.minor] == [
        2833,
        2833,
        2834,
        1500,
    ]
    parts, fee_part = refund_parts(invoice, Money(1000))
    assert [parts[u.organization].minor for u in (c1, c2, c3)] + [fee_part.minor] == [
        283,
        283,
        284,  # the largest remainder (283.4) takes the odd cent
        150,
    ]
    refund(invoice, reason="three clips were blurred", by=people.reviewer, amount_minor=1000)
    for _ in range(3):  # cent by cent: no one is rounded below zero
        refund(invoice, reason="goodwill", by=people.reviewer, amount_minor=1)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.refunded_minor == 1003
    assert invoice.license.status == License.Status.PAID  # a partial refund keeps it in force
    with pytest.raises(LedgerError, match=r"only 89\.97 USD"):
        refund(invoice, reason="too much", by=people.reviewer, amount_minor=8998)
    refund(invoice, reason="the rest", by=people.reviewer)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REFUNDED and invoice.refunded_minor == 10000
    assert [owed(u) for u in (c1, c2, c3)] == [0, 0, 0]  # every cent of every share back
    assert balance(chart.fee_revenue("USD")).minor + balance(chart.fee_refunds("USD")).minor == 0
    assert balance(chart.cash("USD")).minor == 0
    assert invoice.license.status == License.Status.REFUNDED
    assert Refund.objects.filter(invoice=invoice).count() == 5
    with pytest.raises(LedgerError):
        refund(invoice, reason="again", by=people.reviewer, amount_minor=1)
    assert trial_balance() == {"USD": 0}


def test_a_partial_refund_ends_the_license_when_the_reviewer_says_so(people):
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    pay(invoice, people.reviewer)
    row = refund(
        invoice, reason="licence breach", by=people.reviewer, amount_minor=500, end_license=True
    )
    invoice.refresh_from_db()
    assert row.ended_license and invoice.status == Invoice.Status.PAID
    assert invoice.license.status == License.Status.REFUNDED
    assert owed(people.creators[0]) == 1700 - 425


def test_only_reviewers_refund(people):
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    pay(invoice, people.reviewer)
    with pytest.raises(PermissionError):
        refund(invoice, reason="please", by=people.buyer)


def test_voiding_an_unpaid_invoice_cancels_its_license(people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    with pytest.raises(LedgerError, match="reason"):
        void(invoice, reason=" ", by=people.reviewer)
    assert void(invoice, reason="the lab withdrew", by=people.reviewer) is None
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID and invoice.due_minor == 0
    assert invoice.license.status == License.Status.CANCELLED
    assert owed(creator) == 0
    assert balance(chart.buyer_receivable(people.buyer.organization, "USD")).minor == 0
    assert Notification.objects.filter(user=creator, kind="sale.cancelled").exists()
    st = statement(creator.organization, timezone.now() - timedelta(days=1), timezone.now())
    assert [(ln.kind, ln.amount.minor) for ln in st.lines] == [("sale", 1700), ("cancelled", -1700)]
    assert st.closing.minor == 0
    assert AuditEvent.objects.filter(kind="invoice.voided").exists()
    with pytest.raises(LedgerError, match="only open invoices"):
        void(invoice, reason="again", by=people.reviewer)
    with pytest.raises(LedgerError):
        mark_paid(invoice, amount_minor=2000, reference="late", by=people.reviewer)
    assert trial_balance() == {"USD": 0}


def test_voiding_a_part_paid_invoice_gives_the_part_payments_back(people):
    org = people.buyer.organization
    over = sell(people.buyer, [(people.creators[1], 1000)])
    mark_paid(over, amount_minor=1500, reference="over", by=people.reviewer)  # 5.00 credit
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    mark_paid(invoice, amount_minor=700, reference="wire 1", by=people.reviewer)
    apply_credit(invoice, by=people.reviewer)  # 5.00 from credit
    cash_before = balance(chart.cash("USD")).minor
    row = void(invoice, reason="the lab withdrew", by=people.reviewer)
    assert row.amount_minor == 1200
    assert balance(chart.cash("USD")).minor == cash_before - 700  # the reviewer sends 7.00
    assert buyer_credit(org, "USD").minor == 500  # credit goes back to credit
    assert balance(chart.buyer_receivable(org, "USD")).minor == 0
    assert owed(people.creators[0]) == 0
    note = Notification.objects.get(user=people.reviewer, kind="refund.transfer")
    assert "7.00 USD" in note.subject
    assert trial_balance() == {"USD": 0}


def test_a_bank_paid_refund_tells_the_reviewer_to_send_it(people):
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    pay(invoice, people.reviewer)
    row = refund(invoice, reason="wrong clips", by=people.reviewer, amount_minor=800)
    assert row.card_minor == 0
    note = Notification.objects.get(user=people.reviewer, kind="refund.transfer")
    assert "Send 8.00 USD back" in note.subject


def test_the_admin_asks_for_a_reason_and_never_tells_creators_who_refunded(client, people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    pay(invoice, people.reviewer)
    client.force_login(people.reviewer)
    url = "/admin/ledger/invoice/"
    asked = client.post(url, {"action": "refund_invoices", "_selected_action": [invoice.pk]})
    assert 'name="reason"' in asked.content.decode() and not Refund.objects.exists()
    client.post(
        url,
        {
            "action": "refund_invoices",
            "_selected_action": [invoice.pk],
            "apply": "1",
            "reason": "two clips were out of focus",
            "amount": "5.00",
        },
    )
    [row] = Refund.objects.all()
    assert row.amount_minor == 500 and not row.ended_license
    [note] = Notification.objects.filter(user=creator, kind="refund")
    assert "two clips were out of focus" in note.body
    assert people.reviewer.email not in note.body + note.subject
    assert people.reviewer.email not in row.entry.memo


def test_the_admin_refuses_an_amount_finer_than_the_currency_rather_than_rounding_it(
    client, people
):
    lic = license_for(people.buyer, [(ready_clip(people.creators[0]), 2000)])
    License.objects.filter(pk=lic.pk).update(currency="JPY")
    lic.refresh_from_db()
    invoice = issue_invoice(lic)
    pay(invoice, people.reviewer)
    client.force_login(people.reviewer)
    url = "/admin/ledger/invoice/"
    form = {
        "action": "refund_invoices",
        "_selected_action": [invoice.pk],
        "apply": "1",
        "reason": "one clip blurred",
    }
    for typed in ("1.50", "0.01"):  # would have become ¥2 and ¥0
        page = client.post(url, {**form, "amount": typed}, follow=True).content.decode()
        assert f"{typed} has more decimals than JPY allows (0)" in page
    assert not Refund.objects.exists()
    client.post(url, {**form, "amount": "150"})
    [row] = Refund.objects.all()
    assert (row.amount_minor, row.currency) == (150, "JPY")


def test_api_refunds_in_part_and_voids(people):
    reviewer = Client(headers={"Authorization": f"Bearer {people.reviewer.raw_token}"})
    invoice = sell(people.buyer, [(people.creators[0], 2000)])
    pay(invoice, people.reviewer)
    r = reviewer.post(
        f"/api/invoices/{invoice.pk}/refund",
        {"reason": "one clip blurred", "amount_minor": 300},
        content_type="application/json",
    )
    assert r.status_code == 201
    assert (r.json()["status"], r.json()["refunded_minor"]) == ("paid", 300)
    unpaid = sell(people.buyer, [(people.creators[0], 1000)])
    r = reviewer.post(
        f"/api/invoices/{unpaid.pk}/void", {"reason": "withdrawn"}, content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["status"] == "void"
