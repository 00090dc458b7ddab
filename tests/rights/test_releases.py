"""Identifiable people: unsellable until released, sellable after, unsellable again after the
release is revoked (and buyers told); minors blocked by default."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from outtake.catalog.models import Clip
from outtake.market.services import accept_quote, available_clips, build_quote, create_request
from outtake.notices.models import Notification
from outtake.rights import releases
from outtake.rights.models import RevocationNotice
from outtake.rights.sellability import sale_problem
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def quote(buyer):
    return build_quote(create_request(buyer, {"budget": "1000"}))


def withheld(clip, buyer) -> str:
    """Why a clip is kept from buyers (what its creator is told), "" when it is shown: the
    catalogue's rule and the per-clip reason must agree."""
    problem = sale_problem(Clip.objects.select_related("asset").get(pk=clip.pk))
    assert available_clips(buyer.organization).filter(pk=clip.pk).exists() == (not problem)
    return problem


def with_people(creator, n: int = 1) -> Clip:
    clip = ready_clip(creator)
    Clip.objects.filter(pk=clip.pk).update(needs_release=True, people={"identifiable": n})
    return Clip.objects.get(pk=clip.pk)


def signature() -> str:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_released_sellable_then_revoked_unsellable_and_buyer_told(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = with_people(creator)
    assert quote(buyer).clip_count == 0
    assert withheld(clip, buyer) == "1 identifiable person(s) without a model release"

    r = client.post(
        f"/api/assets/{clip.asset_id}/releases",
        {"person": "man with the guitar"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {creator.raw_token}",
    )
    assert r.status_code == 201
    link = r.json()["link"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    page = client.get(f"/release/{token}/").content.decode()
    assert "<canvas" in page and "AI systems" in page
    for text in releases.consent_text()[1:3]:
        assert text.replace("'", "&#x27;") in page
    r = client.post(
        f"/release/{token}/", {"name": "Ola Nordmann", "date": "2026-11-20", "signature": ""}
    )
    assert "draw your signature" in r.content.decode()
    client.post(
        f"/release/{token}/",
        {"name": "Ola Nordmann", "date": "2026-11-20", "signature": signature()},
    )

    q = quote(buyer)
    assert q.clip_count == 1
    r = client.get(f"/api/quotes/{q.id}", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}")
    assert r.json()["items"][0]["release_status"] == "released (1 person(s))"
    lic = accept_quote(buyer, q)
    assert lic.contract.document["clips"][0]["release_status"] == "released (1 person(s))"

    r = client.post(f"/release/{token}/", {"action": "revoke"})
    assert "You revoked this release" in r.content.decode()
    assert quote(make_user("buyer")).clip_count == 0
    assert withheld(clip, make_user("buyer")) == "1 identifiable person(s) without a model release"
    notice = RevocationNotice.objects.get(license=lic)
    assert notice.revocation.kind == "release_revoked"
    assert Notification.objects.filter(user=buyer, kind="revocation.notice").exists()


def test_uploaded_releases_must_cover_every_person(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = with_people(creator, 2)
    pdf = SimpleUploadedFile("r.pdf", b"%PDF-1.4 release", content_type="application/pdf")
    url = f"/api/assets/{clip.asset_id}/releases/upload"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {creator.raw_token}"}
    r = client.post(url, {"person": "A", "document": pdf}, **auth)
    assert r.status_code == 201, r.content
    assert quote(buyer).clip_count == 0  # one of two people released
    r = client.post(url, {"person": "B", "document": SimpleUploadedFile("x.txt", b"hi")}, **auth)
    assert r.status_code == 400
    pdf.seek(0)
    client.post(url, {"person": "B", "document": pdf}, **auth)
    assert quote(buyer).clip_count == 1


def test_a_minor_is_blocked_by_default(make_user, settings):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = with_people(creator)
    with pytest.raises(releases.ReleaseError, match="guardian"):
        releases.upload_release(creator, clip.asset, b"%PDF-1.4", person="child", minor=True)
    releases.upload_release(
        creator, clip.asset, b"%PDF-1.4", person="child", minor=True, guardian_name="Parent"
    )
    assert quote(buyer).clip_count == 0
    assert withheld(clip, buyer) == "a minor is shown (blocked by default)"
    settings.OUTTAKE_SELL_MINORS = True
    assert quote(buyer).clip_count == 1


def test_a_minors_release_blocks_a_clip_the_analysis_did_not_flag(make_user, client, settings):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)  # no identifiable people found
    assert withheld(clip, buyer) == ""
    release = releases.request_release(
        creator, clip.asset, person="girl on the swing", minor=True, guardian_name="Parent"
    )
    assert quote(buyer).clip_count == 0
    assert withheld(clip, buyer) == "a minor is shown (blocked by default)"
    client.post(
        f"/release/{release.token}/",
        {"name": "Parent", "date": "2026-11-20", "signature": signature()},
    )
    assert withheld(clip, buyer) == "a minor is shown (blocked by default)"
    # Revoked, the release still says a minor is shown.
    client.post(f"/release/{release.token}/", {"action": "revoke"})
    assert withheld(clip, buyer) == "a minor is shown (blocked by default)"
    settings.OUTTAKE_SELL_MINORS = True
    assert withheld(clip, buyer) == ""


def test_revoking_a_release_never_signed_is_refused_and_tells_no_licensee(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)  # no people: sold without any release
    lic = accept_quote(buyer, quote(buyer))
    release = releases.request_release(creator, clip.asset, person="passer-by")
    r = client.post(f"/release/{release.token}/", {"action": "revoke"})
    assert "never signed" in r.content.decode()
    release.refresh_from_db()
    assert release.revoked_at is None
    assert not RevocationNotice.objects.filter(license=lic).exists()
    assert not Notification.objects.filter(user=buyer, kind="revocation.notice").exists()
