"""Burned-in overlays: text or a logo at the same place on frames across a shot.

rapidocr's text detector (PP-OCR, models inside the wheel) is slow (about 0.4 s a frame at
960×540 on one thread), so it only confirms what a cheap test finds first: among no more than
MAX_FRAMES_PER_SHOT sampled frames of a shot, places where sharp, text-like edges stay put in
every frame while the scene around them changes. Most shots have none and never reach OCR;
otherwise OCR reads only a crop around them. Shots are only known after the pass, so frames
wait in a bounded Reservoir. Text that stays put while frames change is an overlay (a channel
logo, a timestamp, subtitles); a street sign moves with the scene and is not one. Only text
positions are compared, so text on a wall in a locked-off shot is flagged as well.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any

import cv2
import numpy as np
import rapidocr  # a hard dependency: without it the analysis does not import

from outtake.media.analysis.decode import SAMPLED_BGR, Frame
from outtake.media.analysis.pipeline import Context, Shot, Step
from outtake.media.analysis.reservoir import Reservoir, spread

MAX_FRAMES_PER_SHOT = 3
RESERVOIR = 64  # frames kept during the pass (JPEG, about 50 KB each at 640 px)
SAME_PLACE_IOU = 0.6
# A box counts as fixed when it is in this share of the shot's sampled frames (at least two).
FIXED_SHARE = 0.75
# Share of the frame that fixed text covers: a corner logo or timestamp can be cropped (warn);
# a title or ticker this large cannot.
OVERLAY_FAIL_AREA = 0.05
# An overlay is text that stays put while the scene changes: around its box consecutive sampled
# frames must differ by more than MOVED grey levels on average. Frames alike everywhere (a
# locked-off shot, a pan back to where it began) prove nothing and are not flagged. (Inside the
# box cannot be compared: text boxes include the moving background between the letters.)
MOVED = 8.0
# The detector sometimes boxes a whole textured frame as "text"; an overlay is a part of the
# frame, so boxes larger than this share are not candidates.
MAX_BOX_AREA = 0.4
# The cheap test. A pixel whose 3×3 contrast is at least FIXED_EDGE grey levels in every sampled
# frame is a fixed edge; fixed edges joined along a line are a text candidate when a typical
# row of it crosses at least MIN_CROSSINGS separate edges (letters do; the outline of a box or a
# horizon crosses two) and it is at least MIN_TEXT_PX tall.
FIXED_EDGE = 60
MIN_CROSSINGS = 4
MIN_TEXT_PX = 5
_JOIN = np.ones((3, 9), np.uint8)  # joins the letters of a word, not lines of a wall
CROP_MARGIN = 16  # pixels around the candidates that OCR reads (the detector needs context)
# OCR reads the crop enlarged: small burned-in text is a few pixels tall in a 640 px frame.
OCR_ZOOM = 2


class TextFinder:
    """rapidocr's detection model alone: where text is, not what it says."""

    def __init__(self, threads: int = 1) -> None:
        # The package imports in milliseconds; the engine (0.6 s) only when a shot needs OCR.
        self._engine = rapidocr.RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.use_rec": False,
                # Never enlarge: callers pass crops already zoomed as far as is useful.
                "Det.limit_type": "max",
                "Det.limit_side_len": 2000,
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": threads,
            }
        )
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)

    def boxes(self, bgr: np.ndarray) -> list[tuple[float, float, float, float]]:
        """Axis-aligned text boxes (x0, y0, x1, y1) as fractions of the picture."""
        found = self._engine(bgr).boxes
        if found is None:
            return []
        height, width = bgr.shape[:2]
        return [
            (
                float(quad[:, 0].min()) / width,
                float(quad[:, 1].min()) / height,
                float(quad[:, 0].max()) / width,
                float(quad[:, 1].max()) / height,
            )
            for quad in np.asarray(found)
        ]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def fixed_boxes(frames: list[list[tuple[float, ...]]]) -> list[tuple[float, ...]]:
    """Boxes found at the same place in at least FIXED_SHARE of frames (and two of them)."""
    needed = max(2, math.ceil(FIXED_SHARE * len(frames)))
    fixed = []
    for i, boxes in enumerate(frames):
        for box in boxes:
            if any(iou(box, f) >= SAME_PLACE_IOU for f in fixed):
                continue
            seen = 1 + sum(
                any(iou(box, other) >= SAME_PLACE_IOU for other in frames[j])
                for j in range(len(frames))
                if j != i
            )
            if seen >= needed:
                fixed.append(box)
    return fixed


def stays_while_scene_moves(box: tuple[float, ...], pictures: list[np.ndarray]) -> bool:
    height, width = pictures[0].shape[:2]
    x0, y0 = int(box[0] * width), int(box[1] * height)
    x1, y1 = max(x0 + 1, int(box[2] * width)), max(y0 + 1, int(box[3] * height))
    """Whether the frames showing a box differ around it (the scene moved, the text did not)."""
    around = []
    for a, b in itertools.combinations(pictures, 2):
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=2)
        box_sum = float(diff[y0:y1, x0:x1].sum())
        around.append((float(diff.sum()) - box_sum) / max(1, diff.size - (y1 - y0) * (x1 - x0)))
    return bool(around) and min(around) > MOVED


def _has(boxes: list[tuple[float, ...]], box: tuple[float, ...]) -> bool:
    return any(iou(box, other) >= SAME_PLACE_IOU for other in boxes)


def covered_area(boxes: list[tuple[float, ...]], grid: int = 200) -> float:
    """Share of the frame the union of boxes covers."""
    mask = np.zeros((grid, grid), bool)
    for x0, y0, x1, y1 in boxes:
        mask[round(y0 * grid) : round(y1 * grid), round(x0 * grid) : round(x1 * grid)] = True
    return float(mask.mean())


