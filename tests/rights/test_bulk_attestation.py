"""Attesting every upload still awaiting its ownership attestation at once (uploads made before
each upload needed its own), on My footage and through the API: one attestation and one audit
event per upload, as the single attestation makes."""

from __future__ import annotations

import pytest

from outtake.accounts.models import Attestation
from outtake.audit.models import AuditEvent
from outtake.core.terms import OWNERSHIP_ATTESTATIONS
from outtake.market.services import available_clips
from outtake.rights.sellability import NOT_ATTESTED, sale_problem
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db
URL = "/api/assets/attestations"


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def post(client, user, body: dict):
    return client.post(URL, body, content_type="application/json", **auth(user))


def attested_ids() -> set:
    return set(Attestation.objects.filter(scope="upload").values_list("asset_id", flat=True))


def test_the_api_attests_named_uploads_or_all_each_with_its_own_event(make_user, client):
    creator, other, buyer = make_user("creator"), make_user("creator"), make_user("buyer")
    legacy = [ready_clip(creator, attested=False) for _ in range(3)]
    done_before = ready_clip(creator).asset
    strangers_clip = ready_clip(other, attested=False)
    strangers = strangers_clip.asset
    before = attested_ids()

    listed = client.get(URL, **auth(creator)).json()
    assert listed["statements"] == OWNERSHIP_ATTESTATIONS
    assert listed["assets"] == [str(c.asset_id) for c in legacy]

    # Refusals change nothing: a statement left out, another creator's upload named.
    r = post(client, creator, {"assets": "all", "statements": ["holds_rights"]})
    assert r.status_code == 400 and "not_client_work" in r.json()["detail"]
    r = post(client, creator, {"assets": "all", "statements": [*OWNERSHIP_ATTESTATIONS, "x"]})
    assert r.status_code == 400 and "unknown ownership statement 'x'" in r.json()["detail"]
    r = post(client, creator, {"assets": [str(legacy[0].asset_id), str(strangers.id)]})
    assert r.status_code == 400 and str(strangers.id) in r.json()["detail"]
    assert attested_ids() == before

    r = post(client, creator, {"assets": [str(legacy[0].asset_id), str(done_before.id)]})
    assert r.status_code == 201
    body = r.json()
    assert [a["asset_id"] for a in body["attested"]] == [str(legacy[0].asset_id)]
    assert body["skipped"] == [str(done_before.id)]

    r = post(client, creator, {"assets": "all"})
    assert r.status_code == 201
    assert {a["asset_id"] for a in r.json()["attested"]} == {str(c.asset_id) for c in legacy[1:]}
    for clip in legacy:
        events = AuditEvent.objects.filter(kind="asset.attested", subject_id=str(clip.asset_id))
        assert events.count() == 1
        assert events.get().data["statements"] == sorted(OWNERSHIP_ATTESTATIONS)
        assert sale_problem(clip) == ""
    assert sale_problem(strangers_clip) == NOT_ATTESTED
    assert available_clips(buyer.organization).count() == 4
    assert client.get(URL, **auth(creator)).json()["assets"] == []


def test_my_footage_attests_the_uploads_it_counted(make_user, client):
    creator = make_user("creator")
    legacy = [ready_clip(creator, attested=False) for _ in range(2)]
    ready_clip(creator)
    client.force_login(creator)
    page = client.get("/footage/").content.decode()
    assert "2 uploads await your ownership attestation" in page
    for statement in OWNERSHIP_ATTESTATIONS.values():
        assert statement in page
    until = page.split('name="until" value="')[1].split('"')[0]

    client.post("/assets/attest/", {"until": until})  # the box not ticked
    assert not {c.asset_id for c in legacy} & attested_ids()

    sent_since = ready_clip(creator, attested=False)  # uploaded after the page was read
    response = client.post("/assets/attest/", {"attest": "1", "until": until}, follow=True)
    assert "Ownership attested for 2 uploads" in response.content.decode()
    assert {c.asset_id for c in legacy} <= attested_ids()
    assert sent_since.asset_id not in attested_ids()
    for clip in legacy:
        assert (
            AuditEvent.objects.filter(kind="asset.attested", subject_id=str(clip.asset_id)).count()
            == 1
        )
    page = client.get("/footage/").content.decode()
    assert "1 upload awaits your ownership attestation" in page
