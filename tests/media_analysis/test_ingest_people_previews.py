"""Ingest keeps people, flags clips that need releases, and serves previews like thumbnails."""

from __future__ import annotations

import pytest

from outtake.accounts.services import attest_upload
from outtake.catalog.models import Asset
from outtake.catalog.services import _make_ready
from outtake.media.inspect import inspect_file
from outtake.rights.releases import upload_release


@pytest.fixture
def ingested(make_user, fixture_path, tmp_path):
    creator = make_user("creator")
    asset = Asset.objects.create(
        owner=creator.organization,
        uploaded_by=creator,
        original_filename="astronaut.png",
        blob_key="originals/x.png",
    )
    previews = tmp_path / "previews"
    photo = str(fixture_path("photo", "astronaut.png"))
    result = inspect_file(photo, str(tmp_path / "t.jpg"), preview_dir=str(previews))
    _make_ready(asset, result["probe"], result["analysis"], previews)
    return creator, asset


def _get(client, url, user):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {user.raw_token}")


def test_identifiable_people_are_flagged_but_still_sellable(ingested, client):
    creator, asset = ingested
    (clip,) = asset.clips.all()
    assert clip.people["identifiable"] == 1 and clip.needs_release
    assert "identifiable_people" in clip.tags
    assert clip.sellable  # priced; the release rule (rights.sellability) withholds it from buyers
    body = _get(client, f"/api/assets/{asset.id}", creator).json()
    (out,) = body["clips"]
    assert out["needs_release"] and out["people"]["identifiable"] == 1
    assert out["preview_url"] == f"/previews/{clip.id}.webp"
    assert body["contact_sheet_url"] == f"/sheets/{asset.id}.jpg"


def test_previews_are_shown_like_thumbnails(ingested, client, make_user):
    creator, asset = ingested
    (clip,) = asset.clips.all()
    buyer, stranger = make_user("buyer"), make_user("creator")
    # Not for sale yet (no attestation, no release for the astronaut): no buyer sees it.
    assert _get(client, f"/previews/{clip.id}.webp", buyer).status_code == 404
    attest_upload(creator, asset)
    upload_release(creator, asset, b"%PDF-1.4", person="astronaut")
    # A buyer who could license the clip sees its preview; another creator does not.
    assert _get(client, f"/previews/{clip.id}.webp", buyer).status_code == 200
    preview = _get(client, f"/previews/{clip.id}.webp", creator)
    assert preview.status_code == 200 and preview["Content-Type"] == "image/webp"
    assert _get(client, f"/sheets/{asset.id}.jpg", creator).status_code == 200
    assert _get(client, f"/previews/{clip.id}.webp", stranger).status_code == 404
    assert _get(client, f"/sheets/{asset.id}.jpg", stranger).status_code == 404
    assert client.get(f"/previews/{clip.id}.webp").status_code == 401
