import pytest

from outtake.audit.models import AuditEvent
from outtake.ledger import chart
from outtake.ledger.models import Invoice
from outtake.ledger.payouts import run_payouts
from outtake.ledger.services import LedgerError, balance, creator_earnings, refund, trial_balance
from outtake.notices.models import Notification
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def accounts(user) -> tuple[int, int]:
    org = user.organization
    return (
        -balance(chart.creator_payable(org, "USD")).minor,
        balance(chart.creator_clawback(org, "USD")).minor,
    )


def test_refund_before_payout_takes_the_share_back(people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    with pytest.raises(LedgerError, match="only paid invoices"):
        refund(invoice, reason="changed mind", by=people.reviewer)
    pay(invoice, people.reviewer)
    refund(invoice, reason="wrong footage", by=people.reviewer)
    assert accounts(creator) == (0, 0)
    assert balance(chart.cash("USD")).minor == 0
    assert balance(chart.fee_revenue("USD")).minor + balance(chart.fee_refunds("USD")).minor == 0
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REFUNDED
    note = Notification.objects.get(user=creator, kind="refund")
    assert "unpaid balance" in note.body
    with pytest.raises(LedgerError):
        refund(invoice, reason="again", by=people.reviewer)
    assert trial_balance() == {"USD": 0}


def test_refund_after_payout_opens_a_clawback_recovered_from_later_sales(people):
    creator = people.creators[0]
    first = sell(people.buyer, [(creator, 2000)])
    pay(first, people.reviewer)
    run_payouts()  # 17.00 paid out
    refund(first, reason="licence breach", by=people.reviewer)
    assert accounts(creator) == (0, 1700)
    earnings = creator_earnings(creator.organization)
    assert earnings.balance.minor == -1700  # negative, and shown
    note = Notification.objects.get(user=creator, kind="refund")
    assert "17.00 USD of your share had already been paid out" in note.body
    opened = AuditEvent.objects.get(kind="clawback.opened")
    assert opened.data["amount_minor"] == 1700
    # The next paid sale pays the clawback back before anything becomes payable.
    pay(sell(people.buyer, [(creator, 1000)]), people.reviewer)  # +8.50
    assert accounts(creator) == (0, 850)
    pay(sell(people.buyer, [(creator, 3000)]), people.reviewer)  # +25.50
    assert accounts(creator) == (1700, 0)
    assert AuditEvent.objects.filter(kind="clawback.recovered").count() == 2
    assert trial_balance() == {"USD": 0}


def test_refund_after_payout_uses_unpaid_earnings_first(people):
    creator = people.creators[0]
    old = sell(people.buyer, [(creator, 2000)])
    pay(old, people.reviewer)
    run_payouts()
    pay(sell(people.buyer, [(creator, 1000)]), people.reviewer)  # 8.50 payable, under minimum
    refund(old, reason="duplicate purchase", by=people.reviewer)
    assert accounts(creator) == (0, 1700 - 850)


def test_earnings_show_refunded_sales(people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    sell(people.buyer, [(creator, 100)])
    pay(invoice, people.reviewer)
    refund(invoice, reason="breach", by=people.reviewer)
    statuses = sorted(s["status"] for s in creator_earnings(creator.organization).sales)
    assert statuses == ["pending", "refunded"]


def test_earnings_page_and_api_show_what_is_owed_back(client, people):
    creator = people.creators[0]
    invoice = sell(people.buyer, [(creator, 2000)])
    pay(invoice, people.reviewer)
    run_payouts()
    refund(invoice, reason="licence breach", by=people.reviewer)
    client.force_login(creator)
    page = client.get("/earnings/").content.decode()
    assert 'id="clawback">17.00 USD<' in page and 'id="balance">-17.00 USD<' in page
    api = client.get("/api/earnings", headers={"Authorization": f"Bearer {creator.raw_token}"})
    body = api.json()
    assert (body["clawback_minor"], body["balance_minor"], body["payable_minor"]) == (
        1700,
        -1700,
        0,
    )
    assert [s["status"] for s in body["sales"]] == ["refunded"]
