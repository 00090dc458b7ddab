"""Watermarked previews and contact sheets: made from decoded frames, carrying no metadata."""

from __future__ import annotations

import numpy as np
from PIL import Image

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.previews import SHEET_NAME, watermarked

from .conftest import shots_video


def test_each_shot_gets_an_animated_watermarked_preview_and_the_file_a_sheet(clip, tmp_path):
    video = clip("v.mp4", shots_video([50], 100))
    out = tmp_path / "previews"
    result = analyse(video, preview_dir=out)
    names = [shot["preview"] for shot in result["shots"]]
    assert len(names) == 2
    for name in names:
        with Image.open(out / name) as preview:
            assert preview.format == "WEBP" and preview.n_frames >= 2
            assert max(preview.size) <= 320
            assert (
                not preview.getexif() and "xmp" not in preview.info and "exif" not in preview.info
            )
    with Image.open(out / SHEET_NAME) as sheet:
        assert sheet.format == "JPEG"
        assert not sheet.getexif() and "exif" not in sheet.info
        assert sheet.width > sheet.height  # two tiles side by side


def test_the_watermark_is_visible():
    grey = np.full((180, 320, 3), 128, np.uint8)
    marked = np.asarray(watermarked(grey)).astype(int)
    changed = np.abs(marked - 128).max(axis=2) > 40
    assert 0.03 < changed.mean() < 0.5  # plainly there, without hiding the picture
