"""Lineage: a delivered clip is traced back by its file's SHA-256 and, re-encoded at another
size and bitrate, by its frames' PDQ hashes; each party sees only what is theirs."""

from __future__ import annotations

import hashlib
import io
from fractions import Fraction
from pathlib import Path

import av
import pyarrow.parquet as pq
import pytest

from outtake.accounts.services import create_token
from outtake.dedup.services import add_to_index, store_frames, thresholds
from outtake.media.dedup.hashes import hash_media
from outtake.media.dedup.index import (
    CANDIDATE_BITS,
    REGION_CANDIDATE_BITS,
    SHORT_CLIP_FRAMES,
    HashIndex,
)
from outtake.rights.models import Release
from outtake.rights.releases import release_number
from tests.delivery.packages import VIDEO, media_of


def _index_original(clip) -> None:
    """What the analysis does on upload: the clip's frame hashes into the catalogue index."""
    (shot,) = hash_media(VIDEO)
    frames = [f for f in shot["frames"] if clip.start_s <= f["t"] <= clip.end_s]
    add_to_index(store_frames(clip, frames))


def _reencode(data: bytes, path: Path) -> Path:
    """A copy found in the wild: half the size, a quarter of the bitrate."""
    with av.open(io.BytesIO(data)) as src, av.open(str(path), "w") as dst:
        stream = dst.add_stream("libx264", rate=25, options={"x264-params": "log-level=none"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.bit_rate = 300_000
        for i, frame in enumerate(src.decode(video=0)):
            small = frame.reformat(width=640, height=360, format="yuv420p")
            small.pts, small.time_base = i, Fraction(1, 25)
            for packet in stream.encode(small):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    return path


def _auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


@pytest.fixture
def delivered(package):
    delivery, folder, video, _, buyer = package
    _index_original(video)
    rows = pq.read_table(folder / "index.parquet").to_pylist()
    (row,) = [r for r in rows if r["kind"] == "video"]
    return delivery, media_of(folder, row), video, buyer


def test_lineage_finds_a_reencoded_copy_by_its_frame_hashes(
    client, delivered, tmp_path, monkeypatch
):
    delivery, data, video, buyer = delivered
    copy = _reencode(data, tmp_path / "found-online.mp4")
    assert hashlib.sha256(copy.read_bytes()).hexdigest() != hashlib.sha256(data).hexdigest()
    (shot,) = hash_media(copy)
    searches, search = [], HashIndex.search

    def counted(index, queries, radius, full_only=None, others_only=None):
        searches.append(radius)
        return search(index, queries, radius, full_only, others_only)

    monkeypatch.setattr(HashIndex, "search", counted)
    answer = client.post(
        "/api/lineage",
        {"frames": shot["frames"]},
        content_type="application/json",
        **_auth(buyer),
    )
    assert answer.status_code == 200, answer.content
    # The catalogue's own search, no costlier: full frames and mirrors within CANDIDATE_BITS
    # (a 36-bit radius probes 7 times as many keys), then the other variants within
    # REGION_CANDIDATE_BITS, or CANDIDATE_BITS for a short clip like this one.
    samples = sum(not f.get("x") for f in shot["frames"])
    regions = REGION_CANDIDATE_BITS if samples >= SHORT_CLIP_FRAMES else CANDIDATE_BITS
    assert searches == [min(thresholds().frame_bits, CANDIDATE_BITS), regions]
    (found,) = answer.json()
    assert found["match"]["by"] == "pdq" and found["match"]["coverage"] >= 0.5
    assert found["clip"]["id"] == str(video.id)
    assert found["creator"] == video.asset.owner.pseudonym
    (lic,) = found["licenses"]
    assert lic["id"] == str(delivery.license_id) and lic["buyer"] == buyer.organization.name
    assert lic["terms_snapshot"]["terms"]["uses"]["ai_inference"]["state"] == "constrained"
    (d,) = lic["deliveries"]
    assert d["id"] == str(delivery.id) and d["contained"] and not d["removed"]
    assert d["delivered_sha256"] == hashlib.sha256(data).hexdigest()
    # One frame hash in the query string works too.
    one = shot["frames"][1]["h"][0]
    answer = client.get(f"/api/lineage?pdq={one}", **_auth(buyer))
    assert answer.status_code == 200 and answer.json()[0]["clip"]["id"] == str(video.id)


def test_lineage_by_the_delivered_files_sha256_and_who_sees_what(
    client, delivered, make_user, tmp_path
):
    delivery, data, video, buyer = delivered
    creator = video.asset.owner.members.first()
    creator.raw_token = create_token(creator, "test").raw
    r = Release.objects.create(
        asset=video.asset,
        person="man in the hat",
        method=Release.Method.SIGNED,
        token="secret-signing-token",
        signed_at=delivery.created_at,
        created_by=creator,
    )
    url = f"/api/lineage?sha256={hashlib.sha256(data).hexdigest()}"
    mine = client.get(url, **_auth(buyer)).json()
    assert [f["clip"]["id"] for f in mine] == [str(video.id)]
    assert mine[0]["match"]["by"] == "delivered sha256"
    (release,) = mine[0]["releases"]
    assert release["id"] == release_number(r) and release["active"]
    assert "secret-signing-token" not in str(mine)
    # The creator sees where the clip went; a buyer who asked to be anonymous is "an AI lab".
    org = buyer.organization
    org.show_as_ai_lab = True
    org.save()
    theirs = client.get(url, **_auth(creator)).json()
    assert theirs[0]["licenses"][0]["buyer"] == "an AI lab"
    assert org.name not in str(theirs)
    # Anyone else: nothing to see.
    stranger = make_user("buyer", "other-lab@example.org")
    assert client.get(url, **_auth(stranger)).status_code == 404
    other_creator = make_user("creator", "someone@example.org")
    assert client.get(url, **_auth(other_creator)).status_code == 404
    # The original's own SHA-256 finds it too.
    by_original = client.get(f"/api/lineage?sha256={video.asset.sha256}", **_auth(buyer))
    assert str(video.id) in [f["clip"]["id"] for f in by_original.json()]


def test_lineage_refuses_bad_input(client, make_user, db):
    buyer = make_user("buyer")
    assert client.get("/api/lineage?sha256=xyz", **_auth(buyer)).status_code == 400
    assert client.get("/api/lineage", **_auth(buyer)).status_code == 400
    answer = client.post(
        "/api/lineage", {"frames": ["not-hex"]}, content_type="application/json", **_auth(buyer)
    )
    assert answer.status_code == 400 and "hex" in answer.json()["detail"]
    assert client.get("/api/lineage?sha256=" + "0" * 64).status_code == 401
