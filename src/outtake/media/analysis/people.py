"""People: faces and persons on sampled frames, identifiable or incidental.

DESIGN.md's rule: a person is identifiable when a face is at least 48 px tall in a 1080p frame
(scaled by the frame's short side for other sizes) or visible for 1 s or more; smaller,
briefer faces and figures without a face are incidental people (no release needed, but the
clip is tagged so a buyer can exclude it).

The detectors cost far more than decoding a frame, so a video is looked at every LOOK_EVERY_S
seconds, at the first frame of every shot no such look fell in, and, while faces are in view,
every second (so a face's track, and whether it lasts a second, is followed as before). Video
frames are looked at 640 px, where a face of 48 px at 1080p is 16 px and still found (yuface
finds about 10 px); a photo, one frame, at 1280 px, where a face of about 20 px at 1080p is.
Persons (OpenCV's HOG people detector) are looked for on the periodic and shot-start looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from outtake.media.analysis.decode import SAMPLED_BGR, Frame, FrameNeed
from outtake.media.analysis.faces import Box, FaceDetector, face_detector
from outtake.media.analysis.pipeline import Context, Step

IDENTIFIABLE_FACE_PX_1080 = 48
IDENTIFIABLE_VISIBLE_S = 1.0
# Samples are a second apart; a face seen again within this gap, near where it was, is the same.
_TRACK_GAP_S = 1.6
_TRACK_DISTANCE = 1.5  # face heights its centre may move between samples
_PERSON_MIN_WEIGHT = 0.8  # HOG's SVM margin: weaker hits are mostly texture
_MAX_LISTED = 50  # detections listed per shot (counts are complete)
LOOK_EVERY_S = 8.0
# HOG's pyramid step: 1.1 instead of OpenCV's 1.05 cuts its cost by a third (persons of every
# size are still covered, in coarser steps).
_PERSON_SCALE_STEP = 1.1
_EPS_S = 1e-3


def scale_to_1080(frame_shape: tuple[int, ...]) -> float:
    """Factor turning pixels of this picture into pixels of a 1080p frame (by the short side)."""
    return 1080 / min(frame_shape[:2])


@dataclass
class _Track:
    first_t: float
    last_t: float
    last: Box
    max_px_1080: float
    shape: tuple[int, int]
    sightings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identifiable(self) -> bool:
        return (
            self.max_px_1080 >= IDENTIFIABLE_FACE_PX_1080
            or self.last_t - self.first_t >= IDENTIFIABLE_VISIBLE_S - _EPS_S
        )


def _as_dict(t: float, box: Box, shape: tuple[int, ...]) -> dict[str, Any]:
    height, width = shape[:2]
    return {
        "t": round(t, 3),
        "box": [
            round(box.x / width, 4),
            round(box.y / height, 4),
            round(box.w / width, 4),
            round(box.h / height, 4),
        ],
        "height_px_1080": round(box.h * scale_to_1080(shape), 1),
        "score": round(box.score, 2),
    }


def track_faces(samples: list[tuple[float, tuple[int, int], list[Box]]]) -> list[_Track]:
    """Link faces of consecutive samples (t, picture shape, faces) into tracks, greedily."""
    tracks: list[_Track] = []
    for t, shape, faces in sorted(samples, key=lambda s: s[0]):
        open_tracks = [tr for tr in tracks if 0 < t - tr.last_t <= _TRACK_GAP_S]
        for box in sorted(faces, key=lambda b: -b.h):
            px = box.h * scale_to_1080(shape)
            match = _nearest(open_tracks, box)
            if match is None:
                match = _Track(t, t, box, px, shape)
                tracks.append(match)
            else:
                open_tracks.remove(match)
                match.last_t, match.last = t, box
                match.max_px_1080 = max(match.max_px_1080, px)
            match.sightings.append(_as_dict(t, box, shape))
    return tracks


def _nearest(tracks: list[_Track], box: Box) -> _Track | None:
    def distance(track: _Track) -> float:
        (ax, ay), (bx, by) = track.last.centre, box.centre
        return float(np.hypot(ax - bx, ay - by))

    near = [tr for tr in tracks if distance(tr) <= _TRACK_DISTANCE * max(tr.last.h, box.h)]
    return min(near, key=distance, default=None)


class People(Step):
    name = "people"
    version = 2
    PHOTO = FrameNeed("people.photo", 1280, "bgr24")
    needs: tuple[FrameNeed, ...] = (SAMPLED_BGR,)

    def __init__(self, detector: FaceDetector | None = None) -> None:
        super().__init__()
        self.detector = detector or face_detector()
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._faces: list[tuple[int, float, tuple[int, int], list[Box]]] = []
        self._persons: list[tuple[int, float, tuple[int, int], list[Box]]] = []
        self._next_look_t = 0.0
        self._faces_in_view = False
        self._last_index = -1
        self._pending_start: Frame | None = None

    def begin(self, info: dict[str, Any]) -> None:
        if info.get("kind") == "image":
            self.needs = (self.PHOTO,)

    def consume(self, frame: Frame) -> None:
        picture = frame.images.get(self.needs[0].name)
        if picture is None:
            return
        if frame.index <= self._last_index:
            # After the pass, shot starts come in order: the one before now knows its shot's end.
            self._look_at_start(frame.index)
            self._pending_start = frame
            return
        self._last_index = frame.index
        periodic = frame.t >= self._next_look_t - _EPS_S
        if periodic:
            self._next_look_t = frame.t + LOOK_EVERY_S
        if periodic or self._faces_in_view:
            self._look(frame, picture, persons=periodic)

    def _look_at_start(self, end: int | None) -> None:
        start = self._pending_start
        if start is None:
            return
        self._pending_start = None
        looked = any(
            start.index <= index and (end is None or index < end) for index, *_ in self._faces
        )
        if not looked:
            self._look(start, start.images[self.needs[0].name], persons=True)

    def _look(self, frame: Frame, picture: np.ndarray, *, persons: bool) -> None:
        faces = self.detector.detect(picture)
        self._faces.append((frame.index, frame.t, picture.shape[:2], faces))
        self._faces_in_view = bool(faces)
        self.stats.count("looks")
        self.stats.count("faces", len(faces))
        window_w, window_h = self._hog.winSize
        # OpenCV's HOG crashes on a picture smaller than its window, which holds no person.
        if persons and picture.shape[0] >= window_h and picture.shape[1] >= window_w:
            rects, weights = self._hog.detectMultiScale(
                picture, winStride=(8, 8), scale=_PERSON_SCALE_STEP
            )
            found = [
                Box(int(x), int(y), int(w), int(h), float(s))
                for (x, y, w, h), s in zip(rects, np.ravel(weights), strict=True)
                if s >= _PERSON_MIN_WEIGHT
            ]
            self._persons.append((frame.index, frame.t, picture.shape[:2], found))
            self.stats.count("persons", len(found))

    def finish(self, context: Context) -> list[dict[str, Any]]:
        self._look_at_start(None)
        results = []
        for shot in context.shots:
            inside = [s for s in self._faces if shot.start_frame <= s[0] < shot.end_frame]
            tracks = track_faces([(t, shape, faces) for _, t, shape, faces in inside])
            identifiable = sum(tr.identifiable for tr in tracks)
            persons = [s for s in self._persons if shot.start_frame <= s[0] < shot.end_frame]
            most_persons = max((len(p) for *_, p in persons), default=0)
            # Figures without a face the detector saw are incidental people too.
            incidental = max(len(tracks) - identifiable, most_persons - identifiable, 0)
            people = {
                "identifiable": identifiable,
                "incidental": incidental,
                "faces": [
                    {**sighting, "identifiable": tr.identifiable}
                    for tr in tracks
                    for sighting in tr.sightings
                ][:_MAX_LISTED],
                "persons": [_as_dict(t, b, shape) for _, t, shape, bs in persons for b in bs][
                    :_MAX_LISTED
                ],
                "detector": self.detector.name,
            }
            tags = []
            if identifiable:
                tags.append("identifiable_people")
            if incidental:
                tags.append("incidental_people")
            results.append({"people": people, "tags": tags})
        return results
