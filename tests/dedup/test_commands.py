"""`outtake hashes` and `outtake dedup rebuild` run through the CLI."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from outtake.cli import app
from outtake.dedup import services as dedup
from outtake.dedup.models import FrameHash, IndexChange
from outtake.media.dedup.hashes import FIRST_QUERY_ONLY
from outtake.media.dedup.index import HashIndex
from outtake.media.dedup.lists import FORMAT, parse
from outtake.media.dedup.matcher import N_VARIANTS
from outtake.media.hashing import sha256_file
from tests.dedup.test_flows import upload

runner = CliRunner()


def test_outtake_hashes_hashes_footage_not_sidecars_nor_junk(tmp_path, bunny):
    folder = tmp_path / "exports"
    (folder / "2024").mkdir(parents=True)
    shutil.copy(bunny, folder / "2024" / "trailer.mp4")
    shutil.copy(bunny, folder / "2024" / "DJI_0001.LRF")  # a proxy: an MP4 under another name
    (folder / "2024" / "DJI_0001.SRT").write_text("1\n00:00:00,000 --> 00:00:00,033\n")
    (folder / "notes.txt").write_text("not footage")
    out = tmp_path / "hashes.jsonl"
    result = runner.invoke(app, ["hashes", str(folder), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 files hashed, 1 skipped" in result.output  # notes.txt is not media
    header, entry = (json.loads(line) for line in out.read_text().splitlines())
    assert header == {"format": FORMAT}
    assert (entry["path"], entry["sha256"]) == ("2024/trailer.mp4", sha256_file(bunny))
    frames = [f for shot in entry["shots"] for f in shot["frames"]]
    assert len(frames) >= 3 and all(f["h"] for f in frames)
    # Without the query-only variants: lists are never searched for them.
    assert {len(f["h"]) for f in frames} == {FIRST_QUERY_ONLY}
    parsed = parse(out.read_text())  # the file a lab uploads as its list
    assert parsed.sha256 == {sha256_file(bunny)} and len(parsed.frames) == len(frames)


@pytest.mark.django_db(transaction=True)
def test_outtake_dedup_rebuild_makes_the_index_from_the_database(
    make_user, settings, tmp_path, bunny, monkeypatch
):
    settings.OUTTAKE_HOME = tmp_path / "worker"
    asset = upload(make_user("creator"), bunny)
    shutil.rmtree(dedup.index_dir())  # a lost disk
    monkeypatch.setattr(dedup, "CHANGES_KEPT", 0)
    result = runner.invoke(app, ["dedup", "rebuild"])
    assert result.exit_code == 0, result.output
    index = HashIndex.load(dedup.index_dir())
    assert index is not None and f"{len(index)} index entries" in result.output
    frames = FrameHash.objects.filter(clip__asset=asset).values_list("id", flat=True)
    assert set(index.ids // N_VARIANTS) == set(frames)
    assert not IndexChange.objects.exists()  # the log behind the rebuilt index is dropped
    found = dedup.find_matches(dedup.signature_of(asset.clips.get().id))
    assert [clip.asset for clip, _ in found] == [asset]
