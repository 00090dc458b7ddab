"""Burned-in overlays: text fixed on the frame is flagged, a sign moving with the scene is not."""

from __future__ import annotations

import cv2
import numpy as np

from outtake.media.analysis.decode import VideoSource
from outtake.media.analysis.overlays import Overlays, fixed_boxes
from outtake.media.analysis.pipeline import Pipeline
from outtake.media.analysis.shots import Shots

from .conftest import canvas, grain

SIZE = (640, 360)
FRAMES = 100


def _text(picture: np.ndarray, words: str, at: tuple[int, int]) -> None:
    cv2.putText(picture, words, at, cv2.FONT_HERSHEY_DUPLEX, 1.3, (255, 255, 255), 5)
    cv2.putText(picture, words, at, cv2.FONT_HERSHEY_DUPLEX, 1.3, (20, 20, 20), 2)


def scrolling(*, sign: bool = False, overlay: bool = False):
    """A camera panning sideways across a wide scene, 6 px a frame."""
    scene = cv2.resize(canvas(3, (600, 180)), (SIZE[0] + 6 * FRAMES, SIZE[1]))
    if sign:
        _text(scene, "HOTEL PARIS", (420, 150))
    rng = np.random.default_rng(0)
    for i in range(FRAMES):
        picture = grain(scene[:, 6 * i : 6 * i + SIZE[0]], rng).copy()
        if overlay:
            _text(picture, "CHANNEL 5", (400, 330))
        yield picture


def overlays_of(path) -> dict:
    result = Pipeline(Shots(), [Overlays()]).run(VideoSource(path), {"frame_count": FRAMES})
    (shot,) = result["shots"]
    return shot


def test_fixed_text_is_an_overlay(clip):
    shot = overlays_of(clip("logo.mp4", scrolling(overlay=True)))
    overlay = shot["overlays"]
    assert overlay["severity"] in ("warn", "fail")
    assert "bottom right" in overlay["reason"]
    assert [p["code"] for p in shot["problems"]] == ["overlay"]


def test_a_sign_moving_with_the_scene_is_not(clip):
    shot = overlays_of(clip("sign.mp4", scrolling(sign=True)))
    assert shot["overlays"]["severity"] == "pass"
    assert "problems" not in shot or shot["problems"] == []


def test_fixed_boxes_need_the_same_place_in_most_frames():
    box = (0.7, 0.8, 0.9, 0.9)
    moved = (0.5, 0.8, 0.7, 0.9)
    assert fixed_boxes([[box], [box], [box], []]) == [box]
    assert fixed_boxes([[box], [moved], [box], [moved]]) == []


def test_text_only_counts_as_fixed_where_the_scene_moved_around_it():
    from outtake.media.analysis.overlays import stays_while_scene_moves

    rng = np.random.default_rng(1)
    still = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    moved = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    corner = (0.7, 0.8, 0.95, 0.95)
    assert not stays_while_scene_moves(corner, [still, still.copy()])
    assert stays_while_scene_moves(corner, [still, moved])
