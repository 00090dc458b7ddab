"""Transcode profiles: the clip re-encoded to H.264 at most the profile's height, at its fixed
frame rate, no longer than its maximum, starting exactly at the clip's start."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from outtake.provenance.transcode import Profile, transcode_video


def _source(path) -> str:
    """4 s at 25 fps, 320×240 HEVC with a 440 Hz tone: each frame's grey level is its number."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx265", rate=25, options={"x265-params": "log-level=none"})
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = out.add_stream("aac", rate=44100, layout="mono")
        for i in range(100):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), i * 2, np.uint8), "rgb24")
            out.mux(video.encode(frame.reformat(format="yuv420p")))
        t = np.arange(4 * 44100) / 44100
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], "fltp", "mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = 44100, start, Fraction(1, 44100)
            out.mux(audio.encode(chunk))
        out.mux(video.encode())
        out.mux(audio.encode())
    return str(path)


def test_profile_scales_fixes_fps_and_caps_length(tmp_path):
    src = _source(tmp_path / "src.mp4")
    profile = Profile("test", "test", max_height=120, fps=10, max_clip_s=1.5)
    out = io.BytesIO()
    cut = transcode_video(src, 1.0, 3.5, out, profile)
    assert (cut.clip_start_s, cut.clip_duration_s, cut.trim_start_s) == (1.0, 1.5, 0.0)
    assert not cut.stream_copy and cut.video_codec == "h264"
    out.seek(0)
    with av.open(out) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.width, v.height) == ("h264", 160, 120)
        assert v.average_rate == 10 and c.streams.audio[0].codec_context.name == "aac"
        frames = list(c.decode(v))
        assert c.duration / av.time_base == pytest.approx(1.5, abs=0.1)
    assert len(frames) == 15
    # The first frame is the clip's first (frame 25, grey 50), not an earlier keyframe's.
    assert frames[0].to_ndarray(format="gray").mean() == pytest.approx(50, abs=4)
