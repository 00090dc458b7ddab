"""Holds through the real path: an upload completed as the tus endpoint completes it, ingested
(sandboxed analysis, previews, dedup step), held, and shown to a reviewer with both clips'
previews and pictures of the matching frames."""

from __future__ import annotations

import io
import re
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from outtake.catalog.models import Asset
from outtake.catalog.services import register_upload
from outtake.dedup.models import DuplicateHold
from outtake.media.hashing import sha256_file

pytestmark = pytest.mark.django_db(transaction=True)


def ingest(user, path: Path, tmp_path: Path) -> Asset:
    """Upload and ingest a file (jobs run inline in tests), as `outtake upload` sends it."""
    partial = tmp_path / f"partial-{uuid.uuid4().hex}"
    shutil.copy(path, partial)
    asset = register_upload(user, partial, path.name, sha256_file(path))
    asset.refresh_from_db()
    assert asset.status == "ready", asset.status_reason
    return asset


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {user.raw_token}"}


def test_a_re_encoded_sub_clip_from_another_creator_is_held_and_shown_side_by_side(
    client, make_user, tmp_path, bunny, variant
):
    first, second, reviewer = make_user("creator"), make_user("creator"), make_user("reviewer")
    original = ingest(first, bunny, tmp_path)
    copy = ingest(second, variant(bunny, "re-encode", start_s=1, end_s=5), tmp_path)

    holds = list(DuplicateHold.objects.filter(clip__asset=copy))
    assert holds and {(h.kind, h.matched_clip.asset_id) for h in holds} == {("near", original.id)}
    answer = client.get(f"/api/dedup/assets/{copy.id}", **auth(second)).json()
    assert answer["held"]

    client.force_login(reviewer)
    page = client.get("/review/duplicates/").content.decode()
    hold = holds[0]
    for clip in (hold.clip, hold.matched_clip):  # each clip's own preview, not the asset's
        assert clip.preview_key and f"/previews/{clip.id}.webp" in page
        preview = client.get(f"/previews/{clip.id}.webp")
        assert preview.status_code == 200 and preview["Content-Type"] == "image/webp"
    pictures = re.findall(
        rf'src="(/review/duplicates/{hold.id}/frames/\d+-(?:new|old)\.jpg)"', page
    )
    assert len(pictures) == 2 * len(hold.frames) and len(hold.frames) >= 2
    apart = {}
    for url, frame in zip(pictures[::2], hold.frames, strict=True):
        assert f"{frame['bits']}</td>" in page  # each pair with its distance
        greys = []
        for response in (client.get(url), client.get(url.replace("-new.", "-old."))):
            assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
            with Image.open(io.BytesIO(response.content)) as picture:
                assert max(picture.size) <= 240 and not picture.getexif()
                greys.append(np.asarray(picture.convert("L"), float))
        apart[frame["bits"]] = np.abs(greys[0] - greys[1]).mean()
    # Pictures of the matched moments: the closest pair by hash looks the same (grey levels).
    assert apart[min(apart)] < 6
    client.force_login(second)
    assert client.get(pictures[0]).status_code == 302  # reviewers only


def test_a_byte_identical_upload_from_another_creator_is_held(client, make_user, tmp_path, bunny):
    first, second = make_user("creator"), make_user("creator")
    original = ingest(first, bunny, tmp_path)
    copy = ingest(second, bunny, tmp_path)
    holds = DuplicateHold.objects.filter(clip__asset=copy)
    assert holds.count() == copy.clips.count() >= 1
    assert {(h.kind, h.matched_clip.asset_id) for h in holds} == {("exact", original.id)}
    assert holds.first().evidence == {"sha256": original.sha256}
    answer = client.get(f"/api/dedup/assets/{copy.id}", **auth(second)).json()
    assert answer["held"] and answer["holds"][0]["kind"] == "exact"
