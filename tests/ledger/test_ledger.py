from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outtake.core.money import Money
from outtake.ledger import chart
from outtake.ledger.models import JournalEntry, LedgerEditRefused, Posting
from outtake.ledger.services import (
    LedgerError,
    Line,
    balance,
    issue_invoice,
    post,
    record_payment,
    trial_balance,
)
from tests.factories import license_for, ready_clip

pytestmark = pytest.mark.django_db


def test_unbalanced_entry_is_refused(make_user):
    buyer = make_user("buyer")
    with pytest.raises(LedgerError):
        post(
            "x",
            "unbalanced",
            [
                Line(chart.cash("USD"), Money(100)),
                Line(chart.buyer_receivable(buyer.organization, "USD"), Money(-99)),
            ],
        )
    assert not Posting.objects.exists()


def test_idempotency_key_posts_once(make_user):
    buyer = make_user("buyer")
    lines = [
        Line(chart.cash("USD"), Money(100)),
        Line(chart.buyer_receivable(buyer.organization, "USD"), Money(-100)),
    ]
    first = post("x", "once", lines, idempotency_key="stmt:1")
    again = post("x", "once", lines, idempotency_key="stmt:1")
    assert first.pk == again.pk
    assert balance(chart.cash("USD")) == Money(100)


def test_postings_and_entries_cannot_be_edited_or_deleted(make_user):
    buyer = make_user("buyer")
    entry = post(
        "x",
        "a sale",
        [
            Line(chart.buyer_receivable(buyer.organization, "USD"), Money(100)),
            Line(chart.fee_revenue("USD"), Money(-100)),
        ],
    )
    posting = entry.postings.first()
    edits = [
        lambda: Posting.objects.filter(entry=entry).update(amount_minor=0),
        lambda: Posting.objects.filter(entry=entry).delete(),
        lambda: Posting.objects.bulk_update([posting], ["amount_minor"]),
        posting.delete,
        lambda: posting.save(),
        lambda: JournalEntry.objects.filter(pk=entry.pk).update(memo="changed"),
        lambda: JournalEntry.objects.filter(pk=entry.pk).delete(),
        entry.delete,
        lambda: entry.save(),
    ]
    for edit in edits:
        with pytest.raises(LedgerEditRefused, match="append-only"):
            edit()
    entry.refresh_from_db()
    assert entry.memo == "a sale"
    assert sorted(entry.postings.values_list("amount_minor", flat=True)) == [-100, 100]


def test_sale_and_payment_move_shares(make_user):
    creator, buyer, reviewer = make_user("creator"), make_user("buyer"), make_user("reviewer")
    clip = ready_clip(creator)
    lic = license_for(buyer, [(clip, 1001)])
    invoice = issue_invoice(lic)
    org = creator.organization
    assert -balance(chart.creator_pending(org, "USD")).minor == 851  # 85 % of 10.01, half-even
    assert invoice.fee_minor == 150
    with pytest.raises(LedgerError, match="positive"):
        record_payment(invoice, amount_minor=0, reference="nothing", by=reviewer)
    record_payment(invoice, amount_minor=1000, reference="short", by=reviewer)
    assert -balance(chart.creator_pending(org, "USD")).minor == 851  # not paid yet
    record_payment(invoice, amount_minor=1, reference="BANK-1", by=reviewer)
    assert balance(chart.creator_pending(org, "USD")).minor == 0
    assert -balance(chart.creator_payable(org, "USD")).minor == 851
    assert balance(chart.cash("USD")).minor == 1001
    with pytest.raises(LedgerError):
        record_payment(invoice, amount_minor=1001, reference="again", by=reviewer)
    assert trial_balance() == {"USD": 0}


sales = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 3), st.integers(1, 500_000)), min_size=1, max_size=5),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sales)
def test_every_cent_is_accounted_for(make_user, sales):
    with transaction.atomic():
        creators = [make_user("creator") for _ in range(4)]
        buyer, reviewer = make_user("buyer"), make_user("reviewer")
        clips = [ready_clip(c) for c in creators]
        sold = paid = 0
        paid_share = {c.organization_id: 0 for c in creators}
        for items, pays in sales:
            lic = license_for(buyer, [(clips[i], price) for i, price in items])
            invoice = issue_invoice(lic)
            sold += lic.total_minor
            if pays:
                record_payment(
                    invoice, amount_minor=invoice.amount_minor, reference="r", by=reviewer
                )
                paid += lic.total_minor
                for posting in lic.entries.get(kind="sale").postings.select_related("account"):
                    if posting.account.code.startswith("creator:pending:"):
                        paid_share[posting.account.organization_id] -= posting.amount_minor
            # Every entry balances, so the whole ledger does.
            assert trial_balance() == {"USD": 0}
        shares = sum(
            -balance(chart.creator_pending(c.organization, "USD")).minor
            - balance(chart.creator_payable(c.organization, "USD")).minor
            for c in creators
        )
        fees = -balance(chart.fee_revenue("USD")).minor
        assert shares + fees == sold
        assert balance(chart.cash("USD")).minor == paid
        assert balance(chart.buyer_receivable(buyer.organization, "USD")).minor == sold - paid
        for c in creators:
            assert (
                -balance(chart.creator_payable(c.organization, "USD")).minor
                == paid_share[c.organization_id]
            )
        # Each creator's share is rounded once per sale: within half a cent of 85 % each time.
        roundings = sum(len({i for i, _ in items}) for items, _ in sales)
        assert abs(Decimal(shares) - Decimal(sold) * Decimal("0.85")) <= Decimal(roundings) / 2
        transaction.set_rollback(True)
