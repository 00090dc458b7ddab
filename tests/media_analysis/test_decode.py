"""The shared decode: B-frames skipped in the main pass, exact frames in a window."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from outtake.media.analysis.decode import FrameNeed, VideoSource, scaled_size
from outtake.media.analysis.scaling import pictures

from .conftest import shots_video, write_clip

GRAY = FrameNeed("gray", 160)
RGB_EACH_SECOND = FrameNeed("rgb", 320, "rgb24", every_s=1.0)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("decode") / "cuts.mp4"
    return write_clip(path, shots_video([37, 81], 125))


def _full_decode(path, need: FrameNeed) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [pictures(f, [need])[need.name] for f in container.decode(video=0)]


def _converted_then_scaled(path, need: FrameNeed) -> np.ndarray:
    with av.open(str(path)) as container:
        f = next(container.decode(video=0))
        size = scaled_size(f.width, f.height, need.long_side)
        return cv2.resize(f.to_ndarray(format=need.pix_fmt), size, interpolation=cv2.INTER_AREA)


def test_main_pass_serves_referenced_frames_exactly_as_a_full_decode(video):
    truth = _full_decode(video, GRAY)
    source = VideoSource(video)
    frames = list(source.frames([GRAY]))
    # Of each group of four, the P-frame and the pyramid's middle B-frame are referenced.
    assert len(frames) < 0.6 * len(truth)
    assert source.stats.frames == len(frames)
    for frame in frames:
        np.testing.assert_array_equal(frame.images["gray"], truth[frame.index])


def test_pictures_are_scaled_and_sampled_per_need(video):
    frames = list(VideoSource(video).frames([GRAY, RGB_EACH_SECOND]))
    with_rgb = [f for f in frames if "rgb" in f.images]
    assert [round(f.t) for f in with_rgb] == [0, 1, 2, 3, 4]  # 5 s at 25 fps
    assert all(f.t - round(f.t) < 0.2 for f in with_rgb)  # the first reference of each second
    assert frames[0].images["gray"].shape == (90, 160)
    assert with_rgb[0].images["rgb"].shape == (180, 320, 3)
    assert not frames[0].images["gray"].flags.writeable


@pytest.mark.parametrize("threads", [1, 2])
def test_window_after_the_pass_gives_exact_frames_b_frames_included(video, threads):
    source = VideoSource(video, threads=threads)
    for _ in source.frames([GRAY]):
        pass
    window = source.window(33, 41, [GRAY])
    assert [f.index for f in window] == list(range(33, 42))
    truth = _full_decode(video, GRAY)
    for frame in window:
        np.testing.assert_array_equal(frame.images["gray"], truth[frame.index])


def test_a_window_of_mpeg_ts_has_its_frames_where_a_seek_lands_after_its_keyframe(tmp_path):
    # MPEG-TS (.mts, .m2ts) has no index: a seek lands by byte position, here after the clip's
    # only keyframe, from which no frame of the window can be decoded.
    video = write_clip(tmp_path / "cuts.mts", shots_video([37, 81], 125))
    source = VideoSource(video)
    for _ in source.frames([GRAY]):
        pass
    truth = _full_decode(video, GRAY)
    for first, last in [(33, 41), (100, 110)]:
        window = source.window(first, last, [GRAY])
        assert [f.index for f in window] == list(range(first, last + 1))
        for frame in window:
            np.testing.assert_array_equal(frame.images["gray"], truth[frame.index])


@pytest.mark.parametrize(
    "need", [GRAY, RGB_EACH_SECOND, FrameNeed("bgr", 100, "bgr24"), FrameNeed("big", 9999)]
)
def test_one_pass_scaling_matches_converting_at_full_size(video, need):
    ours = _full_decode(video, need)[0].astype(np.int16)
    theirs = _converted_then_scaled(video, need).astype(np.int16)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).mean() < 1.5  # rounding, not colour
    assert np.percentile(np.abs(ours - theirs), 99) <= 4
