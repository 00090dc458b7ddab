"""Camera motion per shot: static or moving, and shake, from global motion between frames.

Phase correlation of consecutive served frames (the quality step's low-resolution grey, so no
extra scaling) gives how far the whole picture moved. A pan or a drone's glide moves at a
steady or slowly changing speed; a shaken camera jumps back and forth. So shake is measured as
the change in motion from one step to the next, allowing for uneven frame spacing: about 0 for
any steady motion, large for jitter. Steps across a cut, and pairs the correlation is unsure of
(flat or black frames), are left out.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import cv2
import numpy as np

from outtake.media.analysis.decode import Frame
from outtake.media.analysis.pipeline import Context, Step
from outtake.media.analysis.quality import Check, Quality, _grade

# Shake: median change of motion between steps, as a share of the frame's width.
SHAKE_WARN, SHAKE_FAIL = 0.005, 0.015
# Static: the picture drifts less than this share of the width per frame (grain and a
# breathing compression do not move it; a slow pan of 4 s across the frame does).
STATIC_SPEED = 0.0002
MIN_RESPONSE = 0.05  # phase correlation peak below this: no reliable motion
# Grey-level spread below which a picture (black, fog, a wall) shows only grain, whose random
# shifts are not camera motion.
MIN_CONTRAST = 6.0
_SIZE = (160, 90)


class Motion(Step):
    name = "motion"
    version = 1
    needs = (Quality.FRAMES,)

    def __init__(self) -> None:
        super().__init__()
        self._window: np.ndarray | None = None
        self._previous: tuple[int, np.ndarray] | None = None
        self._steps: list[tuple[int, int, float, float]] = []  # (from, to, dx, dy) in widths

    def consume(self, frame: Frame) -> None:
        gray = frame.images.get(Quality.FRAMES.name)
        if gray is None or (self._previous and frame.index <= self._previous[0]):
            return  # not in order: a shot start served again after the pass
        small = cv2.resize(gray, _SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        if float(small.std()) < MIN_CONTRAST:
            self._previous = None
            return
        if self._window is None:
            self._window = cv2.createHanningWindow(_SIZE, cv2.CV_32F)
        if self._previous is not None:
            before, picture = self._previous
            (dx, dy), response = cv2.phaseCorrelate(picture, small, self._window)
            if response >= MIN_RESPONSE:
                self._steps.append((before, frame.index, dx / _SIZE[0], dy / _SIZE[0]))
        self._previous = (frame.index, small)

    def finish(self, context: Context) -> list[dict[str, Any]]:
        results = []
        for shot in context.shots:
            steps = [s for s in self._steps if shot.start_frame <= s[0] and s[1] < shot.end_frame]
            if len(steps) < 3:
                results.append({})
                continue
            speed = float(statistics.median(np.hypot(dx, dy) / (b - a) for a, b, dx, dy in steps))
            shake = float(statistics.median(_jerks(steps)))
            camera = "static" if speed < STATIC_SPEED and shake < SHAKE_WARN else "moving"
            check = Check(
                "shake",
                round(shake, 4),
                _grade(shake, SHAKE_WARN, SHAKE_FAIL),
                f"the picture jumps by {shake:.1%} of its width between frames"
                + (" (camera shake)" if shake >= SHAKE_WARN else " (steady)"),
            )
            results.append(
                {
                    "motion": {"camera": camera, "speed": round(speed, 5), "shake": check.value},
                    "quality": {"shake": _as_quality(check)},
                    "problems": [check.as_problem()] if check.severity != "pass" else [],
                    "tags": [f"{camera}_camera"],
                }
            )
        return results


def _jerks(steps: list[tuple[int, int, float, float]]) -> list[float]:
    """How much each step's motion differs from the last one's at steady speed."""
    jerks = []
    for (a0, b0, x0, y0), (a1, b1, x1, y1) in itertools.pairwise(steps):
        if a1 != b0:
            continue  # a pair was left out between them
        ratio = (b1 - a1) / (b0 - a0)
        jerks.append(float(np.hypot(x1 - x0 * ratio, y1 - y0 * ratio)))
    return jerks or [0.0]


def _as_quality(check: Check) -> dict[str, Any]:
    return {"value": check.value, "severity": check.severity, "reason": check.reason}
