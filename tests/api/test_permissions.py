"""Who may see what: creators their own, buyers never an original without a paid license."""

from __future__ import annotations

import pytest

from outtake.accounts.services import create_token, revoke_token
from outtake.market.services import accept_quote, build_quote, create_request
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def get(client, url, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(url, **headers)


def test_tokens_missing_wrong_revoked_underscoped(client, make_user):
    creator = make_user("creator")
    assert get(client, "/api/me").status_code == 401
    assert get(client, "/api/me", "ot_deadbeef_wrong").status_code == 401
    assert get(client, "/api/me", creator.raw_token).status_code == 200
    read_only = create_token(creator, "ro", ["read"])
    assert get(client, "/api/me", read_only.raw).status_code == 200
    r = client.post(
        "/api/assets/known",
        {"sha256": []},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {read_only.raw}",
    )
    assert r.status_code == 403
    assert "'upload' scope" in r.json()["detail"]
    revoke_token(creator, read_only.token.id)
    assert get(client, "/api/me", read_only.raw).status_code == 401


def test_tokens_are_stored_hashed(make_user):
    from outtake.accounts.models import ApiToken

    user = make_user("buyer")
    stored = ApiToken.objects.get(user=user)
    assert user.raw_token not in (stored.digest, stored.prefix)
    assert len(stored.digest) == 64


def test_scopes_follow_the_role(make_user):
    from outtake.accounts.services import AccountError

    with pytest.raises(AccountError):
        create_token(make_user("creator"), "x", ["buy"])


def test_creator_sees_only_own_assets_terms_and_earnings(client, make_user):
    ana, bo = make_user("creator"), make_user("creator")
    clip = ready_clip(ana)
    url = f"/api/assets/{clip.asset_id}"
    assert get(client, url, ana.raw_token).status_code == 200
    assert get(client, url, bo.raw_token).status_code == 404
    assert get(client, f"{url}/terms", bo.raw_token).status_code == 404
    assert [a["id"] for a in get(client, "/api/assets", bo.raw_token).json()] == []
    assert get(client, f"/thumbs/{clip.asset_id}.jpg", bo.raw_token).status_code == 404
    earnings = get(client, "/api/earnings", bo.raw_token).json()
    assert earnings["payable_minor"] == 0 and earnings["sales"] == []
    assert get(client, "/api/earnings", make_user("buyer").raw_token).status_code == 403


def test_buyer_gets_no_original_without_paid_license(client, make_user):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    catalog = get(client, "/api/catalog", buyer.raw_token).json()
    assert [c["id"] for c in catalog] == [str(clip.id)]
    assert catalog[0]["metadata"]["gps"] == {"lat": 48.86, "lon": 2.29, "alt": None}
    assert "camera_serial" not in catalog[0]["metadata"]
    assert get(client, f"/api/assets/{clip.asset_id}", buyer.raw_token).status_code == 404
    request = create_request(buyer, {"minutes_wanted": "1", "budget": "10"})
    lic = accept_quote(buyer, build_quote(request))
    deliveries = get(client, f"/api/licenses/{lic.id}/deliveries", buyer.raw_token).json()
    assert deliveries == []
    # Another buyer cannot see this license at all.
    other = make_user("buyer")
    assert get(client, f"/api/licenses/{lic.id}", other.raw_token).status_code == 404


def test_malformed_requests_get_clear_errors(client, make_user):
    buyer = make_user("buyer")
    r = client.post(
        "/api/requests",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}",
    )
    assert r.status_code in (400, 422)
    r = client.post(
        "/api/requests",
        {"budget": "-5"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}",
    )
    assert r.status_code == 400 and "budget" in r.json()["detail"]
    r = client.post(
        "/api/requests",
        {"budget": "5", "uses_needed": ["mind_reading"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}",
    )
    assert r.status_code == 400 and "mind_reading" in r.json()["detail"]


def test_buyer_keeps_seeing_thumbnails_of_licensed_clips(client, make_user):
    from outtake.catalog.models import Asset
    from outtake.storage import get_store

    creator, buyer, other = make_user("creator"), make_user("buyer"), make_user("buyer")
    clip = ready_clip(creator)
    Asset.objects.filter(pk=clip.asset_id).update(thumbnail_key=f"thumbs/{clip.asset_id}.jpg")
    get_store().put_bytes(f"thumbs/{clip.asset_id}.jpg", b"\xff\xd8jpeg")
    url = f"/thumbs/{clip.asset_id}.jpg"
    accept_quote(
        buyer,
        build_quote(
            create_request(buyer, {"minutes_wanted": "1", "budget": "10", "exclusive": True})
        ),
    )
    assert get(client, url, buyer.raw_token).status_code == 200
    assert get(client, url, other.raw_token).status_code == 404  # sold exclusively


def test_expired_token_is_refused(client, make_user):
    from datetime import timedelta

    user = make_user("creator")
    short = create_token(user, "browser upload", ["upload"], lifetime=timedelta(seconds=-1))
    assert get(client, "/api/me", short.raw).status_code == 401
    lasting = create_token(user, "browser upload", ["read"], lifetime=timedelta(hours=1))
    assert get(client, "/api/me", lasting.raw).status_code == 200
