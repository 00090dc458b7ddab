"""Reviewers' frame pictures show the frame at the analysis's time, which counts from the
video stream's first frame, not from the container clock."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from outtake.media.frames import write_frames


def _grey(i: int) -> Image.Image:
    return Image.new("RGB", (160, 120), (i * 3,) * 3)


def _corner(path) -> float:
    """The top-left corner's grey level: the watermark sits in the middle."""
    with Image.open(path) as picture:
        return float(np.asarray(picture.convert("L"))[:10, :10].mean())


@pytest.mark.parametrize("start_s", [0, 10])
def test_pictures_are_the_frames_at_times_from_the_streams_start(video, tmp_path, start_s):
    # MPEG-TS from AVCHD cameras: the first frame is shown at 10 s on the container clock.
    src = video("clip.mts", frames=75, size=(160, 120), picture=_grey, start_s=start_s)
    write_frames([[str(src), [0.0, 1.0, 2.0], str(tmp_path / "out")]])
    greys = [_corner(tmp_path / "out" / f"frame-{n}.jpg") for n in range(3)]
    # Frames 0, 25 and 50 (grey = 3 × the frame's number).
    assert greys == pytest.approx([0, 75, 150], abs=6)
