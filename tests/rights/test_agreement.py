"""The creator agreement at sign-up and on template change; per-upload attestations."""

from __future__ import annotations

import hashlib

import pytest

from outtake.accounts import services
from outtake.accounts.models import Attestation
from outtake.audit.models import AuditEvent
from outtake.core.terms import OWNERSHIP_ATTESTATIONS
from outtake.provenance.contract import data_fingerprint
from outtake.storage import get_store
from tests.factories import ready_clip
from tests.provenance.pdftext import pdf_text

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def test_signup_accepts_the_agreement_with_its_datas_hash_and_seals_it_once(client):
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
    assert a.document["creator_name"] == "kim" and a.data_sha256 == data_fingerprint(a.document)
    event = AuditEvent.objects.get(kind="account.ownership_attested", subject_id=str(a.id))
    assert event.data["data_sha256"] == a.data_sha256
    with pytest.raises(FileNotFoundError):  # the sealing job runs once the sign-up commits
        get_store().get_bytes(a.document_key)

    pdf = client.get(f"/agreement/{a.id}.pdf").content  # sealed on demand
    assert get_store().get_bytes(a.document_key) == pdf
    assert client.get(f"/agreement/{a.id}.pdf").content == pdf  # and only once
    [sealed] = AuditEvent.objects.filter(kind="account.agreement_sealed", subject_id=str(a.id))
    assert sealed.data["data_sha256"] == a.data_sha256
    assert sealed.data["sealed_sha256"] == hashlib.sha256(pdf).hexdigest()


def test_a_new_template_asks_again(make_user, client, monkeypatch):
    creator = make_user("creator", agreement=False)
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


def test_unknown_statements_are_refused_and_nothing_is_recorded(make_user, client):
    creator = make_user("creator", agreement=False)
    every = list(OWNERSHIP_ATTESTATIONS)
    for statements in ([*every, "x" * 5000], [*every, "made_up"]):
        body = {"statements": statements}
        r = client.post("/api/agreement", body, content_type="application/json", **auth(creator))
        assert r.status_code == 400, r.content
        assert "unknown ownership statement" in r.json()["detail"] and len(r.content) < 1000
    assert not Attestation.objects.filter(organization=creator.organization).exists()

    owner = make_user("creator")
    asset = ready_clip(owner, attested=False).asset
    url = f"/api/assets/{asset.id}/attestation"
    body = {"statements": [*every, "made_up"]}
    r = client.post(url, body, content_type="application/json", **auth(owner))
    assert r.status_code == 400 and "'made_up'" in r.json()["detail"]
    assert not Attestation.objects.filter(scope="upload", asset=asset).exists()
    assert not AuditEvent.objects.filter(kind="asset.attested", subject_id=str(asset.id)).exists()


def test_per_upload_attestation_is_recorded(make_user, client):
    creator, other = make_user("creator"), make_user("creator")
    asset = ready_clip(creator, attested=False).asset
    url = f"/api/assets/{asset.id}/attestation"
    assert client.post(url, {}, content_type="application/json", **auth(other)).status_code == 404
    r = client.post(url, {}, content_type="application/json", **auth(creator))
    assert r.status_code == 201 and r.json()["scope"] == "upload"
    assert AuditEvent.objects.filter(kind="asset.attested", subject_id=str(asset.id)).exists()


def test_upload_metadata_attest_flag(make_user, tmp_path, monkeypatch):
    from outtake.catalog import upload_endpoint
    from outtake.catalog.models import Asset

    creator = make_user("creator")
    asset = ready_clip(creator, attested=False).asset
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


