"""A license that ended (voided unpaid, or refunded) gives its clips back: to the catalogue,
to exclusive sales when it never sold them, and to its buyer; its page stops refreshing."""

import pytest

from outtake.ledger.services import refund, void
from outtake.market.models import License
from outtake.market.services import (
    accept_quote,
    asset_shown_to_buyer,
    build_quote,
    create_request,
    mark_paid,
)
from outtake.rights.services import set_terms
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def quote(buyer, **data):
    data.setdefault("budget", "1000")
    return build_quote(create_request(buyer, data))


def clips(q) -> list:
    return [i.clip_id for i in q.items.all()]


@pytest.fixture
def people(make_user):
    return make_user("creator"), make_user("buyer"), make_user("buyer"), make_user("reviewer")


def test_a_buyer_whose_license_was_voided_is_offered_its_clips_again(people):
    creator, buyer, _, reviewer = people
    clip = ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    assert clips(quote(buyer)) == []  # on a license the buyer holds: not offered twice
    void(lic.invoice, reason="ordered by mistake", by=reviewer)
    assert clips(quote(buyer)) == [clip.id]
    assert accept_quote(buyer, quote(buyer)).items.get().clip_id == clip.id


def test_a_clip_of_a_voided_license_can_still_be_sold_exclusively(people):
    creator, buyer, other, reviewer = people
    clip = ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    assert clips(quote(other, exclusive=True)) == []  # sold (if unpaid): not exclusively
    void(lic.invoice, reason="never paid", by=reviewer)
    exclusive = quote(other, exclusive=True)
    assert clips(exclusive) == [clip.id]
    assert accept_quote(other, exclusive).exclusive


def test_a_refunded_buyer_may_license_again_but_nobody_exclusively(people):
    creator, buyer, other, reviewer = people
    clip = ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    mark_paid(lic.invoice, amount_minor=lic.invoice.amount_minor, reference="wire", by=reviewer)
    refund(lic.invoice, reason="clip out of focus", by=reviewer)
    assert License.objects.get(pk=lic.pk).status == License.Status.REFUNDED
    assert clips(quote(buyer)) == [clip.id]
    # It was paid and may have been delivered: sold before, so never exclusive again.
    assert clips(quote(buyer, exclusive=True)) == clips(quote(other, exclusive=True)) == []


def test_an_ended_license_no_longer_shows_its_assets_to_the_buyer(people):
    creator, buyer, _, reviewer = people
    clip = ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    set_terms(creator, {"refused_buyers": [str(buyer.organization_id)]})
    assert asset_shown_to_buyer(buyer.organization, clip.asset_id) == clip.asset  # licensed
    void(lic.invoice, reason="never paid", by=reviewer)
    assert asset_shown_to_buyer(buyer.organization, clip.asset_id) is None


def test_an_ended_license_page_stops_polling(client, people):
    creator, buyer, _, reviewer = people
    ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    client.force_login(buyer)
    assert 'hx-trigger="every 30s"' in client.get(f"/licenses/{lic.id}/").content.decode()
    void(lic.invoice, reason="never paid", by=reviewer)
    for url in (f"/licenses/{lic.id}/", f"/licenses/{lic.id}/package/"):
        page = client.get(url).content.decode()
        assert "hx-trigger" not in page and "This license has ended" in page
