"""One rule for which files under a folder are candidate footage, shared by the scanner,
`outtake hashes` and `outtake upload`: hidden files and folders and camera sidecars are not."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from outtake.cli import app
from outtake.media.files import media_files
from outtake.media.scan import find_media

HIDDEN = (".Trashes/501/GX010001.MP4", ".Spotlight-V100/Store/a.mp4", "DCIM/.thumbnails/b.jpg")


def test_media_files_skip_hidden_files_and_folders_and_sidecars(tmp_path):
    for name in (*HIDDEN, "DCIM/100GOPRO/GX010002.MP4", "DCIM/100GOPRO/GL010002.LRV", "a.mov"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept here; the scanner's suffixes leave it out")
    found = [p.relative_to(tmp_path).as_posix() for p in media_files(tmp_path)]
    assert found == ["a.mov", "notes.txt", "DCIM/100GOPRO/GX010002.MP4"]
    assert [p.name for p in find_media(tmp_path)] == ["a.mov", "GX010002.MP4"]


def test_outtake_hashes_skips_hidden_folders(video, tmp_path):
    card = tmp_path / "card"
    clip = video("GX010001.MP4", frames=25)
    for name in ("DCIM/GX010001.MP4", HIDDEN[0]):  # the camera's trash holds a copy
        (card / name).parent.mkdir(parents=True, exist_ok=True)
        (card / name).write_bytes(clip.read_bytes())
    out = tmp_path / "hashes.jsonl"
    result = CliRunner().invoke(app, ["hashes", str(card), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 files hashed, 0 skipped" in result.output
    _, *entries = (json.loads(line) for line in out.read_text().splitlines())
    assert [entry["path"] for entry in entries] == ["DCIM/GX010001.MP4"]