def test_without_the_agreement_no_browser_upload_and_no_sales(make_user, client, monkeypatch):
    from outtake.market.services import available_clips, build_quote, create_request
    from outtake.rights.sellability import AGREEMENT_MISSING, sale_problem

    creator, buyer = make_user("creator", agreement=False), make_user("buyer")
    clip = ready_clip(creator)
    client.force_login(creator)
    page = client.get("/footage/").content.decode()
    assert 'id="uploader"' not in page and "accept the current" in page
    assert "/agreement/" in page
    assert not creator.tokens.filter(name="browser upload").exists()
    q = build_quote(create_request(buyer, {"budget": "1000"}))
    assert q.clip_count == 0 and not available_clips(buyer.organization).exists()
    assert sale_problem(clip) == AGREEMENT_MISSING  # what the creator is told

    page = client.get("/agreement/").content.decode()
    assert "you cannot upload" in page and "/agreement/current.pdf" in page
    _, text = pdf_text(client.get("/agreement/current.pdf").content)
    assert "Creator Agreement" in text and creator.organization.pseudonym in text
    r = client.get("/api/agreement/document", **auth(creator))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert not Attestation.objects.filter(scope="agreement").exists()  # reading records nothing

    client.post("/agreement/", {"accept": "1"})
    [accepted] = Attestation.objects.filter(scope="agreement")
    assert accepted.user == creator and accepted.agreement_version == "v1"
    event = AuditEvent.objects.get(kind="account.ownership_attested")
    assert event.actor == creator and event.data["account"] == creator.email
    assert event.data["data_sha256"] == accepted.data_sha256
    assert 'id="uploader"' in client.get("/footage/").content.decode()
    assert build_quote(create_request(buyer, {"budget": "1000"})).clip_count == 1

    # A new template: unsellable and no uploads again until the creator accepts it.
    monkeypatch.setattr(services, "agreement_version", lambda: "v2")
    assert 'id="uploader"' not in client.get("/footage/").content.decode()
    assert build_quote(create_request(buyer, {"budget": "1000"})).clip_count == 0


async def _tus_post(app, token: str) -> tuple[int, str]:
    headers = {"tus-resumable": "1.0.0", "authorization": f"Bearer {token}", "upload-length": "3"}
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode()


@pytest.mark.django_db(transaction=True)  # the tus app reads users from another thread
def test_tus_refuses_a_creator_without_the_agreement(make_user, tmp_path):
    import asyncio

    from asgiref.sync import sync_to_async
    from django.db import connections

    from outtake.catalog import upload_endpoint
    from outtake.uploads.tus import TusApp

    app = TusApp(
        tmp_path,
        authenticate=upload_endpoint._authenticate,
        on_complete=upload_endpoint._on_complete,
        max_size=1000,
    )
    creator = make_user("creator", agreement=False)
    try:
        status, body = asyncio.run(_tus_post(app, creator.raw_token))
        assert status == 403
        assert "Accept the current creator agreement" in body and "/api/agreement" in body
        assert list(tmp_path.iterdir()) == []
        services.accept_creator_agreement(creator)
        assert asyncio.run(_tus_post(app, creator.raw_token))[0] == 201
    finally:  # the connection the app's worker thread opened must not outlive the test
        asyncio.run(sync_to_async(connections.close_all)())


def test_an_upload_is_sold_only_once_its_ownership_is_attested(make_user, client):
    from outtake.accounts.services import warranties_of
    from outtake.core.terms import OWNERSHIP_ATTESTATIONS
    from outtake.market.services import accept_quote, available_clips, build_quote, create_request
    from outtake.rights.sellability import NOT_ATTESTED, sale_problem

    creator, buyer = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator, attested=False)  # uploaded without `attest=1`
    assert not available_clips(buyer.organization).exists()
    assert sale_problem(clip) == NOT_ATTESTED
    assert warranties_of([clip.asset]) == ()
    client.force_login(creator)
    page = client.get(f"/assets/{clip.asset_id}/").content.decode()
    assert "Not offered to buyers until you attest" in page and 'id="attest"' in page
    client.post(f"/assets/{clip.asset_id}/attest/", {})  # the box not ticked
    assert not Attestation.objects.filter(scope="upload").exists()

    client.post(f"/assets/{clip.asset_id}/attest/", {"attest": "1"})
    assert sale_problem(clip) == "" and available_clips(buyer.organization).count() == 1
    assert (
        "You attested owning this upload"
        in client.get(f"/assets/{clip.asset_id}/").content.decode()
    )
    lic = accept_quote(buyer, build_quote(create_request(buyer, {"budget": "100"})))
    assert lic.contract.document["warranties"] == list(OWNERSHIP_ATTESTATIONS.values())
    # Another creator's upload without it takes every warranty out of a joint license.
    other = ready_clip(make_user("creator"), attested=False)
    assert warranties_of([clip.asset, other.asset]) == ()
