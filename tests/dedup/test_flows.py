"""Through the API, in process: holds, labs' hash lists, `outtake exclude`, published lists."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from outtake.catalog.models import Asset
from outtake.dedup import commands
from outtake.dedup import services as dedup
from outtake.dedup.models import DuplicateHold
from outtake.market.models import Quote
from outtake.market.services import available_clips
from outtake.media.authenticity import evidence
from outtake.media.dedup.lists import write_entry, write_header
from outtake.media.hashing import sha256_file
from outtake.media.probe import probe
from tests.dedup.conftest import shots_of
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db(transaction=True)


def prepared(user, path: Path):
    """(asset, clip, analysis) as ingest has them when it calls on_clips_made, with the dedup
    step's hashes, without ingest's slower steps (people, text)."""
    shots = shots_of(path)
    clip = ready_clip(user, duration_s=shots[-1]["end_s"], width=1280, height=720)
    Asset.objects.filter(pk=clip.asset_id).update(
        sha256=sha256_file(path), authenticity=evidence(path, probe(path))
    )
    clip.asset.refresh_from_db()
    frames = [f for shot in shots for f in shot["frames"]]
    return clip.asset, clip, {"shots": [{"index": 0, "dedup": frames}]}


def upload(user, path: Path):
    """An asset as ingest leaves it: catalog.services._make_ready makes the same call."""
    asset, clip, analysis = prepared(user, path)
    with transaction.atomic():
        dedup.on_clips_made(asset, [clip], analysis)
    return asset


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def hashes_file(path: Path) -> str:
    return "\n".join([write_header(), write_entry(path.name, "", shots_of(path))])


def quote(client, buyer) -> dict:
    body = {"title": "t", "minutes_wanted": "10", "budget": "1000"}
    response = client.post("/api/requests", body, content_type="application/json", **auth(buyer))
    assert response.status_code == 201, response.content
    return response.json()


def test_a_re_encoded_sub_clip_from_another_creator_is_held(client, make_user, bunny, variant):
    first, second, reviewer = make_user("creator"), make_user("creator"), make_user("reviewer")
    original = upload(first, bunny)
    held = upload(second, variant(bunny, "re-encode", start_s=1, end_s=5))

    answer = client.get(f"/api/dedup/assets/{held.id}", **auth(second)).json()
    assert answer["held"] and answer["holds"][0]["kind"] == "near"
    assert answer["holds"][0]["matched_clip_id"] == str(original.clips.get().id)
    page = client.get(f"/assets/{held.id}/", **auth(second))
    client.force_login(second)
    assert "held out of the catalogue" in client.get(f"/assets/{held.id}/").content.decode()
    buyer = make_user("buyer")
    assert set(available_clips(buyer.organization)) == set(original.clips.all())

    client.force_login(reviewer)
    queue = client.get("/review/duplicates/").content.decode()
    assert "distance" in queue and str(held.clips.get().index) in queue
    # Both sides' authenticity facts: PyAV wrote these files, and its muxer says so.
    assert queue.count("Where this file comes from") == 2 and "software tag: Lavf" in queue
    hold = DuplicateHold.objects.get()
    client.post(f"/review/duplicates/{hold.id}/", {"decision": "duplicate"})
    hold.refresh_from_db()
    assert hold.status == "duplicate" and hold.decided_by == reviewer
    assert page.status_code in (200, 302)


def test_a_labs_hash_list_removes_a_clip_from_its_quote_only(client, make_user, bunny, variant):
    creator, lab, other_lab = make_user("creator"), make_user("buyer"), make_user("buyer")
    asset = upload(creator, bunny)
    before = quote(client, lab)
    assert before["clip_count"] == 1, before["excluded"]
    corpus = variant(bunny, "grey")
    response = client.post(
        "/api/dedup/corpus-lists",
        {"text": hashes_file(corpus), "kind": "outtake"},
        content_type="application/json",
        **auth(lab),
    )
    assert response.status_code == 201 and response.json()["matched_clips"] == 1
    after = quote(client, lab)
    assert after["clip_count"] == 0
    assert after["excluded"]["already in your corpus"] == 1
    assert after["excluded"]["excluded minutes"] == pytest.approx(asset.duration_s / 60, abs=0.01)
    assert quote(client, other_lab)["clip_count"] == 1


class _ClientSession:
    """requests.Session over Django's test client, so the CLI talks to this process."""

    def __init__(self, client):
        self.client, self.headers = client, {}

    def _wrap(self, response):
        response.json = lambda: json.loads(response.content)
        response.raise_for_status = lambda: None if response.status_code < 400 else 1 / 0
        return response

    def get(self, url, timeout=None):
        return self._wrap(self.client.get(url, HTTP_AUTHORIZATION=self.headers["Authorization"]))

    def post(self, url, json=None, timeout=None):
        return self._wrap(
            self.client.post(
                url,
                json,
                content_type="application/json",
                HTTP_AUTHORIZATION=self.headers["Authorization"],
            )
        )


