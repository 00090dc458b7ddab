"""The open price index publishes paid $/minute per tier and tag, and hides thin cells."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from outtake.ledger.price_index import price_index
from outtake.ledger.services import issue_invoice, refund
from tests.factories import license_for, ready_clip
from tests.ledger.conftest import pay

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_delivery(monkeypatch):
    """Packages are not the subject; building them inline would take most of the time."""
    monkeypatch.setattr("outtake.delivery.services.start_delivery", lambda lic: None)


def sell_clip(people, creator, cents: int, tags=("drone",), paid: bool = True):
    clip = ready_clip(creator, tags=tags)  # 1080p, one minute
    invoice = issue_invoice(license_for(people.buyer, [(clip, cents)]))
    if paid:
        pay(invoice, people.reviewer)
    return invoice


def cells(**kw):
    return {(c.dimension, c.key): c for c in price_index(**kw)}


def test_thin_cells_are_hidden(people, make_user):
    a, b = people.creators
    c = make_user("creator")
    for creator, cents in [(a, 100), (a, 200), (b, 150), (b, 300)]:
        sell_clip(people, creator, cents)
    assert cells() == {}  # four sales, two creators
    sell_clip(people, a, 250)
    assert cells() == {}  # five sales, still two creators
    sell_clip(people, c, 175, tags=("city",))
    index = cells()
    assert ("tag", "drone") not in index and ("tag", "city") not in index  # 5/2 and 1/1
    tier = index[("tier", "1080p")]
    assert (tier.sales, tier.creators) == (6, 3)
    assert (tier.median, tier.low, tier.high) == (Decimal("1.88"), Decimal("1.00"), Decimal("3.00"))
    assert tier.rate_card == Decimal("1.50")


def test_unpaid_refunded_and_old_sales_do_not_count(people, make_user):
    creators = [*people.creators, make_user("creator")]
    for n in range(5):
        sell_clip(people, creators[n % 3], 150)
    assert ("tier", "1080p") in cells()
    refund(sell_clip(people, creators[0], 9999), reason="test", by=people.reviewer)
    sell_clip(people, creators[0], 9999, paid=False)
    assert cells()[("tier", "1080p")].high == Decimal("1.50")
    assert cells(now=timezone.now() + timedelta(days=91)) == {}


def test_public_page_and_api(client, people, make_user):
    creators = [*people.creators, make_user("creator")]
    for n in range(5):
        sell_clip(people, creators[n % 3], 150 + n)
    client.logout()
    page = client.get("/prices/").content.decode()
    assert "Open price index" in page and "1.52" in page and "too few sales" in page
    data = client.get("/api/price-index").json()
    assert {(d["dimension"], d["key"]) for d in data} == {("tier", "1080p"), ("tag", "drone")}
