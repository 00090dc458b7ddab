"""People: the astronaut's face is identifiable, the same face at 20 px is incidental."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from outtake.media.analysis.decode import PhotoSource
from outtake.media.analysis.faces import Box, available_detectors, face_detector
from outtake.media.analysis.people import People, track_faces
from outtake.media.analysis.pipeline import Pipeline
from outtake.media.analysis.shots import Shots
from outtake.media.inspect import inspect_isolated

DETECTORS = available_detectors()


def people_of(path: Path, detector: str | None = None) -> dict:
    step = People(face_detector(detector))
    source = PhotoSource(path)
    result = Pipeline(Shots(), [step]).run(source, {"kind": "image", "frame_count": 1})
    (shot,) = result["shots"]
    return shot


@pytest.mark.parametrize("detector", DETECTORS)
def test_the_astronaut_has_an_identifiable_face(fixture_path, detector):
    shot = people_of(fixture_path("photo", "astronaut.png"), detector)
    assert shot["people"]["identifiable"] == 1
    assert shot["people"]["faces"][0]["height_px_1080"] >= 48
    assert "identifiable_people" in shot["tags"]


def test_the_same_face_at_20_px_in_a_1080p_frame_is_incidental(fixture_path, tmp_path):
    photo = cv2.imread(str(fixture_path("photo", "astronaut.png")))
    face_height = face_detector().detect(photo)[0].h
    small = cv2.resize(
        photo, None, fx=20 / face_height, fy=20 / face_height, interpolation=cv2.INTER_AREA
    )
    frame = np.full((1080, 1920, 3), 110, np.uint8)
    frame[500 : 500 + small.shape[0], 900 : 900 + small.shape[1]] = small
    cv2.imwrite(str(tmp_path / "crowd.png"), frame)
    shot = people_of(tmp_path / "crowd.png")
    assert shot["people"]["identifiable"] == 0
    assert shot["people"]["incidental"] == 1
    (face,) = shot["people"]["faces"]
    assert 14 <= face["height_px_1080"] < 48
    assert shot["tags"] == ["incidental_people"]


def test_the_coffee_has_no_people(fixture_path):
    shot = people_of(fixture_path("photo", "coffee.png"))
    assert shot["people"]["identifiable"] == shot["people"]["incidental"] == 0
    assert shot["tags"] == []


def test_a_small_face_visible_for_a_second_is_identifiable():
    def seen(t: float, x: int) -> tuple[float, tuple[int, int], list[Box]]:
        return t, (720, 1280), [Box(x, 300, 12, 14, 0.9)]

    (brief,) = track_faces([seen(0.0, 600)])
    assert not brief.identifiable
    (lasting,) = track_faces([seen(0.0, 600), seen(1.0, 610)])
    assert lasting.identifiable
    # Two faces far apart are two people, each seen once.
    assert len(track_faces([seen(0.0, 100), seen(1.0, 900)])) == 2


def test_a_picture_smaller_than_the_person_detector_is_fine(tmp_path):
    # OpenCV's HOG segfaults on a picture smaller than its 64×128 window: in a child, so a
    # regression fails this test rather than the test run.
    rng = np.random.default_rng(1)
    cv2.imwrite(str(tmp_path / "tiny.jpg"), rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    result = inspect_isolated(tmp_path / "tiny.jpg", tmp_path / "thumb.jpg")
    (shot,) = result["analysis"]["shots"]
    assert shot["people"]["persons"] == []
