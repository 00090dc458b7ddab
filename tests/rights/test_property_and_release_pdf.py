"""Property releases (a private place or an artwork the creator marks) gate sales like model
releases; a release signed by link renders to a PDF sealed with Outtake's platform seal."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from outtake.audit.models import AuditEvent
from outtake.market.services import accept_quote
from outtake.notices.models import Notification
from outtake.provenance.verify_contract import verify_contract
from outtake.rights import releases
from outtake.rights.models import RevocationNotice
from tests.factories import ready_clip
from tests.provenance.pdftext import pdf_text
from tests.rights.test_releases import quote, signature, with_people, withheld

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def sign_link(client, creator, asset_id, **payload) -> str:
    r = client.post(
        f"/api/assets/{asset_id}/releases",
        payload,
        content_type="application/json",
        **auth(creator),
    )
    assert r.status_code == 201, r.content
    token = r.json()["link"].rstrip("/").rsplit("/", 1)[1]
    r = client.post(
        f"/release/{token}/",
        {"name": "Jo Doe", "date": "2026-11-20", "signature": signature()},
    )
    assert "Signed by Jo Doe" in r.content.decode()
    return token


def test_marked_property_sellable_after_release_unsellable_after_revocation(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    r = client.put(
        f"/api/assets/{clip.asset_id}/tags",
        {"tags": ["artwork"]},
        content_type="application/json",
        **auth(creator),
    )
    assert r.status_code == 200
    assert withheld(clip, buyer) == "an artwork without a property release"

    token = sign_link(client, creator, clip.asset_id, person="Mural; owner Jo Doe", kind="property")
    page = client.get(f"/release/{token}/").content.decode()
    assert "Property release" in page and "Your property (Mural; owner Jo Doe)" in page
    q = quote(buyer)
    assert q.clip_count == 1
    r = client.get(f"/api/quotes/{q.id}", **auth(buyer))
    status = r.json()["items"][0]["release_status"]
    assert status == "no identifiable people; property released (1)"
    lic = accept_quote(buyer, q)

    client.post(f"/release/{token}/", {"action": "revoke"})
    assert withheld(clip, make_user("buyer")) == "an artwork without a property release"
    notice = RevocationNotice.objects.get(license=lic)
    assert notice.revocation.kind == "release_revoked"
    assert "property release" in notice.revocation.reason
    assert Notification.objects.filter(user=buyer, kind="revocation.notice").exists()


def test_uploaded_property_release_and_people_still_need_their_own(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = with_people(creator)
    clip.asset.creator_tags = ["private_place"]
    clip.asset.save()
    assert withheld(clip, buyer) == "1 identifiable person(s) without a model release"
    pdf = SimpleUploadedFile("r.pdf", b"%PDF-1.4 release", content_type="application/pdf")
    r = client.post(
        f"/api/assets/{clip.asset_id}/releases/upload",
        {"person": "The Lee house; owner A. Lee", "kind": "property", "document": pdf},
        **auth(creator),
    )
    assert r.status_code == 201 and r.json()["kind"] == "property"
    # The property release does not stand in for the person's model release.
    assert quote(buyer).clip_count == 0
    releases.upload_release(creator, clip.asset, b"%PDF-1.4", person="the gardener")
    assert quote(buyer).clip_count == 1
    with pytest.raises(releases.ReleaseError, match="kind"):
        releases.request_release(creator, clip.asset, person="x", kind="pet")


def test_a_signed_release_is_a_sealed_pdf_for_signer_and_creator(
    make_user, client, tmp_path, django_capture_on_commit_callbacks
):
    creator, other = make_user("creator"), make_user("creator")
    clip = with_people(creator)
    with django_capture_on_commit_callbacks(execute=True):
        token = sign_link(client, creator, clip.asset_id, person="man with the guitar")
    assert releases.releases_of(creator).get().sealed_key  # sealed at signing, not on request
    page = client.get(f"/release/{token}/").content.decode()
    assert f"/release/{token}/release.pdf" in page

    response = client.get(f"/release/{token}/release.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    sealed = response.content
    release = releases.releases_of(creator).get()
    number = releases.release_number(release)
    assert token not in number and number in response["Content-Disposition"]
    _, text = pdf_text(sealed)
    for expected in ("Model Release", number, "Jo Doe", "2026-11-20", str(clip.asset_id)):
        assert expected in text
    assert releases.consent_text()[0][:60] in text
    assert b"/Subtype /Image" in sealed or b"/Subtype/Image" in sealed  # the drawn signature

    path = tmp_path / "release.pdf"
    path.write_bytes(sealed)
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert ok and row["certified"] and row["field"] == "OuttakeSeal"
    data = bytearray(sealed)
    data[data.index(b"/Producer") + 2] ^= 1
    path.write_bytes(bytes(data))
    ok, [row] = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem")
    assert not ok and not row["intact"]

    # The creator gets the very same sealed bytes; another creator does not.
    assert client.get(f"/api/releases/{release.id}/pdf", **auth(creator)).content == sealed
    assert client.get(f"/api/releases/{release.id}/pdf", **auth(other)).status_code == 404
    client.force_login(creator)
    assert client.get(f"/releases/{release.id}.pdf").content == sealed
    event = AuditEvent.objects.get(kind="release.sealed", subject_id=str(release.id))
    assert event.data["release"] == number

    # An uploaded release has no PDF of ours.
    uploaded = releases.upload_release(creator, clip.asset, b"%PDF-1.4", person="B")
    assert client.get(f"/release/{uploaded.token}/release.pdf").status_code == 404


def test_creator_makes_links_and_uploads_releases_on_the_releases_page(make_user, client):
    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator, tags=["artwork"])
    client.force_login(creator)
    page = client.get("/releases/").content.decode()
    assert "No releases yet" in page and 'href="/releases/"' in page  # in the navigation
    asset = str(clip.asset_id)
    response = client.post("/releases/", {"asset": asset, "kind": "property", "person": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(
        "/releases/", {"asset": asset, "kind": "property", "person": "Mural; owner Jo Doe"}
    )
    assert response.status_code == 302
    release = releases.releases_of(creator).get()
    page = client.get("/releases/").content.decode()
    assert f"/release/{release.token}/" in page and "waiting for the signature" in page
    assert quote(buyer).clip_count == 0

    bad = SimpleUploadedFile("x.txt", b"hello")
    response = client.post(
        "/releases/", {"asset": asset, "kind": "property", "person": "B", "document": bad}
    )
    assert "upload the release as a PDF" in response.content.decode()
    pdf = SimpleUploadedFile("r.pdf", b"%PDF-1.4 release", content_type="application/pdf")
    client.post("/releases/", {"asset": asset, "kind": "property", "person": "B", "document": pdf})
    assert "uploaded" in client.get("/releases/").content.decode()
    assert quote(buyer).clip_count == 1
    # Another creator's asset is not a choice.
    client.force_login(make_user("creator"))
    response = client.post("/releases/", {"asset": asset, "kind": "model", "person": "x"})
    assert "Select a valid choice" in response.content.decode()