def text_candidates(pictures: list[np.ndarray]) -> tuple[int, int, int, int] | None:
    """The pixel box (x0, y0, x1, y1) around every text-like fixed edge of pictures (H×W×3, two or
    more), or None when there is none or the scene does not move enough to show an overlay."""
    # Every box is compared with its surround; if no pair of frames differs by MOVED even when
    # the largest candidate box is left out, no box can pass stays_while_scene_moves.
    changes = [
        float(cv2.absdiff(a, b).mean()) / (1 - MAX_BOX_AREA)
        for a, b in itertools.combinations(pictures, 2)
    ]
    if max(changes) <= MOVED:
        return None
    kernel = np.ones((3, 3), np.uint8)
    contrast = [
        cv2.morphologyEx(cv2.cvtColor(p, cv2.COLOR_BGR2GRAY), cv2.MORPH_GRADIENT, kernel)
        for p in pictures
    ]
    fixed = (np.minimum.reduce(contrast) >= FIXED_EDGE).astype(np.uint8)
    joined = cv2.morphologyEx(fixed, cv2.MORPH_CLOSE, _JOIN)
    count, _, boxes, _ = cv2.connectedComponentsWithStats(joined)
    found = []
    for x, y, w, h, _ in boxes[1:count]:
        rows = fixed[y : y + h, x : x + w]
        crossings = np.count_nonzero(np.diff(rows, axis=1, prepend=0) == 1, axis=1)
        if h >= MIN_TEXT_PX and np.median(crossings) >= MIN_CROSSINGS:
            found.append((x, y, x + w, y + h))
    if not found:
        return None
    height, width = fixed.shape
    x0, y0 = (max(0, min(b[i] for b in found) - CROP_MARGIN) for i in (0, 1))
    x1 = min(width, max(b[2] for b in found) + CROP_MARGIN)
    y1 = min(height, max(b[3] for b in found) + CROP_MARGIN)
    return x0, y0, x1, y1


class Overlays(Step):
    name = "overlays"
    version = 2
    FRAMES = SAMPLED_BGR
    needs = (FRAMES,)

    def __init__(self, finder: TextFinder | None = None) -> None:
        super().__init__()
        self._finder = finder
        self._frames = Reservoir(RESERVOIR)

    def consume(self, frame: Frame) -> None:
        picture = frame.images.get(self.FRAMES.name)
        if picture is not None:
            self._frames.offer(frame.index, picture)

    def finish(self, context: Context) -> list[dict[str, Any]]:
        return [self._check(shot) for shot in context.shots]

    def _check(self, shot: Shot) -> dict[str, Any]:
        picks = spread(self._frames.indices(shot.start_frame, shot.end_frame), MAX_FRAMES_PER_SHOT)
        if len(picks) < 2:
            return {}  # a photo, or too short a shot to tell fixed text from a scene
        pictures = [self._frames.picture(index) for index in picks]
        crop = text_candidates(pictures)
        frames = self._read(pictures, crop) if crop else [[] for _ in pictures]
        frames = [
            [b for b in found if (b[2] - b[0]) * (b[3] - b[1]) <= MAX_BOX_AREA] for found in frames
        ]
        fixed = [
            box
            for box in fixed_boxes(frames)
            if stays_while_scene_moves(
                box,
                [p for p, found in zip(pictures, frames, strict=True) if _has(found, box)],
            )
        ]
        area = covered_area(fixed)
        if not fixed:
            severity, reason = "pass", "no burned-in text or logo"
        else:
            severity = "fail" if area >= OVERLAY_FAIL_AREA else "warn"
            reason = (
                f"burned-in text or a logo stays at the same place ({_where(fixed)}), "
                f"covering {area:.1%} of the frame"
            )
        check = {"value": round(area, 4), "severity": severity, "reason": reason}
        result: dict[str, Any] = {
            "overlays": {**check, "boxes": [[round(v, 4) for v in b] for b in fixed]}
        }
        if severity != "pass":
            result["problems"] = [{"code": "overlay", **check}]
        return result

    def _read(
        self, pictures: list[np.ndarray], crop: tuple[int, int, int, int]
    ) -> list[list[tuple[float, ...]]]:
        """Text boxes of each picture within crop, as fractions of the whole picture; none at all
        as soon as so many pictures lack text that none can be fixed (see fixed_boxes)."""
        misses_allowed = len(pictures) - max(2, math.ceil(FIXED_SHARE * len(pictures)))
        if self._finder is None:
            self._finder = TextFinder()
        x0, y0, x1, y1 = crop
        height, width = pictures[0].shape[:2]
        frames = []
        for picture in pictures:
            zoomed = cv2.resize(
                picture[y0:y1, x0:x1], None, fx=OCR_ZOOM, fy=OCR_ZOOM, interpolation=cv2.INTER_CUBIC
            )
            self.stats.count("ocr_frames")
            found = [
                (
                    (x0 + a * (x1 - x0)) / width,
                    (y0 + b * (y1 - y0)) / height,
                    (x0 + c * (x1 - x0)) / width,
                    (y0 + d * (y1 - y0)) / height,
                )
                for a, b, c, d in self._finder.boxes(zoomed)
            ]
            frames.append(found)
            if sum(not f for f in frames) > misses_allowed:
                return [[] for _ in pictures]
        return frames


def _where(boxes: list[tuple[float, ...]]) -> str:
    def place(box: tuple[float, ...]) -> str:
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        row = "top" if y < 1 / 3 else "bottom" if y > 2 / 3 else "middle"
        column = "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"
        return f"{row} {column}"

    return ", ".join(dict.fromkeys(place(b) for b in boxes))
