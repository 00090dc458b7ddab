"""One rule for what a buyer is shown: the creator's refusals and the clip's sellability apply
to the catalogue page, the catalogue API, thumbnails, contact sheets and collection offers."""

from __future__ import annotations

import pytest

from outtake.catalog.models import Asset
from outtake.ledger.models import Collection
from outtake.ledger.offers import fitting_clips
from outtake.rights import releases
from outtake.rights.services import set_terms
from outtake.storage import get_store
from tests.factories import ready_clip
from tests.rights.test_releases import signature

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def with_images(clip):
    """Give the clip's asset a stored thumbnail and contact sheet."""
    store = get_store()
    store.put_bytes(f"thumbs/{clip.asset_id}.jpg", b"\xff\xd8\xff thumb")
    store.put_bytes(f"sheets/{clip.asset_id}.jpg", b"\xff\xd8\xff sheet")
    Asset.objects.filter(pk=clip.asset_id).update(
        thumbnail_key=f"thumbs/{clip.asset_id}.jpg", sheet_key=f"sheets/{clip.asset_id}.jpg"
    )
    return clip


def shown(client, buyer, clip) -> dict[str, bool]:
    """Where a buyer sees the clip."""
    client.force_login(buyer)
    page = client.get("/catalogue/").content.decode()
    api = client.get("/api/catalog", **auth(buyer)).json()
    collection = Collection.objects.get(title="All")
    return {
        "page": str(clip.id) in page,
        "api": str(clip.id) in {c["id"] for c in api},
        "thumbnail": client.get(f"/thumbs/{clip.asset_id}.jpg", **auth(buyer)).status_code == 200,
        "sheet": client.get(f"/sheets/{clip.asset_id}.jpg", **auth(buyer)).status_code == 200,
        "collection": clip in fitting_clips(collection, buyer.organization),
    }


EVERYWHERE = dict.fromkeys(("page", "api", "thumbnail", "sheet", "collection"), True)
NOWHERE = dict.fromkeys(EVERYWHERE, False)


@pytest.fixture
def collection(db):
    return Collection.objects.create(title="All", price_minor=10_000, uses=["ai_training"])


def test_a_refused_buyer_or_kind_sees_none_of_the_creators_clips(make_user, client, collection):
    creator, buyer, lab = make_user("creator"), make_user("buyer"), make_user("buyer")
    clip = with_images(ready_clip(creator))
    assert shown(client, buyer, clip) == EVERYWHERE
    set_terms(creator, {"refused_buyers": [str(buyer.organization_id)]})
    assert shown(client, buyer, clip) == NOWHERE
    assert client.get(f"/thumbs/{clip.asset_id}.jpg", **auth(buyer)).status_code == 404
    assert shown(client, lab, clip) == EVERYWHERE

    lab.organization.category = "surveillance"
    lab.organization.save()
    set_terms(creator, {"refused_categories": ["surveillance"]})
    assert shown(client, lab, clip) == NOWHERE
    assert shown(client, buyer, clip) == EVERYWHERE  # the new version no longer names it


def test_an_assets_own_terms_decide_for_it(make_user, client, collection):
    creator, buyer = make_user("creator"), make_user("buyer")
    refused, welcome = with_images(ready_clip(creator)), with_images(ready_clip(creator))
    set_terms(creator, {"refused_buyers": [str(buyer.organization_id)]})
    set_terms(creator, {}, asset=welcome.asset)  # this asset is offered to everyone
    assert shown(client, buyer, refused) == NOWHERE
    assert shown(client, buyer, welcome) == EVERYWHERE
    set_terms(creator, {"refused_buyers": [str(buyer.organization_id)]}, asset=welcome.asset)
    assert shown(client, buyer, welcome)["api"] is False


def test_a_revoked_release_takes_the_clip_out_of_the_catalogue(make_user, client, collection):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = with_images(ready_clip(creator))
    clip.needs_release, clip.people = True, {"identifiable": 1}
    clip.save()
    assert shown(client, buyer, clip) == NOWHERE  # nobody released yet
    release = releases.request_release(creator, clip.asset, person="the cyclist")
    client.post(
        f"/release/{release.token}/",
        {"name": "Kim Lee", "date": "2026-11-20", "signature": signature()},
    )
    assert shown(client, buyer, clip) == EVERYWHERE
    client.post(f"/release/{release.token}/", {"action": "revoke"})
    assert shown(client, buyer, clip) == NOWHERE


def test_a_creator_without_the_agreement_is_not_shown(make_user, client, collection):
    creator, buyer = make_user("creator", agreement=False), make_user("buyer")
    clip = with_images(ready_clip(creator))
    assert shown(client, buyer, clip) == NOWHERE
