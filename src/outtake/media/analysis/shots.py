"""Shots: PySceneDetect's AdaptiveDetector over the shared low-resolution frames.

The main pass serves only referenced frames, so a cut the detector finds lies somewhere between
two served frames; decoding just those frames fully puts it on the exact frame. Shots shorter
than min_shot_s are merged into a neighbour (they are not sellable on their own).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import Any, TypeVar

import cv2
import numpy as np
from scenedetect import AdaptiveDetector
from scenedetect.common import FrameTimecode

from outtake.media.analysis.decode import Frame, FrameNeed, FrameSource
from outtake.media.analysis.pipeline import Shot, ShotStep

# The detector only compares frame numbers; FrameTimecode wants some rate to carry them.
_NOMINAL_FPS = 1000.0
# Half a millisecond: shot lengths are compared as floats computed from rational timestamps.
_EPS_S = 5e-4

Bound = TypeVar("Bound", int, float)  # frame numbers or times


def content_distance(a_bgr: np.ndarray, b_bgr: np.ndarray) -> float:
    """Mean per-pixel change of hue, saturation and value: the AdaptiveDetector's frame score."""
    a = cv2.cvtColor(a_bgr, cv2.COLOR_BGR2HSV).astype(np.int16)
    b = cv2.cvtColor(b_bgr, cv2.COLOR_BGR2HSV).astype(np.int16)
    return float(np.abs(a - b).mean())


def merge_short(cuts: Sequence[Bound], total: Bound, min_frames: Bound) -> list[Bound]:
    """Drop cuts until no shot is shorter than min_frames (a short shot joins the one before).
    Cuts may be times, total and min_frames then in seconds too."""
    kept = sorted({c for c in cuts if 0 < c < total})
    while kept:
        bounds = [0, *kept, total]
        short = next(
            (i for i in range(len(kept) + 1) if bounds[i + 1] - bounds[i] < min_frames), None
        )
        if short is None:
            break
        kept.remove(bounds[short] if short > 0 else bounds[1])
    return kept


class Shots(ShotStep):
    name = "shots"
    version = 2  # 2: frames numbered by presentation order, times from their timestamps
    FRAMES = FrameNeed("shots.bgr", 320, "bgr24")
    needs = (FRAMES,)

    def __init__(
        self,
        *,
        min_shot_s: float = 1.0,
        adaptive_threshold: float = 3.0,
        min_content_val: float = 15.0,
    ) -> None:
        super().__init__()
        self.min_shot_s = min_shot_s
        self._detector = AdaptiveDetector(
            adaptive_threshold=adaptive_threshold,
            min_content_val=min_content_val,
            min_scene_len=0,  # short shots are merged after refinement, in seconds
        )
        self._served: list[int] = []
        # (last served frame before the cut, first served frame after it)
        self._candidates: dict[tuple[int, int], None] = {}  # a set, in order

    def consume(self, frame: Frame) -> None:
        image = frame.images.get(self.FRAMES.name)
        if image is None:
            return
        self._served.append(frame.index)
        timecode = FrameTimecode(frame.index, fps=_NOMINAL_FPS)
        for cut in self._detector.process_frame(timecode, image):
            after = cut.frame_num
            position = bisect.bisect_left(self._served, after)
            if position > 0:
                self._candidates[self._served[position - 1], after] = None

    def wants_window(self, first: int, last: int) -> bool:
        return (first, last) in self._candidates

    def segment(
        self, source: FrameSource, info: dict[str, Any], start_needs: Sequence[FrameNeed]
    ) -> tuple[list[Shot], list[Frame]]:
        starts: dict[int, Frame] = {}
        needs = [self.FRAMES, *start_needs]
        for before, after in self._candidates:
            window = source.window(before, after, needs)
            start = _sharpest_change(window, self.FRAMES.name)
            if start is not None:
                starts[start.index] = start
                self.stats.count("refined_frames", len(window))
        fps = source.fps or 0.0
        total = info.get("frame_count") or (self._served[-1] + 1 if self._served else 1)
        if fps:
            # Lengths in seconds: frames of variable-rate video are unevenly spaced. The least is
            # a whole number of frames at the average rate, so constant-rate video merges by count.
            at = {start.t: index for index, start in starts.items()}
            least = round(self.min_shot_s * fps) / fps - _EPS_S
            cuts = [at[t] for t in merge_short(list(at), total / fps, least)]
        else:
            cuts = merge_short(list(starts), total, 1)
        self.stats.count("cuts", len(cuts))
        bounds = [0, *cuts, total]
        # A cut's time is its first frame's: on variable-rate video it is not number / fps.
        times = [0.0, *(starts[c].t for c in cuts), total / fps if fps else 0.0]
        shots = [
            Shot(
                index=i,
                start_frame=bounds[i],
                end_frame=bounds[i + 1],
                start_s=times[i],
                end_s=times[i + 1],
            )
            for i in range(len(bounds) - 1)
        ]
        return shots, [starts[c] for c in cuts]


def _sharpest_change(window: list[Frame], name: str) -> Frame | None:
    """The frame of window that differs most from the one before it: the first of a new shot."""
    if len(window) < 2:
        return None
    changes = [
        content_distance(before.images[name], after.images[name])
        for before, after in itertools.pairwise(window)
    ]
    return window[1 + int(np.argmax(changes))]
