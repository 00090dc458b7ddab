"""Bad files get a clear status, nothing else breaks, and the worker carries on."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.test_api_path import tus_upload, wait_asset

FIXTURES = Path(__file__).parent.parent / "fixtures"
pytestmark = pytest.mark.e2e


def _bad_files(tmp: Path) -> dict[str, Path]:
    files = {}
    video = (FIXTURES / "video" / "bikes.mp4").read_bytes()
    files["truncated.mp4"] = tmp / "truncated.mp4"
    files["truncated.mp4"].write_bytes(video[: len(video) * 6 // 10])
    files["empty.mp4"] = tmp / "empty.mp4"
    files["empty.mp4"].write_bytes(b"")
    files["notes.mp4"] = tmp / "notes.mp4"
    files["notes.mp4"].write_text("this is not a video\n" * 50)
    wide = tmp / "wide.png"
    Image.new("1", (50_000, 3_000)).save(wide, optimize=True)
    files["wide.png"] = wide
    return files


def test_bad_files_get_clear_statuses(exchange, tmp_path):
    creator = exchange.create_user("creator", "bad-input@example.org")
    session = exchange.api(creator["token"])
    files = _bad_files(tmp_path)
    for name, path in files.items():
        tus_upload(exchange, creator["token"], path, name=name)
    # Odd colour modes are normal photos.
    modes = sorted((FIXTURES / "photo" / "modes").iterdir())
    for path in modes:
        tus_upload(exchange, creator["token"], path)
    # A hostile file name is kept only as a label, never as a path.
    good = tmp_path / "good.mp4"
    good.write_bytes((FIXTURES / "video" / "bikes.mp4").read_bytes())
    tus_upload(exchange, creator["token"], good, name="../../etc/passwd.mp4")

    assets = wait_asset(exchange, session, count=len(files) + len(modes) + 1)
    by_name = {a["filename"]: a for a in assets}
    for name in files:
        a = by_name[name]
        assert a["status"] == "rejected", (name, a)
        assert len(a["status_reason"]) > 10, (name, a)
    assert "empty" in by_name["empty.mp4"]["status_reason"].lower()
    assert "pixels" in by_name["wide.png"]["status_reason"].lower()
    for path in modes:
        a = by_name[path.name]
        assert a["status"] == "ready", (path.name, a["status_reason"])
        assert a["clips"][0]["kind"] == "image"
    hostile = by_name["passwd.mp4"]
    assert hostile["status"] == "ready"
    assert not (exchange.home / "etc").exists()
    # The worker survived all of it: a clean upload afterwards is still ingested.
    img = io.BytesIO()
    Image.frombytes("RGB", (96, 64), random.Random(1).randbytes(96 * 64 * 3)).save(img, "JPEG")
    last = tmp_path / "after.jpg"
    last.write_bytes(img.getvalue())
    tus_upload(exchange, creator["token"], last)
    assets = wait_asset(exchange, session, count=len(assets) + 1)
    assert {a["filename"]: a for a in assets}["after.jpg"]["status"] == "ready"
