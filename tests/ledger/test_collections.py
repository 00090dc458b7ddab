"""Pooled collections: one price split among many creators by the rate-card value of their
clips (largest remainder), through quote, license, sale entry and statement."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from outtake.ledger.models import Collection
from outtake.ledger.pools import pool_formula
from outtake.ledger.services import sale_shares, trial_balance
from outtake.ledger.statements import statement, statement_csv
from outtake.market.services import MarketError, accept_quote, quote_collection
from outtake.notices.models import Notification
from outtake.rights.services import set_terms
from tests.factories import ready_clip
from tests.ledger.conftest import pay

pytestmark = pytest.mark.django_db


def drone_collection(price_minor: int = 10000) -> Collection:
    return Collection.objects.create(
        title="4K drone B-roll, 2025", price_minor=price_minor, tags_required=["drone"]
    )


def test_a_collection_is_split_by_rate_card_value(people, make_user):
    a, b = people.creators
    c = make_user("creator")
    ready_clip(a, width=3840, height=2160, tags=["drone"])  # 4K + drone: 4.00 a minute
    ready_clip(b, tags=["drone"])  # 1080p + drone: 2.50
    ready_clip(b, tags=["drone"])
    ready_clip(c, tags=["drone"], duration_s=30)  # 1.25
    ready_clip(c)  # no drone tag: not in the collection
    quote = quote_collection(people.buyer, drone_collection())
    assert quote.total_minor == 10000 and "largest-remainder" in quote.rule
    items = list(quote.items.all())
    assert len(items) == 4 and sum(i.price_minor for i in items) == 10000
    lic = accept_quote(people.buyer, quote)
    invoice = lic.invoice
    pay(invoice, people.reviewer)
    shares, fee = sale_shares(lic)
    # value 4.00 + 5.00 + 1.25 = 10.25; 100.00 × 4/10.25 = 39.0243…, × 5/10.25 = 48.7804…,
    # × 1.25/10.25 = 12.1951…: floors 39.02 + 48.78 + 12.19 = 99.99, the cent to the largest
    # remainder (48.7804… has .04, 39.0243 .43, 12.1951 .51): c gets 12.20.
    parts = {org: sum(i.price_minor for i in lic.items.filter(creator=org)) for org in shares}
    assert parts == {a.organization: 3902, b.organization: 4878, c.organization: 1220}
    assert sum(s.minor for s in shares.values()) + fee.minor == 10000
    assert trial_balance() == {"USD": 0}
    now = timezone.now()
    st = statement(c.organization, now - timedelta(days=1), now + timedelta(days=1))
    [sale] = st.of_kind("sale")
    assert sale.gross.minor == 1220 and sale.amount.minor == 1037  # 85 %
    assert "12.20 USD = 100.00 USD × 1.25 USD ÷ 10.25 USD" in sale.pool
    assert "largest-remainder" in sale.pool


def test_one_cent_over_many_creators(people, make_user):
    creators = [make_user("creator") for _ in range(7)]
    for creator in creators:
        ready_clip(creator, tags=["drone"])
    quote = quote_collection(people.buyer, drone_collection(price_minor=1))
    assert sorted(i.price_minor for i in quote.items.all()) == [0] * 6 + [1]


def test_a_part_that_rounds_to_zero_is_told_and_shown_on_the_statement(people, make_user):
    creators = [make_user("creator") for _ in range(3)]
    for creator in creators:
        ready_clip(creator, tags=["drone"])
    start = timezone.now() - timedelta(seconds=1)
    lic = accept_quote(people.buyer, quote_collection(people.buyer, drone_collection(1)))
    pay(lic.invoice, people.reviewer)
    parts = {i.creator: i.price_minor for i in lic.items.all()}
    nothing = next(u for u in creators if parts[u.organization] == 0)
    [told] = Notification.objects.filter(user=nothing, kind="earnings")
    assert "0.00 USD" not in told.subject and "rounds to 0.00 USD" in told.body
    st = statement(nothing.organization, start, timezone.now() + timedelta(seconds=1))
    [sale] = st.lines
    assert (sale.kind, sale.amount.minor, sale.gross.minor, sale.status) == ("sale", 0, 0, "paid")
    assert sale.invoice == lic.invoice.label and sale.clips == 1
    assert "your part 0.00 USD = 0.01 USD" in sale.pool
    [row] = [r for r in csv.DictReader(io.StringIO(statement_csv(st))) if r["type"] == "sale"]
    assert row["amount"] == "0.00" and row["pool_formula"] == sale.pool
    assert row["price_lines"] == "Part of the collection «4K drone B-roll, 2025»: 0.00"
    assert st.closing.minor == 0


def test_a_creators_minimum_price_holds_in_a_collection(people):
    a, b = people.creators
    ready_clip(a, width=3840, height=2160, tags=["drone"])  # value 4.00
    ready_clip(b, tags=["drone"])  # value 2.50
    set_terms(b, {"min_price_per_minute": "2.50"})
    # 5.00 by value would give b 1.92; b's minute is worth at least 2.50 to b.
    quote = quote_collection(people.buyer, drone_collection(price_minor=500))
    parts = {i.creator: i.price_minor for i in quote.items.all()}
    assert parts == {a.organization: 250, b.organization: 250}
    lines = {i.creator: i.price_lines[0] for i in quote.items.all()}
    assert "is your minimum price" in pool_formula([lines[b.organization]])
    assert "= 2.50 USD (the price less the parts held at a minimum) × 4.00 USD ÷ 4.00 USD" in (
        pool_formula([lines[a.organization]])
    )
    with pytest.raises(MarketError, match=r"cannot be sold: .* add up to 2\.50 USD"):
        quote_collection(people.buyer, drone_collection(price_minor=249))


def test_empty_or_withdrawn_collections_are_refused(people):
    with pytest.raises(MarketError, match="no clip"):
        quote_collection(people.buyer, drone_collection())
    gone = Collection.objects.create(title="x", price_minor=100, active=False)
    with pytest.raises(MarketError, match="not on offer"):
        quote_collection(people.buyer, gone)


def test_collection_api(client, people):
    ready_clip(people.creators[0], tags=["drone"])
    collection = drone_collection()
    auth = {"Authorization": f"Bearer {people.buyer.raw_token}"}
    listed = client.get("/api/collections", headers=auth).json()
    assert listed[0]["title"] == collection.title and "largest-remainder" in listed[0]["split"]
    r = client.post(f"/api/collections/{collection.pk}/quote", headers=auth)
    assert r.status_code == 201 and r.json()["total_minor"] == 10000
