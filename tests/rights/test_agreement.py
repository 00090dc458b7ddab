"""The creator agreement at sign-up and on template change; per-upload attestations."""

from __future__ import annotations

import hashlib

import pytest

from outtake.accounts import services
from outtake.accounts.models import Attestation
from outtake.audit.models import AuditEvent
from outtake.storage import get_store
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def test_signup_accepts_the_agreement_with_the_documents_hash(client):
    response = client.post(
        "/signup/",
        {
            "role": "creator",
            "email": "kim@example.org",
            "password": "correct horse battery",
            "owns_rights": "on",
        },
    )
    assert response.status_code == 302
    [a] = Attestation.objects.filter(scope="agreement")
    assert a.statements == sorted(services.OWNERSHIP_ATTESTATIONS)
    pdf = get_store().get_bytes(a.document_key)
    assert hashlib.sha256(pdf).hexdigest() == a.document_sha256
    event = AuditEvent.objects.get(kind="account.ownership_attested", subject_id=str(a.id))
    assert event.data["document_sha256"] == a.document_sha256
    assert client.get(f"/agreement/{a.id}.pdf").content == pdf


def test_a_new_template_asks_again(make_user, client, monkeypatch):
    creator = make_user("creator")
    assert services.needs_agreement(creator)
    r = client.post("/api/agreement", {}, content_type="application/json", **auth(creator))
    assert r.status_code == 201
    assert not services.needs_agreement(creator)
    monkeypatch.setattr(services, "agreement_version", lambda: "v2")
    assert client.get("/api/agreement", **auth(creator)).json()["needs_acceptance"] is True
    client.force_login(creator)
    assert "Please accept the current agreement" in client.get("/agreement/").content.decode()


def test_partial_attestation_is_refused(make_user, client):
    creator = make_user("creator")
    r = client.post(
        "/api/agreement",
        {"statements": ["holds_rights"]},
        content_type="application/json",
        **auth(creator),
    )
    assert r.status_code == 400 and "no_third_party_music" in r.json()["detail"]


def test_per_upload_attestation_is_recorded(make_user, client):
    creator, other = make_user("creator"), make_user("creator")
    asset = ready_clip(creator).asset
    url = f"/api/assets/{asset.id}/attestation"
    assert client.post(url, {}, content_type="application/json", **auth(other)).status_code == 404
    r = client.post(url, {}, content_type="application/json", **auth(creator))
    assert r.status_code == 201 and r.json()["scope"] == "upload"
    assert AuditEvent.objects.filter(kind="asset.attested", subject_id=str(asset.id)).exists()


def test_upload_metadata_attest_flag(make_user, tmp_path, monkeypatch):
    from outtake.catalog import upload_endpoint
    from outtake.catalog.models import Asset

    creator = make_user("creator")
    asset = ready_clip(creator).asset
    monkeypatch.setattr(upload_endpoint, "register_upload", lambda *a, **k: asset)

    class Upload:
        owner, data_path, id = str(creator.pk), str(tmp_path / "x"), "u1"
        metadata = {"filename": "x.mp4", "attest": "1"}

    upload_endpoint._register(Upload())
    assert Attestation.objects.filter(scope="upload", asset=asset).count() == 1
    Upload.metadata = {"filename": "y.mp4"}
    upload_endpoint._register(Upload())
    assert Attestation.objects.filter(scope="upload", asset=asset).count() == 1
    assert Asset.objects.count() == 1