def test_outtake_exclude_matches_locally_and_requotes(
    client, make_user, tmp_path, monkeypatch, bunny, variant
):
    creator, lab, other_lab = make_user("creator"), make_user("buyer"), make_user("buyer")
    upload(creator, bunny)
    first = quote(client, lab)
    theirs = tmp_path / "corpus.jsonl"
    theirs.write_text(hashes_file(variant(bunny, "mirror")))
    monkeypatch.setattr("requests.Session", lambda: _ClientSession(client))
    commands.exclude([theirs], quote=first["id"], server="", token=lab.raw_token, kind="auto")
    requoted = Quote.objects.filter(request_id=first["request_id"]).latest("created_at")
    assert requoted.id != first["id"] and requoted.clip_count == 0
    assert requoted.excluded["already in your corpus"] == 1
    assert quote(client, other_lab)["clip_count"] == 1


def test_a_creators_published_list_marks_and_excludes_a_clip(client, make_user, bunny, variant):
    creator, lab = make_user("creator"), make_user("buyer")
    asset = upload(creator, bunny)
    exported = variant(bunny, "resize")
    response = client.post(
        "/api/dedup/published-lists",
        {"text": hashes_file(exported), "kind": "outtake"},
        content_type="application/json",
        **auth(creator),
    )
    assert response.status_code == 201, response.content
    marked = client.get(f"/api/dedup/assets/{asset.id}", **auth(creator)).json()
    assert marked["published_clips"] == [str(asset.clips.get().id)]
    assert quote(client, lab)["excluded"]["published elsewhere"] == 1


def test_published_clips_are_priced_lower_by_setting_unless_unpublished_only(
    client, make_user, settings, bunny
):
    creator, lab = make_user("creator"), make_user("buyer")
    upload(creator, bunny)
    response = client.post(
        "/api/dedup/published-lists",
        {"text": sha256_file(bunny), "kind": "sha256"},
        content_type="application/json",
        **auth(creator),
    )
    assert response.status_code == 201 and response.json()["matched_clips"] == 1
    settings.OUTTAKE_DEDUP_PUBLISHED = "allow"
    full = quote(client, lab)
    assert full["clip_count"] == 1 and full["total_minor"] > 0
    settings.OUTTAKE_DEDUP_PUBLISHED, settings.OUTTAKE_DEDUP_PUBLISHED_DISCOUNT = "discount", "0.5"
    lower = quote(client, lab)
    (item,) = lower["items"]
    line = next(ln for ln in item["price_lines"] if ln["code"] == "published")
    assert line["kind"] == "deduction" and "Published elsewhere" in line["label"]
    half = round(full["total_minor"] * 0.5)
    assert line["amount"]["minor"] == -half
    assert lower["total_minor"] == item["price_minor"] == full["total_minor"] - half

    answer = client.put(
        f"/api/dedup/requests/{lower['request_id']}",
        {"unpublished_only": True},
        content_type="application/json",
        **auth(lab),
    )
    assert answer.status_code == 200
    requoted = client.post(f"/api/requests/{lower['request_id']}/quote", **auth(lab)).json()
    assert requoted["clip_count"] == 0 and requoted["excluded"]["published elsewhere"] == 1
    settings.OUTTAKE_DEDUP_PUBLISHED = "sometimes"
    with pytest.raises(ImproperlyConfigured):
        dedup.published_policy()
