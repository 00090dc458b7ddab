"""Rights claims pause sales; withdrawals and removal requests reach buyers, who acknowledge."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

import pytest
from django.core import mail

from outtake.audit.models import AuditEvent
from outtake.catalog.models import Clip
from outtake.catalog.services import reprice
from outtake.market.services import (
    MarketError,
    accept_quote,
    available_clips,
    build_quote,
    create_request,
)
from outtake.notices.models import Notification
from outtake.rights import claims, contracts
from outtake.rights.models import RemovalRequest, RevocationNotice
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


def test_revocation_reaches_the_buyer_who_acknowledges(make_user, client, monkeypatch):
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
    # The creator sees which licensee acknowledged, as the licensee chose to be shown.
    [seen] = client.get(
        "/api/revocation-notices", HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}"
    ).json()
    assert seen["acknowledged_by"] == buyer.organization.name
    buyer.organization.show_as_ai_lab = True
    buyer.organization.save()
    [seen] = client.get(
        "/api/revocation-notices", HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}"
    ).json()
    assert seen["acknowledged_by"] == "an AI lab"
    [mine] = client.get(
        "/api/revocation-notices", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}"
    ).json()
    assert mine["acknowledged_by"] == buyer.email  # the licensee sees which of its people
    assert Notification.objects.filter(user=creator, kind="revocation.acknowledged").exists()
    # One rule says who reads a license as its licensee, for its contract and its notices alike.
    monkeypatch.setattr(contracts, "reads_as_licensee", lambda user, license: user.is_creator)
    [seen] = client.get(
        "/api/revocation-notices", HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}"
    ).json()
    assert seen["acknowledged_by"] == buyer.email


def second_clip(clip):
    """Another shot of the same asset."""
    return reprice(
        Clip.objects.create(asset=clip.asset, index=1, kind="video", start_s=60, end_s=90, fps=25)
    )


def test_a_persons_removal_request_pauses_the_clip_until_a_reviewer_decides(
    make_user, client, django_capture_on_commit_callbacks
):
    creator, buyer, reviewer = make_user("creator"), make_user("buyer"), make_user("reviewer")
    clip = ready_clip(creator)
    other = second_clip(clip)
    lic = accept_quote(buyer, quote(buyer))
    lab = make_user("buyer")
    url = f"/api/assets/{clip.asset_id}/removal-requests"
    asked = {"email": "Pat@Example.net", "reason": "I am the person at 0:12 and did not consent."}

    # A clip of another asset, or no clip at all, is refused with a reason.
    foreign = ready_clip(make_user("creator"))
    r = client.post(url, {**asked, "clip_id": str(foreign.id)}, content_type="application/json")
    assert r.status_code == 400 and "not part of this footage" in r.json()["detail"]
    r = client.post(url, {**asked, "reason": "me"}, content_type="application/json")
    assert r.status_code == 400 and "a few sentences" in r.json()["detail"]

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {**asked, "clip_id": str(clip.id)}, content_type="application/json")
    assert r.status_code == 201
    removal = RemovalRequest.objects.get(pk=r.json()["id"])
    assert (removal.clip, removal.email, removal.status) == (clip, "pat@example.net", "open")
    # Only the clip named is paused; nobody who licensed it is told anything yet.
    assert set(available_clips(lab.organization).filter(asset=clip.asset)) == {other}
    assert not RevocationNotice.objects.exists()
    assert not Notification.objects.filter(user=buyer).exclude(kind="quote.accepted").exists()
    assert Notification.objects.filter(user=creator, kind="removal.requested").exists()
    assert Notification.objects.filter(user=reviewer, kind="removal.requested").exists()
    assert mail.outbox[-1].to == ["pat@example.net"]
    client.force_login(creator)
    page = client.get(f"/assets/{clip.asset_id}/").content.decode()
    assert "Clip 1 is out of sales" in page and "did not consent" in page
    assert "Pat@Example.net".lower() not in page  # the person's address stays with reviewers
    assert AuditEvent.objects.filter(kind="removal.requested", subject_id=str(removal.id)).exists()
    [event] = client.get(
        "/api/audit/events?kind=removal.requested",
        HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}",
    ).json()
    assert event["data"]["clip"] == str(clip.id) and "requester" not in event["data"]

    # Rejected: the reviewer says why, sales resume and the person is told.
    with pytest.raises(PermissionError):
        claims.resolve_removal(creator, removal, upheld=False, note="x")
    with pytest.raises(claims.ClaimError, match="say why"):
        claims.resolve_removal(reviewer, removal, upheld=False)
    with django_capture_on_commit_callbacks(execute=True):
        claims.resolve_removal(reviewer, removal, upheld=False, note="Nobody is shown at 0:12.")
    assert set(available_clips(lab.organization).filter(asset=clip.asset)) == {clip, other}
    assert mail.outbox[-1].to == ["pat@example.net"]
    assert "Nobody is shown at 0:12." in mail.outbox[-1].body
    assert not RevocationNotice.objects.exists()

    # Upheld: the revocation reaches the licensee for that clip only, who acknowledges.
    r = client.post(url, {**asked, "clip_id": str(clip.id)}, content_type="application/json")
    removal = RemovalRequest.objects.get(pk=r.json()["id"])
    claims.resolve_removal(reviewer, removal, upheld=True, note="The person is identifiable.")
    notice = RevocationNotice.objects.get(license=lic)
    assert notice.clip_ids == [str(clip.id)]
    assert notice.revocation.kind == "removal_request"
    assert notice.revocation.requester_email == "pat@example.net"
    assert Notification.objects.filter(user=buyer, kind="revocation.notice").exists()
    claims.acknowledge(buyer, notice)
    assert set(available_clips(lab.organization).filter(asset=clip.asset)) == {other}
    with pytest.raises(claims.ClaimError, match="already upheld"):
        claims.resolve_removal(reviewer, removal, upheld=False, note="changed my mind")
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"removal.requested", "removal.resolved", "revocation.removal_request"} <= kinds
    assert "revocation.acknowledged" in kinds


def test_a_removal_request_without_a_clip_pauses_the_whole_asset(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    second_clip(clip)
    r = client.post(
        f"/rights/{clip.asset_id}/claim/",
        {"kind": "removal", "email": "pat@example.net", "reason": "I walk through every shot."},
    )
    assert "Your removal request was received" in r.content.decode()
    assert not available_clips(buyer.organization).exists()


def test_the_public_form_names_the_clip_of_its_link(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    other = second_clip(clip)
    page = client.get(f"/rights/{clip.asset_id}/claim/?clip={other.id}").content.decode()
    assert f'value="{other.id}"' in page and "(clip 2)" in page
    client.post(
        f"/rights/{clip.asset_id}/claim/",
        {
            "kind": "removal",
            "clip": str(other.id),
            "email": "pat@example.net",
            "reason": "I am the cyclist in this shot.",
        },
    )
    assert set(available_clips(buyer.organization)) == {clip}
    assert client.get(f"/rights/{uuid.uuid4()}/claim/").status_code == 404
    r = client.post(f"/rights/{clip.asset_id}/claim/", {"kind": "claim", "email": "a@b.org"})
    assert r.status_code == 200 and "give your name" in r.content.decode()


def test_claims_and_removal_requests_are_limited_per_requester(make_user, client):
    creator = make_user("creator")
    clips = [ready_clip(creator) for _ in range(claims.REQUESTS_PER_DAY + 1)]
    reason = "I am the person in this clip and never agreed to it."
    for clip in clips[: claims.REQUESTS_PER_DAY]:
        r = client.post(
            f"/api/assets/{clip.asset_id}/removal-requests",
            {"email": "spam@example.net", "reason": reason},
            content_type="application/json",
        )
        assert r.status_code == 201
    r = client.post(
        f"/api/assets/{clips[-1].asset_id}/claims",
        {"name": "Spam", "email": "spam@example.net", "grounds": reason},
        content_type="application/json",
    )
    assert r.status_code == 429 and "too many" in r.json()["detail"]
    # Another person, from another address, is not held back.
    r = client.post(
        f"/api/assets/{clips[-1].asset_id}/removal-requests",
        {"email": "kim@example.net", "reason": reason},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.9",
    )
    assert r.status_code == 201
    # One network address may ask for more people, but not without end.
    for n in range(claims.REQUESTS_PER_DAY * 4 + 1):
        last = client.post(
            f"/api/assets/{clips[0].asset_id}/removal-requests",
            {"email": f"p{n}@example.net", "reason": reason},
            content_type="application/json",
            REMOTE_ADDR="198.51.100.7",
        )
    assert last.status_code == 429


def test_creators_read_license_events_without_the_buyers_identity(make_user, client):
    creator, buyer, other = make_user("creator"), make_user("buyer"), make_user("buyer")
    buyer.organization.show_as_ai_lab = True
    buyer.organization.save()
    clip = ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    other_lic = accept_quote(other, quote(other))
    claims.withdraw_asset(creator, clip.asset, "retiring it")

    def events(user, kind: str) -> list[dict]:
        r = client.get(
            f"/api/audit/events?kind={kind}", HTTP_AUTHORIZATION=f"Bearer {user.raw_token}"
        )
        assert r.status_code == 200
        return r.json()

    accepted = events(creator, "license.contract_accepted")
    assert {e["subject_id"] for e in accepted} == {str(lic.id), str(other_lic.id)}
    for event in accepted:
        text = str(event["data"])
        assert buyer.email not in text and str(buyer.organization_id) not in text
        assert "account" not in event["data"] and "organization" not in event["data"]
    assert {e["data"]["party"] for e in accepted} == {
        "an AI lab",
        other.organization.name,
    }
    # The buyer's own view keeps its account, and it sees the revocation of its license.
    [own] = events(buyer, "license.contract_accepted")
    assert own["data"]["account"] == buyer.email
    record = f"/api/licenses/{lic.id}/contract/record"
    for who, accepted_by in ((creator, "an AI lab"), (buyer, buyer.email)):
        r = client.get(record, HTTP_AUTHORIZATION=f"Bearer {who.raw_token}")
        assert r.status_code == 200 and r.json()["accepted_by"] == accepted_by
    [revoked] = events(buyer, "revocation.withdrawal")
    assert revoked["data"]["licenses"] == [str(lic.id)]  # not the other lab's license
    assert revoked["data"]["party"] == creator.organization.pseudonym


def test_creators_get_no_hash_of_what_names_a_buyer_that_withholds_its_name(make_user, client):
    """The accepted data and its render name the buyer and creators know the rest: from their
    hashes a creator could find which lab it is by trying each name."""
    creator, buyer, other = make_user("creator"), make_user("buyer"), make_user("buyer")
    buyer.organization.show_as_ai_lab = True
    buyer.organization.save()
    ready_clip(creator)
    lic = accept_quote(buyer, quote(buyer))
    other_lic = accept_quote(other, quote(other))
    for sold in (lic, other_lic):
        contracts.contract_pdf(sold.contract)  # sealed: its document's hash is known
        sold.contract.refresh_from_db()
    naming = {lic.contract.data_sha256, lic.contract.document_sha256}
    assert all(naming)

    def read(user, path: str):
        r = client.get(path, HTTP_AUTHORIZATION=f"Bearer {user.raw_token}")
        assert r.status_code == 200
        return r

    seen = read(creator, "/api/audit/events").content.decode()
    assert not any(sha in seen for sha in naming)
    # Nor the chain hash over them, which would let a guess be tested just the same.
    hashes = {(e["kind"], e["subject_id"]): e["hash"] for e in json.loads(seen)}
    assert hashes["license.contract_sealed", str(lic.id)] == ""
    assert hashes["license.contract_sealed", str(other_lic.id)]
    # The other lab is named to creators, and so are the hashes of its contract.
    assert other_lic.contract.data_sha256 in seen and other_lic.contract.document_sha256 in seen
    assert lic.contract.data_sha256 in read(buyer, "/api/audit/events").content.decode()
    # The audit page follows the same rule, in full or cut short.
    sealed = {
        e.subject_id: e.hash for e in AuditEvent.objects.filter(kind="license.contract_sealed")
    }
    client.force_login(creator)
    page = client.get("/audit/").content.decode()
    assert sealed[str(lic.id)][:12] not in page and sealed[str(other_lic.id)] in page

    record = f"/api/licenses/{lic.id}/contract/record"
    theirs = read(creator, record).json()
    assert not any(sha in json.dumps(theirs) for sha in naming)
    assert theirs["sealed_sha256"] == lic.contract.sealed_sha256 and theirs["copy_sha256"] == ""
    copy = read(creator, f"/api/licenses/{lic.id}/contract").content  # the creators' copy
    assert read(creator, record).json()["copy_sha256"] == hashlib.sha256(copy).hexdigest()
    own = read(buyer, record).json()
    assert (own["data_sha256"], own["document_sha256"]) == (
        lic.contract.data_sha256,
        lic.contract.document_sha256,
    )
    client.force_login(creator)
    page = client.get("/contracts/").content.decode()
    assert not any(sha in page for sha in naming) and lic.contract.sealed_sha256 in page
    assert other_lic.contract.document_sha256 in page


def test_anyone_finds_the_form_from_the_footer_or_the_catalogue(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    home = client.get("/rights/report/")  # linked from every page's footer
    assert home.status_code == 200 and 'href="/rights/report/"' in home.content.decode()
    r = client.get("/rights/report/", {"clip": str(clip.id)})
    assert r.status_code == 302
    assert r["Location"] == f"/rights/{clip.asset_id}/claim/?clip={clip.id}"
    assert "No clip has that id" in client.get("/rights/report/?clip=nope").content.decode()
    # The page says to copy a sample's file name: with its extension, or its path in a shard.
    form = client.get("/rights/report/").content.decode()
    maxlength = int(re.search(r'name="clip"[^>]*maxlength="(\d+)"', form).group(1))
    for pasted in (f"{clip.id}.mp4", f" {clip.id}.json ", f"shards/00001.tar/{clip.id}.mp4"):
        assert len(pasted) <= maxlength
        r = client.get("/rights/report/", {"clip": pasted})
        assert r.status_code == 302, pasted
        assert r["Location"] == f"/rights/{clip.asset_id}/claim/?clip={clip.id}"
    client.force_login(buyer)
    page = client.get("/catalogue/").content.decode()
    assert f'href="/rights/{clip.asset_id}/claim/?clip={clip.id}"' in page
