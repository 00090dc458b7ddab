import itertools
import shutil
from pathlib import Path

import pytest

from outtake.catalog.models import Asset
from outtake.catalog.services import register_upload
from outtake.notices.models import Notification
from tests.factories import ready_clip

FIXTURES = Path(__file__).parent.parent / "fixtures"
pytestmark = pytest.mark.django_db(transaction=True)


def test_reviewer_rejects_an_asset_with_a_reason_in_the_admin(client, make_user):
    creator, reviewer = make_user("creator"), make_user("reviewer")
    clip = ready_clip(creator)
    client.force_login(reviewer)
    response = client.post(
        "/admin/catalog/asset/",
        {
            "action": "reject_assets",
            "_selected_action": [str(clip.asset_id)],
            "apply": "1",
            "reason": "This is footage of a broadcast, not yours.",
        },
    )
    assert response.status_code == 302
    asset = Asset.objects.get(pk=clip.asset_id)
    assert asset.status == "rejected"
    assert asset.status_reason == "This is footage of a broadcast, not yours."
    assert not asset.clips.get().sellable
    note = Notification.objects.get(user=creator, kind="asset.rejected")
    assert "broadcast" in note.body


def test_creator_cannot_use_the_admin(client, make_user):
    client.force_login(make_user("creator"))
    assert client.get("/admin/catalog/asset/").status_code == 302


def test_ingest_in_process_makes_a_priced_clip(make_user, tmp_path):
    creator = make_user("creator")
    upload = tmp_path / "partial.bin"
    shutil.copy(FIXTURES / "photo" / "astronaut.png", upload)
    asset = register_upload(creator, upload, "astronaut.png")  # jobs run inline in tests
    asset.refresh_from_db()
    assert asset.status == "ready", asset.status_reason
    assert not upload.exists()  # moved into storage, not copied
    clip = asset.clips.get()
    assert (clip.kind, clip.width, clip.height) == ("image", 512, 512)
    assert clip.tier == "photo_small" and clip.price_minor == 5 and clip.sellable


def test_ingest_splits_a_video_into_priced_shots(make_user, tmp_path):
    creator = make_user("creator")
    upload = tmp_path / "partial.bin"
    shutil.copy(FIXTURES / "video" / "bikes.mp4", upload)
    asset = register_upload(creator, upload, "bikes.mp4")
    asset.refresh_from_db()
    assert asset.status == "ready", asset.status_reason
    clips = list(asset.clips.order_by("index"))
    assert len(clips) >= 2  # bikes.mp4 has hard cuts
    assert clips[0].start_s == 0 and clips[-1].end_s == pytest.approx(10.0, abs=0.1)
    for before, after in itertools.pairwise(clips):
        assert before.end_s == pytest.approx(after.start_s)
        assert before.end_frame == after.start_frame
    for clip in clips:
        assert clip.pipeline_version.startswith("outtake-analysis/")
        assert clip.pdq and all(len(h["hash"]) == 64 for h in clip.pdq)
        assert clip.price_minor == sum(line["amount"]["minor"] for line in clip.price_lines)
        assert clip.tier == "sd"


def test_a_long_file_name_is_kept_and_its_notice_still_sent(make_user, tmp_path):
    creator = make_user("creator")
    upload = tmp_path / "x.bin"
    shutil.copy(FIXTURES / "photo" / "coffee.png", upload)
    name = "a" * 196 + ".png"
    asset = register_upload(creator, upload, name)
    asset.refresh_from_db()
    assert asset.status == "ready" and asset.original_filename == name
    note = Notification.objects.get(user=creator, kind="asset.ready")
    assert len(note.subject) <= 200 and note.subject.endswith("…")
