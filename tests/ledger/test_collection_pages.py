"""Collection pages: a lab browses pooled collections and licenses one; a creator sees which
of their clips are in which collection and their part."""

import re

import pytest

from outtake.ledger.models import Collection
from outtake.market.models import License
from outtake.rights.services import set_terms
from tests.factories import ready_clip
from tests.ledger.conftest import pay

pytestmark = pytest.mark.django_db


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row of a table, cell by cell."""
    body = html.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


@pytest.fixture
def drone(people, make_user):
    a, b = people.creators
    c = make_user("creator")
    ready_clip(a, width=3840, height=2160, tags=["drone"])  # 4K + drone: value 4.00
    ready_clip(b, tags=["drone"])  # 1080p + drone: 2.50
    ready_clip(b, tags=["drone"])
    ready_clip(c, tags=["drone"], duration_s=30)  # 1.25
    ready_clip(c)  # no drone tag: not in it
    collection = Collection.objects.create(
        title="4K drone B-roll, 2025", price_minor=10000, tags_required=["drone"]
    )
    return collection, c


def test_a_lab_browses_and_licenses_a_collection(client, people, drone):
    collection, _ = drone
    Collection.objects.create(title="Underwater", price_minor=5000, tags_required=["underwater"])
    client.force_login(people.buyer)
    page = client.get("/collections/").content.decode()
    assert cells(page, "collections") == [
        ["4K drone B-roll, 2025", "3.5", "4", "3", "4K, 1080p", "100.00 USD", "License…"],
        ["Underwater", "0.0", "0", "0", "—", "50.00 USD", "nothing to license yet"],
    ]
    quoted = client.post(f"/collections/{collection.pk}/license/", follow=True)
    quote = quoted.context["quote"]
    assert quote.total_minor == 10000 and quote.items.count() == 4
    accepted = client.post(f"/quotes/{quote.id}/accept/")
    assert accepted.status_code == 302
    lic = License.objects.get(buyer=people.buyer.organization)
    assert lic.total_minor == 10000 and lic.invoice.amount_minor == 10000
    # What the lab licensed is no longer in the collection for it.
    assert cells(client.get("/collections/").content.decode(), "collections")[0][1:4] == [
        "0.0",
        "0",
        "0",
    ]


def test_a_creator_sees_their_clips_and_part(client, people, drone):
    collection, c = drone
    client.force_login(c)
    page = client.get("/earnings/collections/").content.decode()
    [row] = cells(page, "places")
    assert row[0] == "4K drone B-roll, 2025 at 100.00 USD"
    assert row[1] == "x.mp4 0–30 s"  # the drone clip, not the untagged one
    assert row[2:] == ["0.5", "1.25 USD", "12.20 USD", "10.37 USD"]
    assert "No collection with your clips has been sold yet" in page

    client.force_login(people.buyer)
    quote = client.post(f"/collections/{collection.pk}/license/", follow=True).context["quote"]
    client.post(f"/quotes/{quote.id}/accept/")
    pay(License.objects.get().invoice, people.reviewer)
    client.force_login(c)
    page = client.get("/earnings/collections/").content.decode()
    [sold] = cells(page, "pooled-sales")
    assert sold[1].startswith("4K drone B-roll, 2025 Collection «4K drone B-roll, 2025»: your part")
    assert sold[2:] == ["1", "0.5", "12.20 USD", "10.37 USD", "paid"]
    # Licensed without exclusivity: still on offer to other labs.
    assert cells(page, "places")[0][4] == "12.20 USD"
    client.force_login(people.buyer)
    assert client.get("/earnings/collections/").status_code == 403
    client.force_login(c)
    assert client.get("/collections/").status_code == 403


def test_a_price_below_the_creators_minimums_is_explained(client, people, drone):
    collection, c = drone
    collection.price_minor = 200
    collection.save()
    for creator in (*people.creators, c):
        set_terms(creator, {"min_price_per_minute": "1.00"})  # 3.5 minutes: at least 3.50
    client.force_login(c)
    [row] = cells(client.get("/earnings/collections/").content.decode(), "places")
    assert "cannot be sold" in row[-1] and "3.50 USD" in row[-1]
    client.force_login(people.buyer)
    refused = client.post(f"/collections/{collection.pk}/license/", follow=True)
    assert "cannot be sold" in refused.content.decode()
    assert not License.objects.exists()


def test_the_price_index_is_in_the_navigation(client, people):
    assert 'href="/prices/"' in client.get("/").content.decode()
    client.force_login(people.creators[0])
    assert 'href="/prices/"' in client.get("/earnings/").content.decode()
