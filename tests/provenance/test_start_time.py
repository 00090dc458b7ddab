"""Clip times count from the video stream's first frame (as the analysis measures them), so a
file whose clock starts later than 0, like camera MPEG-TS (.mts, .m2ts), is cut and transcoded
at the clip's own frames."""

from __future__ import annotations

import io

import av
import pytest
from PIL import Image

from outtake.provenance.cut import cut_video
from outtake.provenance.transcode import Profile, transcode_video
from tests.media.conftest import write_video


def _grey(i: int) -> Image.Image:
    return Image.new("RGB", (160, 120), (i * 3,) * 3)


@pytest.fixture(params=[0, 10], ids=["starts-at-0", "starts-at-10s"])
def mts(request, tmp_path) -> str:
    """3 s at 25 fps, a keyframe every 10 frames, each frame's grey level 3 × its number."""
    path = tmp_path / "clip.mts"
    write_video(path, frames=75, size=(160, 120), picture=_grey, start_s=request.param)
    with av.open(str(path)) as c:
        assert c.streams.video[0].start_time * c.streams.video[0].time_base == request.param
    return str(path)


def _greys(data: bytes) -> list[float]:
    with av.open(io.BytesIO(data)) as c:
        return [f.to_ndarray(format="gray")[:10, :10].mean() for f in c.decode(video=0)]


def test_stream_copy_cuts_at_the_clips_frames(mts):
    out = io.BytesIO()
    cut = cut_video(mts, 1.0, 2.0, out, ".mp4")
    # Keyframes every 0.4 s: the file starts at the one at 0.8 s, 0.2 s before the clip.
    assert (cut.file_start_s, cut.trim_start_s) == (pytest.approx(0.8), pytest.approx(0.2))
    assert cut.clip_duration_s == pytest.approx(1.0)
    greys = _greys(out.getvalue())
    assert len(greys) == 30  # frames 20 to 49
    assert (greys[0], greys[-1]) == (pytest.approx(60, abs=4), pytest.approx(147, abs=4))


def test_transcode_starts_at_the_clips_first_frame(mts):
    out = io.BytesIO()
    cut = transcode_video(mts, 1.0, 2.0, out, Profile("test", "test", fps=25))
    assert cut.clip_duration_s == pytest.approx(1.0)
    greys = _greys(out.getvalue())
    assert len(greys) == 25  # frames 25 to 49
    assert (greys[0], greys[-1]) == (pytest.approx(75, abs=4), pytest.approx(147, abs=4))
