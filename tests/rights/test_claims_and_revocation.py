"""Rights claims pause sales; withdrawals and removal requests reach buyers, who acknowledge."""

from __future__ import annotations

import pytest
from django.core import mail

from outtake.market.services import (
    MarketError,
    accept_quote,
    available_clips,
    build_quote,
    create_request,
)
from outtake.notices.models import Notification
from outtake.rights import claims
from outtake.rights.models import RevocationNotice
from outtake.rights.services import set_terms
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db
GROUNDS = "I shot this footage in 2019 for my own channel; it was copied from my drive."


def quote(buyer):
    return build_quote(create_request(buyer, {"budget": "1000"}))


def test_a_rights_claim_pauses_sales_until_resolved(
    make_user, client, django_capture_on_commit_callbacks
):
    creator, buyer, reviewer = make_user("creator"), make_user("buyer"), make_user("reviewer")
    clip = ready_clip(creator)
    pending = quote(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/api/assets/{clip.asset_id}/claims",
            {"name": "Sam Claimant", "email": "sam@example.net", "grounds": GROUNDS},
            content_type="application/json",
        )
    assert r.status_code == 201
    assert not available_clips(buyer.organization).exists()
    assert quote(buyer).clip_count == 0
    with pytest.raises(MarketError, match="no longer available"):
        accept_quote(buyer, pending)
    assert Notification.objects.filter(user=creator, kind="claim.filed").exists()
    assert Notification.objects.filter(user=reviewer, kind="claim.filed").exists()

    claim = clip.asset.claims.get()
    with pytest.raises(PermissionError):
        claims.resolve_claim(creator, claim, upheld=False)
    claims.resolve_claim(reviewer, claim, upheld=False, note="The creator showed the raw files.")
    assert available_clips(buyer.organization).count() == 1
    assert {m.to[0] for m in mail.outbox} >= {"sam@example.net"}


def test_revocation_reaches_the_buyer_who_acknowledges(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    set_terms(creator, {"training_stop_notice_days": 30})
    lic = accept_quote(buyer, quote(buyer))
    r = client.post(
        f"/api/assets/{clip.asset_id}/withdraw",
        {"reason": "personal"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}",
    )
    assert r.status_code == 201
    assert not available_clips(make_user("buyer").organization).exists()
    note = Notification.objects.get(user=buyer, kind="revocation.notice")
    assert "30 days" in note.body

    [notice] = client.get(
        "/api/revocation-notices", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}"
    ).json()
    assert notice["license_id"] == str(lic.id) and notice["acknowledged_at"] is None
    assert notice["clip_ids"] == [str(clip.id)] and notice["training_stop_notice_days"] == 30
    r = client.post(
        f"/api/revocation-notices/{notice['id']}/acknowledge",
        HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}",
    )
    assert r.status_code == 200
    # The creator sees who acknowledged.
    [seen] = client.get(
        "/api/revocation-notices", HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}"
    ).json()
    assert seen["acknowledged_by"] == buyer.email
    assert Notification.objects.filter(user=creator, kind="revocation.acknowledged").exists()


def test_a_persons_removal_request_without_an_account(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    r = client.post(
        f"/api/assets/{clip.asset_id}/removal-requests",
        {"email": "Pat@Example.net", "reason": "I am the person at 0:12 and did not consent."},
        content_type="application/json",
    )
    assert r.status_code == 201
    notice = RevocationNotice.objects.get(license=lic)
    assert notice.revocation.kind == "removal_request"
    assert notice.revocation.requester_email == "pat@example.net"
    assert Notification.objects.filter(user=buyer, kind="revocation.notice").exists()
    claims.acknowledge(buyer, notice)
    notice.refresh_from_db()
    assert notice.acknowledged_by == buyer
    assert not available_clips(buyer.organization).exists()
    with pytest.raises(PermissionError):
        claims.acknowledge(creator, notice)
